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


# --- mixed quoting in rex/regex arguments ----------------------------------------------------


@pytest.mark.parametrize(
    ("spl", "pattern"),
    [
        ('| rex field=process (?<ioc>"(?i)\\S+\\.go")', "(?<ioc>(?i)\\S+\\.go)"),
        ('| rex field=f "(?<x>re")', "(?<x>re)"),
        ('| rex field=f "(?<x>a\\"b")', '(?<x>a"b)'),  # an escaped quote inside a piece
        ('| rex field=f "(?<x>\\w+)"', "(?<x>\\w+)"),  # one quoted string: unchanged
    ],
)
def test_rex_argument_of_quoted_and_unquoted_pieces(spl: str, pattern: str) -> None:
    """Splunk's tokenizer joins the pieces of one argument and drops their quotes (observed
    on public searches; the search reference does not describe it)."""
    (rule,) = read_spl(spl)
    assert rule.stages[0].pattern == pattern  # type: ignore[union-attr]


def test_mixed_rex_runs() -> None:
    rows = _rows('x=* | rex field=process (?<ioc>"(?i)\\S+\\.GO")',
                 [{"x": 1, "process": "run evil.go now"}])  # fmt: skip
    assert rows[0]["ioc"] == "evil.go"


def test_regex_option_value_of_pieces() -> None:
    rows = _rows('x=* | regex f=^a"b c"$', [{"x": 1, "f": "ab c"}, {"x": 2, "f": "ab"}])
    assert [r["x"] for r in rows] == [1]


@pytest.mark.parametrize(
    "spl", ['| rex field=f "(?<x>re', '| rex field=f "a"b"', 'x=1 "unbalanced']
)
def test_unbalanced_quotes_stay_positioned_errors(spl: str) -> None:
    err = _error(spl)
    assert err.category == "syntax" and err.line == 1 and err.col > 1


# --- ! as NOT in eval expressions ------------------------------------------------------------

BANG_EVENTS = [{"a": "xyz", "ip": "10.1.2.3"}, {"a": "abc", "ip": "8.8.8.8"}]


@pytest.mark.parametrize(
    ("spl", "kept"),
    [
        ('x=* | where !like(a, "x%")', ["abc"]),
        ('x=* | where !cidrmatch("10.0.0.0/8", ip)', ["abc"]),
        ('x=* | where !(a="abc") AND !isnull(ip)', ["xyz"]),
        ('x=* | eval hit=if(!match(a, "^a"), 1, 0) | where hit=1', ["xyz"]),
    ],
)
def test_bang_is_not(spl: str, kept: list[str]) -> None:
    events = [dict(e, x=1) for e in BANG_EVENTS]
    assert [r["a"] for r in _rows(spl, events)] == kept


def test_bang_reads_as_not_keyword() -> None:
    assert read_spl("x=1 | where !like(a, b)") == read_spl("x=1 | where NOT like(a, b)")


@pytest.mark.parametrize(
    "spl", ['x=1 | where x=1 ORmatch(a, "b")', "x=1 | where !", "x=1 | where a ! b"]
)
def test_broken_expressions_stay_positioned_errors(spl: str) -> None:
    err = _error(spl)
    assert err.category == "syntax" and err.line == 1 and err.col > 1


# --- TERM() in IN ----------------------------------------------------------------------------


def test_term_in_in_means_what_it_means_after_equals() -> None:
    (in_rule,) = read_spl("a IN (TERM(10.1.2.3), b)")
    (eq_rule,) = read_spl("a=TERM(10.1.2.3) OR a=b")
    assert in_rule.stages == eq_rule.stages


# --- regexes checked when read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spl", "col"),
    [
        ('| regex _raw="a\\Cb"', 9),
        ('| rex field=f "(?<x>\\C)"', 15),
        ('x=1 | where match(f, "\\C")', 22),
        ('x=1 | eval y=replace(f, "(?R)", "")', 25),
    ],
)
def test_pcre_without_an_equivalent_is_refused_where_read(spl: str, col: int) -> None:
    """``\\C`` (one code unit) and ``(?R)`` (recursion) have no Python ``re`` equivalent."""
    err = _error(spl)
    assert (err.category, err.construct, err.line, err.col) == ("unsupported", "regex", 1, col)


def test_pcre_with_an_equivalent_is_read() -> None:
    """What ir.functions.pcre_to_python rewrites is accepted: \\z, \\Q..\\E, inline options."""
    (rule,) = read_spl('x=1 | where match(f, "\\Qa.b\\E\\z") | rex field=f "a(?i)b(?<n>c)"')
    assert len(rule.stages) == 3
