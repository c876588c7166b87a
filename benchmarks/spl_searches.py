"""What the SPL benchmarks share (``spl_eval.py``, ``tstats_eval.py``, ``spl_all.py``): the
corpus index, the shared events, and security_content's searches read with its macros.

One place for them, so the three benchmarks select, read and count the same way and their
``--rows`` files stay comparable line by line.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from backends.spl import MacroTable
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import Rule
from translator.api import parse
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events


def index_entries(spl: Path) -> list[dict[str, str]]:
    """Every entry of ``spl/INDEX.jsonl`` (path, search_kind...), in index order."""
    return [orjson.loads(line) for line in (spl / "INDEX.jsonl").read_bytes().splitlines()]


def shared_events(shared: Path) -> list[Event]:
    """Every event of ``shared/events`` (bad lines left out: the corpus has none)."""
    events: list[Event] = []
    for path in expand_paths([shared / "events"], EVENT_SUFFIXES):
        events.extend(item[1] for item in read_events(path) if not isinstance(item, RuleglotError))
    return events


def read_searches(
    spl: Path, entries: list[dict[str, str]], table: MacroTable
) -> tuple[list[tuple[Path, int, Rule]], list[RuleglotError]]:
    """``(file, rule number, rule)`` for each search the entries name, read with ``table``,
    and the read error of each file that does not read."""
    rules: list[tuple[Path, int, Rule]] = []
    errors: list[RuleglotError] = []
    for entry in entries:
        path = spl / entry["path"]
        try:
            parsed = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=table)
        except RuleglotError as err:
            errors.append(err)
            continue
        rules.extend((path, number, rule) for number, rule in enumerate(parsed))
    return rules, errors
