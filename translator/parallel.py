"""Matching event files against a rule set on several cores, results in input order.

Rules are compiled once in the parent; worker processes are forked from it and inherit the
compiled :class:`~ir.evaluator.RuleSet` (closures do not pickle, and need not), so each worker
only reads its event file and sends back ``(event_index, [rule_index, ...])`` pairs and the
errors of unreadable lines. With ``jobs=1`` nothing is forked.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ir.errors import RuleglotError
from ir.evaluator import RuleSet
from translator.inputs import read_events

_RULESET: RuleSet | None = None


@dataclass
class FileResult:
    """What matching one events file gave."""

    path: Path
    events: int = 0
    matches: list[tuple[int, list[int]]] = field(default_factory=list)
    errors: list[RuleglotError] = field(default_factory=list)
    fields_seen: set[str] = field(default_factory=set)


def match_file(ruleset: RuleSet, path: Path) -> FileResult:
    result = FileResult(path)
    for item in read_events(path):
        if isinstance(item, RuleglotError):
            result.errors.append(item)
            continue
        event_index, event = item
        result.events += 1
        result.fields_seen.update(event.fields)
        matched = ruleset.match(event)
        if matched:
            result.matches.append((event_index, matched))
    return result


def _match_in_worker(path: Path) -> FileResult:
    assert _RULESET is not None
    return match_file(_RULESET, path)


def match_files(ruleset: RuleSet, paths: Sequence[Path], jobs: int = 1) -> Iterator[FileResult]:
    """:func:`match_file` for each path, in order, on up to ``jobs`` processes."""
    global _RULESET
    if jobs <= 1 or len(paths) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for path in paths:
            yield match_file(ruleset, path)
        return
    _RULESET = ruleset
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            yield from pool.imap(_match_in_worker, paths, chunksize=1)
    finally:
        _RULESET = None
