"""Properties of the IR: JSON round trip, structural equality, exclusions."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from ir import serialize
from ir.errors import Span
from ir.evaluator import compile_expr
from ir.events import Event
from ir.nodes import And, Filter, Kind, Not, Pattern, Predicate, Wildcard
from tests import strategies as s


@given(s.rules)
def test_ir_json_round_trip_is_equal(rule):
    assert serialize.loads(serialize.dumps(rule)) == rule


@given(s.exprs, s.events)
def test_splitting_out_exclusions_never_changes_evaluation(expr, event):
    stage = Filter(expr)
    whole = compile_expr(stage.expr)
    kept = [compile_expr(e) for e in stage.inclusions]
    excluded = [compile_expr(e) for e in stage.exclusions]
    ev = Event(event)
    split = all(k(ev) for k in kept) and not any(x(ev) for x in excluded)
    assert whole(ev) == split


@given(s.predicates_strategy, st.integers(1, 99), st.integers(1, 99))
def test_spans_take_no_part_in_equality(pred, line, col):
    moved = replace(pred, span=Span(line, col, "elsewhere.yml"))
    assert moved == pred and hash(moved) == hash(pred)


def test_a_wildcard_is_never_a_literal_star():
    assert Pattern((Wildcard.MANY,)) != Pattern(("*",))
    assert str(Pattern((Wildcard.MANY,))) == "*"
    assert str(Pattern(("*",))) == "\\*"


def test_pattern_text_uses_sigma_escapes():
    share = Pattern(("\\", Wildcard.MANY, "\\ADMIN$"))
    assert str(share) == "\\\\*\\ADMIN$"  # as the seed page shows it: \\*\ADMIN$
    assert str(Pattern(("C:\\Windows\\",))) == "C:\\Windows\\"


def test_exclusions_are_top_level_not_conjuncts():
    a, b, c = (Predicate(f, Kind.EQ, "x") for f in "abc")
    stage = Filter(And((a, Not(b), And((c, Not(Not(a)))))))
    assert stage.exclusions == (b, Not(a))
    assert stage.inclusions == (a, c)
