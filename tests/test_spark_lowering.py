"""The Spark engine is a lowering of the IR's own tables (issue 25).

* every eval function of :data:`ir.functions.FUNCTIONS` (and special form), every operator and
  every stage of the IR is either lowered (the tables of ``backends.spark.evalexpr`` and
  ``backends.spark.pipeline``) or in the derived unsupported set, and compiling an
  unsupported one is a named refusal;
* arity comes from ``FUNCTIONS``: a call the evaluator accepts is never refused as invalid;
* ``tostring(a, "hex")`` (the drift the issue reproduced) gives the evaluator's text;
* hypothesis: every function of ``FUNCTIONS`` on generated rows, Spark against the evaluator
  (one Spark session, a few examples: Spark is slow on this machine).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ir import nodes
from ir.errors import RuleglotError
from ir.events import Event
from ir.functions import FUNCTIONS, SPECIAL_FORMS, arity
from ir.nodes import Call, Eval, FieldValue, Literal
from translator.api import parse, run

pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed: pip install -e '.[test]'"
)

from backends.spark import evalexpr, pipeline  # noqa: E402
from backends.spark.pipeline import compile_pipeline, run_plan  # noqa: E402

from .test_spark import spark  # noqa: E402, F401  (the module's one session fixture)

# --- the tables cover the IR -------------------------------------------------------------------


def test_every_function_is_lowered_or_declared_unsupported():
    lowered = set(evalexpr.FUNCTION_LOWERINGS) | set(evalexpr.CONDITION_LOWERINGS)
    every = set(FUNCTIONS) | SPECIAL_FORMS
    assert lowered <= every, "a lowering for a function the IR does not have"
    assert lowered | evalexpr.UNSUPPORTED_FUNCTIONS == every
    assert not lowered & evalexpr.UNSUPPORTED_FUNCTIONS
    assert "tostring" in lowered


def test_every_stage_is_lowered_or_declared_unsupported():
    declared = set(pipeline.UNSUPPORTED_STAGES)
    lowered = set(pipeline.STAGE_LOWERINGS) | {nodes.Filter} | set(pipeline.LEADING_LOWERINGS)
    assert lowered | declared == set(nodes.STAGE_TYPES)
    assert not lowered & declared
    # STAGE_TYPES is the Stage alias, class for class
    alias = {n.strip() for n in str(nodes.Stage).split("|")}
    assert alias == {t.__name__ for t in nodes.STAGE_TYPES}


def test_every_operator_is_lowered():
    assert nodes.BINARY_OPERATORS == evalexpr.LOWERED_BINARY_OPERATORS
    assert nodes.UNARY_OPERATORS == evalexpr.LOWERED_UNARY_OPERATORS


def test_readme_lists_the_tables_declared_sets():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- spark-lowerings -->\n(.*?)\n<!-- /spark-lowerings -->", readme, re.S)
    assert block is not None
    assert block.group(1) == pipeline.lowering_summary()


@pytest.mark.parametrize("name", sorted(evalexpr.UNSUPPORTED_FUNCTIONS))
def test_unsupported_functions_are_refused_by_name(name):
    low, _ = arity(name)
    args = ", ".join(["a"] * low)
    (rule,) = parse(f"search * | eval x={name}({args})", "spl")
    with pytest.raises(RuleglotError) as caught:
        compile_pipeline(rule, None)
    assert caught.value.category == "unsupported"
    assert caught.value.construct == f"eval:{name}"


@pytest.mark.parametrize("name", sorted(set(evalexpr.FUNCTION_LOWERINGS) - {"case"}))
def test_arity_is_the_irs(spark, name):  # noqa: F811
    """Too many arguments is the evaluator's error; the most the IR allows is not refused as
    invalid (a named ``unsupported`` refusal of a non-constant argument may remain)."""
    low, high = arity(name)
    too_many = (high if high is not None else low) + 1
    if high is not None:
        (rule,) = parse(f"search * | eval x={name}({', '.join(['a'] * too_many)})", "spl")
        with pytest.raises(RuleglotError, match=r"takes .* arguments") as caught:
            compile_pipeline(rule, None)
        assert caught.value.category != "unsupported"
    most = high if high is not None else low + 1
    (rule,) = parse(f"search * | eval x={name}({', '.join(['1'] * most)})", "spl")
    try:
        compile_pipeline(rule, None)
    except RuleglotError as err:
        assert err.category == "unsupported", str(err)


# --- tostring(a, "hex"): the reproduced drift -------------------------------------------------

HEX_EVENTS = [{"a": 255}, {"a": -15.7}, {"a": "16"}, {"a": "zz"}, {"a": True}, {"a": [1, 2]}, {}]


def test_tostring_hex_gives_the_evaluators_text(spark):  # noqa: F811
    (rule,) = parse('search * | eval x=tostring(a, "hex"), y=tostring(a) | table x y', "spl")
    want = run(rule, HEX_EVENTS, fields="none")
    got = run_plan(spark, compile_pipeline(rule, None), [Event(e) for e in HEX_EVENTS])
    assert got == want
    assert want[0]["x"] == "0xFF" and want[1]["x"] == "-0xF"


def test_tostring_formats_not_lowered_are_refused_by_name():
    (rule,) = parse('search * | eval x=tostring(a, "commas")', "spl")
    with pytest.raises(RuleglotError) as caught:
        compile_pipeline(rule, None)
    assert (caught.value.category, caught.value.construct) == ("unsupported", "eval:tostring")


# --- every function on generated rows ---------------------------------------------------------

#: Not deterministic: compared nowhere (``now`` is the compile time, ``random`` random).
NONDETERMINISTIC = {"now", "time", "random"}
TEXTS = ["", "a", "Ab c", "hex", "15", "-2.5", "0x1F", " x ", "a,b", "%b%", "(\\w)", "\\1"]
SCALARS = st.one_of(
    st.integers(-300, 300),
    st.sampled_from([0.5, -2.25, 3.0, 100.125]),
    st.sampled_from(TEXTS),
    st.booleans(),
)
VALUES = st.one_of(st.none(), SCALARS, st.lists(SCALARS, min_size=2, max_size=3))
EVENTS = st.lists(
    st.fixed_dictionaries({}, optional={"a": VALUES, "b": VALUES}), min_size=1, max_size=3
)
ARGS = st.one_of(
    st.sampled_from([FieldValue("a"), FieldValue("b")]),
    st.builds(Literal, st.one_of(st.integers(-3, 3), st.sampled_from(TEXTS))),
)


@st.composite
def calls(draw: Any, name: str) -> Call:
    low, high = arity(name)
    count = draw(st.integers(low, min(high if high is not None else low + 2, low + 3)))
    return Call(name, tuple(draw(ARGS) for _ in range(count)))


COMPARED = sorted(
    (set(evalexpr.FUNCTION_LOWERINGS) | set(evalexpr.CONDITION_LOWERINGS)) - NONDETERMINISTIC
)
EVERY_CALL = st.tuples(*(calls(name) for name in COMPARED))


def _compiles(rule: Any) -> bool:
    """Whether Spark lowers ``rule``: a refusal must be a named ``unsupported`` one."""
    try:
        compile_pipeline(rule, None)
    except RuleglotError as err:
        assert err.category == "unsupported", str(err)
        return False
    return True


@settings(
    max_examples=8, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(calls_=EVERY_CALL, events=EVENTS)
def test_every_function_on_generated_rows_gives_the_evaluators_values(spark, calls_, events):  # noqa: F811
    (base,) = parse("search * | eval x=1 | table x", "spl")
    kept: list[tuple[str, Call]] = []
    for call in calls_:
        column = f"f_{call.name}"
        rule = dataclasses.replace(
            base, stages=(Eval(((column, call),)), base.stages[-1])
        )
        try:
            run(rule, [], fields="none")  # the evaluator compiles it (a bad regex...)
        except RuleglotError:
            continue
        if _compiles(rule):
            kept.append((column, call))
    (table,) = parse("search * | table " + " ".join(c for c, _ in kept), "spl")
    rule = dataclasses.replace(
        base, stages=(Eval(tuple(kept)), table.stages[-1])
    )
    want = run(rule, events, fields="none")
    got = run_plan(spark, compile_pipeline(rule, None), [Event(e) for e in events])
    assert got == want, [re.sub(r"\s+", " ", repr(c)) for c in kept]
