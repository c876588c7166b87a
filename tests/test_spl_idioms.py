"""SPL as people write it (issue 22): idioms outside security_content's linted style, each read
with Splunk's documented or observed meaning, and the broken neighbours that stay errors."""

from __future__ import annotations

import pytest

from backends.sigma.emit import emit_sigma
from backends.spl import read_spl
from ir.errors import RuleglotError
from ir.events import Event
from ir.lookups import LookupProvider, LookupTable
from ir.nodes import EXCLUDE, Subsearch
from ir.pipeline import run_pipeline


def _rows(spl: str, events: list[dict[str, object]], provider: LookupProvider | None = None):
    (rule,) = read_spl(spl)
    rows = run_pipeline(rule.stages, [Event(e) for e in events], lookups=provider)
    return [dict(r.fields) for r in rows]


def _error(spl: str) -> RuleglotError:
    with pytest.raises(RuleglotError) as caught:
        read_spl(spl)
    return caught.value


# --- NOT [subsearch]: an exclusion over the subsearch's rows ---------------------------------

ALLOW = LookupTable("allow.csv", ["hash"], [{"hash": "aa"}, {"hash": "b*"}])
EVENTS = [{"hash": "aa", "n": 1}, {"hash": "bc", "n": 2}, {"hash": "cc", "n": 3}, {"n": 4}]


def _provider(*tables: LookupTable) -> LookupProvider:
    provider = LookupProvider()
    for table in tables:
        provider.add(table)
    return provider


def test_not_subsearch_excludes_the_rows_its_results_match() -> None:
    """Splunk's implicit ``format`` writes ``(hash="aa") OR (hash="b*")``; NOT keeps the rest,
    the event without ``hash`` too (NOT also holds where the field is missing)."""
    spl = "n=* NOT [| inputlookup allow.csv | fields hash]"
    assert [r["n"] for r in _rows(spl, EVENTS, _provider(ALLOW))] == [3, 4]
    (rule,) = read_spl(spl)
    assert isinstance(rule.stages[-1], Subsearch) and rule.stages[-1].command == EXCLUDE


def test_not_subsearch_with_no_rows_excludes_nothing() -> None:
    empty = LookupTable("allow.csv", ["hash"], [])
    spl = "n=* NOT [| inputlookup allow.csv | fields hash]"
    assert [r["n"] for r in _rows(spl, EVENTS, _provider(empty))] == [1, 2, 3, 4]


def test_not_subsearch_in_a_later_search_and_back_to_spl() -> None:
    from translator.api import emit

    spl = "n=* | search NOT [| inputlookup allow.csv | fields hash] | table n"
    (rule,) = read_spl(spl)
    text = emit(rule, "spl")
    assert "search NOT [| inputlookup allow.csv | fields hash]" in text
    assert read_spl(text)[0].stages == rule.stages


def test_not_subsearch_under_or_stays_refused() -> None:
    err = _error("a=1 OR NOT [| inputlookup allow.csv | fields hash]")
    assert err.construct == "subsearch" and err.line == 1


def test_not_subsearch_to_sigma_is_named() -> None:
    (rule,) = read_spl('sourcetype="aws:cloudtrail" x=1 NOT [| inputlookup allow.csv]')
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct == EXCLUDE
    result = emit_sigma(rule, lossy=True)
    assert EXCLUDE in {w["construct"] for w in result.warnings}
