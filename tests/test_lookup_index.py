"""A WILDCARD lookup column is searched through an index of its cells (ir.lookups): the rows it
finds are the rows a scan of every row matching every cell finds, in file order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ir.lookups import LookupTable

pieces = st.sampled_from(["a", "B", "ab", ".", "x.org", "Σ", "", "*"])
cells = st.lists(pieces, max_size=4).map("".join)
values = st.lists(st.sampled_from(["a", "b", "AB", ".", "x.org", "σ", "ς", "q"]),
                  max_size=4).map("".join)


def scan(table: LookupTable, inputs: dict[str, str]) -> list[dict[str, str]]:
    found = []
    for number, row in enumerate(table.rows):
        if all(c in row and table._cell_matches(number, c, row[c], v) for c, v in inputs.items()):
            found.append(row)
            if len(found) >= table.max_matches:
                break
    return found


@settings(max_examples=400)
@given(
    st.lists(st.tuples(cells, st.sampled_from(["1", "2", ""])), max_size=12),
    values,
    st.booleans(),
    st.integers(1, 4),
)
def test_wildcard_index_finds_what_a_scan_finds(rows, value, case_sensitive, max_matches):
    table = LookupTable(
        "t", ["dest", "tag"],
        [{k: v for k, v in (("dest", d), ("tag", t)) if v} for d, t in rows],
        case_sensitive=case_sensitive, match_types={"dest": "WILDCARD"},
        max_matches=max_matches,
    )
    assert table.match({"dest": value}) == scan(table, {"dest": value})


def test_suffix_patterns_match_the_domains_they_end():
    table = LookupTable(
        "dyn", ["dest", "isDynDNS"],
        [{"dest": "*.duckdns.org", "isDynDNS": "1"}, {"dest": "exact.net", "isDynDNS": "2"},
         {"dest": "pre*", "isDynDNS": "3"}, {"dest": "*mid*", "isDynDNS": "4"}],
        case_sensitive=False, match_types={"dest": "WILDCARD"},
    )
    assert [r["isDynDNS"] for r in table.match({"dest": "duckdns.org"})] == []
    assert [r["isDynDNS"] for r in table.match({"dest": "A.DuckDNS.org"})] == ["1"]
    assert [r["isDynDNS"] for r in table.match({"dest": "prefix.mid.duckdns.org"})] == [
        "1", "3", "4"]
    assert [r["isDynDNS"] for r in table.match({"dest": "EXACT.net"})] == ["2"]
