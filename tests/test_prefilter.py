"""The fast path (:class:`ir.evaluator.RuleSet` with its literal prefilter, :mod:`ir.prefilter`)
decides exactly what each rule's own closures decide, on generated rules and events."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.sigma.logsources import windows_profile
from ir import evaluator, prefilter
from ir.evaluator import RuleSet, SharedPredicates, compile_rule
from ir.events import Event
from ir.fieldprofiles import Extraction, FieldProfile
from ir.nodes import (
    And,
    Filter,
    Kind,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    Wildcard,
)
from tests import strategies as s


@pytest.fixture(autouse=True)
def _short_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated values are short: index literals of any length so that the prefilter acts."""
    monkeypatch.setattr(prefilter, "MIN_LITERAL", 1)


def _rule(expr: Any, logsource: LogSource | None = None) -> Rule:
    return Rule(title="t", stages=(Filter(expr),), logsource=logsource or LogSource())


def _slow(rules: list[Rule], event: Event, profile: Any = None) -> list[int]:
    compiled = [compile_rule(r, profile) if profile else compile_rule(r) for r in rules]
    return [i for i, c in enumerate(compiled) if c.matches(event)]


exprs_and_events = s.filter_exprs.flatmap(
    lambda expr: st.tuples(st.just(expr), st.lists(s.events_for(expr), min_size=1, max_size=4))
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exprs_and_events, min_size=1, max_size=4))
def test_the_prefiltered_rule_set_matches_what_each_rule_matches(cases):
    rules = [_rule(expr) for expr, _ in cases]
    ruleset = RuleSet(compile_rule(r) for r in rules)
    for _, events in cases:
        for raw in events:
            assert ruleset.match(Event(raw)) == _slow(rules, Event(raw))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(s.exprs, st.lists(s.events, min_size=1, max_size=4))
def test_the_prefilter_keeps_every_match_on_the_general_strategies(expr, events):
    rules = [_rule(expr)]
    ruleset = RuleSet(compile_rule(r) for r in rules)
    for raw in events:
        assert ruleset.match(Event(raw)) == _slow(rules, Event(raw))


#: A field profile that shows the generated events otherwise than they are: the rules read
#: CommandLine from Image and Port from User where the event lacks them.
SHOWN = FieldProfile("test-shown", (Extraction("CommandLine", ("Image",)),
                                    Extraction("Port", ("User",))))


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exprs_and_events, min_size=1, max_size=4))
def test_rules_read_through_a_field_profile_are_prefiltered_on_what_they_read(cases):
    rules = [_rule(expr) for expr, _ in cases]
    ruleset = RuleSet(compile_rule(r, fields=SHOWN) for r in rules)
    compiled = [compile_rule(r, fields=SHOWN) for r in rules]
    for _, events in cases:
        for raw in events:
            slow = [i for i, c in enumerate(compiled) if c.matches(Event(raw))]
            assert ruleset.match(Event(raw)) == slow


def test_a_search_whose_source_literals_are_absent_is_never_evaluated():
    sysmon = Or((Predicate("sourcetype", Kind.EQ, "XmlWinEventLog:Sysmon"),
                 Predicate("source", Kind.EQ, "XmlWinEventLog:Sysmon")))
    profile = FieldProfile("test-source", (Extraction("source", ("Channel",), "prefix",
                                                      "XmlWinEventLog:"),))
    compiled = compile_rule(_rule(sysmon), fields=profile)
    calls: list[Event] = []
    body = compiled.branches[0].body
    compiled.branches[0].body = lambda e: calls.append(e) or body(e)
    ruleset = RuleSet([compiled])
    assert ruleset.match(Event({"Channel": "Security", "EventID": 4688})) == []
    assert calls == []
    assert ruleset.match(Event({"Channel": "sysmon", "EventID": 1})) == [0]
    assert len(calls) == 1


def test_a_rule_whose_literal_is_absent_is_never_evaluated():
    needle = Predicate("CommandLine", Kind.CONTAINS, " -EncodedCommand ")
    compiled = compile_rule(_rule(needle))
    calls: list[Event] = []
    body = compiled.branches[0].body
    compiled.branches[0].body = lambda e: calls.append(e) or body(e)
    ruleset = RuleSet([compiled])
    assert ruleset.match(Event({"CommandLine": "powershell -nop"})) == []
    assert calls == []
    assert ruleset.match(Event({"CommandLine": "POWERSHELL -encodedcommand AA"})) == [0]
    assert len(calls) == 1


def test_requirements_follow_and_or_and_wildcards():
    a = Predicate("Image", Kind.ENDSWITH, "\\CMD.exe")
    b = Predicate("CommandLine", Kind.WILDCARD, Pattern(("x", Wildcard.MANY, "Yz")))
    cased = Predicate("User", Kind.EQ, "root", cased=True)
    assert prefilter.requirement(And((a, b))) == [
        frozenset({("Image", "\\cmd.exe")}),
        frozenset({("CommandLine", "x")}),
        frozenset({("CommandLine", "yz")}),
    ]
    # an OR needs one of its branches' literals; a branch without any makes it unknown
    assert prefilter.requirement(Or((a, b))) == [
        frozenset({("Image", "\\cmd.exe"), ("CommandLine", "yz")})
    ]
    assert prefilter.requirement(Or((a, cased))) is None
    # field names are read through the log source's aliases, as the rule is compiled
    assert prefilter.requirement(a, {"Image": "NewProcessName"}) == [
        frozenset({("NewProcessName", "\\cmd.exe")})
    ]


def test_log_source_branches_are_prefiltered_through_their_aliases():
    rule = _rule(
        Predicate("Image", Kind.ENDSWITH, "\\whoami.exe"),
        LogSource(product="windows", category="process_creation"),
    )
    compiled = compile_rule(rule, windows_profile())
    assert compiled.literals is not None
    ruleset = RuleSet([compiled])
    sysmon = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}
    security = {"Channel": "Security", "EventID": 4688}
    for base, name in ((sysmon, "Image"), (security, "NewProcessName")):
        for value, expected in (("C:\\Windows\\WHOAMI.EXE", [0]), ("C:\\cmd.exe", [])):
            event = Event({**base, name: value})
            assert ruleset.match(event) == expected == _slow([rule], event, windows_profile())


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    ids=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    value=st.one_of(
        st.integers(0, 5),
        st.sampled_from(["2", "02", "2.0", 2.0, 2.5, True, None, "x"]),
        st.lists(st.one_of(st.integers(0, 5), st.sampled_from(["3", 1.0])), max_size=3),
    ),
    channel=st.sampled_from(["Microsoft-Windows-Sysmon/Operational", "SECURITY", "Other"]),
)
def test_event_ids_a_filter_needs_narrow_dispatch_without_losing_matches(ids, value, channel):
    expr = Or(tuple(Predicate("EventID", Kind.EQ, i) for i in ids))
    rules = [
        _rule(expr, LogSource(product="windows", service="sysmon")),
        _rule(And((expr, Predicate("Image", Kind.CONTAINS, "a"))), LogSource(product="windows")),
    ]
    profile = windows_profile()
    ruleset = RuleSet(compile_rule(r, profile) for r in rules)
    event = Event({"Channel": channel, "EventID": value, "Image": "A"})
    assert ruleset.match(event) == _slow(rules, event, profile)


# --- predicates shared across rules (ir.evaluator.SharedPredicates) ---------------------------


def _trees_over(pool: list[Predicate]) -> st.SearchStrategy[Any]:
    """Filters built from one pool of predicates, so that rules share some of them."""
    return st.recursive(
        st.sampled_from(pool),
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
            children.map(Not),
        ),
        max_leaves=5,
    )


@st.composite
def _sharing_rule_sets(draw: st.DrawFn) -> tuple[list[tuple[Rule, Any]], list[dict[str, Any]]]:
    """Rules over a common pool of predicates, each read as it is, through the windows log
    sources (aliases, shared guards) or through a field profile (another event view), and
    events meant for the pool."""
    pool = draw(st.lists(s.predicates_strategy, min_size=1, max_size=4))
    process = LogSource(product="windows", category="process_creation")
    rules = []
    for expr in draw(st.lists(_trees_over(pool), min_size=2, max_size=6)):
        how = draw(st.sampled_from(["plain", "windows", "shown"]))
        rules.append((_rule(expr, process if how == "windows" else None), how))
    envelope = st.sampled_from([{}, {"Channel": "Microsoft-Windows-Sysmon/Operational",
                                     "EventID": 1}, {"Channel": "Security", "EventID": 4688}])
    events = draw(st.lists(st.builds(lambda e, env: {**e, **env},
                                     s.events_for(And(tuple(pool))), envelope),
                           min_size=1, max_size=4))  # fmt: skip
    return rules, events


def _compiled(rule: Rule, how: str, shared: Any = None) -> Any:
    if how == "windows":
        return compile_rule(rule, windows_profile(), shared=shared)
    return compile_rule(rule, fields=SHOWN if how == "shown" else None, shared=shared)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(_sharing_rule_sets())
def test_rules_sharing_predicates_match_what_each_rule_alone_matches(case):
    rules, events = case
    cache = SharedPredicates()
    ruleset = RuleSet(_compiled(rule, how, cache) for rule, how in rules)
    alone = [_compiled(rule, how) for rule, how in rules]
    for raw in events:
        event = Event(raw)
        expected = [i for i, c in enumerate(alone) if c.matches(Event(raw))]
        assert ruleset.match(event) == expected
        # the same compiled rules, asked one by one, judge each event on its own
        assert [i for i, c in enumerate(ruleset.rules) if c.matches(event)] == expected


def test_a_predicate_many_rules_use_runs_once_per_event(monkeypatch: pytest.MonkeyPatch):
    runs: list[str] = []
    real = evaluator.compile_predicate

    def counting(pred: Predicate, aliases: Any) -> Any:
        run = real(pred, aliases)
        return lambda e: runs.append(str(pred.value)) or run(e)

    monkeypatch.setattr(evaluator, "compile_predicate", counting)
    cmd = Predicate("Image", Kind.ENDSWITH, "\\cmd.exe")
    rules = [_rule(And((cmd, Predicate("CommandLine", Kind.CONTAINS, word))))
             for word in ("/c", "/k", "echo")]  # fmt: skip
    cache = SharedPredicates()
    ruleset = RuleSet(compile_rule(r, shared=cache) for r in rules)
    assert (cache.uses, cache.distinct) == (6, 4)
    event = {"Image": "C:\\cmd.exe", "CommandLine": "cmd /c /k echo"}
    assert ruleset.match(Event(event)) == [0, 1, 2]
    assert sorted(runs) == ["/c", "/k", "\\cmd.exe", "echo"]
    runs.clear()  # the next event is judged again, not from the last one's results
    assert ruleset.match(Event({**event, "Image": "C:\\CMD.EXE\\x"})) == []
    assert runs == ["\\cmd.exe"]


def test_predicates_that_read_differently_are_not_shared():
    cache = SharedPredicates()
    distinct = [
        Predicate("EventID", Kind.EQ, 1),
        Predicate("EventID", Kind.EQ, True),  # equal to 1 in Python, not as a value
        Predicate("EventID", Kind.EQ, 1.0),
        Predicate("EventID", Kind.EQ, "1"),
        Predicate("EventID", Kind.EQ, "1", cased=True),
        Predicate("EventID", Kind.CONTAINS, "1"),
        Predicate("EventCode", Kind.EQ, 1),
    ]
    for pred in distinct:
        compile_rule(_rule(pred), shared=cache)
    compile_rule(_rule(distinct[0]), fields=SHOWN, shared=cache)  # another view of the event
    assert cache.distinct == len(distinct) + 1
    compile_rule(_rule(Predicate("EventID", Kind.EQ, 1)), shared=cache)
    assert (cache.uses, cache.distinct) == (len(distinct) + 2, len(distinct) + 1)


# --- literals of regexes (ir.prefilter.regex_requirement) -------------------------------------

#: Characters where lower-casing and case-insensitive matching part ways, beside plain ones.
_TRICKY = "aBkKiIsSxX-\\. İıſΣσςK"
_regex_leaves = st.one_of(
    st.sampled_from(list(_TRICKY)).map(re.escape),
    st.sampled_from([".", "[ab]", "[^a]", r"\d", r"\w", r"\s", "^", "$", r"\b"]),
)


def _regex_source(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, min_size=2, max_size=4).map("".join),
        st.lists(children, min_size=2, max_size=3).map("|".join).map(lambda b: f"(?:{b})"),
        st.tuples(children, st.sampled_from(["*", "+", "?", "{2}", "{0,2}", "+?", "*+"])).map(
            lambda t: f"(?:{t[0]}){t[1]}"
        ),
        st.tuples(st.sampled_from(["(", "(?:", "(?i:", "(?-i:", "(?>", "(?=", "(?!"]),
                  children).map(lambda t: f"{t[0]}{t[1]})"),  # fmt: skip
    )


regex_sources = st.recursive(_regex_leaves, _regex_source, max_leaves=8)


@st.composite
def _regex_and_texts(draw: st.DrawFn) -> tuple[Regex, list[str]]:
    flags = draw(st.sampled_from(["", "i", "im", "s"]))
    body = draw(regex_sources)
    pattern = draw(st.sampled_from(["", "(?i)"])) + body
    regex = Regex(pattern, flags)
    compiled = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
    texts = [draw(st.from_regex(compiled)) for _ in range(draw(st.integers(1, 3)))]
    # the same texts with letters that (?i) matches although their lower cases differ
    exotic = str.maketrans({"i": "ı", "I": "İ", "s": "ſ", "S": "ſ", "k": "\u212a"})
    texts += [text.translate(exotic) for text in texts]
    texts += draw(st.lists(st.text(alphabet=_TRICKY, max_size=8), max_size=3))
    return regex, texts


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(_regex_and_texts())
def test_a_regex_matches_only_texts_holding_every_literal_it_requires(case):
    regex, texts = case
    needs = prefilter.regex_requirement(regex, "F") or []
    flags = re.IGNORECASE if "i" in regex.flags else 0
    for text in texts:
        if re.search(regex.pattern, text, flags):
            lowered = text.lower()
            for clause in needs:
                assert any(literal in lowered for _, literal in clause), (clause, text)


def test_regex_requirements_follow_the_parse_tree(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(prefilter, "MIN_LITERAL", 3)  # the length the corpus runs with

    def needs(pattern: str, flags: str = "") -> list[set[str]] | None:
        found = prefilter.regex_requirement(Regex(pattern, flags), "F")
        return None if found is None else [{lit for _, lit in c} for c in found]

    assert needs(r"\\Windows\\Temp\\[a-z]+\.exe") == [{"\\windows\\temp\\"}, {".exe"}]
    assert needs("abc(def|ghi)jkl") == [{"abc"}, {"def", "ghi"}, {"jkl"}]
    assert needs("abc|x") is None  # a branch that needs nothing known
    assert needs("pre(?:abc)*post") == [{"pre"}, {"post"}]  # a repeat that may not happen
    assert needs("(?:abc){2,}") == [{"abc"}]
    assert needs("ab[cd]ef") is None  # runs of two: too short to narrow
    # case-insensitively, i and s also match non-ASCII letters: a run stops there
    assert needs("(?i)powershell") == [{"power"}, {"hell"}]
    assert needs("powershell", "i") == [{"power"}, {"hell"}]
    assert needs("(?i:xxis)xxsyy") == [{"xxsyy"}]
    assert needs("(?-i:this)", "i") == [{"this"}]
    assert needs("ΣΣΣabc") == [{"abc"}]  # only ASCII literals
    assert needs("(unclosed") is None


def test_the_ignorecase_table_holds_for_all_of_unicode():
    """Every ASCII character that Python's re.IGNORECASE matches with a character whose lower
    case differs from its own is in IGNORECASE_UNSAFE (so a run never relies on it)."""
    any_ascii = re.compile("[\x00-\x7f]", re.IGNORECASE)
    unsafe = set()
    for code in range(0x80, 0x110000):
        char = chr(code)
        if any_ascii.fullmatch(char):
            for ascii_char in map(chr, range(0x80)):
                same = re.fullmatch(re.escape(ascii_char), char, re.IGNORECASE)
                if same and char.lower() != ascii_char.lower():
                    unsafe.add(ascii_char)
    assert unsafe and unsafe <= prefilter.IGNORECASE_UNSAFE
