"""What the ``ruleglot`` commands share (``cli.py``, ``check_cli.py``, ``catalog_cli.py``,
``spark_eval.py``): the input-error exit status, the stderr console and progress bar, error
reports, the options of commands that read rules, reading rules in a batch, writing a file
whole. One place, so that the commands keep the conventions of ``cli.py``'s docstring alike.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ir.errors import RuleglotError
from ir.nodes import Rule
from translator import api
from translator.inputs import (
    EVENT_SUFFIXES,
    LANGUAGE_NAMES,
    RULE_SUFFIXES,
    expand_event_paths,
    expand_paths,
    guess_language,
    read_stdin_first,
    read_text,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_INPUT_ERROR",
    "OutputError",
    "SeveralValuesCommand",
    "collect_event_files",
    "guard_output",
    "lenient_option",
    "joined_translations",
    "load_rules",
    "parse_rule_file",
    "progress",
    "read_options",
    "reader_options",
    "report_error",
    "report_warnings",
    "stderr_console",
    "stdout_console",
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


#: The width of a table printed into a pipe or file: wide enough never to wrap a cell.
UNWRAPPED_WIDTH = 100_000


def stdout_console() -> Console:
    """A rich console on stdout for tables: sized to the terminal on a terminal; in a pipe or
    a file, as wide as each table needs (one line a row, so ``grep``/``cut`` see whole paths),
    where rich would otherwise assume 80 columns and fold every long cell."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=True)
    return Console(width=UNWRAPPED_WIDTH, highlight=False, soft_wrap=True)


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


class SeveralValuesCommand(click.Command):
    """A command whose ``--events`` option takes every value up to the next option:
    ``--events a.jsonl b.jsonl`` and a shell-expanded ``--events logs/*.jsonl`` mean what they
    say (click options take one value each, so ``b.jsonl`` would otherwise be read as a rule).

    The arguments are rewritten before click parses them (``--events a b`` becomes
    ``--events a --events b``), so the option stays an ordinary repeatable one. A value ends
    at the next token that starts with ``-`` (``-`` alone, standard input, is a value) or at
    ``--``; RULES therefore go before ``--events``, or after ``--``.
    """

    #: options that take several values
    SEVERAL = ("--events",)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_values(args, self.SEVERAL))


def spread_values(args: list[str], several: Iterable[str]) -> list[str]:
    """``args`` with each of the ``several`` options repeated before each value it takes."""
    out: list[str] = []
    taking: str | None = None
    for position, arg in enumerate(args):
        if arg == "--":
            out.extend(args[position:])
            break
        if arg in several or arg.partition("=")[0] in several:
            taking = arg.partition("=")[0]
            out.append(arg)
            continue
        if taking is not None and (arg == "-" or not arg.startswith("-")):
            if out[-1] != taking:
                out.append(taking)
            out.append(arg)
            continue
        taking = None
        out.append(arg)
    return out


def collect_event_files(paths: Iterable[str], errors: list[RuleglotError]) -> list[Path]:
    """The event files ``--events`` names (files, folders, glob patterns, ``-``); a pattern
    that matches nothing is reported and counted as an input error."""
    files: list[Path] = []
    for item in expand_event_paths(paths):
        if isinstance(item, RuleglotError):
            errors.append(item)
            report_error(item)
        else:
            files.append(item)
    read_stdin_first(files)
    return files


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


def parse_rule_file(path: Path, read: str, **options: Any) -> list[Rule]:
    """The rules of one file; raises its positioned :class:`RuleglotError`, whose message
    suggests the right ``--from`` when the file looks written in another language (a Sigma
    rule read with ``--from spl`` otherwise reads as "no SPL in this YAML document")."""
    text = read_text(path)
    try:
        return api.parse(text, read, str(path), **options)
    except RuleglotError as err:
        err.path = err.path or str(path)
        guess = guess_language(text, path)
        if guess is not None and guess != read:
            err.message += (
                f" (this file looks like {LANGUAGE_NAMES[guess]}: try --from {guess})"
            )
        raise


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
            for rule in parse_rule_file(path, read, **options):
                loaded.append((path, rule))
        except RuleglotError as err:
            err.path = err.path or str(path)
            errors.append(err)
            report_error(err)
            continue
        if warnings is not None:
            report_warnings(path, found, warnings)
    return loaded


def joined_translations(texts: Iterable[str], write: str) -> str:
    """Several translations as one file or stream holds them: Sigma rules as YAML documents
    separated by ``---`` (joined by a blank line they were one document, which YAML readers
    refuse for its duplicate keys), anything else one after another on its own lines."""
    if write != "sigma":
        return "\n".join(texts)
    return "---\n".join(text if text.endswith("\n") else text + "\n" for text in texts)


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


def write_atomically(path: Path, text: str, *, make_parents: bool = True) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it: never half a file, and
    no temporary file left behind, whatever stops the write (an error, Ctrl-C). A caller that
    writes many files into few folders makes each folder once and passes ``make_parents=False``
    (no directory walk per file)."""
    if make_parents:
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


def _read_from_folders(path: Path) -> bool:
    """Whether a file at ``path`` would replace one or be read as input by a command given
    its folder: it exists, or it has a suffix ruleglot reads rules, events or macros by."""
    readable = {*EVENT_SUFFIXES, *(s for suffixes in RULE_SUFFIXES.values() for s in suffixes)}
    return path.exists() or path.suffix.lower() in readable


def guard_output(
    output: str | Path, inputs: Iterable[str | Path], *, folder: bool, option: str = "-o"
) -> Path:
    """Refuse an output that is, contains or lies inside one of ``inputs`` (writing it would
    replace or delete rules: ``catalog rules/ -o rules/`` removed them; a ``--report`` inside
    a rule, macro or event folder replaced the file of that name, and a new ``.json`` or
    ``.yml`` there is read as input by the next run; a new page such as ``a.md`` beside the
    rules is neither), and one that cannot be written; a folder is created (and
    a probe file written in it) now, before the work, so that an unwritable output never
    loses a finished run. ``inputs`` are every file and folder the command reads (rules,
    ``--macros``, ``--events``). Raises :class:`OutputError`."""
    target = Path(output)
    resolved = target.resolve()
    for source in inputs:
        relation = _overlap(resolved, Path(source).resolve())
        if relation == "lies inside" and not folder and not _read_from_folders(resolved):
            continue  # a new page or note beside the rules replaces nothing and is not read
        if relation is not None:
            raise OutputError(
                target,
                f"refusing to write {option} {target}: it {relation} the input {source}, "
                + ("where it would replace a file or be read as one by the next run"
                   if relation == "lies inside" and not folder
                   else "which would be overwritten or deleted")
                + "; choose an output outside the inputs",
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
