"""What the ``ruleglot`` commands share (``cli.py``, ``check_cli.py``, ``catalog_cli.py``,
``spark_eval.py``): the input-error exit status, the stderr console and progress bar, error
reports, the options of commands that read rules, reading rules in a batch, writing a file
whole. One place, so that the commands keep the conventions of ``cli.py``'s docstring alike.
"""

from __future__ import annotations

import os
import sys
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
    "OutputError",
    "guard_output",
    "load_rules",
    "progress",
    "read_options",
    "reader_options",
    "report_error",
    "stderr_console",
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
    paths: Iterable[str], read: str, errors: list[RuleglotError], **options: Any
) -> list[tuple[Path, Rule]]:
    """Every rule under ``paths``; errors are appended to ``errors`` and the batch goes on."""
    files = list(expand_paths(paths, RULE_SUFFIXES[read]))
    loaded: list[tuple[Path, Rule]] = []
    for path in progress(files, len(files), "reading rules"):
        try:
            for rule in api.parse(read_text(path), read, str(path), **options):
                loaded.append((path, rule))
        except RuleglotError as err:
            err.path = err.path or str(path)
            errors.append(err)
            report_error(err)
    return loaded


def read_options(
    read: str,
    macros: str | None,
    undefined_macros: str,
    search_precedence: str,
    pipelines: tuple[str, ...] = (),
    errors: list[RuleglotError] | None = None,
) -> dict[str, Any]:
    """The reader options of a command; the macro files that could not be read are reported
    (and added to ``errors``), the others used."""
    if read == "sigma":
        try:
            return {"pipeline": api.pipeline(pipelines)} if pipelines else {}
        except RuleglotError as err:
            raise click.BadParameter(err.message, param_hint="--pipeline") from None
    if read != "spl":
        return {}
    table = api.macros(macros)
    for bad_file in table.errors if table is not None else ():
        report_error(bad_file)
        if errors is not None:
            errors.append(bad_file)
    return {
        "macros": table,
        "undefined_macros": undefined_macros,
        "search_precedence": search_precedence,
    }


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: never half a file, and
    no temporary file left behind, whatever stops the write (an error, Ctrl-C)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class OutputError(click.ClickException):
    """An output that must not or cannot be written: one error line, exit status 2, before
    any work is done."""

    exit_code = EXIT_INPUT_ERROR

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: io: {message}")

    def show(self, file: Any = None) -> None:
        click.echo(self.message, err=True)


def _overlap(output: Path, source: Path) -> str | None:
    """How ``output`` (resolved) would overwrite ``source`` (resolved), or ``None``."""
    if output == source:
        return "is"
    if source.is_relative_to(output):
        return "contains"
    if output.is_relative_to(source):
        return "lies inside"
    return None


def guard_output(
    output: str | Path, inputs: Iterable[str | Path], *, folder: bool, option: str = "-o"
) -> Path:
    """Refuse an output that is, contains or lies inside one of ``inputs`` (writing it would
    replace or delete rules: ``catalog rules/ -o rules/`` removed them), and one that cannot be
    written; a folder is created (and a probe file written in it) now, before the work, so
    that an unwritable output never loses a finished run. Raises :class:`OutputError`."""
    target = Path(output)
    resolved = target.resolve()
    for source in inputs:
        relation = _overlap(resolved, Path(source).resolve())
        if relation is not None and (folder or relation == "is"):  # a file only replaces itself
            raise OutputError(
                target,
                f"refusing to write {option} {target}: it {relation} the input {source}, "
                "which would be overwritten or deleted; choose an output outside the inputs",
            )
    folder_path = resolved if folder else resolved.parent
    existing = next((p for p in (folder_path, *folder_path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise OutputError(target, f"cannot write {option} {target}: {existing} is a file")
    try:
        folder_path.mkdir(parents=True, exist_ok=True)
        if not folder and resolved.is_dir():
            raise IsADirectoryError(f"{target} is a folder")
        probe = folder_path / f".ruleglot-probe.{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(target, f"cannot write {option} {target}: {reason}") from None
    return target
