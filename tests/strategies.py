"""Hypothesis strategies for the IR and for events: one place, one strategy per node type.

Fields and values are drawn from small alphabets so that random events and random rules meet
often (a predicate on a field no event has tests nothing).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    TimePart,
    Wildcard,
)

FIELDS = ("Image", "CommandLine", "User", "Port")
texts = st.text(alphabet="aAbB\\*? .-", min_size=0, max_size=6)
field_names = st.sampled_from(FIELDS)

patterns = st.lists(
    st.one_of(texts, st.sampled_from([Wildcard.MANY, Wildcard.ONE])), min_size=1, max_size=4
).map(lambda parts: Pattern(tuple(parts)))
regexes = st.builds(
    Regex,
    st.sampled_from(["a+b", "^a", "b$", "a.b", r"\\", "(a|b)b"]),
    st.sampled_from(["", "i", "m", "s", "im"]),
)
numbers = st.integers(min_value=-3, max_value=10)


def _value_predicates(field: st.SearchStrategy[str | None]) -> st.SearchStrategy[Predicate]:
    cased = st.booleans()
    return st.one_of(
        st.builds(Predicate, field, st.just(Kind.EQ), st.one_of(texts, numbers), cased),
        st.builds(Predicate, field,
                  st.sampled_from([Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH]), texts, cased),
        st.builds(Predicate, field, st.just(Kind.WILDCARD), patterns, cased),
        st.builds(Predicate, field, st.just(Kind.REGEX), regexes),
    )


predicates_strategy: st.SearchStrategy[Predicate] = st.one_of(
    _value_predicates(field_names),
    _value_predicates(st.none()),
    st.builds(Predicate, field_names, st.just(Kind.CIDR),
              st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "fe80::/10"])),
    st.builds(Predicate, field_names, st.just(Kind.EXISTS), st.booleans()),
    st.builds(Predicate, field_names, st.just(Kind.NULL), st.none()),
    st.builds(Predicate, field_names, st.sampled_from([Kind.LT, Kind.LTE, Kind.GT, Kind.GTE]),
              numbers),
    st.builds(Predicate, field_names, st.just(Kind.FIELDREF),
              st.builds(FieldRef, field_names,
                        st.sampled_from(["eq", "startswith", "endswith", "contains"])),
              st.booleans()),
    st.builds(Predicate, st.just("Time"), st.just(Kind.TIMEPART),
              st.builds(TimePart, st.sampled_from(["hour", "month"]), st.integers(1, 12))),
    st.builds(Predicate, st.none(), st.just(Kind.TERM), st.sampled_from(["a", "evil", "b*"])),
)

exprs: st.SearchStrategy[Expr] = st.recursive(
    predicates_strategy,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        children.map(Not),
    ),
    max_leaves=8,
)

rules = st.builds(
    Rule,
    title=st.text(min_size=1, max_size=10),
    stages=st.tuples(st.builds(Filter, exprs)),
    logsource=st.builds(LogSource, st.sampled_from([None, "windows"]),
                        st.sampled_from([None, "process_creation"])),
    id=st.none() | st.uuids().map(str),
    tags=st.lists(st.sampled_from(["attack.t1059", "attack.execution"]), max_size=2).map(tuple),
)

scalar_values: st.SearchStrategy[Any] = st.one_of(
    texts, numbers, st.none(), st.booleans(),
    st.sampled_from(["10.1.2.3", "192.168.1.7", "fe80::1", "2019-04-30T07:26:34Z"]),
)
event_values = st.one_of(scalar_values, st.lists(scalar_values, max_size=3))
events = st.dictionaries(st.sampled_from((*FIELDS, "Time", "_raw")), event_values, max_size=5)
