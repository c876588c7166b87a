"""Running SPL stages: a rule's stages map a list of rows to a list of rows.

:func:`run_pipeline` compiles every stage once (:func:`compile_pipeline`) and runs them on the
events. The first rows are the events; a row is an :class:`ir.events.Event` (a :class:`Row`
once stages change fields), so filters run through the one evaluator
(:func:`ir.evaluator.compile_expr`) and eval expressions through :mod:`ir.evalexpr`. Each
stage's semantics and its Splunk source (Splunk Search Reference, the page of that command) are
in the docstring of the function that compiles it.

Rows
    A :class:`Row` holds a plain ``fields`` dict and, while it still stands for one event, that
    event (``source``): ``_raw`` is the event's ``_raw`` and ``_time`` its time unless a stage
    set them. Stages never change a row in place: they build new rows.

The event-time rule (``_time``)
    Splunk gives every event ``_time``, in epoch seconds. ruleglot takes the event's own
    ``_time`` field when it has one (a number, or a timestamp text), else the first of
    ``TimeCreated_SystemTime`` (EVTX), ``@timestamp``, ``TimeCreated``, ``TimeGenerated``,
    ``UtcTime`` (Sysmon), ``EventTime`` (NXLog) that holds an ISO-8601 or ``YYYY-MM-DD
    HH:MM:SS(.fff)`` timestamp (no zone means UTC; ``EventTime`` is local time in NXLog exports
    and comes last for that reason); an event with none has no ``_time``. See
    :func:`event_time`.

Field aliases
    ``aliases`` (rule field -> event field, as a log-source profile's alias map) are applied
    to each event before the first stage, as Splunk applies ``FIELDALIAS`` at search time: the
    rule's name gets the event field's value, or is removed when the event has no such field
    (Splunk 7.2.4 and later: Release Notes, "Field alias behavior change"). Later stages see
    the aliased names like any other field.

Wildcard field lists
    ``*`` in a field name (``rename``, ``table``, ``fields``, ``stats values(*)``,
    ``convert``) is any run of characters; it does not match the internal fields ``_raw`` and
    ``_time`` unless the pattern itself starts with ``_`` (ruleglot's reading of SPL's rule that
    ``fields - *`` keeps internal fields).

``tstats`` (:class:`ir.nodes.DataModel`, then ``Filter(command="tstats")``, then
``Stats(command="tstats")``)
    The events become the rows of the data set through a data-model profile
    (:mod:`ir.datamodels`, default ``cim_windows``; see :func:`_datamodel`), the ``where`` is an
    ordinary filter through the one evaluator, and the aggregation is ``stats`` with tstats'
    ``fillnull_value`` and ``span`` (:func:`_tstats`). ``DataModel`` must be the first stage
    (tstats is a generating command).

Not evaluated (``unsupported`` errors naming the construct, at the stage's position):
``tstats`` without ``from datamodel=`` (it reads index-time fields), ``prestats``/``append``,
subsearches other than ``join``/``append``/``appendpipe``/``search [...]`` (which run:
:func:`_join`...),
every :class:`ir.nodes.Command`, and options a stage does not model.
"""

from __future__ import annotations

import datetime as _dt
import functools
import ipaddress
import math
import re
import statistics
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ir.datamodels import DataModelProfile, DataSet, cim_windows
from ir.errors import RuleglotError, Span
from ir.evalexpr import compile_eval
from ir.evaluator import compile_expr
from ir.events import MISSING, Event, walk_dotted
from ir.functions import (
    compile_regex,
    expand_template,
    field_value,
    format_number,
    mv,
    order,
    parse_timestamp,
    strftime,
    strptime,
    tidy_number,
    time_unit,
    to_number,
    to_text,
    values_of,
)
from ir.lookups import LookupProvider, LookupTable
from ir.nodes import (
    EXCLUDE,
    FOREACH_FIELD,
    Aggregation,
    And,
    Bin,
    Command,
    Convert,
    DataModel,
    Dedup,
    Eval,
    EvalExpr,
    Expr,
    FillNull,
    Filter,
    ForEach,
    Head,
    Kind,
    Lookup,
    MultiValue,
    Or,
    Pattern,
    Predicate,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    Wildcard,
    conjuncts,
    map_eval,
    predicates,
)

#: Timestamp fields read for ``_time`` after the event's own ``_time``, in this order.
TIME_FIELDS = (
    "TimeCreated_SystemTime",
    "@timestamp",
    "TimeCreated",
    "TimeGenerated",
    "UtcTime",
    "EventTime",
)

RowsFn = Callable[[list[Event]], list[Event]]


def event_time(event: Event) -> float | None:
    """``_time`` of an event by the event-time rule (module docstring), in epoch seconds."""
    for name in ("_time", *TIME_FIELDS):
        value = event.fields.get(name, MISSING)
        if value is MISSING or value is None:
            continue
        stamp = parse_timestamp(value)
        if stamp is not None:
            return stamp
    return None


class Row(Event):
    """A pipeline row: a plain ``fields`` dict, and the event it stands for (``source``) while
    it stands for one. ``_raw`` and ``_time`` fall back to the source's (module docstring)."""

    __slots__ = ("source",)

    def __init__(
        self,
        fields: dict[str, Any],
        source: Event | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.fields = fields
        self.raw = fields if raw is None else raw
        self.source = source
        self._text = None
        self._raw_cache = None
        self._cache = {}

    @classmethod
    def of(cls, event: Event, aliases: Mapping[str, str] | None = None) -> Row:
        """The first row for an event (with field aliases applied, if any)."""
        if isinstance(event, Row) and not aliases:
            return event
        source = event.source if isinstance(event, Row) else event
        if not aliases:
            return cls(event.fields, source, event.raw)
        fields = dict(event.fields)
        for rule_name, event_name in aliases.items():
            if rule_name == event_name:
                continue
            value = event.get(event_name)
            if value is MISSING:
                fields.pop(rule_name, None)
            else:
                fields[rule_name] = value
        return cls(fields, source, event.raw)

    def derive(self, fields: dict[str, Any], keep_source: bool = True) -> Row:
        """A new row with these fields (and this row's event, unless told otherwise)."""
        return Row(fields, self.source if keep_source else None)

    def get(self, name: str) -> Any:
        value = self.fields.get(name, MISSING)
        if value is MISSING:
            if name == "_raw":
                return self.source.raw_text if self.source is not None else MISSING
            if name == "_time":
                if self.source is None:
                    return MISSING
                stamp = self._cache.get(("time", None), MISSING)
                if stamp is MISSING:
                    found = event_time(self.source)
                    stamp = MISSING if found is None else tidy_number(found)
                    self._cache[("time", None)] = stamp
                return stamp
            if "." in name:
                value = walk_dotted(self.fields, name)
        return value

    @property
    def raw_text(self) -> str:
        own = self.fields.get("_raw")
        if isinstance(own, str):
            return own
        return self.source.raw_text if self.source is not None else ""

    def names(self) -> list[str]:
        """The row's field names as wildcards see them: its keys (objects expanded to dotted
        leaves; an EVTX event's ``Event`` wrapper left out, its fields being hoisted)."""
        out: list[str] = []
        nested = self.source is not None and self.source.fields is not self.source.raw
        for key, value in self.fields.items():
            if isinstance(value, dict):
                if nested and key == "Event":
                    continue
                out.extend(_dotted_leaves(key, value))
            else:
                out.append(key)
        return out

    def __repr__(self) -> str:
        return f"Row({self.fields!r})"


def _dotted_leaves(prefix: str, obj: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            out.extend(_dotted_leaves(name, value))
        else:
            out.append(name)
    return out


def _value(row: Event, name: str) -> Any:
    """A field's eval value (``None`` when missing)."""
    raw = row.get(name)
    return None if raw is MISSING else field_value(raw)


def _key(value: Any) -> tuple[str, ...]:
    """A hashable, text-based identity for a value (what SPL compares: field texts)."""
    return tuple(to_text(v) or "" for v in values_of(value))


def _unsupported(message: str, construct: str, span: Span | None) -> RuleglotError:
    return RuleglotError(message, category="unsupported", construct=construct).at(span)


def _invalid(message: str, construct: str, span: Span | None) -> RuleglotError:
    return RuleglotError(message, construct=construct).at(span)


# --- wildcard field names ----------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("(.*?)".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)


def _wild_match(pattern: str, name: str) -> re.Match[str] | None:
    if name.startswith("_") and not pattern.startswith("_") and name in ("_raw", "_time"):
        return None
    return _wildcard(pattern).fullmatch(name)


def fill_wildcards(template: str, captures: Sequence[str]) -> str:
    """A rename/alias template with each `*` replaced by what the pattern's `*` captured."""
    pieces = template.split("*")
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        out.append(captures[index] if index < len(captures) else "")
        out.append(piece)
    return "".join(out)


def _names(row: Event) -> list[str]:
    return row.names() if isinstance(row, Row) else list(row.fields)


# --- stages ------------------------------------------------------------------------------------


def _filter(stage: Filter, now: float) -> RowsFn:
    """``search``/``where``/``regex`` (Search Reference, "search", "where", "regex"): keep the
    rows for which the filter holds, by :func:`ir.evaluator.compile_expr`."""
    matcher = compile_expr(stage.expr, now=now)
    return lambda rows: [r for r in rows if matcher(r)]


def _eval(stage: Eval, now: float) -> RowsFn:
    """``eval`` (Search Reference, "eval"): the assignments in order, each seeing the previous
    ones; a null result removes the field. A boolean result is stored as is (Splunk refuses
    to assign one; ruleglot keeps it and reads it back as ``true``/``false``)."""
    assignments = [(name, compile_eval(expr, now=now)) for name, expr in stage.assignments]

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            current = _as_row(row).derive(dict(row.fields))
            for name, compute in assignments:
                value = compute(current)
                if value is None:
                    current.fields.pop(name, None)
                else:
                    current.fields[name] = value
            out.append(current)
        return out

    return run


def _as_row(event: Event) -> Row:
    return event if isinstance(event, Row) else Row.of(event)


_SED = re.compile(r"^(s|y)/((?:\\.|[^/\\])*)/((?:\\.|[^/\\])*)/(\w*)$", re.DOTALL)


def _sed(stage: Rex) -> Callable[[str], str]:
    """``rex mode=sed "s/REGEX/REPLACEMENT/FLAGS"`` (``g`` every match, a number N the Nth
    only, default the first; ``i`` ignore case) or ``"y/ABC/XYZ/"`` (transliteration)."""
    found = _SED.match(stage.pattern)
    if found is None:
        raise _invalid(f"rex mode=sed needs s/regex/replacement/flags, not {stage.pattern!r}",
                       "rex", stage.span)
    command, left, right, flags = found.groups()
    left, right = left.replace("\\/", "/"), right.replace("\\/", "/")
    if command == "y":
        if len(left) != len(right):
            raise _invalid("rex y/// needs two lists of the same length", "rex", stage.span)
        table = str.maketrans(left, right)
        return lambda text: text.translate(table)
    rx = compile_regex(left, re.IGNORECASE if "i" in flags else 0)
    expand = expand_template(right)
    nth = int(re.sub(r"\D", "", flags) or 0)
    if "g" in flags:
        return lambda text: rx.sub(expand, text)
    if nth <= 1:
        return lambda text: rx.sub(expand, text, count=1)

    def replace_nth(text: str) -> str:
        for index, match in enumerate(rx.finditer(text), start=1):
            if index == nth:
                return text[: match.start()] + expand(match) + text[match.end() :]
        return text

    return replace_nth


def _rex(stage: Rex, now: float) -> RowsFn:
    """``rex`` (Search Reference, "rex"): the named groups of the first match of the regex in
    the field (``_raw`` by default) become fields; ``max_match`` > 1 (0: no limit) collects
    up to that many matches, several making a multivalue. A group that takes no part sets
    nothing; no match changes nothing. A multivalue field is searched value by value.
    ``mode=sed`` rewrites the field instead."""
    name = stage.field
    if stage.mode == "sed":
        rewrite = _sed(stage)

        def run_sed(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = _value(row, name)
                if value is None:
                    out.append(row)
                    continue
                fields = dict(row.fields)
                fields[name] = mv(rewrite(to_text(v) or "") for v in values_of(value))
                out.append(_as_row(row).derive(fields))
            return out

        return run_sed
    if stage.mode not in (None, "", "rex"):
        raise _unsupported(f"rex mode={stage.mode} is not supported", "rex:mode", stage.span)
    rx = compile_regex(stage.pattern)
    groups = [g for g in rx.groupindex]
    limit = stage.max_match if stage.max_match > 0 else None

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            value = _value(row, name)
            matches: list[re.Match[str]] = []
            for text in values_of(value):
                for match in rx.finditer(to_text(text) or ""):
                    matches.append(match)
                    if limit is not None and len(matches) >= limit:
                        break
                if limit is not None and len(matches) >= limit:
                    break
            if not matches:
                out.append(row)
                continue
            fields = dict(row.fields)
            for group in groups:
                found = mv(m.group(group) for m in matches)
                if found is not None:
                    fields[group] = found
            out.append(_as_row(row).derive(fields))
        return out

    return run


def _rename(stage: Rename, now: float) -> RowsFn:
    """``rename X AS Y, ...`` (Search Reference, "rename"): pairs in order; ``*`` in both names
    carries the matched text (``rename *_ip AS ip_*``). The new name replaces an existing field
    of that name; when the old field is missing, an existing field with the new name is
    removed (as OpenSearch PPL, which follows SPL, documents; the Splunk page is silent)."""
    pairs = list(stage.pairs)
    for old, new in pairs:
        if old.count("*") != new.count("*") and new.count("*"):
            raise _invalid(f"rename {old} AS {new}: the wildcards must correspond", "rename",
                           stage.span)

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            current = _as_row(row)
            fields = dict(current.fields)
            for old, new in pairs:
                if "*" in old:
                    for name in list(_names(Row(fields, current.source))):
                        match = _wild_match(old, name)
                        if match is None:
                            continue
                        value = Row(fields, current.source).get(name)
                        fields.pop(name, None)
                        fields[fill_wildcards(new, match.groups())] = value
                    continue
                value = Row(fields, current.source).get(old)
                fields.pop(old, None)
                if value is MISSING:
                    fields.pop(new, None)
                else:
                    fields[new] = value
            out.append(current.derive(fields))
        return out

    return run


def _table(stage: Table, now: float) -> RowsFn:
    """``table`` (Search Reference, "table"): only the listed fields, in the listed order
    (a wildcard lists the matching fields in name order); ``_raw`` and ``_time`` only if
    listed. ``fields f ...`` keeps the listed fields and the internal ``_raw`` and ``_time``;
    ``fields - f ...`` removes the listed ones (Search Reference, "fields")."""
    patterns = list(stage.fields)
    keep_internal = stage.command == "fields"

    def pick(row: Row) -> dict[str, Any]:
        chosen: dict[str, Any] = {}
        names = _names(row)
        for pattern in patterns:
            if "*" in pattern:
                for name in sorted(n for n in names if _wild_match(pattern, n)):
                    chosen.setdefault(name, row.get(name))
                if pattern.startswith("_"):
                    for internal in ("_raw", "_time"):
                        if _wild_match(pattern, internal) and row.get(internal) is not MISSING:
                            chosen.setdefault(internal, row.get(internal))
            else:
                value = row.get(pattern)
                if value is not MISSING:
                    chosen.setdefault(pattern, value)
        return chosen

    def run_table(rows: list[Event]) -> list[Event]:
        return [Row(pick(_as_row(r))) for r in rows]

    def run_fields(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = _as_row(event)
            chosen = pick(row)
            if stage.remove:
                fields = {k: v for k, v in row.fields.items() if k not in chosen}
                drop_internal = [n for n in ("_raw", "_time") if n in chosen]
                if not drop_internal:
                    out.append(row.derive(fields))
                    continue
                for internal in ("_raw", "_time"):
                    if internal not in chosen and row.get(internal) is not MISSING:
                        fields[internal] = row.get(internal)
                out.append(Row(fields))
                continue
            out.append(row.derive(chosen) if keep_internal else Row(chosen))
        return out

    return run_fields if stage.command == "fields" else run_table


# --- stats --------------------------------------------------------------------------------------

PERCENTILE = re.compile(r"(perc|p|exactperc|upperperc)(\d+(?:\.\d+)?)")
_STATS_FUNCTIONS = {
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
        if self.function not in _STATS_FUNCTIONS and not PERCENTILE.fullmatch(self.function):
            raise _unsupported(f"stats function {agg.function}() is not supported",
                               f"stats:{agg.function}", span)
        self.by = set(by)
        self.argument = agg.argument
        self.compute: Callable[[Any], Any] | None = None
        self.pattern: str | None = None
        self.field: str | None = None
        if agg.argument is None:
            if self.function not in ("count", "c"):
                raise _invalid(f"{agg.function}() needs an argument", f"stats:{agg.function}",
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
                raise _invalid(f"{agg.function}(eval(...)) needs an AS name",
                               f"stats:{agg.function}", span)
            self.compute = compile_eval(agg.argument, now=now)
            self.alias = agg.alias

    def outputs(self, rows: list[Row]) -> list[tuple[str, str | None]]:
        """``(output name, field read)`` pairs; a wildcard argument gives one per field."""
        if self.pattern is None:
            return [(self.alias, self.field)]
        names: dict[str, None] = {}
        for row in rows:
            for name in _names(row):
                if name not in self.by:
                    names.setdefault(name, None)
        out: list[tuple[str, str | None]] = []
        for name in sorted(names):
            match = _wild_match(self.pattern, name)
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
                value = _value(row, field)
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
        value = _value(row, name)
        if value is None:
            return []
        combos = [(k + (to_text(v) or "",), vs + (v,)) for k, vs in combos
                  for v in values_of(value)]
    return combos


def _compare_values(left: Any, right: Any) -> int:
    """SPL's sort order for two values: numbers numerically, IP addresses as addresses,
    otherwise texts lexicographically, and numbers before text."""
    a, b = to_number(left), to_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if a is not None:
        return -1
    if b is not None:
        return 1
    ta, tb = to_text(left) or "", to_text(right) or ""
    try:
        ia, ib = ipaddress.ip_address(ta), ipaddress.ip_address(tb)
        if ia.version == ib.version:
            return (int(ia) > int(ib)) - (int(ia) < int(ib))
    except ValueError:
        pass
    return order(ta, tb)


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
        raise _unsupported(
            "tstats without 'from datamodel=' reads index-time fields, not events: it "
            "cannot run on events", "tstats", stage.span)
    aggs = [_Agg(a, stage.by, stage.span, now) for a in stage.aggregations]
    by = list(stage.by)
    options = dict(stage.options)
    if stage.command == "eventstats":
        return _eventstats(aggs, by)
    if stage.command == "streamstats":
        return _streamstats(aggs, by, options, stage.span)
    if stage.command != "stats":
        raise _unsupported(f"{stage.command} is not supported", stage.command, stage.span)

    def run(rows: list[Event]) -> list[Event]:
        groups: dict[tuple[str, ...], tuple[tuple[Any, ...], list[Row]]] = {}
        for event in rows:
            row = _as_row(event)
            for key, shown in _group_keys(row, by):
                groups.setdefault(key, (shown, []))[1].append(row)
        if not by and not groups:
            groups[()] = ((), [])
        def by_keys(
            a: tuple[tuple[Any, ...], list[Row]], b: tuple[tuple[Any, ...], list[Row]]
        ) -> int:
            return _compare_keys(a[0], b[0])

        ordered = sorted(groups.values(), key=functools.cmp_to_key(by_keys))
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


def _compare_keys(left: tuple[Any, ...], right: tuple[Any, ...]) -> int:
    for a, b in zip(left, right, strict=False):
        found = _compare_values(a, b)
        if found:
            return found
    return 0


def _eventstats(aggs: list[_Agg], by: list[str]) -> RowsFn:
    """``eventstats`` (Search Reference, "eventstats"): the aggregations of each row's group
    added to the row (rows missing a by-field are left as they are); row order is kept."""

    def run(rows: list[Event]) -> list[Event]:
        members: dict[tuple[str, ...], list[Row]] = {}
        as_rows = [_as_row(r) for r in rows]
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
    for option in options:
        if option not in ("window", "current", "global", "allnum"):
            raise _unsupported(f"streamstats {option}= is not supported",
                               f"streamstats:{option}", span)
    window = int(options.get("window", "0") or 0)
    current = str(options.get("current", "t")).lower() not in ("f", "false", "0")

    def run(rows: list[Event]) -> list[Event]:
        seen: dict[tuple[str, ...], list[Row]] = {}
        out: list[Event] = []
        for event in rows:
            row = _as_row(event)
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


# --- bin, dedup, sort, head ---------------------------------------------------------------------

_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")


def bin_time_number(value: Any) -> float | None:
    """The number ``bin`` floors in a time field's value: ``to_number`` of a single value, else
    the timestamp :func:`~ir.functions.parse_timestamp` reads (a text timestamp, a multivalue's
    first value); ``None``: the value is left as it is. Public for the Spark engine's ``bin``."""
    number = to_number(value) if not isinstance(value, list) else None
    if number is None and value is not None:
        number = parse_timestamp(value)
    return None if number is None else float(number)


def _bin(stage: Bin, now: float) -> RowsFn:
    """``bin``/``bucket`` (Search Reference, "bin"): the field (``_time`` by default) floored
    to a multiple of ``span``. Time spans: ``s m h d w`` multiples of epoch seconds (days start
    at 00:00 UTC), ``mon``/``q``/``y`` calendar months from January. Any other field takes a
    numeric span and becomes the range text ``lo-hi`` (the ``bin`` page's examples); values
    that are not numbers are left as they are. ``bins=N`` without a span is unsupported
    (Splunk picks the span from the data's time range). ``AS`` writes another field."""
    if stage.span_text is None:
        raise _unsupported("bin without span= is not supported", "bin:bins", stage.span)
    found = _SPAN.fullmatch(stage.span_text.strip())
    if found is None:
        raise _unsupported(f"bin span={stage.span_text} is not supported", "bin:span",
                           stage.span)
    amount, unit_word = float(found.group(1)), found.group(2)
    is_time = stage.field == "_time" or bool(unit_word)
    target = stage.alias or stage.field
    unit = time_unit(unit_word) if unit_word else ("s" if is_time else None)
    if unit_word and unit is None:
        raise _unsupported(f"bin span unit {unit_word!r} is not supported", "bin:span",
                           stage.span)
    if amount <= 0:
        raise _invalid("bin span must be positive", "bin", stage.span)
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

    def floor_time(stamp: float) -> int | float:
        if unit in seconds:
            width = amount * seconds[unit]
            return tidy_number(math.floor(stamp / width) * width)
        when = _dt.datetime.fromtimestamp(stamp, _dt.UTC)
        months = int(amount) * {"mon": 1, "q": 3, "y": 12}[unit or "mon"]
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
            row = _as_row(event)
            value = _value(row, stage.field)
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


def _dedup(stage: Dedup, now: float) -> RowsFn:
    """``dedup`` (Search Reference, "dedup"): the first ``count`` rows of each combination of
    the fields' values (a multivalue compares as all its values) are kept, the later ones
    dropped; rows missing a field are dropped unless ``keepempty=true``;
    ``consecutive=true`` only drops repeats of the previous row. ``sortby`` is unsupported."""
    options = {k.lower(): str(v).lower() for k, v in stage.options}
    for option in options:
        if option not in ("keepempty", "consecutive", "keepevents"):
            raise _unsupported(f"dedup {option} is not supported", f"dedup:{option}",
                               stage.span)
    if options.get("keepevents") in ("true", "t", "1"):
        raise _unsupported("dedup keepevents=true is not supported", "dedup:keepevents",
                           stage.span)
    keep_empty = options.get("keepempty") in ("true", "t", "1")
    consecutive = options.get("consecutive") in ("true", "t", "1")
    fields = list(stage.fields)

    def run(rows: list[Event]) -> list[Event]:
        seen: dict[tuple[tuple[str, ...], ...], int] = {}
        previous: tuple[tuple[str, ...], ...] | None = None
        out: list[Event] = []
        for row in rows:
            values = [_value(row, f) for f in fields]
            if any(v is None for v in values):
                if keep_empty:
                    out.append(row)
                continue
            key = tuple(_key(v) for v in values)
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
            a, b = _value(left, name), _value(right, name)
            if a is None or b is None:
                if a is None and b is None:
                    continue
                return 1 if a is None else -1
            found = _compare_values(values_of(a)[0], values_of(b)[0])
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
        raise _unsupported(f"{stage.command} is not supported", stage.command, stage.span)
    return lambda rows: rows[:count]


# --- lookup, fillnull, convert, multivalue ------------------------------------------------------


def _lookup(stage: Lookup, lookups: LookupProvider | None, now: float) -> RowsFn:
    """``lookup`` (Search Reference, "lookup") against a :class:`ir.lookups.LookupProvider`
    table, with its matching rules (:mod:`ir.lookups`). Each input pair is (table column, row
    field); a row missing an input field is left as it is. A multivalue input looks up each
    value. ``OUTPUT`` sets the output fields from the matching rows (no ``OUTPUT`` list: every
    column that is not an input), replacing existing values; ``OUTPUTNEW`` only sets fields the
    row does not have. No match leaves the row unchanged, unless the table's ``min_matches``
    asks for ``default_match`` values. ``inputlookup`` (Search Reference, "inputlookup")
    replaces the rows by the table's rows (``append=true``: adds them)."""
    if lookups is None:
        raise RuleglotError(
            f"{stage.command} {stage.table} needs lookup tables (a LookupProvider)",
            category="io", construct=f"lookup:{stage.table}",
        ).at(stage.span)
    try:
        table = lookups.table(stage.table)
    except RuleglotError as err:
        raise err.at(stage.span) from None
    options = {k.lower(): str(v).lower() for k, v in stage.options}
    if stage.command == "inputlookup":
        append = options.get("append") in ("true", "t", "1")
        table_rows = [Row(dict(r)) for r in table.rows]
        return lambda rows: (list(rows) + list(table_rows)) if append else list(table_rows)
    if stage.command != "lookup":
        raise _unsupported(f"{stage.command} is not supported", stage.command, stage.span)
    inputs = list(stage.inputs)
    for column, _ in inputs:
        if column not in table.columns:
            raise _invalid(f"lookup {stage.table} has no column {column!r}", "lookup",
                           stage.span)
    input_columns = {c for c, _ in inputs}
    outputs = list(stage.outputs) or [(c, c) for c in table.columns if c not in input_columns]
    new_only = stage.mode.upper() == "OUTPUTNEW"
    return lambda rows: [_lookup_row(_as_row(r), table, inputs, outputs, new_only) for r in rows]


def _lookup_row(
    row: Row,
    table: LookupTable,
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
    new_only: bool,
) -> Event:
    choices: list[dict[str, str]] = [{}]
    for column, name in inputs:
        value = _value(row, name)
        if value is None:
            return row
        choices = [{**c, column: to_text(v) or ""} for c in choices for v in values_of(value)]
    matches: list[dict[str, str]] = []
    for choice in choices:
        matches.extend(table.match(choice))
    fields = dict(row.fields)
    changed = False
    for column, name in outputs:
        if new_only and _value(row, name) is not None:
            continue
        found = [m[column] for m in matches if column in m]
        if len(matches) < table.min_matches:
            found += [table.default_match] * (table.min_matches - len(matches))
        if not matches and len(found) == 0:
            continue
        result = mv(found)
        if result is None:
            fields.pop(name, None)
        else:
            fields[name] = result
        changed = True
    return row.derive(fields) if changed else row


def _fillnull(stage: FillNull, now: float) -> RowsFn:
    """``fillnull [value=V] [fields]`` (Search Reference, "fillnull"): the value (default
    ``0``) put into the listed fields where a row lacks them or holds null; with no list, into
    every field that some row has (the internal ``_raw``/``_time`` excepted)."""
    listed = list(stage.fields)

    def run(rows: list[Event]) -> list[Event]:
        as_rows = [_as_row(r) for r in rows]
        names = listed
        if not names:
            seen: dict[str, None] = {}
            for row in as_rows:
                for name in _names(row):
                    if name not in ("_raw", "_time"):
                        seen.setdefault(name, None)
            names = list(seen)
        out: list[Event] = []
        for row in as_rows:
            missing = [n for n in names if _value(row, n) is None]
            if not missing:
                out.append(row)
                continue
            fields = dict(row.fields)
            for name in missing:
                fields[name] = stage.value
            out.append(row.derive(fields))
        return out

    return run


_DURATION = re.compile(r"(?:(\d+)\+)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)")
_MEMORY = re.compile(r"(-?\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?")


def _convert_value(function: str, value: Any, timeformat: str) -> Any:
    """One value through a ``convert`` function; ``MISSING`` means "remove the value"."""
    text = to_text(value) or ""
    if function == "ctime":
        number = to_number(value)
        return strftime(number, timeformat) if number is not None else value
    if function == "mktime":
        stamp = strptime(text, timeformat)
        return tidy_number(stamp) if stamp is not None else value
    if function == "dur2sec":
        found = _DURATION.fullmatch(text.strip())
        if found is None:
            return value
        days, hours, minutes, seconds = found.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        return tidy_number(total)
    if function == "mstime":
        found = re.fullmatch(r"(?:(\d+):)?(\d+(?:\.\d+)?)", text.strip())
        if found is None:
            return value
        return tidy_number(int(found.group(1) or 0) * 60 + float(found.group(2)))
    if function == "memk":
        found = _MEMORY.fullmatch(text.strip())
        if found is None:
            return value
        scale = {"": 1, "k": 1, "m": 1024, "g": 1024 * 1024}[found.group(2).lower()]
        return tidy_number(float(found.group(1)) * scale)
    if function == "rmcomma":
        number = to_number(text.replace(",", ""))
        return number if number is not None else value
    if function == "rmunit":
        found = re.match(r"\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)", text)
        number = to_number(found.group(1)) if found else None
        if found and number is None:
            number = tidy_number(float(found.group(1)))
        return number if number is not None else value
    if function in ("num", "auto"):
        number = to_number(text.replace(",", "")) if function == "auto" else to_number(value)
        if number is None:
            found = re.fullmatch(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", text)
            if found:
                number = tidy_number(float(text))
        if number is not None:
            return number
        return MISSING if function == "num" else value
    if function == "none":
        return value
    raise KeyError(function)


_CONVERT_FUNCTIONS = {"ctime", "mktime", "dur2sec", "mstime", "memk", "rmcomma", "rmunit",
                      "num", "auto", "none"}


def _convert(stage: Convert, now: float) -> RowsFn:
    """``convert [timeformat=F] f(field) [AS name] ...`` (Search Reference, "convert"):
    ``ctime`` (epoch -> text in ``timeformat``, default ``%m/%d/%Y %H:%M:%S``, UTC), ``mktime``
    (the reverse), ``dur2sec`` (``[D+]HH:MM:SS`` -> seconds), ``mstime`` (``[MM:]SS.SSS`` ->
    seconds), ``memk`` (``10m`` -> kilobytes), ``rmcomma``, ``rmunit``, ``num`` (a number, or
    the value removed), ``auto`` (a number, or the value kept), ``none``. A value that does
    not convert stays as it is. Field names may hold wildcards (``AS`` with the same
    wildcards)."""
    options = {k.lower(): v for k, v in stage.options}
    timeformat = options.get("timeformat", "%m/%d/%Y %H:%M:%S")
    conversions = []
    for function, name, alias in stage.conversions:
        lowered = function.lower()
        if lowered not in _CONVERT_FUNCTIONS:
            raise _unsupported(f"convert {function}() is not supported", f"convert:{function}",
                               stage.span)
        conversions.append((lowered, name, alias))

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = _as_row(event)
            fields = dict(row.fields)
            for function, pattern, alias in conversions:
                current = Row(fields, row.source)
                if "*" in pattern:
                    targets = [(n, fill_wildcards(alias, m.groups()) if alias else n)
                               for n in _names(current) if (m := _wild_match(pattern, n))]
                else:
                    targets = [(pattern, alias or pattern)]
                for name, into in targets:
                    value = _value(current, name)
                    if value is None:
                        continue
                    converted = [_convert_value(function, v, timeformat)
                                 for v in values_of(value)]
                    result = mv(v for v in converted if v is not MISSING)
                    if result is None:
                        fields.pop(into, None)
                    else:
                        fields[into] = result
            out.append(row.derive(fields))
        return out

    return run


def _multivalue(stage: MultiValue, now: float) -> RowsFn:
    """``makemv [delim=D|tokenizer=RE] [allowempty=true] f`` (Search Reference, "makemv"):
    the field's text split at D (default a space; empty pieces dropped unless allowempty), or
    the tokenizer's first group (or whole match) at each match. ``mvexpand f [limit=N]``
    ("mvexpand"): one row per value, other fields copied; a row without the field is kept as it
    is. ``nomv f`` ("nomv"): the values joined by a newline."""
    options = {k.lower(): v for k, v in stage.options}
    name = stage.field
    if stage.command == "makemv":
        delim = options.get("delim", " ")
        tokenizer = options.get("tokenizer")
        allow_empty = str(options.get("allowempty", "f")).lower() in ("t", "true", "1")
        rx = compile_regex(tokenizer) if tokenizer else None

        def split(text: str) -> list[str]:
            if rx is not None:
                return [m.group(1) if m.groups() else m.group(0) for m in rx.finditer(text)]
            pieces = text.split(delim) if delim else list(text)
            return pieces if allow_empty else [p for p in pieces if p != ""]

        def run_makemv(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = _value(row, name)
                if value is None or isinstance(value, list):
                    out.append(row)
                    continue
                fields = dict(row.fields)
                result = mv(split(to_text(value) or ""))
                if result is None:
                    fields.pop(name, None)
                else:
                    fields[name] = result
                out.append(_as_row(row).derive(fields))
            return out

        return run_makemv
    if stage.command == "mvexpand":
        limit = int(options.get("limit", "0") or 0)

        def run_mvexpand(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                values = values_of(_value(row, name))
                if not values:
                    out.append(row)
                    continue
                for value in values[:limit] if limit else values:
                    fields = dict(row.fields)
                    fields[name] = value
                    out.append(_as_row(row).derive(fields))
            return out

        return run_mvexpand
    if stage.command == "nomv":

        def run_nomv(rows: list[Event]) -> list[Event]:
            out: list[Event] = []
            for row in rows:
                value = _value(row, name)
                if not isinstance(value, list):
                    out.append(row)
                    continue
                fields = dict(row.fields)
                fields[name] = "\n".join(to_text(v) or "" for v in value)
                out.append(_as_row(row).derive(fields))
            return out

        return run_nomv
    raise _unsupported(f"{stage.command} is not supported", stage.command, stage.span)


# --- foreach -----------------------------------------------------------------------------------


def _templated(expr: EvalExpr, name: str) -> EvalExpr:
    """``expr`` with the ``<<FIELD>>`` token replaced by ``name`` in field names and strings
    (the template is text in Splunk: the token is replaced wherever it appears)."""

    def fill(text: str) -> str:
        return text.replace(FOREACH_FIELD, name)

    return map_eval(expr, fill, fill)


def _foreach(stage: ForEach, now: float) -> RowsFn:
    """``foreach`` in multifield mode: the template (eval stages) runs once per field whose
    name matches one of the wildcard patterns, in the row's field order, each time with
    ``<<FIELD>>`` standing for that field (SPL reference, "foreach"). The field list is
    taken before the template runs, so fields it creates are not iterated."""
    if stage.options:
        raise _unsupported(
            "foreach is supported in its default multifield mode only", "foreach", stage.span
        )
    for inner in stage.stages:
        if not isinstance(inner, Eval):
            raise _unsupported(
                "a foreach template is supported with eval commands only", "foreach", inner.span
            )
    templates = [s for s in stage.stages if isinstance(s, Eval)]
    compiled: dict[str, list[RowsFn]] = {}

    def for_field(name: str) -> list[RowsFn]:
        found = compiled.get(name)
        if found is None:
            found = [
                _eval(
                    Eval(
                        tuple(
                            (target.replace(FOREACH_FIELD, name), _templated(expr, name))
                            for target, expr in t.assignments
                        ),
                        t.span,
                    ),
                    now,
                )
                for t in templates
            ]
            compiled[name] = found
        return found

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            names = [n for n in _names(row) if any(_wild_match(p, n) for p in stage.fields)]
            current = [row]
            for name in names:
                for step in for_field(name):
                    current = step(current)
            out.extend(current)
        return out

    return run


# --- tstats: a data set's rows, its where, its aggregation -------------------------------------

#: tstats options that do not change the rows when the data set is built from the events
#: themselves (Search Reference, "tstats"): ``summariesonly`` limits tstats to the accelerated
#: summaries and ``allow_old_summaries`` admits summaries built by an older data-model
#: definition; ruleglot reads every event through the current profile, which is a complete,
#: current summary, so both read the same rows. ``chunk_size`` and ``local`` tune how the
#: search runs. ``fillnull_value`` is modelled in :func:`_tstats`.
TSTATS_NO_EFFECT = frozenset(
    {"summariesonly", "allow_old_summaries", "chunk_size", "local", "include_reduced_buckets"}
)
TSTATS_MODELLED = frozenset({"fillnull_value"})
_TRUE = {"t", "true", "1", "yes"}


def _check_tstats_options(stage: DataModel) -> None:
    """``prestats=t`` and ``append=t`` (tstats feeding another tstats or stats) are refused
    by name, as is any option not in :data:`TSTATS_NO_EFFECT` / :data:`TSTATS_MODELLED`."""
    for key, value in stage.options:
        name = key.lower()
        if name in ("prestats", "append"):
            if value.lower() in _TRUE:
                raise _unsupported(f"tstats {name}={value} is not supported",
                                   f"tstats:{name}", stage.span)
        elif name not in TSTATS_NO_EFFECT and name not in TSTATS_MODELLED:
            raise _unsupported(f"tstats option {key} is not supported", f"tstats:{name}",
                               stage.span)


def _dataset_fields(event: Event, dataset: DataSet, profile: DataModelProfile) -> Any:
    fields = profile.row_fields(event, dataset)
    if fields is not None:
        stamp = event_time(event)
        if stamp is not None:
            fields["_time"] = tidy_number(stamp)
    return fields


def dataset_row_fields(
    event: Event, dataset: DataSet, profile: DataModelProfile
) -> dict[str, Any] | None:
    """The fields of the row ``event`` makes in ``dataset`` (its data-set fields and its
    ``_time``), or ``None``: computed once per event and data set (a batch runs hundreds of
    tstats on the same events, ``translator.onepass`` selects their events with it); rows
    share the dict, which no stage changes in place."""
    source = (event.source if isinstance(event, Row) else None) or event
    memo_key = (f"datamodel:{profile.name}", dataset.name)
    found: dict[str, Any] | None = source.memo(
        memo_key, functools.partial(_dataset_fields, source, dataset, profile)
    )
    return found


def _datamodel(dataset: DataSet, profile: DataModelProfile) -> RowsFn:
    """``tstats ... from datamodel=D.S``: each event a source of the data set selects becomes
    one row holding the data set's fields (``Processes.process_name``...) and its ``_time``
    (:mod:`ir.datamodels`, "Row semantics"); other events are no rows."""

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            fields = dataset_row_fields(event, dataset, profile)
            if fields is not None:
                out.append(Row(fields))
        return out

    return run


def tstats_where(stage: Filter, dataset: DataSet) -> Filter | None:
    """tstats' ``where`` without its ``nodename=<object>`` conjunct, which names the data set
    rather than filtering its rows (Search Reference, "tstats": ``nodename``). A nodename that
    is the data set read is dropped; another one (a child data set such as
    ``Authentication.Failed_Authentication``) is refused by name."""
    kept: list[Expr] = []
    for conjunct in conjuncts(stage.expr):
        if isinstance(conjunct, Predicate) and conjunct.field == "nodename":
            node = str(conjunct.value).rsplit(".", 1)[-1]
            if node.lower() in (dataset.prefix.lower(), dataset.name.rsplit(".", 1)[-1].lower()):
                continue
            raise _unsupported(f"tstats nodename={conjunct.value} (a child data set) is not "
                               f"in the data-model profile", "tstats:nodename", conjunct.span)
        if any(p.field == "nodename" for p in predicates(conjunct)):
            raise _unsupported("tstats nodename inside OR/NOT is not supported",
                               "tstats:nodename", stage.span)
        kept.append(conjunct)
    if not kept:
        return None
    expr = kept[0] if len(kept) == 1 else And(tuple(kept))
    return Filter(expr, "tstats", span=stage.span)


def _tstats_aggregation(stage: Stats, options: Mapping[str, str]) -> list[Stage]:
    """``tstats <aggs> ... by F [span=S]`` as plain stages on the data set's rows: ``span``
    bins ``_time`` first (``bin _time span=S``); ``fillnull_value=V`` is ``fillnull value=V F``
    (Search Reference, "tstats": fillnull_value "substitutes for null values for any field
    within its group-by field list"); then ``stats``. Other options are refused by name."""
    out: list[Stage] = []
    for key, value in stage.options:
        if key.lower() != "span":
            raise _unsupported(f"tstats option {key} is not supported", f"tstats:{key}",
                               stage.span)
        out.append(Bin("_time", value, span=stage.span))
    fill = next((v for k, v in options.items() if k.lower() == "fillnull_value"), None)
    if fill is not None and stage.by:
        out.append(FillNull(fill, stage.by, span=stage.span))
    out.append(Stats(stage.aggregations, stage.by, "stats", span=stage.span))
    return out


def tstats_plan(
    stages: Sequence[Stage], profile: DataModelProfile
) -> tuple[DataModel, DataSet, list[Stage], int] | None:
    """A leading ``DataModel [Filter(command="tstats")] Stats(command="tstats")`` as: the
    data-model read, its data set, the plain stages that run on the data set's rows (the
    ``where`` without its ``nodename``, ``bin``, ``fillnull``, ``stats``) and how many stages
    it was; ``None`` when ``stages`` does not start with a data-model read. Raises the named
    ``unsupported`` errors of what does not run. The one reading of tstats for every engine."""
    if not stages or not isinstance(stages[0], DataModel):
        return None
    model = stages[0]
    _check_tstats_options(model)
    try:
        dataset = profile.dataset(model.name)
    except RuleglotError as err:
        raise err.at(model.span) from None
    plain: list[Stage] = []
    index = 1
    where = stages[index] if index < len(stages) else None
    if isinstance(where, Filter) and where.command == "tstats":
        kept = tstats_where(where, dataset)
        if kept is not None:
            plain.append(kept)
        index += 1
    last = stages[index] if index < len(stages) else None
    if not (isinstance(last, Stats) and last.command == "tstats"):
        raise _invalid("a data-model read must be followed by its tstats aggregation",
                       "tstats", model.span)
    try:
        plain.extend(_tstats_aggregation(last, dict(model.options)))
    except RuleglotError as err:
        raise err.at(last.span) from None
    return model, dataset, plain, index + 1


def _tstats_stages(
    stages: Sequence[Stage], profile: DataModelProfile, now: float
) -> tuple[list[RowsFn], int]:
    """The compiled :func:`tstats_plan` of ``stages``, and how many stages it was."""
    plan = tstats_plan(stages, profile)
    if plan is None:
        return [], 0
    _, dataset, plain, used = plan
    compiled = [_datamodel(dataset, profile)]
    compiled.extend(compile_stage(s, now=now) for s in plain)
    return compiled, used


# --- subsearches: join, append, appendpipe ------------------------------------------------------

Searcher = Callable[[Iterable[Event]], list[Event]]


def _no_options(stage: Subsearch, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    options = {k.lower(): v for k, v in stage.options}
    for key in options:
        if key not in allowed:
            raise _unsupported(f"{stage.command} option {key} is not supported",
                               f"{stage.command}:{key}", stage.span)
    return options


def _join(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``join [type=inner|left|outer] [max=N] [overwrite=B] <fields> [subsearch]`` (Search
    Reference, "join"): the subsearch runs on the same events; each row is combined with the
    first ``max`` subsearch rows (default 1; 0: all, in the subsearch's order) whose join
    fields all have the same values (text, case-sensitive; a row missing a join field joins
    nothing). ``type=inner`` (default) drops a row that joins nothing, ``left``/``outer``
    keeps it. Combined fields: the subsearch row's values replace the row's unless
    ``overwrite=false``. Without fields, the fields common to both result sets are used.
    Splunk truncates a subsearch at 50,000 rows (limits.conf ``subsearch_maxout``); ruleglot
    does not truncate (its corpus' subsearches stay far below). ``usetime``/``earlier`` and
    other options are refused by name."""
    options = _no_options(stage, frozenset({"type", "max", "overwrite"}))
    kind = options.get("type", "inner").lower()
    if kind not in ("inner", "left", "outer"):
        raise _invalid(f"join type={kind} is not inner, left or outer", "join:type", stage.span)
    try:
        limit = int(options.get("max", "1"))
    except ValueError:
        raise _invalid("join max= takes a number", "join:max", stage.span) from None
    overwrite = options.get("overwrite", "true").lower() in _TRUE
    fields = [f for f in stage.fields if f != ","]

    def key_of(row: Row, names: Sequence[str]) -> tuple[tuple[str, ...], ...] | None:
        key = []
        for name in names:
            value = _value(row, name)
            if value is None:
                return None
            key.append(_key(value))
        return tuple(key)

    def run(rows: list[Event]) -> list[Event]:
        found = [_as_row(r) for r in inner(searched[0])]
        mine = [_as_row(r) for r in rows]
        names = fields or sorted(
            {n for r in mine for n in _names(r)} & {n for r in found for n in _names(r)}
        )
        index: dict[tuple[tuple[str, ...], ...], list[Row]] = {}
        for row in found:
            key = key_of(row, names)
            if key is not None:
                index.setdefault(key, []).append(row)
        out: list[Event] = []
        for row in mine:
            key = key_of(row, names)
            matches = index.get(key, []) if key is not None else []
            if limit > 0:
                matches = matches[:limit]
            if not matches:
                if kind != "inner":
                    out.append(row)
                continue
            for match in matches:
                combined = dict(row.fields)
                for name, value in match.fields.items():
                    if overwrite or name not in combined:
                        combined[name] = value
                out.append(row.derive(combined))
        return out

    return run


def _append(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``append [subsearch]`` (Search Reference, "append"): the subsearch's rows, run on the
    same events, after the current rows. Its options (``maxout``, ``maxtime``...) are
    refused by name."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        return [*rows, *inner(searched[0])]

    return run


def _appendpipe(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``appendpipe [subpipeline]`` (Search Reference, "appendpipe"): the subpipeline runs on
    the current rows and its rows are appended to them. ``run_in_preview`` only concerns
    previews: no effect."""
    _no_options(stage, frozenset({"run_in_preview"}))

    def run(rows: list[Event]) -> list[Event]:
        return [*rows, *inner(rows)]

    return run


def _search_terms(row: Row) -> Expr | None:
    """One subsearch result row as the search terms Splunk's implicit ``format`` writes for
    it: ``field="value"`` for each of its fields but the internal ones (``_time``...), ANDed;
    a multivalue field is an OR of its values; ``*`` in a value is a wildcard, as in any
    search term (Search Reference, "format"; Search Manual, "About subsearches")."""
    terms: list[Expr] = []
    for name, raw in row.fields.items():
        if name.startswith("_") or raw is None:
            continue
        alternatives: list[Expr] = []
        for value in values_of(field_value(raw)):
            text = to_text(value) or ""
            if "*" in text:
                parts = [p for chunk in text.split("*") for p in (chunk, Wildcard.MANY)][:-1]
                alternatives.append(Predicate(name, Kind.WILDCARD, Pattern(tuple(parts))))
            else:
                alternatives.append(Predicate(name, Kind.EQ, text))
        if alternatives:
            terms.append(alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives)))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def _search_subsearch(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``search [subsearch]`` (a subsearch as a search term): the subsearch runs on the same
    events and its rows become an OR of one AND of ``field="value"`` terms per row
    (:func:`_search_terms`); the current rows that match are kept. No rows (or rows without
    fields) match nothing, as Splunk's ``NOT ()``. Splunk truncates the subsearch at 10,000
    rows (limits.conf ``[subsearch] maxout``); ruleglot does not."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        found = [_search_terms(_as_row(r)) for r in inner(searched[0])]
        alternatives = tuple(f for f in found if f is not None)
        if not alternatives:
            return []
        matches = compile_expr(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
        return [row for row in rows if matches(row)]

    return run


def _exclude_subsearch(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``search NOT [subsearch]``: the current rows that the subsearch's terms
    (:func:`_search_terms`) do not match, Splunk's ``NOT (...)`` over the implicit ``format``'s
    output. A subsearch with no rows is ``NOT ()`` under NOT, which excludes nothing: every row
    is kept (Search Reference, "format": no results give ``NOT ()``)."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        found = [_search_terms(_as_row(r)) for r in inner(searched[0])]
        alternatives = tuple(f for f in found if f is not None)
        if not alternatives:
            return list(rows)
        matches = compile_expr(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
        return [row for row in rows if not matches(row)]

    return run


_SUBSEARCHES: dict[str, Callable[[Subsearch, Searcher, list[list[Event]]], RowsFn]] = {
    "search": _search_subsearch,
    EXCLUDE: _exclude_subsearch,
    "join": _join,
    "append": _append,
    "appendpipe": _appendpipe,
}


# --- the pipeline --------------------------------------------------------------------------------

_SIMPLE: dict[type, Callable[[Any, float], RowsFn]] = {
    Filter: _filter,
    Eval: _eval,
    Rex: _rex,
    Rename: _rename,
    Table: _table,
    Stats: _stats,
    Bin: _bin,
    Dedup: _dedup,
    Sort: _sort,
    Head: _head,
    FillNull: _fillnull,
    Convert: _convert,
    MultiValue: _multivalue,
    ForEach: _foreach,
}


def compile_stage(
    stage: Stage, *, lookups: LookupProvider | None = None, now: float | None = None
) -> RowsFn:
    """One stage compiled into ``rows -> rows``; :class:`RuleglotError` for what cannot run."""
    when = _time.time() if now is None else now
    if isinstance(stage, Lookup):
        return _lookup(stage, lookups, when)
    if isinstance(stage, Subsearch):
        raise _unsupported(f"{stage.command} with a subsearch is not supported",
                           stage.command, stage.span)
    if isinstance(stage, Command):
        raise _unsupported(f"the {stage.name} command is not supported", stage.name,
                           stage.span)
    if isinstance(stage, DataModel):
        raise _unsupported("tstats is run only as the first command (it generates the rows)",
                           "tstats", stage.span)
    builder = _SIMPLE.get(type(stage))
    if builder is None:
        raise TypeError(f"not an IR stage: {stage!r}")
    try:
        return builder(stage, when)
    except RuleglotError as err:
        raise err.at(stage.span) from None


def compile_pipeline(
    stages: Iterable[Stage],
    *,
    lookups: LookupProvider | None = None,
    aliases: Mapping[str, str] | None = None,
    now: float | None = None,
    datamodels: DataModelProfile | None = None,
) -> Callable[[Iterable[Event]], list[Event]]:
    """The stages compiled once (every unsupported construct is reported here, before any
    event is read) into ``events -> rows``. ``now`` is the search's start time: ``now()`` in
    every expression (default: the time of this call). ``datamodels`` turns events into the
    rows a leading ``tstats`` reads (default: :func:`ir.datamodels.cim_windows`)."""
    when = _time.time() if now is None else now
    stage_list = list(stages)
    profile = datamodels or cim_windows()
    compiled, used = _tstats_stages(stage_list, profile, when)
    #: the events of the current run, which a ``join``/``append`` subsearch searches again
    searched: list[list[Event]] = [[]]
    for stage in stage_list[used:]:
        if isinstance(stage, Subsearch) and stage.command in _SUBSEARCHES:
            inner = compile_pipeline(stage.stages, lookups=lookups, aliases=aliases, now=when,
                                     datamodels=profile)  # fmt: skip
            try:
                compiled.append(_SUBSEARCHES[stage.command](stage, inner, searched))
            except RuleglotError as err:
                raise err.at(stage.span) from None
        else:
            compiled.append(compile_stage(stage, lookups=lookups, now=when))
    alias_map = dict(aliases or {})

    def run(events: Iterable[Event]) -> list[Event]:
        searched[0] = events_list = list(events)
        # a data-model read takes the events as they are (its profile names their fields)
        rows: list[Event] = events_list if used else [Row.of(e, alias_map) for e in events_list]
        for stage in compiled:
            rows = stage(rows)
        return rows

    return run


def run_pipeline(
    stages: Iterable[Stage],
    events: Iterable[Event],
    *,
    lookups: LookupProvider | None = None,
    aliases: Mapping[str, str] | None = None,
    now: float | None = None,
) -> list[Event]:
    """Run ``stages`` on ``events`` (see the module docstring); returns the final rows."""
    return compile_pipeline(stages, lookups=lookups, aliases=aliases, now=now)(events)


__all__ = [
    "TIME_FIELDS",
    "Row",
    "compile_pipeline",
    "compile_stage",
    "dataset_row_fields",
    "event_time",
    "run_pipeline",
    "tstats_plan",
    "tstats_where",
]
