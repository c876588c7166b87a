"""Aggregating stages: ``stats``/``eventstats``/``streamstats`` with the aggregate
functions (:func:`aggregate`, also the Spark engine's reference for its own aggregation), and
``bin``/``bucket`` (time and numeric buckets). Each stage's Splunk source is in its docstring.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ir.errors import Span, unsupported
from ir.evalexpr import compile_eval
from ir.events import Event
from ir.functions import (
    UNIT_MONTHS,
    UNIT_SECONDS,
    format_number,
    mv,
    parse_timestamp,
    tidy_number,
    time_unit,
    to_number,
    to_text,
    values_of,
)
from ir.nodes import (
    Aggregation,
    Bin,
    Stats,
)
from ir.stages.rows import (
    Row,
    RowsFn,
    SortForm,
    StageBuilder,
    as_row,
    compare_forms,
    field_names,
    fill_wildcards,
    invalid,
    refuse_options,
    row_value,
    sort_form,
    wild_match,
)

PERCENTILE = re.compile(r"(perc|p|exactperc|upperperc)(\d+(?:\.\d+)?)")
STATS_FUNCTIONS = {
    "count", "c", "dc", "distinct_count", "estdc", "values", "list", "min", "max", "sum", "avg",
    "mean", "earliest", "latest", "earliest_time", "latest_time", "first", "last", "range",
    "stdev", "stdevp", "var", "varp", "median", "mode", "sumsq",
}
#: ``list()`` keeps at most this many values (``limits.conf`` ``[stats] list_maxsize``).
LIST_MAXSIZE = 100


def _numbers(values: list[Any]) -> list[int | float]:
    return [n for n in (to_number(v) for v in values) if n is not None]


def _percentile(values: list[Any], pct: float, mode: str) -> Any:
    numbers = sorted(_numbers(values))
    if not numbers:
        return None
    if mode == "upperperc":
        index = min(len(numbers) - 1, math.ceil(pct / 100 * (len(numbers) - 1)))
        return numbers[index]
    position = pct / 100 * (len(numbers) - 1)
    low = math.floor(position)
    high = min(low + 1, len(numbers) - 1)
    return tidy_number(numbers[low] + (numbers[high] - numbers[low]) * (position - low))


def _extreme(values: list[Any], largest: bool) -> Any:
    """``min``/``max``: numerically when the values are numbers; otherwise strings compare
    lexicographically and are greater than numbers (numbers before strings)."""
    numbers = [v for v in values if to_number(v) is not None]
    strings = [v for v in values if to_number(v) is None]
    if largest:
        if strings:
            return max(strings, key=lambda v: to_text(v) or "")
        return max(numbers, key=lambda v: to_number(v) or 0) if numbers else None
    if numbers:
        return min(numbers, key=lambda v: to_number(v) or 0)
    return min(strings, key=lambda v: to_text(v) or "") if strings else None


def aggregate(function: str, values: list[Any], times: list[float | None], rows: int) -> Any:
    """One aggregation over a group. ``values``: every value of the argument in row order
    (multivalues contribute each value); ``times``: the ``_time`` of the row of each value;
    ``rows``: the group's row count (for ``count`` without argument)."""
    if function in ("count", "c"):
        return len(values)
    if function in ("dc", "distinct_count", "estdc"):
        return len({to_text(v) for v in values})
    if function == "values":
        unique: dict[str, Any] = {}
        for v in values:
            unique.setdefault(to_text(v) or "", v)
        return mv(unique[k] for k in sorted(unique))
    if function == "list":
        return mv(values[:LIST_MAXSIZE])
    if function in ("min", "max"):
        return _extreme(values, function == "max")
    if function in ("first", "last"):
        if not values:
            return None
        return values[0] if function == "first" else values[-1]
    if function in ("earliest", "latest", "earliest_time", "latest_time"):
        timed = [(t, i) for i, t in enumerate(times) if t is not None]
        if not timed:
            return None
        pick = min(timed) if function.startswith("earliest") else max(
            timed, key=lambda p: (p[0], -p[1]))
        if function.endswith("_time"):
            return tidy_number(pick[0])
        return values[pick[1]]
    if function == "mode":
        counts: dict[str, int] = {}
        first: dict[str, Any] = {}
        for v in values:
            text = to_text(v) or ""
            counts[text] = counts.get(text, 0) + 1
            first.setdefault(text, v)
        if not counts:
            return None
        best = max(counts.values())
        return next(first[k] for k, c in counts.items() if c == best)
    numbers = _numbers(values)
    if function == "median":
        return _percentile(values, 50, "exactperc")
    percentile = PERCENTILE.fullmatch(function)
    if percentile:
        return _percentile(values, float(percentile.group(2)), percentile.group(1))
    if not numbers:
        return None
    if function == "sum":
        return tidy_number(sum(numbers))
    if function == "sumsq":
        return tidy_number(sum(n * n for n in numbers))
    if function in ("avg", "mean"):
        return tidy_number(sum(numbers) / len(numbers))
    if function == "range":
        return tidy_number(max(numbers) - min(numbers))
    if function in ("stdev", "var"):
        if len(numbers) < 2:
            return None
        spread = statistics.variance(numbers)
        return tidy_number(math.sqrt(spread) if function == "stdev" else spread)
    if function in ("stdevp", "varp"):
        spread = statistics.pvariance(numbers)
        return tidy_number(math.sqrt(spread) if function == "stdevp" else spread)
    raise AssertionError(function)


class _Agg:
    """One compiled ``function(argument) as alias``."""

    def __init__(self, agg: Aggregation, by: Sequence[str], span: Span | None, now: float):
        self.function = agg.function.lower()
        if self.function not in STATS_FUNCTIONS and not PERCENTILE.fullmatch(self.function):
            raise unsupported(
                construct=f"stats:{agg.function}",
                message=f"stats function {agg.function}() is not supported",
                span=span,
            )
        self.by = set(by)
        self.argument = agg.argument
        self.compute: Callable[[Any], Any] | None = None
        self.pattern: str | None = None
        self.field: str | None = None
        if agg.argument is None:
            if self.function not in ("count", "c"):
                raise invalid(f"{agg.function}() needs an argument", f"stats:{agg.function}",
                               span)
            self.alias = agg.alias or "count"
        elif isinstance(agg.argument, str):
            if "*" in agg.argument:
                self.pattern = agg.argument
                self.alias = agg.alias or f"{agg.function}({agg.argument})"
            else:
                self.field = agg.argument
                self.alias = agg.alias or f"{agg.function}({agg.argument})"
        else:
            if agg.alias is None:
                raise invalid(f"{agg.function}(eval(...)) needs an AS name",
                               f"stats:{agg.function}", span)
            self.compute = compile_eval(agg.argument, now=now)
            self.alias = agg.alias

    def outputs(self, rows: list[Row]) -> list[tuple[str, str | None]]:
        """``(output name, field read)`` pairs; a wildcard argument gives one per field."""
        if self.pattern is None:
            return [(self.alias, self.field)]
        names: dict[str, None] = {}
        for row in rows:
            for name in field_names(row):
                if name not in self.by:
                    names.setdefault(name, None)
        out: list[tuple[str, str | None]] = []
        for name in sorted(names):
            match = wild_match(self.pattern, name)
            if match is not None:
                out.append((fill_wildcards(self.alias, match.groups()), name))
        return out

    def values(self, rows: list[Row], field: str | None) -> tuple[list[Any], list[float | None]]:
        values: list[Any] = []
        times: list[float | None] = []
        for row in rows:
            if self.compute is not None:
                value = self.compute(row)
                if value is False:
                    value = None
            elif field is not None:
                value = row_value(row, field)
            else:
                value = True
            found = values_of(value)
            values.extend(found)
            if found:
                stamp = to_number(row.get("_time"))
                times.extend([None if stamp is None else float(stamp)] * len(found))
        return values, times

    def run(self, rows: list[Row], into: dict[str, Any]) -> None:
        for name, field in self.outputs(rows):
            if self.argument is None:
                into[name] = len(rows)
                continue
            values, times = self.values(rows, field)
            result = aggregate(self.function, values, times, len(rows))
            if result is not None:
                into[name] = result


def _group_keys(row: Row, by: Sequence[str]) -> list[tuple[tuple[str, ...], tuple[Any, ...]]]:
    """The groups a row belongs to: one per combination of its by-field values (a multivalue
    by-field puts the row in a group per value); none when a by-field is missing."""
    combos: list[tuple[tuple[str, ...], tuple[Any, ...]]] = [((), ())]
    for name in by:
        value = row_value(row, name)
        if value is None:
            return []
        combos = [(k + (to_text(v) or "",), vs + (v,)) for k, vs in combos
                  for v in values_of(value)]
    return combos


def _stats(stage: Stats, now: float) -> RowsFn:
    """``stats`` (Search Reference, "stats" and "Aggregate functions"): one row per
    combination of the by-fields, sorted by them (SPL order: numbers numerically, else
    lexicographically), holding the by-fields and each aggregation under its ``AS`` name or
    ``function(field)`` (``count`` alone: ``count``). A row missing a by-field is in no group.
    Without by-fields there is always one row (``count`` 0 over no events).

    Functions: ``count``, ``dc``/``distinct_count`` (``estdc`` computed exactly), ``values``
    (distinct, lexicographic), ``list`` (row order, at most 100), ``min``/``max`` (numbers
    numerically, text above numbers), ``sum``, ``avg``, ``range``, ``stdev``/``stdevp``,
    ``var``/``varp``, ``median`` and ``perc<N>``/``p<N>``/``exactperc<N>`` (linear
    interpolation between the closest ranks), ``upperperc<N>`` (the upper rank), ``mode``,
    ``first``/``last`` (row order: Splunk's rows come newest first, ruleglot's in input order),
    ``earliest``/``latest`` (by ``_time``), ``earliest_time``/``latest_time``, ``sumsq``. A
    multivalue field contributes each value. ``f(eval(X)) AS name`` aggregates the values of
    X, where false counts as null, so ``count(eval(X))`` counts the rows where X is true.
    ``values(*) AS *`` applies to every field but the by-fields, keeping each name."""
    if stage.command == "tstats":
        raise unsupported(
            construct="tstats",
            message="tstats without 'from datamodel=' reads index-time fields, not events: it "
                "cannot run on events",
            span=stage.span,
        )
    aggs = [_Agg(a, stage.by, stage.span, now) for a in stage.aggregations]
    by = list(stage.by)
    options = dict(stage.options)
    if stage.command == "eventstats":
        return _eventstats(aggs, by)
    if stage.command == "streamstats":
        return _streamstats(aggs, by, options, stage.span)
    if stage.command != "stats":
        raise unsupported(
            construct=stage.command,
            message=f"{stage.command} is not supported",
            span=stage.span,
        )

    def run(rows: list[Event]) -> list[Event]:
        groups: dict[tuple[str, ...], tuple[tuple[Any, ...], list[Row]]] = {}
        for event in rows:
            row = as_row(event)
            for key, shown in _group_keys(row, by):
                groups.setdefault(key, (shown, []))[1].append(row)
        if not by and not groups:
            groups[()] = ((), [])
        # each by-value read once (sort_form), not once per comparison
        forms = {key: tuple(sort_form(v) for v in shown) for key, (shown, _) in groups.items()}
        key_of = functools.cmp_to_key(_compare_keys)
        ordered = [groups[key] for key in sorted(forms, key=lambda key: key_of(forms[key]))]
        out: list[Event] = []
        for shown, members in ordered:
            fields: dict[str, Any] = dict(zip(by, shown, strict=True))
            for agg in aggs:
                agg.run(members, fields)
            for name, value in zip(by, shown, strict=True):
                fields[name] = value
            out.append(Row(fields))
        return out

    return run


def _compare_keys(left: tuple[SortForm, ...], right: tuple[SortForm, ...]) -> int:
    for a, b in zip(left, right, strict=False):
        found = compare_forms(a, b)
        if found:
            return found
    return 0


def _eventstats(aggs: list[_Agg], by: list[str]) -> RowsFn:
    """``eventstats`` (Search Reference, "eventstats"): the aggregations of each row's group
    added to the row (rows missing a by-field are left as they are); row order is kept."""

    def run(rows: list[Event]) -> list[Event]:
        members: dict[tuple[str, ...], list[Row]] = {}
        as_rows = [as_row(r) for r in rows]
        keys: list[list[tuple[str, ...]]] = []
        for row in as_rows:
            found = [k for k, _ in _group_keys(row, by)]
            keys.append(found)
            for key in found:
                members.setdefault(key, []).append(row)
        results: dict[tuple[str, ...], dict[str, Any]] = {}
        for key, group in members.items():
            results[key] = {}
            for agg in aggs:
                agg.run(group, results[key])
        out: list[Event] = []
        for row, found in zip(as_rows, keys, strict=True):
            if not found:
                out.append(row)
                continue
            fields = dict(row.fields)
            fields.update(results[found[0]])
            out.append(row.derive(fields))
        return out

    return run


def _streamstats(
    aggs: list[_Agg], by: list[str], options: Mapping[str, str], span: Span | None
) -> RowsFn:
    """``streamstats`` (Search Reference, "streamstats"): each row gets the aggregations over
    the rows of its group seen so far, in row order, itself included (``current=f``: not);
    ``window=N``: only the last N rows of the group. Other options are ``unsupported``."""
    refuse_options("streamstats", options, ("window", "current", "global", "allnum"), span)
    window = int(options.get("window", "0") or 0)
    current = str(options.get("current", "t")).lower() not in ("f", "false", "0")

    def run(rows: list[Event]) -> list[Event]:
        seen: dict[tuple[str, ...], list[Row]] = {}
        out: list[Event] = []
        for event in rows:
            row = as_row(event)
            found = _group_keys(row, by)
            if not found:
                out.append(row)
                continue
            key = found[0][0]
            history = seen.setdefault(key, [])
            if current:
                history.append(row)
            group = history[-window:] if window else history
            fields = dict(row.fields)
            for agg in aggs:
                agg.run(list(group), fields)
            if not current:
                history.append(row)
            out.append(row.derive(fields))
        return out

    return run


_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")


def bin_time_number(value: Any) -> float | None:
    """The number ``bin`` floors in a time field's value: ``to_number`` of a single value, else
    the timestamp :func:`~ir.functions.parse_timestamp` reads (a text timestamp, a multivalue's
    first value); ``None``: the value is left as it is. Public for the Spark engine's ``bin``."""
    number = to_number(value) if not isinstance(value, list) else None
    if number is None and value is not None:
        number = parse_timestamp(value)
    return None if number is None else float(number)


def parse_bin_span(stage: Bin) -> tuple[float, str]:
    """The amount and unit word (``""``: none) of ``bin span=``; ``unsupported`` without a
    span (``bin:bins``: Splunk picks it from the data's time range) or with one that is not
    ``<number>[<unit>]`` (``bin:span``). Public for the Spark engine's ``bin``."""
    if stage.span_text is None:
        raise unsupported(
            construct="bin:bins",
            message="bin without span= is not supported",
            span=stage.span,
        )
    found = _SPAN.fullmatch(stage.span_text.strip())
    if found is None:
        raise unsupported(
            construct="bin:span",
            message=f"bin span={stage.span_text} is not supported",
            span=stage.span,
        )
    return float(found.group(1)), found.group(2)


def _bin(stage: Bin, now: float) -> RowsFn:
    """``bin``/``bucket`` (Search Reference, "bin"): the field (``_time`` by default) floored
    to a multiple of ``span``. Time spans: ``s m h d w`` multiples of epoch seconds (days start
    at 00:00 UTC), ``mon``/``q``/``y`` calendar months from January. Any other field takes a
    numeric span and becomes the range text ``lo-hi`` (the ``bin`` page's examples); values
    that are not numbers are left as they are. ``bins=N`` without a span is unsupported
    (Splunk picks the span from the data's time range). ``AS`` writes another field."""
    amount, unit_word = parse_bin_span(stage)
    is_time = stage.field == "_time" or bool(unit_word)
    target = stage.alias or stage.field
    unit = time_unit(unit_word) if unit_word else ("s" if is_time else None)
    if unit_word and unit is None:
        raise unsupported(
            construct="bin:span",
            message=f"bin span unit {unit_word!r} is not supported",
            span=stage.span,
        )
    if amount <= 0:
        raise invalid("bin span must be positive", "bin", stage.span)

    def floor_time(stamp: float) -> int | float:
        if unit in UNIT_SECONDS:
            width = amount * UNIT_SECONDS[unit]
            return tidy_number(math.floor(stamp / width) * width)
        when = _dt.datetime.fromtimestamp(stamp, _dt.UTC)
        months = int(amount) * UNIT_MONTHS[unit or "mon"]
        index = (when.year * 12 + when.month - 1) // months * months
        start = _dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=_dt.UTC)
        return tidy_number(start.timestamp())

    def floor_number(number: float) -> str:
        low = tidy_number(math.floor(number / amount) * amount)
        high = tidy_number(low + amount)
        return f"{format_number(low)}-{format_number(high)}"

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = as_row(event)
            value = row_value(row, stage.field)
            if is_time:
                number: float | None = bin_time_number(value)
            else:
                number = to_number(value) if not isinstance(value, list) else None
            if number is None:
                out.append(row)
                continue
            fields = dict(row.fields)
            fields[target] = floor_time(float(number)) if is_time else floor_number(number)
            out.append(row.derive(fields))
        return out

    return run


#: The stages of this module, for the pipeline's table (:mod:`ir.pipeline`).
STAGE_BUILDERS: dict[type, StageBuilder] = {
    Stats: _stats,
    Bin: _bin,
}
