"""Which IR stats stages are Sigma correlation rules, for :mod:`backends.sigma.emit`.

The inverse of :mod:`backends.sigma.correlation`. This module only *recognises* the correlation
at the end of a rule's stages and says how to write it; the emitter lowers the filters, maps
field names and writes the YAML documents.

The tail recognised (after the detection's filters)
    ``[Eval sigma_rule=...] Bin(_time, span) Stats(...) Filter(where)``, then only stages that
    shape result rows without dropping any (``convert``, ``rename``, ``table``/``fields``,
    ``eval``, ``fillnull``, ``lookup``, ``sort 0``), each reported as dropped:

    * ``Bin``: field ``_time``, a ``span`` with a whole number of one unit (``s m h d w mon q
      y`` as the pipeline reads them; ``q`` is three months). ``span`` becomes the Sigma
      ``timespan`` (``mon`` -> ``M``), or the ``timespan`` kept in ``Stats.options`` by the
      correlation reader when it names the same bins.
    * ``Stats``: command ``stats``, by ``_time`` plus the ``group-by`` fields; the aggregate
      the where compares is one of

      - ``count`` -> ``event_count``;
      - ``dc(f)`` (``distinct_count``) -> ``value_count`` on ``f``;
      - ``sum(f)``, ``avg(f)`` (``mean``) -> ``value_sum``, ``value_avg`` on ``f``;
      - ``dc(sigma_rule) as rule_count`` after an ``Eval`` tagging each event with the names
        of the rules it matches, exactly as the correlation reader writes it (each
        ``if(<rule filter as eval>, "name", null())`` is the reader's eval form of a run of
        the first filter's alternatives) -> ``temporal`` over those rules.

      Other aggregations beside it (``min(_time) as firstTime``, ``values(x)``) only add
      result columns: reported (``correlation:columns``). Or the stats has only ``values(...)``
      aggregations and the ``where`` is a conjunction of predicates (or ORs of predicates) of
      the kinds in ``VALUE_KINDS`` on fields that ``values(f) as f`` or ``values(*) as *``
      collected (not by-fields) -> ``temporal`` with one rule per conjunct (the filters AND
      the conjunct), all rules required; one conjunct is ``event_count >= 1``. Exact because a
      predicate holds on a multivalue field when it holds on one value, and ``values(f)``
      holds every value of ``f`` in the group (distinct by text, which no kind there tells
      apart); the values() columns are reported (``correlation:columns``).

    * ``where`` (or ``search``): one comparison of the aggregate with a whole number (``gt gte
      lt lte eq``; a ``Not(eq)`` or ``!=`` is ``neq``). ``temporal`` with ``rule_count >=
      <number of rules>`` is written without a condition (the specification's default).

    An aggregate alias other than the reader's (``count``, ``value_count``, ``rule_count``)
    only renames a result column: reported (construct ``correlation:alias``).

Refused, with the construct named (``unsupported``; lossy: the stats stage and what follows
are dropped, as presentation stats are)
    ``correlation:timespan`` (no ``bin _time span=`` right before the stats, or ``_time`` not
    among its by-fields: Sigma needs a timespan; or a span Sigma cannot write),
    ``correlation:aggregation`` (the compared aggregate is another function; two results
    named alike), ``correlation:condition`` (a where that is not one threshold on an
    aggregate), ``correlation:temporal`` (a ``sigma_rule`` eval the reader did not write),
    ``correlation:stages`` (a stage after the where that can drop rows: a filter, ``head``,
    ``dedup``, another ``stats``...). A ``stats`` with no ``where`` after it is not a
    correlation: it is presentation, handled by the emitter as any other stage Sigma lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from backends.sigma.correlation import to_eval
from backends.sigma.correlation_shape import (
    RESULT_COLUMNS,
    STATS_OPTIONS,
    TAG_FIELD,
    aggregate_type,
    sigma_timespan,
    split_rules,
    tag_rules,
    threshold,
)
from ir.errors import Span
from ir.nodes import (
    Aggregation,
    Bin,
    Convert,
    Eval,
    EvalExpr,
    Expr,
    FillNull,
    Filter,
    Kind,
    Lookup,
    Or,
    Predicate,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Table,
    conjuncts,
    predicates,
)
from ir.pushdown import written_fields

__all__ = [
    "Correlation",
    "Note",
    "Refusal",
    "find_correlation",
    "split_temporal",
    "tstats_as_stats",
]

#: Predicate kinds whose truth on a ``values()`` multivalue is "some row's value holds".
VALUE_KINDS = frozenset(
    {
        Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH, Kind.WILDCARD, Kind.REGEX,
        Kind.CIDR, Kind.LT, Kind.LTE, Kind.GT, Kind.GTE,
    }
)  # fmt: skip



#: A lossy change of a recognised correlation: (construct, message, span, dropped stage).
Note = tuple[str, str, "Span | None", "Stage | None"]


@dataclass
class Correlation:
    """A recognised correlation: ``start`` is the index of its first stage. ``rules`` are
    (name, filter expression): a ``None`` name is the emitter's to choose; a ``None``
    expression is "the detection's filters" (event_count, value_count); with ``extra`` each
    expression is ANDed with the detection's filters (``values`` temporals). ``group_by`` and
    ``value_field`` are IR field names (the emitter maps them)."""

    start: int
    type: str
    timespan: str
    group_by: tuple[str, ...]
    condition: tuple[str, int] | None  # None: temporal, every rule
    value_field: str | None = None
    rules: list[tuple[str | None, Expr | None]] = field(default_factory=list)
    extra: bool = False  # rules[i][1] is ANDed with the detection's filters
    #: (construct, message, span, the dropped stage or None) of each lossy change
    notes: list[Note] = field(default_factory=list)
    span: Span | None = None
    tag: Eval | None = None


@dataclass
class Refusal:
    """A would-be correlation Sigma cannot say: the stages from ``start`` on."""

    start: int
    construct: str
    message: str
    span: Span | None
    stage: Stage | None = None  # the stage the refusal stands for; the others are dropped


def find_correlation(stages: Sequence[Stage]) -> Correlation | Refusal | None:
    """The correlation the stages end with, a refusal, or ``None`` (no stats compared by a
    ``where``). A temporal's rules are split from the filters by :func:`split_temporal`."""
    at = next(
        (i for i, s in enumerate(stages) if isinstance(s, Stats) and s.command == "stats"), None
    )
    if at is None or at + 1 >= len(stages):
        return None
    stats = stages[at]
    where = stages[at + 1]
    assert isinstance(stats, Stats)
    if not (isinstance(where, Filter) and where.command in ("where", "search")):
        return None
    start = at
    bin_: Bin | None = None
    if at >= 1 and isinstance(stages[at - 1], Bin):
        start = at - 1
        bin_ = stages[at - 1]  # type: ignore[assignment]
    tag: Eval | None = None
    if start >= 1 and _is_tag(stages[start - 1]):
        start -= 1
        tag = stages[start]  # type: ignore[assignment]

    def refuse(construct: str, message: str, span: Span | None = None) -> Refusal:
        return Refusal(start, f"correlation:{construct}", message, span or stats.span, stats)

    trailing: list[Note] = []
    for extra in stages[at + 2 :]:
        name = _shaping(extra)
        if name is None:
            return refuse(
                "stages",
                "a stage after the correlation's where that can drop result rows has no Sigma "
                "equivalent",
                extra.span,
            )
        message = f"'{name}' after the correlation's where only shapes the result rows: dropped"
        trailing.append((name, message, extra.span, extra))
    if bin_ is None or "_time" not in stats.by:
        return refuse(
            "timespan",
            "stats compared by where without 'bin _time span=...' and _time among its by-fields "
            "has no time window; a Sigma correlation needs a timespan",
        )
    timespan = _timespan(bin_, stats)
    if timespan is None:
        return refuse("timespan", f"bin span={bin_.span_text} is not a Sigma timespan", bin_.span)
    if (
        stats.command == "tstats"
        or any(k not in STATS_OPTIONS for k, _ in stats.options)
    ):
        return refuse("aggregation", "stats options have no Sigma correlation equivalent")
    group_by = tuple(f for f in stats.by if f != "_time")
    aggs = stats.aggregations
    aliases = [_alias(a) for a in aggs]
    if len(set(aliases)) < len(aliases) or set(aliases) & set(stats.by):
        return refuse("aggregation", "stats names two results alike")

    compared = [i for i, alias in enumerate(aliases) if threshold(where.expr, alias)]
    if not compared and tag is None and all(a.function.lower() == "values" for a in aggs):
        found_values = _values_temporal(start, timespan, group_by, stats, where, refuse)
        if isinstance(found_values, Correlation):
            found_values.notes.extend(trailing)
        return found_values
    if not compared:
        return refuse(
            "condition",
            "the where after stats is not one comparison of an aggregate with a whole number",
            where.span,
        )
    agg, alias = aggs[compared[0]], aliases[compared[0]]
    condition = threshold(where.expr, alias)
    assert condition is not None
    function = agg.function.lower()
    notes: list[Note] = []
    typed = aggregate_type(agg)
    if tag is not None:
        if not (function in ("dc", "distinct_count") and agg.argument == TAG_FIELD):
            return refuse("temporal", "an eval of sigma_rule is only read before dc(sigma_rule)")
        kind, value_field = "temporal", None
    elif typed is not None:
        kind, value_field = typed
    elif isinstance(agg.argument, str) and "*" in agg.argument:
        return refuse("aggregation", f"{_agg_text(agg)} reads several fields")
    else:
        return refuse(
            "aggregation",
            f"stats {_agg_text(agg)} is not a Sigma correlation (count, dc(field), sum(field), "
            "avg(field), or dc(sigma_rule) after the temporal eval)",
        )
    if alias != RESULT_COLUMNS[kind]:
        notes.append(
            (
                "correlation:alias",
                f"the aggregate {alias!r} is named {RESULT_COLUMNS[kind]!r} in a Sigma {kind} "
                "correlation's results",
                stats.span,
                None,
            )
        )
    others = [a for i, a in enumerate(aliases) if i != compared[0]]
    if others:
        notes.append(
            (
                "correlation:columns",
                f"the result columns {', '.join(others)} are not a Sigma correlation's output: "
                "dropped (the alert compares only " + alias + ")",
                stats.span,
                None,
            )
        )
    notes.extend(trailing)
    found = Correlation(
        start, kind, timespan, group_by, condition, value_field, notes=notes, span=stats.span,
        tag=tag,
    )  # fmt: skip
    if tag is None:
        found.rules = [(None, None)]
    return found


def tstats_as_stats(
    stages: Sequence[Stage], end: int
) -> list[Stage] | None:
    """The stages of a ``tstats ... by _time span=S`` search from its stats on, as the raw
    search with the same rows writes them: ``Bin(_time, S)``, the stats as ``stats``, then the
    first ``where`` after it, then the rest. Row-shaping stages between the stats and that
    where (``drop_dm_object_name``'s ``rename``, ``convert``...) move after it when they
    neither make nor rename a field it reads (they change no row, so the order does not change
    which rows pass). ``None`` when there is no span or no such where."""
    stats = stages[end - 1]
    if not isinstance(stats, Stats) or stats.command != "tstats":
        return None
    options = dict(stats.options)
    span = options.pop("span", None)
    if span is None or options:
        return None
    rest = list(stages[end:])
    at = next((i for i, s in enumerate(rest) if isinstance(s, Filter)), None)
    if at is None:
        return None
    where = rest[at]
    assert isinstance(where, Filter)
    read = {p.field for p in predicates(where.expr)}
    row = {*stats.by, *(_alias(a) for a in stats.aggregations)}
    for before in rest[:at]:
        made = set(_made(before, row))
        if _shaping(before) is None or "*" in made or read & made:
            return None
    return [
        Bin("_time", span, span=stats.span),
        Stats(stats.aggregations, stats.by, "stats", span=stats.span),
        where,
        *rest[:at],
        *rest[at + 1 :],
    ]


def _made(stage: Stage, row: set[str]) -> list[str]:
    """Fields a row-shaping stage writes, or renames from or to (a wildcard ``rename`` applied
    to the ``row``'s fields); ``*`` for any field."""
    if isinstance(stage, Rename):
        out: list[str] = []
        for old, new in stage.pairs:
            if old.endswith("*") and new.endswith("*"):
                moved = [f for f in row if f.startswith(old[:-1])]
                out += moved + [new[:-1] + f[len(old) - 1 :] for f in moved]
            elif "*" in old or "*" in new:
                out.append("*")
            else:
                out += [old, new]
        return out
    if isinstance(stage, Table):
        return ["*"]  # may remove what the where reads
    written = written_fields(stage)  # eval, convert, fillnull, bin, rex, lookup: ir.pushdown's
    if written is None and isinstance(stage, (Rex, Lookup, FillNull)):
        return ["*"]  # fields named by the text (_KEY_n), every lookup column, every field
    return written or []


def split_temporal(found: Correlation, prefix: Expr | None) -> Refusal | None:
    """Fill ``found.rules`` of a temporal read from a ``sigma_rule`` eval from ``prefix`` (the
    AND of the filters before it, as in the IR), or say why it cannot be."""
    assert found.tag is not None
    tags = tag_rules(found.tag)
    names = [name for name, _ in tags] if tags is not None else None
    groups = split_rules(prefix, [c for _, c in tags], _as_eval) if tags is not None else None
    if names is None or groups is None:
        return Refusal(
            found.start,
            "correlation:temporal",
            "the sigma_rule eval does not tag alternatives of the filter before it the way "
            "backends/sigma/correlation.py writes them",
            found.tag.span,
            found.tag,
        )
    found.rules = list(zip(names, groups, strict=True))
    if found.condition == ("gte", len(names)):
        found.condition = None
    return None


def _timespan(bin_: Bin, stats: Stats) -> str | None:
    if bin_.field != "_time" or bin_.alias is not None or bin_.bins is not None:
        return None
    if bin_.span_text is None:
        return None
    derived = sigma_timespan(bin_.span_text)
    kept = dict(stats.options).get("timespan")
    if kept is not None and derived is not None and sigma_timespan(kept) == derived:
        return kept  # the reader's own text (``1M``...)
    return derived


def _alias(agg: Aggregation) -> str:
    """The result column of an aggregation, as the pipeline names it."""
    if agg.alias:
        return agg.alias
    return "count" if agg.argument is None else _agg_text(agg)


def _shaping(stage: Stage) -> str | None:
    """The name of a stage that only shapes result rows (never drops one), else ``None``."""
    if isinstance(stage, Table):
        return stage.command
    if isinstance(stage, Sort):
        return "sort" if stage.limit == 0 else None  # a sort keeps 10,000 rows by default
    if isinstance(stage, Lookup):
        return "lookup" if stage.command == "lookup" else None
    names = {Convert: "convert", Rename: "rename", FillNull: "fillnull", Eval: "eval"}
    return names.get(type(stage))


def _agg_text(agg: Aggregation) -> str:
    argument = agg.argument
    if argument is None:
        return agg.function
    return f"{agg.function}({argument if isinstance(argument, str) else 'eval(...)'})"


# --- temporal: the reader's sigma_rule eval, inverted ------------------------------------------


def _is_tag(stage: Stage) -> bool:
    """An eval of ``sigma_rule`` (whether in the reader's form is :func:`tag_rules`'s say)."""
    return (
        isinstance(stage, Eval)
        and len(stage.assignments) == 1
        and stage.assignments[0][0] == TAG_FIELD
    )


class _NoEval(Exception):
    pass


class _Quiet:
    """The ``source`` the reader's eval rewriting reports through: any problem is a miss."""

    def error(self, *_: Any, **__: Any) -> Exception:
        return _NoEval()


def _as_eval(expr: Expr) -> EvalExpr | None:
    try:
        return to_eval(expr, _Quiet(), Span(1, 1))  # type: ignore[arg-type]
    except _NoEval:
        return None


# --- temporal: stats values(...) and a where over the values ------------------------------------


def _values_temporal(
    start: int,
    timespan: str,
    group_by: tuple[str, ...],
    stats: Stats,
    where: Filter,
    refuse: Any,
) -> Correlation | Refusal:
    collected = {
        a.argument
        for a in stats.aggregations
        if isinstance(a.argument, str) and a.alias == a.argument
    }
    parts = conjuncts(where.expr)
    for part in parts:
        for leaf in part.args if isinstance(part, Or) else (part,):
            if not isinstance(leaf, Predicate) or leaf.kind not in VALUE_KINDS:
                return refuse(
                    "condition",
                    "a where after stats values() is a temporal correlation only when each of "
                    "its AND-ed parts is a predicate (or an OR of predicates) on collected values",
                    where.span,
                )
            name = leaf.field
            if name is None or name in stats.by or not ({"*", name} & collected):
                return refuse(
                    "condition",
                    f"the where reads {name!r}, which stats does not collect with "
                    f"values({name}) as {name} or values(*) as *",
                    leaf.span or where.span,
                )
    n = len(parts)
    note = (
        "correlation:columns",
        f"stats values(...) by {', '.join(stats.by)} with where over the values: the alert "
        "(which groups match) is kept as a "
        + ("temporal correlation over one rule per where part" if n > 1 else "event_count >= 1")
        + "; the result rows' values() columns are not",
        stats.span,
        None,
    )
    return Correlation(
        start,
        "temporal" if n > 1 else "event_count",
        timespan,
        group_by,
        None if n > 1 else ("gte", 1),
        rules=[(None, part) for part in parts],
        extra=True,
        notes=[note],
        span=stats.span,
    )
