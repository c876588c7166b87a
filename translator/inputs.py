"""Finding and reading inputs: rule files by language, event files as JSON Lines.

Batch runs go on past a bad input: every reader here yields a :class:`~ir.errors.RuleglotError`
in place of what it could not read, with the file and line, and the caller reports it at the end.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def read_text(path: Path) -> str:
    """A rule file's text; a UTF-8 byte-order mark (editors on Windows write one) is dropped."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleglotError(f"cannot read file: {exc}", category="io", path=str(path)) from exc


def read_events(path: Path) -> Iterator[tuple[int, Event] | RuleglotError]:
    """``(index, event)`` for each line of a JSON Lines file (index counts non-blank lines from
    0), or a positioned error for a line that is not a JSON object."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield RuleglotError(f"cannot read events: {exc}", category="io", path=str(path))
        return
    index = 0
    with handle:
        for line_no, line in enumerate(handle, start=1):
            if line_no == 1 and line.startswith(codecs.BOM_UTF8):  # a byte-order mark
                line = line[len(codecs.BOM_UTF8) :]
            if not line.strip():
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield RuleglotError(
                    f"not JSON: {exc.msg}",
                    category="events",
                    path=str(path),
                    line=line_no,
                    col=exc.colno,
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
