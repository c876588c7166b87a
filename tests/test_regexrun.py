"""Bounded regexes (ir/regexrun.py): RE2 answers only where Python's ``re`` would answer the
same, everything else runs under a time budget whose overrun is a positioned error."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import ir.regexrun as regexrun
from ir.evaluator import bounded_term, pattern_regex, term_regex, wildcard_test
from ir.nodes import Pattern, Wildcard
from ir.regexrun import RegexBudgetError, bounded
from translator.cli import main

# Pieces that differ between the engines if written naively: \s (\v, \x1c), (?i) folding of
# ı/ſ/K (Kelvin), $ before a final newline, multiline anchors, word boundaries.
_ATOMS = [
    "a", "b", "k", "K", "s", "ı", "ſ", "\\u212a", ".", "\\s", "\\S", "\\d", "\\w", "\\W",
    "[a-z]", "[^a-z]", "[\\s\\d]", "[A-z]", "\\.", "\\n", "\\x0b", "\\x1c", "(?i:a)",
]
_SUFFIXES = ["", "*", "+", "?", "{2}", "{1,3}", "*?", "+?"]
_ANCHORS = ["", "^", "$", "\\b", "\\B", "\\A", "\\Z"]
_ALPHABET = "aAbBkKsSıſ\u212a \n\t\x0b\x1c_.19-"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        piece = draw(st.sampled_from(_ATOMS)) + draw(st.sampled_from(_SUFFIXES))
        if draw(st.booleans()):
            piece = f"({piece}|{draw(st.sampled_from(_ATOMS))})"
        pieces.append(draw(st.sampled_from(_ANCHORS)) + piece)
    return "".join(pieces) + draw(st.sampled_from(_ANCHORS))


@given(patterns(), st.sampled_from([0, re.I, re.M, re.S, re.I | re.M]),
       st.lists(st.text(_ALPHABET, max_size=8), min_size=1, max_size=6))
def test_bounded_search_agrees_with_re(pattern: str, flags: int, texts: list[str]) -> None:
    python = re.compile(pattern, flags)
    regex = bounded(pattern, flags)
    for text in texts:
        expected = python.search(text)
        assert regex.found(text) is (expected is not None), (pattern, flags, text)
        got = regex.search(text)
        assert (got.span() if got else None) == (expected.span() if expected else None)


def test_linear_engine_answers_the_catastrophic_pattern_at_once() -> None:
    regex = bounded(r"(a+)+$")
    assert regex.linear
    start = time.perf_counter()
    assert not regex.found("a" * 40 + "b")
    assert regex.found("a" * 40)
    assert time.perf_counter() - start < 0.5


def test_what_re2_cannot_mean_falls_back_to_re() -> None:
    for pattern in [r"(a)\1", r"(?=a)a", r"(?<!x)a", r"(?>a+)b", r"a++", r"a{1001}"]:
        assert not bounded(pattern).linear, pattern
    # non-ASCII text and a final newline under $: Python answers
    assert bounded(r"(?i)ı").found("I")
    assert bounded(r"a$").found("a\n")
    assert bounded(r"\d").found("\u0663")  # ARABIC-INDIC DIGIT THREE is a Unicode digit


def test_budget_overrun_is_a_named_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regexrun, "BUDGET_SECONDS", 0.2)
    regex = bounded(r"(a+)+\1$")  # a back-reference: RE2 cannot run it
    assert not regex.linear
    start = time.perf_counter()
    with pytest.raises(RegexBudgetError) as caught:
        regex.found("a" * 40 + "b")
    assert time.perf_counter() - start < 2
    assert caught.value.category == "unsupported"
    assert caught.value.construct == "regex budget"
    assert regex.found("aa")  # the budget is per call: the next call runs normally


_RULE = """title: {title}
id: 11111111-1111-1111-1111-11111111111{n}
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|re: '{pattern}'
    condition: selection
level: low
"""


def _events(tmp_path: Path) -> Path:
    events = tmp_path / "events.jsonl"
    lines = [
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
         "CommandLine": "a" * 40 + "b"},
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "CommandLine": "aaaa"},
    ]
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return events


def test_eval_reports_the_slow_rule_and_goes_on(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regexrun, "BUDGET_SECONDS", 0.2)
    (tmp_path / "linear.yml").write_text(_RULE.format(title="linear", n=1, pattern="(a+)+$"))
    (tmp_path / "slow.yml").write_text(
        _RULE.format(title="slow", n=2, pattern=r"(a+)+\1$"))
    (tmp_path / "after.yml").write_text(_RULE.format(title="after", n=3, pattern="^a+$"))
    events = _events(tmp_path)
    start = time.perf_counter()
    result = CliRunner().invoke(
        main, ["eval", str(tmp_path / "linear.yml"), str(tmp_path / "slow.yml"),
               str(tmp_path / "after.yml"), "--events", str(events)])
    assert time.perf_counter() - start < 10
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{tmp_path / 'slow.yml'}:9:25: unsupported: regular expression" in result.output
    matched = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {(m["rule_path"].rsplit("/", 1)[-1], m["event_index"]) for m in matched} == {
        ("linear.yml", 1), ("after.yml", 1)}


def test_spl_regex_and_match_are_bounded(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(regexrun, "BUDGET_SECONDS", 0.2)
    events = _events(tmp_path)
    (tmp_path / "regex.spl").write_text('CommandLine=* | regex CommandLine="(a+)+$"\n')
    (tmp_path / "match.spl").write_text('CommandLine=* | where match(CommandLine, "(a+)+$")\n')
    (tmp_path / "slow.spl").write_text(
        'CommandLine=* | where match(CommandLine, "(a+)+\\1$")\n')
    start = time.perf_counter()
    result = CliRunner().invoke(main, [
        "eval", "--from", "spl", "--fields", "none",
        *(str(tmp_path / name) for name in ("regex.spl", "match.spl", "slow.spl")),
        "--events", str(events)])
    assert time.perf_counter() - start < 10
    assert "Traceback" not in result.output
    assert f"{tmp_path / 'slow.spl'}:1:23: unsupported: regular expression" in result.output
    matched = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted((m["rule_path"].rsplit("/", 1)[-1], m["event_index"]) for m in matched) == [
        ("match.spl", 1), ("regex.spl", 1)]


def test_check_reports_the_slow_rule_as_an_error(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """``check`` hung on its own generated events; now that pair is an error, the other is
    compared."""
    monkeypatch.setattr(regexrun, "BUDGET_SECONDS", 0.2)
    (tmp_path / "linear.yml").write_text(_RULE.format(title="linear", n=1, pattern="(a+)+$"))
    (tmp_path / "slow.yml").write_text(_RULE.format(title="slow", n=2, pattern=r"(a+)+\1$"))
    report = tmp_path / "report.json"
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["check", str(tmp_path / "linear.yml"),
                                       str(tmp_path / "slow.yml"), "--report", str(report)])
    assert time.perf_counter() - start < 20
    assert "Traceback" not in result.output
    results = {r["path"].rsplit("/", 1)[-1]: r for r in json.loads(report.read_text())}
    assert results["linear.yml"]["status"] == "equivalent"
    assert results["slow.yml"]["status"] == "error"
    assert results["slow.yml"]["error"]["construct"] == "regex budget"


# --- wildcards and SPL terms: no regex backtracking ------------------------------------------

_WILD_PARTS = st.lists(
    st.one_of(st.sampled_from([Wildcard.MANY, Wildcard.ONE]), st.text("abA\n.", min_size=1,
                                                                      max_size=3)),
    max_size=7,
)


@given(_WILD_PARTS, st.booleans(), st.lists(st.text("abA\n.İ", max_size=9), max_size=6))
def test_wildcard_test_agrees_with_the_pattern_regex(parts, cased: bool, texts: list[str]) -> None:
    pattern = Pattern(tuple(parts))
    expected = pattern_regex(pattern, cased)
    test = wildcard_test(pattern, cased)
    for text in texts:
        text = text if cased else text.lower()
        assert test(text) is (expected.fullmatch(text) is not None), (parts, text)


def test_many_stars_on_a_long_text_are_quick() -> None:
    parts: list = []
    for _ in range(8):
        parts += [Wildcard.MANY, "a"]
    test = wildcard_test(Pattern((*parts, Wildcard.MANY, "b")), True)
    start = time.perf_counter()
    assert not test("a" * 100_000)  # pattern_regex's fullmatch: 9 s on forty
    assert test("a" * 100 + "b")
    assert time.perf_counter() - start < 0.5


@given(st.lists(st.text("ab-", min_size=1, max_size=3), min_size=1, max_size=4),
       st.lists(st.text("abAB- \n.é", max_size=12), max_size=6))
def test_bounded_term_agrees_with_the_term_regex(pieces: list[str], texts: list[str]) -> None:
    term = "*".join(pieces)
    expected = term_regex(term)
    for text in texts:
        assert bounded_term(term).found(text) is (expected.search(text) is not None), (term, text)
