"""The one correlation shape (backends/sigma/correlation_shape.py): what ``to_stages`` builds,
``from_stages`` reads back, and the SPL-side recogniser (``find_correlation``, which also reads
hand-written searches) reads it as the same correlation; the correlation reader builds exactly
``to_stages``'s stages."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma import read_sigma
from backends.sigma.correlation import to_eval
from backends.sigma.correlation_shape import (
    CORRELATION_TYPES,
    Shape,
    bin_span,
    from_stages,
    sigma_timespan,
    to_stages,
)
from backends.sigma.emit_correlation import Correlation, find_correlation, split_temporal
from ir.errors import Span
from ir.nodes import EvalExpr, Expr, Kind, Predicate

TIMESPANS = ["30s", "5m", "1h", "2d", "1w", "1M", "1y"]


class _Loud:
    def error(self, message: str, *_: Any) -> Exception:
        return AssertionError(message)


def _as_eval(expr: Expr) -> EvalExpr:
    return to_eval(expr, _Loud(), Span(1, 1))  # type: ignore[arg-type]


@st.composite
def shapes(draw: st.DrawFn) -> Shape:
    kind = draw(st.sampled_from(CORRELATION_TYPES))
    count = draw(st.integers(2, 3)) if kind == "temporal" else 1
    rules = tuple(
        (f"rule_{i}", Predicate(f"Field{i}", Kind.EQ, draw(st.sampled_from(["a", "b*c", "7"]))))
        for i in range(count)
    )
    group_by = tuple(draw(st.lists(st.sampled_from(["User", "Computer"]), unique=True)))
    key = draw(st.sampled_from(["gt", "gte", "lt", "lte", "eq", "neq"]))
    condition: tuple[str, int] | None = (key, draw(st.integers(0, 50)))
    if kind == "temporal" and (draw(st.booleans()) or condition == ("gte", count)):
        condition = None  # "every rule", which is how gte <number of rules> reads back
    value_field = "Image" if kind.startswith("value_") else None
    return Shape(kind, draw(st.sampled_from(TIMESPANS)), rules, group_by, condition, value_field)


def _tags(shape: Shape) -> list[EvalExpr]:
    return [_as_eval(expr) for _, expr in shape.rules] if shape.type == "temporal" else []


@settings(max_examples=150, deadline=None)
@given(shapes())
def test_from_stages_reads_back_what_to_stages_builds(shape: Shape) -> None:
    stages = to_stages(shape, _tags(shape))
    assert from_stages(stages, _as_eval, name="rule_0") == shape


@settings(max_examples=150, deadline=None)
@given(shapes())
def test_the_spl_side_recogniser_reads_the_same_correlation(shape: Shape) -> None:
    stages = to_stages(shape, _tags(shape))
    found = find_correlation(stages[1:])  # after the detection's filter, as the emitter asks
    assert isinstance(found, Correlation)
    if found.tag is not None:
        assert split_temporal(found, stages[0].expr) is None  # type: ignore[union-attr]
        assert [name for name, _ in found.rules] == [name for name, _ in shape.rules]
    assert (found.type, found.timespan, found.group_by, found.condition, found.value_field) == (
        shape.type, shape.timespan, shape.group_by, shape.condition, shape.value_field,
    )  # fmt: skip


def test_timespans_and_bin_spans_are_inverse() -> None:
    for timespan in TIMESPANS:
        assert sigma_timespan(bin_span(timespan)) == timespan
    assert bin_span("3M") == "3mon" and sigma_timespan("1q") == "3M"


def test_the_reader_builds_to_stages_stages() -> None:
    text = """
title: base
name: base
logsource: {product: windows, category: process_creation}
detection: {sel: {Image|endswith: '\\\\net.exe'}, condition: sel}
---
title: many
correlation: {type: value_count, rules: [base], group-by: [User], timespan: 10m,
              condition: {gte: 3, field: Computer}}
"""
    (rule,) = read_sigma(text)
    shape = from_stages(rule.stages, _as_eval, name="base")
    assert shape is not None
    assert shape == Shape("value_count", "10m", shape.rules, ("User",), ("gte", 3), "Computer")
    assert to_stages(shape) == rule.stages
