"""``timechart``, run from its text (:class:`ir.nodes.Command`, as :mod:`ir.stages.commands`).

``timechart [span=S] [limit=0] <agg> [<agg> ...] [by <field>]`` (Search Reference,
"timechart"): the rows are put into time buckets of ``span`` (``_time`` floored to a multiple
of the span since the epoch, as ``bin``; days start at 00:00 UTC) and each bucket is one result
row with ``_time`` (the bucket's start), ``_span`` (its width in seconds) and the aggregations
(the ``stats`` functions, :func:`ir.stages.stats.aggregate`). ``cont=true`` (the default)
makes a row for every bucket between the first and the last, so an empty bucket is a row too:
there ``count``/``dc`` are 0 and the other functions have no value. ruleglot's searches have
no time picker, so the buckets run from the rows' first bucket to their last (an all-time
search). With ``by F`` each value of F is a column holding the one aggregation (``NULL`` for
rows without F, ``usenull=true``); only ``limit=0`` (every value a column) is modelled, as
the default ``limit=10`` folds the other values into ``OTHER`` by a ranking not modelled.
Refused by name: a span in months or longer or ``bins=`` (Splunk derives the span from the
time picker), ``by`` without ``limit=0``, several aggregations with ``by``, ``eval(...)``
arguments, and any other option. A row without ``_time`` falls in no bucket.
"""

from __future__ import annotations

import math
import re
from typing import Any

from ir.errors import unsupported
from ir.events import Event
from ir.functions import tidy_number, to_number, to_text, values_of
from ir.nodes import Command
from ir.stages.commands import command_args, span_seconds
from ir.stages.rows import Row, RowsFn, as_row, invalid, refuse_options, row_value
from ir.stages.stats import PERCENTILE, STATS_FUNCTIONS, aggregate

_AGG = re.compile(r"(\w+)(?:\(([^()]*)\))?")
#: Functions whose empty bucket is 0 rather than no value.
_ZERO_WHEN_EMPTY = {"count", "c", "dc", "distinct_count", "estdc"}
#: Options whose default is what ruleglot runs.
_DEFAULTS = {"cont": "true", "usenull": "true", "useother": "true"}


def _aggregations(command: Command, words: list[str]) -> tuple[list[tuple[str, str | None,
                                                                          str]], str | None]:
    """``(function, field or None, column name)`` for each aggregation, and the by-field."""
    by: str | None = None
    lowered = [w.lower() for w in words]
    if "by" in lowered:
        cut = lowered.index("by")
        if len(words) != cut + 2:
            raise unsupported(
                construct="timechart:by",
                message="timechart is supported with one by-field",
                span=command.span,
            )
        words, by = words[:cut], words[cut + 1]
    out: list[tuple[str, str | None, str]] = []
    index = 0
    while index < len(words):
        found = _AGG.fullmatch(words[index])
        function = found.group(1).lower() if found else ""
        if not found or (function not in STATS_FUNCTIONS and not PERCENTILE.fullmatch(function)):
            raise unsupported(
                construct="timechart:aggregation",
                message=f"timechart aggregation {words[index]!r} is not supported",
                span=command.span,
            )
        argument = found.group(2)
        if argument is not None and ("(" in argument or argument.strip() == ""):
            raise unsupported(
                construct="timechart:aggregation",
                message="timechart eval() arguments are not supported",
                span=command.span,
            )
        if argument is None and function not in ("count", "c"):
            raise invalid(f"timechart {function} needs a field", "timechart", command.span)
        name = words[index] if argument is not None else function
        index += 1
        if index < len(words) and words[index].lower() == "as":
            if index + 1 >= len(words):
                raise invalid("timechart: AS needs a name", "timechart", command.span)
            name = words[index + 1]
            index += 2
        out.append((function, argument.strip() if argument else None, name))
    if not out:
        raise invalid("timechart needs an aggregation", "timechart", command.span)
    if by is not None and len(out) > 1:
        raise unsupported(
            construct="timechart:aggregation",
            message="timechart with by is supported with one aggregation",
            span=command.span,
        )
    return out, by


def _timechart(command: Command, now: float) -> RowsFn:
    """See the module docstring."""
    options, words = command_args(command)
    refuse_options(command.name, options, {"span", "limit", *_DEFAULTS}, command.span)
    for key, default in _DEFAULTS.items():
        if key in options and options[key].lower() not in (default, "t", "1"):
            raise unsupported(
                construct=f"timechart:{key}",
                message=f"timechart {key}={options[key]} is not supported",
                span=command.span,
            )
    if "span" not in options:
        raise unsupported(
            construct="timechart:span",
            message="timechart without span= is not supported (Splunk derives it from "
                "the time range)",
            span=command.span,
        )
    width = span_seconds(options["span"], "timechart:span", command.span)
    if width <= 0:
        raise invalid("timechart span must be positive", "timechart", command.span)
    aggs, by = _aggregations(command, words)
    if by is not None and options.get("limit", "10").strip() != "0":
        raise unsupported(
            construct="timechart:limit",
            message="timechart by a field is supported with limit=0 only",
            span=command.span,
        )

    def cell(function: str, field: str | None, members: list[Row]) -> Any:
        if field is None:
            return len(members)
        values: list[Any] = []
        times: list[float | None] = []
        for row in members:
            found = values_of(row_value(row, field))
            values.extend(found)
            stamp = to_number(row.get("_time"))
            times.extend([None if stamp is None else float(stamp)] * len(found))
        return aggregate(function, values, times, len(members))

    def run(rows: list[Event]) -> list[Event]:
        buckets: dict[float, dict[str, list[Row]]] = {}
        series: dict[str, None] = {}
        for event in rows:
            row = as_row(event)
            stamp = to_number(row_value(row, "_time"))
            if stamp is None:
                continue
            start = math.floor(float(stamp) / width) * width
            keys = ["NULL"] if by is None else (
                [to_text(v) or "" for v in values_of(row_value(row, by))] or ["NULL"])
            for key in keys:
                buckets.setdefault(start, {}).setdefault(key, []).append(row)
                series.setdefault(key, None)
        if not buckets:
            return []
        first, last = min(buckets), max(buckets)
        out: list[Event] = []
        for step in range(int(round((last - first) / width)) + 1):
            start = first + step * width
            groups = buckets.get(start, {})
            fields: dict[str, Any] = {"_time": tidy_number(start), "_span": tidy_number(width)}
            for function, field, name in aggs:
                for key in sorted(series) if by is not None else ["NULL"]:
                    members = groups.get(key, [])
                    column = key if by is not None else name
                    value = cell(function, field, members) if members else (
                        0 if function in _ZERO_WHEN_EMPTY else None)
                    if value is not None:
                        fields[column] = value
            out.append(Row(fields))
        return out

    return run


#: The command of this module, for the driver's table (:mod:`ir.pipeline`).
COMMAND_BUILDERS = {"timechart": _timechart}
