"""Work on several cores, results in input order: :func:`fork_map`, the one way ruleglot forks
workers (translate, check, eval, catalog), and :func:`match_files` on it.

Rules are compiled once in the parent; worker processes are forked from it and inherit the
compiled :class:`~ir.evaluator.RuleSet` (closures do not pickle, and need not), so each worker
only reads its event file and sends back ``(event_index, [rule_index, ...])`` pairs and the
errors of unreadable lines. With ``jobs=1`` nothing is forked.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ir.errors import RuleglotError
from ir.evaluator import RuleSet
from translator.inputs import read_events

_TASK: Callable[[Any], Any] | None = None
_ITEMS: Sequence[Any] = ()

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def chunk_bounds(length: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of at most ``size`` (at least 1) of ``length``
    items."""
    step = max(1, size)
    return [(start, min(start + step, length)) for start in range(0, length, step)]


def _run_chunk(bounds: tuple[int, int]) -> list[Any]:
    """The results of the inherited task on the inherited items ``start:stop``."""
    assert _TASK is not None
    start, stop = bounds
    return [_TASK(item) for item in _ITEMS[start:stop]]


def fork_map(
    function: Callable[[T], R], items: Sequence[T], jobs: int = 1, chunksize: int = 1
) -> Iterator[R]:
    """``map(function, items)`` on up to ``jobs`` forked processes, results in input order.

    ``function``, what it closes over (compiled rules, a macro table, a pipeline) and the items
    themselves are inherited by the forked workers, never pickled: only each chunk's bounds
    (``chunksize`` items) go to a worker, and its results come back.
    With ``jobs=1``, fewer than two items or no ``fork`` (Windows, macOS defaults aside),
    nothing is forked."""
    global _TASK, _ITEMS
    if jobs <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(function, items)
        return
    _TASK, _ITEMS = function, items
    try:
        with multiprocessing.get_context("fork").Pool(min(jobs, len(items))) as pool:
            for results in pool.imap(_run_chunk, chunk_bounds(len(items), chunksize)):
                yield from results
    finally:
        _TASK, _ITEMS = None, ()


@dataclass
class FileResult:
    """What matching one events file gave."""

    path: Path
    events: int = 0
    matches: list[tuple[int, list[int]]] = field(default_factory=list)
    errors: list[RuleglotError] = field(default_factory=list)
    fields_seen: set[str] = field(default_factory=set)
    #: rules that failed while matching this file (rule index, error), first failure only
    rule_errors: list[tuple[int, RuleglotError]] = field(default_factory=list)


def match_file(ruleset: RuleSet, path: Path) -> FileResult:
    result = FileResult(path)
    for item in read_events(path):
        if isinstance(item, RuleglotError):
            result.errors.append(item)
            continue
        event_index, event = item
        result.events += 1
        result.fields_seen.update(event.fields)
        failed = len(ruleset.failures)
        matched = ruleset.match(event)
        if matched:
            result.matches.append((event_index, matched))
        if len(ruleset.failures) != failed:
            # a dict keeps insertion order: the new failures are the last ones
            result.rule_errors.extend(list(ruleset.failures.items())[failed:])
    return result


def match_files(ruleset: RuleSet, paths: Sequence[Path], jobs: int = 1) -> Iterator[FileResult]:
    """:func:`match_file` for each path, in order, on up to ``jobs`` processes (forked: each
    inherits ``ruleset``)."""
    return fork_map(functools.partial(match_file, ruleset), paths, jobs)
