"""What the ``ruleglot`` commands share (``cli.py``, ``check_cli.py``, ``catalog_cli.py``,
``spark_eval.py``): the input-error exit status, the stderr console and progress bar, error
reports, the options of commands that read rules, reading rules in a batch, writing a file
whole. One place, so that the commands keep the conventions of ``cli.py``'s docstring alike.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.inputs import RULE_SUFFIXES, expand_paths, read_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_INPUT_ERROR",
    "lenient_option",
    "load_rules",
    "progress",
    "read_options",
    "reader_options",
    "report_error",
    "report_warnings",
    "stderr_console",
    "warning_summary",
    "write_atomically",
]

T = TypeVar("T")
EXIT_INPUT_ERROR = 2

_CONSOLE: list[Console] = []


def stderr_console() -> Console:
    """The rich console on stderr (rich is imported when a progress bar is first drawn)."""
    if not _CONSOLE:
        from rich.console import Console

        _CONSOLE.append(Console(stderr=True, highlight=False, soft_wrap=True))
    return _CONSOLE[0]


def progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """``items``, with a progress bar on a terminal only (never in pipes or CI logs)."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import Progress

    with Progress(console=stderr_console(), transient=True) as progress:
        task = progress.add_task(label, total=total)
        for item in items:
            yield item
            progress.advance(task)


def report_error(err: RuleglotError) -> None:
    click.echo(str(err), err=True)


def reader_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every command that reads rules takes."""
    options = [
        click.option(
            "--from",
            "read",
            type=click.Choice(sorted(api.READERS)),
            default="sigma",
            show_default=True,
            help="Language of the input rules.",
        ),
        click.option(
            "-p",
            "--pipeline",
            "pipelines",
            multiple=True,
            help="Sigma: a pySigma processing pipeline (installed name or YAML file) applied "
            "before reading; repeatable.",
        ),
        click.option(
            "--macros",
            type=click.Path(exists=True, file_okay=False),
            help="SPL: a security_content macros/ folder to expand macros from.",
        ),
        click.option(
            "--undefined-macros",
            type=click.Choice(["error", "empty"]),
            default="error",
            show_default=True,
            help="SPL: an undefined macro is an error, or expands to nothing "
            "(undefined *_filter macros are always empty).",
        ),
        click.option(
            "--search-precedence",
            type=click.Choice(["manual", "and-first"]),
            default="manual",
            show_default=True,
            help="SPL search: NOT>OR>AND as Splunk's manual says, or NOT>AND>OR.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_rules(
    paths: Iterable[str],
    read: str,
    errors: list[RuleglotError],
    warnings: Counter[str] | None = None,
    **options: Any,
) -> list[tuple[Path, Rule]]:
    """Every rule under ``paths``; errors are appended to ``errors`` and the batch goes on.
    With ``warnings`` (Sigma), what was read leniently is reported and counted by kind."""
    files = list(expand_paths(paths, RULE_SUFFIXES[read]))
    loaded: list[tuple[Path, Rule]] = []
    for path in progress(files, len(files), "reading rules"):
        found: list[dict[str, Any]] = []
        if warnings is not None and read == "sigma":
            options["warnings"] = found
        try:
            for rule in api.parse(read_text(path), read, str(path), **options):
                loaded.append((path, rule))
        except RuleglotError as err:
            err.path = err.path or str(path)
            errors.append(err)
            report_error(err)
            continue
        if warnings is not None:
            report_warnings(path, found, warnings)
    return loaded


def report_warnings(
    path: Path | str, found: Iterable[dict[str, Any]], counts: Counter[str]
) -> None:
    """Reader warnings on stderr (``path:line:col: warning: kind: construct: message``), each
    counted by kind in ``counts``."""
    for warning in found:
        where = ":".join(str(p) for p in (path, warning.get("line"), warning.get("col")) if p)
        click.echo(
            f"{where}: warning: {warning['kind']}: {warning.get('construct') or '-'}: "
            f"{warning.get('message')}",
            err=True,
        )
        counts[warning["kind"]] += 1


def warning_summary(counts: Counter[str]) -> str | None:
    """The batch summary line of reader warnings by kind, or ``None`` without any."""
    if not counts:
        return None
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    return f"{sum(counts.values())} reader warning(s) by kind: {kinds}"


def lenient_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--lenient``: read what YAML forbids as PyYAML does (duplicate keys: the last wins),
    with a warning, instead of refusing it."""
    return click.option(
        "--lenient",
        is_flag=True,
        help="Sigma: read duplicate YAML keys as PyYAML does (the last one wins), with a "
        "warning, instead of refusing the rule.",
    )(command)


def read_options(
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...] = (),
) -> dict[str, Any]:
    if read == "sigma":
        try:
            return {"pipeline": api.pipeline(pipelines)} if pipelines else {}
        except RuleglotError as err:
            raise click.BadParameter(err.message, param_hint="--pipeline") from None
    if read != "spl":
        return {}
    return {
        "macros": api.macros(macros),
        "undefined_macros": undefined_macros,
        "search_precedence": search_precedence,
    }


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    temporary.replace(path)
