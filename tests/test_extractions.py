"""ir.extractions.invert: a predicate on an extracted field, rewritten on the sources, holds on
exactly the events where the original holds on the field the profile computes (decided by the
one evaluator on both sides, on random events with path-like values)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ir.evaluator import compile_expr
from ir.events import Event
from ir.extractions import Inexact, Tree, invert
from ir.fieldprofiles import Extraction, FieldProfile
from ir.nodes import Kind, Pattern, Predicate, Regex, Wildcard

# path pieces with both separators, case variants and the letters re folds differently
_PIECES = ["a", "S", "s", "ſ", "ı", "i", "\\", "/", "\n"]
texts = st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)
values = st.one_of(st.none(), texts, st.lists(texts, min_size=1, max_size=2), st.integers(0, 3))
events = st.fixed_dictionaries({}, optional={"Image": values, "NewProcessName": values})
# a list with a mapped key and another value (a multi-valued field through ``map``)
_MAP_EXAMPLE = {"Image": ["s", "MODIFIED"]}

_parts = st.lists(
    st.one_of(st.sampled_from([Wildcard.MANY, Wildcard.ONE]), st.sampled_from(_PIECES)),
    max_size=4,
)
predicates = st.one_of(
    st.builds(
        Predicate,
        st.just("process_name"),
        st.sampled_from([Kind.EQ, Kind.STARTSWITH, Kind.ENDSWITH, Kind.CONTAINS]),
        texts,
        st.booleans(),
    ),
    st.builds(
        lambda parts, cased: Predicate("process_name", Kind.WILDCARD, Pattern(tuple(parts)), cased),
        _parts,
        st.booleans(),
    ),
    st.builds(Predicate, st.just("process_name"), st.just(Kind.NULL), st.none()),
    st.builds(Predicate, st.just("process_name"), st.just(Kind.EXISTS), st.booleans()),
)
_BASENAME = Extraction("process_name", ("Image",), "basename")
extractions = st.sampled_from(
    [
        _BASENAME,
        Extraction("process_name", ("Image", "NewProcessName"), "basename"),
        Extraction("process_name", ("Image", "NewProcessName"), "copy"),
        Extraction("process_name", ("Image",), "constant", "created"),
        Extraction("process_name", ("Image",), "prefix", "C:\\"),
        Extraction("process_name", ("Image", "NewProcessName"), "map", "a=S s=a ſ=x"),
    ]
)


def _holds(tree: Tree, event: Event) -> bool:
    return tree if isinstance(tree, bool) else compile_expr(tree)(event)


@given(predicates, extractions, events)
@example(  # re's IGNORECASE matches the long s where str.lower does not
    Predicate("process_name", Kind.CONTAINS, "s"), _BASENAME, {"Image": "C:\\\u017f"}
)
@example(  # $ alone also matches before a final newline
    Predicate("process_name", Kind.WILDCARD, Pattern(("a", Wildcard.ONE))),
    _BASENAME,
    {"Image": "\\aa\n"},
)
@example(
    Predicate("process_name", Kind.EQ, "modified"),
    Extraction("process_name", ("Image",), "map", "s=created"),
    _MAP_EXAMPLE,
)
def test_inverse_holds_where_the_extracted_field_holds(
    p: Predicate, x: Extraction, fields: dict[str, Any]
) -> None:
    try:
        tree = invert(p, x)
    except Inexact:
        return  # refused: no claim made (counted by the next test)
    event = Event.from_fields(fields)
    extracted = FieldProfile("t", (x,)).apply(event)
    assert _holds(tree, event) == compile_expr(p)(extracted)


def test_the_common_predicates_are_exact() -> None:
    basename = Extraction("process_name", ("Image",), "basename")
    cases: list[tuple[Kind, str | Pattern]] = [
        (Kind.EQ, "cmd.exe"),
        (Kind.CONTAINS, "mimikatz"),
        (Kind.STARTSWITH, "ps"),
        (Kind.ENDSWITH, ".exe"),
        (Kind.WILDCARD, Pattern(("a", Wildcard.MANY, "s.exe"))),
    ]
    for kind, value in cases:
        invert(Predicate("process_name", kind, value), basename)  # does not raise
    with pytest.raises(Inexact):
        invert(Predicate("process_name", Kind.REGEX, Regex("a")), basename)


def test_eq_on_a_basename_is_the_name_after_either_separator() -> None:
    tree = invert(
        Predicate("process_name", Kind.EQ, "cmd.exe"),
        Extraction("process_name", ("Image",), "basename"),
    )
    decide = compile_expr(tree)  # type: ignore[arg-type]
    for image, expected in [
        ("C:\\Windows\\cmd.exe", True),
        ("/usr/bin/CMD.EXE", True),
        ("cmd.exe", True),
        ("C:\\Windows\\xcmd.exe", False),
        ("C:\\cmd.exe\\x", False),
    ]:
        assert decide(Event.from_fields({"Image": image})) is expected, image
