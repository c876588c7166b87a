"""Finding and reading inputs: rule files by language, event files as JSON Lines.

Batch runs go on past a bad input: every reader here yields a :class:`~ir.errors.RuleglotError`
in place of what it could not read, with the file and line, and the caller reports it at the end.
"""

from __future__ import annotations

import codecs
import glob
import multiprocessing
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ir.errors import RuleglotError
from ir.events import Event

RULE_SUFFIXES = {"sigma": (".yml", ".yaml"), "spl": (".spl", ".yml", ".yaml"), "ir": (".json",)}
#: Event files found in folders (a file named directly is read whatever its name; ``.json`` is
#: left out of folder scans because the shared corpus keeps ``.meta.json`` files beside its logs).
EVENT_SUFFIXES = (".jsonl", ".ndjson")


def expand_paths(paths: Iterable[str | Path], suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files named directly, and files with one of ``suffixes`` below named folders, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes)
            )
        else:
            yield path


#: The path that stands for standard input where one stream of events makes sense.
STDIN = "-"
_GLOB_CHARACTERS = frozenset("*?[")
_STDIN: list[tuple[Any, list[bytes]]] = []


def expand_event_paths(
    paths: Iterable[str | Path], suffixes: tuple[str, ...] = EVENT_SUFFIXES
) -> Iterator[Path | RuleglotError]:
    """:func:`expand_paths` for event inputs, which also takes glob patterns (``logs/*.jsonl``,
    ``logs/**/*.jsonl``: quoted, or left unexpanded by a shell) and ``-`` for standard input.

    A pattern that matches no file is an ``io`` error in place of its files (never silently
    nothing), as a missing file is when it is read.
    """
    for raw in paths:
        text = str(raw)
        if text == STDIN:
            yield Path(STDIN)
        elif _GLOB_CHARACTERS & set(text) and not Path(text).exists():
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                yield RuleglotError(
                    f"no file matches the pattern {text!r}", category="io", path=text
                )
            yield from expand_paths(matched, suffixes)
        else:
            yield from expand_paths([text], suffixes)


def read_stdin_first(paths: Iterable[str | Path]) -> None:
    """Read standard input now when one of ``paths`` is ``-``: before workers are forked
    (multiprocessing gives them ``/dev/null`` as standard input, :func:`stdin_lines`)."""
    if any(str(path) == STDIN for path in paths):
        stdin_lines()


def stdin_lines() -> list[bytes]:
    """Standard input's lines, read once: several passes over ``-`` (a command's filter rules,
    then its pipelines) see the same events, and forked workers inherit them. Kept per stream,
    so that a process whose ``sys.stdin`` is replaced (a test runner) reads the new one; but
    not in a worker process, whose ``sys.stdin`` multiprocessing replaces with ``/dev/null``:
    it uses what its parent read before forking (``eval -j 2 --events -`` lost the standard
    input's events)."""
    stream = sys.stdin
    if _STDIN and multiprocessing.parent_process() is not None:
        return _STDIN[0][1]
    if not _STDIN or _STDIN[0][0] is not stream:
        _STDIN[:] = [(stream, stream.buffer.readlines())]
    return _STDIN[0][1]


#: Top-level YAML keys that only one language's files have: a Sigma rule's ``detection`` (and a
#: correlation's ``correlation``); a security_content detection's ``search`` (``logic`` in older
#: files). Sigma specification 2.0, "Rule structure"; security_content's detection spec.
_TOP_KEY = re.compile(r"^(detection|correlation|search|logic)\s*:", re.MULTILINE)
_KEY_LANGUAGE = {"detection": "sigma", "correlation": "sigma", "search": "spl", "logic": "spl"}
#: How a plain SPL search starts: a pipe, a macro call, or a ``field=value`` term.
_SPL_START = re.compile(r"^\s*(\||`|[A-Za-z_][\w.]*\s*[!=<>]|index\b|search\b)")


#: How messages name each language.
LANGUAGE_NAMES = {"sigma": "Sigma", "spl": "SPL", "ir": "ruleglot IR JSON"}


def guess_language(text: str, path: Path | None = None) -> str | None:
    """The language a rule file looks written in (``sigma``, ``spl``, ``ir``), or ``None``.

    Only used to suggest a reader when the chosen one failed (never to choose one silently):
    an IR file is a JSON object; a YAML file with a top-level ``detection:`` is Sigma and one
    with ``search:`` a security_content detection; a ``.spl`` file or a text that starts as a
    search (``|``, a macro, ``field=value``) is SPL.
    """
    if text.lstrip().startswith("{"):
        return "ir"
    found = _TOP_KEY.search(text)
    if found:
        return _KEY_LANGUAGE[found.group(1)]
    if (path is not None and path.suffix == ".spl") or _SPL_START.match(text):
        return "spl"
    return None


def read_text(path: Path) -> str:
    """A rule file's text; ``-`` reads standard input (``cat rule.yml | ruleglot translate -``);
    a UTF-8 byte-order mark (editors on Windows write one) is dropped; a byte that is not
    UTF-8 is an error at its line and column."""
    try:
        data = b"".join(stdin_lines()) if str(path) == STDIN else path.read_bytes()
    except OSError as exc:
        raise RuleglotError(f"cannot read file: {exc}", category="io", path=str(path)) from exc
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        message, line, column = _not_utf8(data, exc)
        raise RuleglotError(
            message, category="io", path=str(path), line=line, col=column
        ) from None


def _not_utf8(data: bytes, exc: UnicodeDecodeError) -> tuple[str, int, int]:
    """The message and 1-based line and column of the first byte of ``data`` that is not
    UTF-8 (``exc``, from decoding it): rule files and event lines say it the same way."""
    before = data[: exc.start]
    line = before.count(b"\n") + 1
    column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
    return f"not UTF-8: byte 0x{data[exc.start]:02x} ({exc.reason})", line, column


def read_events(path: Path) -> Iterator[tuple[int, Event] | RuleglotError]:
    """``(index, event)`` for each line of a JSON Lines file (index counts non-blank lines from
    0), or a positioned error for a line that is not a JSON object."""
    if str(path) == STDIN:
        yield from parse_lines(path, stdin_lines())
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield RuleglotError(f"cannot read events: {exc}", category="io", path=str(path))
        return
    with handle:
        yield from parse_lines(path, handle)


def parse_lines(
    path: Path, lines: Iterable[bytes]
) -> Iterator[tuple[int, Event] | RuleglotError]:
    index = 0
    for line_no, line in enumerate(lines, start=1):
        if line_no == 1 and line.startswith(codecs.BOM_UTF8):  # a byte-order mark
            line = line[len(codecs.BOM_UTF8) :]
        if not line.strip():
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            message, column = f"not JSON: {exc.msg}", exc.colno
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as bad:  # orjson says "surrogates not allowed"
                message, _, column = _not_utf8(line, bad)
            yield RuleglotError(
                message,
                category="events",
                path=str(path),
                line=line_no,
                col=column,
                source_line=line.decode("utf-8", "replace").rstrip("\r\n"),
            )
            index += 1
            continue
        if not isinstance(data, dict):
            yield RuleglotError(
                "an event must be a JSON object",
                category="events",
                path=str(path),
                line=line_no,
                col=1,
            )
            index += 1
            continue
        yield index, Event(data, line.decode("utf-8", "replace"))
        index += 1
