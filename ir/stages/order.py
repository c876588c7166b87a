"""Stages that choose which rows stay and in what order: ``dedup``, ``sort``,
``head``/``tail`` (SPL's order of values: :func:`ir.stages.rows.compare_values`).
"""

from __future__ import annotations

import functools

from ir.errors import unsupported
from ir.events import Event
from ir.functions import (
    values_of,
)
from ir.nodes import (
    Dedup,
    Head,
    Sort,
)
from ir.stages.rows import (
    RowsFn,
    StageBuilder,
    compare_values,
    refuse_options,
    row_value,
    text_key,
)


def _dedup(stage: Dedup, now: float) -> RowsFn:
    """``dedup`` (Search Reference, "dedup"): the first ``count`` rows of each combination of
    the fields' values (a multivalue compares as all its values) are kept, the later ones
    dropped; rows missing a field are dropped unless ``keepempty=true``;
    ``consecutive=true`` only drops repeats of the previous row. ``sortby`` is unsupported."""
    options = {k.lower(): str(v).lower() for k, v in stage.options}
    refuse_options("dedup", options, ("keepempty", "consecutive", "keepevents"), stage.span)
    if options.get("keepevents") in ("true", "t", "1"):
        raise unsupported(
            construct="dedup:keepevents",
            message="dedup keepevents=true is not supported",
            span=stage.span,
        )
    keep_empty = options.get("keepempty") in ("true", "t", "1")
    consecutive = options.get("consecutive") in ("true", "t", "1")
    fields = list(stage.fields)

    def run(rows: list[Event]) -> list[Event]:
        seen: dict[tuple[tuple[str, ...], ...], int] = {}
        previous: tuple[tuple[str, ...], ...] | None = None
        out: list[Event] = []
        for row in rows:
            values = [row_value(row, f) for f in fields]
            if any(v is None for v in values):
                if keep_empty:
                    out.append(row)
                continue
            key = tuple(text_key(v) for v in values)
            if consecutive:
                if key != previous:
                    out.append(row)
                previous = key
                continue
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= stage.count:
                out.append(row)
        return out

    return run


#: ``sort`` without a count keeps this many rows (Search Reference, "sort": default 10000).
SORT_DEFAULT_LIMIT = 10000


def _sort(stage: Sort, now: float) -> RowsFn:
    """``sort [N] [+|-]f ...`` (Search Reference, "sort"): by each key in turn, numbers
    numerically, IP addresses as addresses, else lexicographically, numbers before text; rows
    missing a key come last (either direction; ruleglot's choice); stable. ``limit`` keeps the
    first N rows (``None``: the documented default 10000; 0: all)."""
    keys = list(stage.keys)
    limit = SORT_DEFAULT_LIMIT if stage.limit is None else stage.limit

    def compare(left: Event, right: Event) -> int:
        for name, descending in keys:
            a, b = row_value(left, name), row_value(right, name)
            if a is None or b is None:
                if a is None and b is None:
                    continue
                return 1 if a is None else -1
            found = compare_values(values_of(a)[0], values_of(b)[0])
            if found:
                return -found if descending else found
        return 0

    def run(rows: list[Event]) -> list[Event]:
        ordered = sorted(rows, key=functools.cmp_to_key(compare))
        return ordered[:limit] if limit else ordered

    return run


def _head(stage: Head, now: float) -> RowsFn:
    """``head N`` keeps the first N rows; ``tail N`` the last N, in reverse order (Search
    Reference, "head", "tail")."""
    count = max(stage.count, 0)
    if stage.command == "tail":
        return lambda rows: list(reversed(rows[-count:])) if count else []
    if stage.command != "head":
        raise unsupported(
            construct=stage.command,
            message=f"{stage.command} is not supported",
            span=stage.span,
        )
    return lambda rows: rows[:count]


#: The stages of this module, for the pipeline's table (:mod:`ir.pipeline`).
STAGE_BUILDERS: dict[type, StageBuilder] = {
    Dedup: _dedup,
    Sort: _sort,
    Head: _head,
}
