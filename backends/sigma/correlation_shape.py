"""The one shape of a Sigma correlation as IR stages: built by :func:`to_stages`, recognised by
:func:`from_stages`, and each part of it defined once, beside its inverse.

A correlation (Sigma specification, "Sigma Correlation Rules") is, in the IR, the stages::

    Filter(<OR of the referenced rules' filters>)
    Eval(sigma_rule = mvappend(if(<rule>, "<name>", null()), ...))   # temporal only
    Bin(_time, span=<timespan>)
    Stats(<aggregation> by _time, <group-by>..., options: timespan, approximation=bin)
    Filter(<result column> <op> <number>, command="where")

Who uses it: :mod:`backends.sigma.correlation` builds these stages from a correlation document
(:func:`to_stages`); :mod:`backends.sigma.aggregation` turns Sigma 1.x aggregations into
correlation documents with the same type and operator tables (:data:`LEGACY_FUNCTIONS`,
:data:`OPERATORS`); :mod:`backends.sigma.emit_correlation` recognises the shape in any search
(:func:`from_stages` for the exact shape; for searches written by hand, such as
security_content's ``bin``/``stats``/``where``, the same parts: :func:`aggregate_type`,
:func:`threshold`, :func:`sigma_timespan`, :func:`tag_rules`). ``tests/test_correlation_shape.py``
checks ``from_stages(to_stages(s)) == s`` on generated shapes.

Each type's aggregation and result column (the specification's "Types")
    ``event_count``: ``count`` as ``count``; ``value_count``: ``dc(field)`` as ``value_count``;
    ``value_sum``/``value_avg``: ``sum``/``avg(field)`` as ``value_sum``/``value_avg``;
    ``temporal``: ``dc(sigma_rule)`` as ``rule_count`` (the rules an event matches, tagged by
    the eval). Timespans: Sigma's ``M`` (months) is SPL's ``mon``, ``q`` three months; the
    other units agree (``s m h d w y``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ir.errors import Span
from ir.functions import time_unit
from ir.nodes import (
    Aggregation,
    Bin,
    BinOp,
    Call,
    Condition,
    Eval,
    EvalExpr,
    Expr,
    FieldValue,
    Filter,
    Kind,
    Literal,
    Not,
    Or,
    Predicate,
    Stage,
    Stats,
    any_of,
)

__all__ = [
    "CONDITION_KINDS",
    "CORRELATION_TYPES",
    "LEGACY_FUNCTIONS",
    "OPERATORS",
    "RESULT_COLUMNS",
    "STATS_OPTIONS",
    "TAG_FIELD",
    "VALUE_FUNCTIONS",
    "Shape",
    "Spans",
    "aggregate_type",
    "aggregation",
    "bin_span",
    "condition_expr",
    "from_stages",
    "sigma_timespan",
    "split_rules",
    "tag_eval",
    "tag_rules",
    "threshold",
    "to_stages",
]

#: The correlation types ruleglot reads and writes.
CORRELATION_TYPES = ("event_count", "value_count", "value_sum", "value_avg", "temporal")

#: The stats function of each ``value_*`` type: the distinct count, the sum and the mean of the
#: field's values in the window (specification, "Types").
VALUE_FUNCTIONS = {"value_count": "dc", "value_sum": "sum", "value_avg": "avg"}

#: The result column each type compares, as the stages name it.
RESULT_COLUMNS = {
    "event_count": "count",
    "value_count": "value_count",
    "value_sum": "value_sum",
    "value_avg": "value_avg",
    "temporal": "rule_count",
}

#: Sigma 1.x aggregation functions with a field, and the correlation type each is (min and max
#: have none: the specification defines no value_min/value_max).
LEGACY_FUNCTIONS = {"count": "value_count", "sum": "value_sum", "avg": "value_avg"}

#: Comparison operators (SPL, Sigma 1.x) and the correlation condition key of each.
OPERATORS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq", "!=": "neq"}

#: Condition keys and the predicate kind of each (``neq`` is ``Not(eq)``).
CONDITION_KINDS = {"gt": Kind.GT, "gte": Kind.GTE, "lt": Kind.LT, "lte": Kind.LTE, "eq": Kind.EQ}

#: The field the temporal eval tags each event with.
TAG_FIELD = "sigma_rule"

#: The ``Stats.options`` that keep the correlation's own text and approximation visible.
STATS_OPTIONS = ("timespan", "approximation")


@dataclass(frozen=True)
class Shape:
    """A correlation in IR terms: ``rules`` are (name, filter) of the referenced rules;
    ``condition`` is (key, number), ``None`` for a temporal over every rule."""

    type: str
    timespan: str
    rules: tuple[tuple[str, Expr], ...]
    group_by: tuple[str, ...] = ()
    condition: tuple[str, int | float] | None = None
    value_field: str | None = None


def aggregation(kind: str, value_field: str | None) -> Aggregation:
    """The stats aggregation of a correlation type."""
    if kind == "temporal":
        return Aggregation("dc", TAG_FIELD, RESULT_COLUMNS[kind])
    if kind in VALUE_FUNCTIONS:
        return Aggregation(VALUE_FUNCTIONS[kind], value_field, kind)
    return Aggregation("count")


def aggregate_type(agg: Aggregation) -> tuple[str, str | None] | None:
    """The inverse of :func:`aggregation`, by function (any alias): (type, value field), or
    ``None``; ``dc(sigma_rule)`` is temporal only after the tag eval, which the caller knows."""
    function = agg.function.lower()
    if function in ("count", "c") and agg.argument is None:
        return "event_count", None
    if not isinstance(agg.argument, str) or "*" in agg.argument:
        return None
    functions = {"dc": "value_count", "distinct_count": "value_count", "sum": "value_sum",
                 "avg": "value_avg", "mean": "value_avg"}  # fmt: skip
    kind = functions.get(function)
    return (kind, agg.argument) if kind is not None else None


def bin_span(timespan: str) -> str:
    """Sigma's timespan as a bin span: ``M`` (months) is SPL's ``mon``; other units agree."""
    found = re.fullmatch(r"(\d+)([smhdwMy])", timespan)
    if found and found.group(2) == "M":
        return f"{found.group(1)}mon"
    return timespan


def sigma_timespan(span_text: str) -> str | None:
    """An SPL time span as a Sigma timespan (``5min`` -> ``5m``, ``1mon`` -> ``1M``), or None;
    the inverse of :func:`bin_span`."""
    found = re.fullmatch(r"(\d+)\s*([a-zA-Z]*)", span_text.strip())
    if found is None:
        return None
    amount, word = int(found.group(1)), found.group(2)
    unit = time_unit(word) if word else "s"
    if amount <= 0 or unit is None:
        return None
    if unit == "q":
        return f"{amount * 3}M"
    return f"{amount}{'M' if unit == 'mon' else unit}"


def condition_expr(column: str, condition: tuple[str, int | float], span: Span | None) -> Expr:
    """The where of a correlation: ``column`` compared by the condition key."""
    key, number = condition
    if key == "neq":
        return Not(Predicate(column, Kind.EQ, number, span=span), span=span)
    return Predicate(column, CONDITION_KINDS[key], number, span=span)


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "==": "==", "!=": "!="}


def threshold(expr: Expr, column: str) -> tuple[str, int] | None:
    """The inverse of :func:`condition_expr` for a whole number, also read from an eval
    comparison (``where count > 5``, ``where 5 < count``): (key, number), or ``None``."""
    if isinstance(expr, Predicate) and expr.field == column:
        number = _int(expr.value)
        if number is not None and expr.kind in CONDITION_KINDS.values():
            return expr.kind.value, number
    if isinstance(expr, Not) and isinstance(expr.arg, Predicate):
        p = expr.arg
        number = _int(p.value)
        if p.field == column and p.kind is Kind.EQ and number is not None:
            return "neq", number
    if isinstance(expr, Condition) and isinstance(expr.expr, BinOp):
        op, left, right = expr.expr.op, expr.expr.left, expr.expr.right
        if isinstance(left, Literal) and isinstance(right, FieldValue) and op in _FLIP:
            op, left, right = _FLIP[op], right, left
        if isinstance(left, FieldValue) and left.name == column and isinstance(right, Literal):
            number = _int(right.value)
            if number is not None and op in OPERATORS:
                return OPERATORS[op], number
    return None


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def tag_eval(tags: Sequence[tuple[str, EvalExpr]], span: Span | None = None) -> Eval:
    """The temporal eval: ``sigma_rule`` is the names of the rules whose condition (an eval
    form of the rule's filter) holds on the event."""
    calls = tuple(Call("if", (cond, Literal(name), Call("null"))) for name, cond in tags)
    value: EvalExpr = calls[0] if len(calls) == 1 else Call("mvappend", calls)
    return Eval(((TAG_FIELD, value),), span=span)


def tag_rules(stage: Stage) -> list[tuple[str, EvalExpr]] | None:
    """The inverse of :func:`tag_eval`: (name, condition) of each tagged rule, names distinct,
    or ``None`` when ``stage`` is not such an eval."""
    if not (isinstance(stage, Eval) and len(stage.assignments) == 1):
        return None
    name, value = stage.assignments[0]
    if name != TAG_FIELD:
        return None
    calls: tuple[EvalExpr, ...] = (
        value.args if isinstance(value, Call) and value.name == "mvappend" else (value,)
    )
    out: list[tuple[str, EvalExpr]] = []
    for call in calls:
        if not (isinstance(call, Call) and call.name == "if" and len(call.args) == 3):
            return None
        otherwise, tag = call.args[2], call.args[1]
        null = (isinstance(otherwise, Literal) and otherwise.value is None) or (
            isinstance(otherwise, Call) and otherwise.name == "null" and not otherwise.args
        )
        if not (null and isinstance(tag, Literal) and isinstance(tag.value, str)):
            return None
        out.append((tag.value, call.args[0]))
    names = [n for n, _ in out]
    return out if len(set(names)) == len(names) else None


@dataclass(frozen=True)
class Spans:
    """Where each stage was written (the correlation document's keys)."""

    rules: Span | None = None
    type: Span | None = None
    timespan: Span | None = None
    group_by: Span | None = None
    condition: Span | None = None


def to_stages(
    shape: Shape, tags: Sequence[EvalExpr] = (), spans: Spans = Spans()
) -> tuple[Stage, ...]:
    """The IR stages of ``shape`` (module docstring). ``tags`` (temporal only): each rule's
    filter as an eval condition, in the order of ``shape.rules``."""
    stages: list[Stage] = [Filter(any_of([expr for _, expr in shape.rules]), span=spans.rules)]
    if shape.type == "temporal":
        names = [name for name, _ in shape.rules]
        stages.append(tag_eval(list(zip(names, tags, strict=True)), spans.type))
    stages.append(Bin("_time", bin_span(shape.timespan), span=spans.timespan))
    stages.append(
        Stats(
            (aggregation(shape.type, shape.value_field),),
            by=("_time", *shape.group_by),
            options=(("timespan", shape.timespan), ("approximation", "bin")),
            span=spans.group_by,
        )
    )
    condition = shape.condition
    if condition is None:  # temporal: every referenced rule
        condition = ("gte", len(shape.rules))
    column = RESULT_COLUMNS[shape.type]
    where = condition_expr(column, condition, spans.condition)
    stages.append(Filter(where, command="where", span=spans.condition))
    return tuple(stages)


#: A filter as the temporal eval's condition, or ``None`` (the reader's ``to_eval``).
AsEval = Callable[[Expr], "EvalExpr | None"]


def from_stages(
    stages: Sequence[Stage], as_eval: AsEval | None = None, name: str = "rule"
) -> Shape | None:
    """The inverse of :func:`to_stages`: the shape of stages exactly in its form, or ``None``.
    A temporal's rules are the first filter's alternatives cut by :func:`split_rules` (with
    ``as_eval``; without it, one alternative per tag); other types have one rule, ``name``."""
    stages = list(stages)
    if len(stages) not in (4, 5) or not isinstance(stages[0], Filter):
        return None
    first, *rest = stages
    assert isinstance(first, Filter)
    tags = tag_rules(rest[0]) if len(stages) == 5 else None
    if len(stages) == 5 and tags is None:
        return None
    bin_, stats, where = rest[-3:]
    if not (isinstance(bin_, Bin) and isinstance(stats, Stats) and isinstance(where, Filter)):
        return None
    options = dict(stats.options)
    timespan = options.get("timespan")
    if (
        timespan is None
        or set(options) != set(STATS_OPTIONS)
        or bin_span(timespan) != bin_.span_text
        or bin_.field != "_time"
        or stats.by[:1] != ("_time",)
        or len(stats.aggregations) != 1
        or where.command != "where"
    ):
        return None
    (agg,) = stats.aggregations
    if tags is not None:
        if agg != aggregation("temporal", None):
            return None
        kind, value_field = "temporal", None
    else:
        found = aggregate_type(agg)
        if found is None or agg != aggregation(*found):
            return None
        kind, value_field = found
    condition: tuple[str, int | float] | None = _condition(where.expr, RESULT_COLUMNS[kind])
    if condition is None:
        return None
    if tags is not None:
        if as_eval is not None:
            alternatives = split_rules(first.expr, [c for _, c in tags], as_eval)
        else:
            alternatives = _alternatives(first.expr, len(tags))
        if alternatives is None:
            return None
        rules = tuple((name, expr) for (name, _), expr in zip(tags, alternatives, strict=True))
        if condition == ("gte", len(rules)):
            condition = None
    else:
        rules = ((name, first.expr),)
    return Shape(kind, timespan, rules, tuple(stats.by[1:]), condition, value_field)


def _condition(expr: Expr, column: str) -> tuple[str, int | float] | None:
    value = expr.value if isinstance(expr, Predicate) else None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(expr, Predicate) and expr.field == column and number:
        keys = {kind: key for key, kind in CONDITION_KINDS.items()}
        return (keys[expr.kind], expr.value) if expr.kind in keys else None  # type: ignore[return-value]
    if isinstance(expr, Not) and isinstance(expr.arg, Predicate):
        found = _condition(expr.arg, column)
        return ("neq", found[1]) if found is not None and found[0] == "eq" else None
    return None


def _alternatives(expr: Expr, count: int) -> list[Expr] | None:
    """``count`` filters whose :func:`any_of` is ``expr``: one each when ``expr`` is an OR of
    that many (a referenced rule whose own filter is an OR is ambiguous: ``None``)."""
    if count == 1:
        return [expr]
    if isinstance(expr, Or) and len(expr.args) == count:
        return list(expr.args)
    return None


def split_rules(
    expr: Expr | None, conditions: Sequence[EvalExpr], as_eval: AsEval
) -> list[Expr] | None:
    """The first filter's alternatives cut into one run per tagged rule, each run's eval form
    equal to that rule's tag condition (:func:`to_stages` ORs the rules' filters, and
    :func:`ir.nodes.any_of` flattens), or ``None`` when no cut fits."""
    if expr is None:
        return None
    alternatives = expr.args if isinstance(expr, Or) else (expr,)

    def cut(start: int, index: int) -> list[Expr] | None:
        if index == len(conditions):
            return [] if start == len(alternatives) else None
        for end in range(start + 1, len(alternatives) + 1):
            run = any_of(alternatives[start:end])
            if as_eval(run) == conditions[index]:
                rest = cut(end, index + 1)
                if rest is not None:
                    return [run, *rest]
        return None

    return cut(0, 0)
