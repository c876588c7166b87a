"""The stats sort reads each by-value once (ir.stages.rows.sort_form): the order it gives is the
order SPL's value comparison gives, comparison by comparison (the reference below is the
comparison as it was written before the forms, reading both values on every call)."""

from __future__ import annotations

import functools
import ipaddress
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ir.functions import order, to_number, to_text
from ir.stages.rows import compare_forms, compare_values, sort_form


def reference(left: Any, right: Any) -> int:
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


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-300, 300),
    st.floats(allow_nan=False, width=32),
    st.sampled_from(["10.0.0.2", "10.0.0.10", "9.1.1.1", "::1", "fe80::1", "1.5", "-2", "07",
                     "abc", "ABC", "", " 3", "1e3", "10.0.0", "host-1"]),
    st.text(max_size=4),
)
values = st.one_of(scalars, st.lists(scalars, max_size=2))


@given(values, values)
def test_forms_compare_as_the_values_do(left: Any, right: Any) -> None:
    assert compare_forms(sort_form(left), sort_form(right)) == reference(left, right)
    assert compare_values(left, right) == reference(left, right)


@given(st.lists(values, max_size=12))
def test_sorting_by_forms_is_sorting_by_values(items: list[Any]) -> None:
    by_forms = functools.cmp_to_key(compare_forms)
    expected = sorted(items, key=functools.cmp_to_key(reference))
    assert sorted(items, key=lambda v: by_forms(sort_form(v))) == expected


def test_addresses_sort_as_addresses_and_numbers_first() -> None:
    key = functools.cmp_to_key(compare_forms)
    ordered = sorted(["10.0.0.10", "b", "9.1.1.1", "2", "10.0.0.2"],
                     key=lambda v: key(sort_form(v)))
    assert ordered == ["2", "9.1.1.1", "10.0.0.2", "10.0.0.10", "b"]
