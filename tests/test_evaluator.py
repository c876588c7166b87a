"""Per-kind tables for the one evaluator: each row is (predicate, event, expected verdict).

The expectations come from the IR specification (ir/nodes.py docstring) and the sources it cites,
not from running the code.
"""

from __future__ import annotations

import pytest

from ir.errors import RuleglotError
from ir.evaluator import compile_expr
from ir.events import Event
from ir.nodes import And, FieldRef, Kind, Not, Or, Pattern, Predicate, Regex, TimePart, Wildcard

M, ONE = Wildcard.MANY, Wildcard.ONE


def P(field, kind, value, cased=False):  # noqa: N802 - reads like the IR triple
    return Predicate(field, Kind(kind), value, cased)


CASES = [
    # eq: case-insensitive unless cased; numbers equal their JSON text; never trimmed
    (P("a", "eq", "cmd.exe"), {"a": "CMD.EXE"}, True),
    (P("a", "eq", "cmd.exe", cased=True), {"a": "CMD.EXE"}, False),
    (P("a", "eq", "cmd.exe"), {"a": "cmd.exe "}, False),
    (P("a", "eq", "x"), {}, False),
    (P("a", "eq", "x"), {"a": None}, False),
    (P("a", "eq", 4688), {"a": 4688}, True),
    (P("a", "eq", 4688), {"a": "4688"}, True),
    (P("a", "eq", "4688"), {"a": 4688}, True),
    (P("a", "eq", 4688), {"a": "04688"}, False),
    (P("a", "eq", True), {"a": True}, True),
    (P("a", "eq", True), {"a": "True"}, True),
    (P("a", "eq", True), {"a": 1}, False),
    (P("a", "eq", ""), {"a": ""}, True),
    (P("a", "eq", ""), {}, False),
    # multi-valued: any element
    (P("a", "eq", "y"), {"a": ["x", "Y"]}, True),
    (P("a", "eq", "z"), {"a": ["x", ["y", "z"]]}, True),
    (P("a", "eq", "z"), {"a": []}, False),
    # contains / startswith / endswith
    (P("a", "contains", "psexesvc"), {"a": "\\PSEXESVC-x"}, True),
    (P("a", "contains", "psexesvc", cased=True), {"a": "\\PSEXESVC-x"}, False),
    (P("a", "startswith", "C:\\"), {"a": "c:\\windows"}, True),
    (P("a", "startswith", "C:\\"), {"a": "d:\\windows"}, False),
    (P("a", "endswith", ".EXE"), {"a": "x.exe"}, True),
    (P("a", "endswith", ".exe"), {"a": "x.exe "}, False),
    (P("a", "contains", "42"), {"a": 1423}, True),
    # wildcard: whole value, * any run, ? exactly one, literal text literal
    (P("s", "wildcard", Pattern(("\\", M, "\\ADMIN$"))), {"s": "\\\\srv\\ADMIN$"}, True),
    (P("s", "wildcard", Pattern(("\\", M, "\\ADMIN$"))), {"s": "\\\\srv\\ADMIN$x"}, False),
    (P("s", "wildcard", Pattern(("a", ONE, "c"))), {"s": "ABC"}, True),
    (P("s", "wildcard", Pattern(("a", ONE, "c"))), {"s": "ac"}, False),
    (P("s", "wildcard", Pattern(("a", ONE, "c"))), {"s": "abbc"}, False),
    (P("s", "wildcard", Pattern(("a*c",))), {"s": "abc"}, False),  # literal star
    (P("s", "wildcard", Pattern(("a*c",))), {"s": "a*c"}, True),
    (P("s", "wildcard", Pattern((M,))), {"s": ""}, True),
    (P("s", "wildcard", Pattern((M,))), {}, False),
    (
        P(
            "s",
            "wildcard",
            Pattern(
                ("a", M),
            ),
        ),
        {"s": "A\nline"},
        True,
    ),
    (
        P(
            "s",
            "wildcard",
            Pattern(
                ("a", M),
            ),
            cased=True,
        ),
        {"s": "A"},
        False,
    ),
    # regex: unanchored search, case-sensitive unless i
    (P("r", "regex", Regex("b+c")), {"r": "abbcd"}, True),
    (P("r", "regex", Regex("B+C")), {"r": "abbcd"}, False),
    (P("r", "regex", Regex("B+C", "i")), {"r": "abbcd"}, True),
    (P("r", "regex", Regex("^b$", "m")), {"r": "a\nb"}, True),
    (P("r", "regex", Regex("^b$")), {"r": "a\nb"}, False),
    (P("r", "regex", Regex("a.b", "s")), {"r": "a\nb"}, True),
    (P("r", "regex", Regex("a.b")), {"r": "a\nb"}, False),
    # cidr
    (P("ip", "cidr", "10.0.0.0/8"), {"ip": "10.1.2.3"}, True),
    (P("ip", "cidr", "10.0.0.0/8"), {"ip": "11.1.2.3"}, False),
    (P("ip", "cidr", "10.0.0.0/8"), {"ip": "not an ip"}, False),
    (P("ip", "cidr", "fe80::/10"), {"ip": "fe80::1"}, True),
    (P("ip", "cidr", "fe80::/10"), {"ip": "10.1.2.3"}, False),
    # exists / null
    (P("a", "exists", True), {"a": None}, True),
    (P("a", "exists", True), {"a": ""}, True),
    (P("a", "exists", True), {}, False),
    (P("a", "exists", False), {}, True),
    (P("a", "null", None), {}, True),
    (P("a", "null", None), {"a": None}, True),
    (P("a", "null", None), {"a": ""}, False),
    (P("a", "null", None), {"a": "x"}, False),
    # numeric comparisons
    (P("n", "gt", 5), {"n": 6}, True),
    (P("n", "gt", 5), {"n": "6"}, True),
    (P("n", "gt", 5), {"n": 5}, False),
    (P("n", "gte", 5), {"n": 5}, True),
    (P("n", "lt", 5), {"n": "4.5"}, True),
    (P("n", "lte", 5), {"n": "abc"}, False),
    (P("n", "lt", 5), {"n": True}, False),
    (P("n", "lt", 5), {"n": " 4"}, False),
    # fieldref: compares with the other field, with the case rule
    (P("a", "fieldref", FieldRef("b")), {"a": "X", "b": "x"}, True),
    (P("a", "fieldref", FieldRef("b")), {"a": "X", "b": "y"}, False),
    (P("a", "fieldref", FieldRef("b")), {"a": "X"}, False),
    (P("a", "fieldref", FieldRef("b"), cased=True), {"a": "X", "b": "x"}, False),
    (P("a", "fieldref", FieldRef("b", "startswith")), {"a": "abc", "b": "AB"}, True),
    (P("a", "fieldref", FieldRef("b", "endswith")), {"a": "abc", "b": "ab"}, False),
    # timepart
    (P("t", "timepart", TimePart("hour", 7)), {"t": "2019-04-30 07:26:34.133"}, True),
    (P("t", "timepart", TimePart("month", 4)), {"t": "2019-04-30T07:26:34Z"}, True),
    (P("t", "timepart", TimePart("year", 2020)), {"t": "2019-04-30T07:26:34Z"}, False),
    (P("t", "timepart", TimePart("hour", 7)), {"t": "yesterday"}, False),
    # field-less (Sigma keyword): any value of the event, nested and in lists
    (P(None, "contains", "linux"), {"v": ["test", "Arch Linux"]}, True),
    (P(None, "contains", "42"), {"u": {"age": 42}}, True),
    (P(None, "contains", "zzz"), {"u": {"age": 42}}, False),
    # term: SPL bare term over _raw, bounded by breakers
    (P(None, "term", "evil"), {"_raw": "an EVIL thing"}, True),
    (P(None, "term", "evil"), {"_raw": "devilish"}, False),
    (P(None, "term", "evil"), {"_raw": "x=evil.exe"}, True),
    # dotted names: nested objects, literal dotted keys
    (P("User.Name.First", "eq", "chuck"), {"User": {"Name": {"First": "Chuck"}}}, True),
    (P("User.Mobile.phone", "eq", "1"), {"User": {"Mobile.phone": "1"}}, True),
    (P("Image.source", "startswith", "some"), {"Image": "x", "Image.source": "somewhere"}, True),
]


@pytest.mark.parametrize(("pred", "event", "expected"), CASES)
def test_predicate(pred, event, expected):
    assert compile_expr(pred)(Event(event)) is expected


def test_boolean_nodes_and_exclusions():
    rule = And((P("a", "eq", "1"), Not(Or((P("b", "eq", "x"), P("b", "eq", "y"))))))
    run = compile_expr(rule)
    assert run(Event({"a": "1"}))  # NOT f=v holds when f is missing
    assert run(Event({"a": "1", "b": "z"}))
    assert not run(Event({"a": "1", "b": "Y"}))
    assert not run(Event({"a": "2"}))


def test_aliases_rename_fields_for_a_branch():
    run = compile_expr(P("Image", "endswith", "\\cmd.exe"), {"Image": "NewProcessName"})
    assert run(Event({"NewProcessName": "C:\\Windows\\cmd.exe"}))
    assert not run(Event({"Image": "C:\\Windows\\cmd.exe"}))


@pytest.mark.parametrize(
    "pred",
    [
        P("r", "regex", Regex("(unclosed")),
        P("ip", "cidr", "10.0.0.0/99"),
        P("n", "gt", "five"),
        P(None, "exists", True),
    ],
)
def test_uncompilable_predicates_raise_our_error(pred):
    with pytest.raises(RuleglotError):
        compile_expr(pred)


def test_field_less_predicates_need_a_value():
    """Found by the Sigma emitter's round-trip property: a keyword holds only on some value."""
    anywhere = compile_expr(P(None, "contains", ""))
    assert not anywhere(Event({}))
    assert anywhere(Event({"a": ""}))


# --- the dispatch index only narrows ------------------------------------------------------------


def test_ruleset_shows_every_rule_each_event_it_matches() -> None:
    """RuleSet's index (channel/event id keys, required fields) must never hide a rule from an
    event the rule matches. Found by the Spark differential: a rule on ``_raw`` (a field every
    event has), a multi-valued Channel and a JSON EventID of 4688.0 were each hidden."""
    from ir.evaluator import RuleSet, compile_rule
    from ir.logsources import LogSourceProfile, SourceBranch, SourceMapping
    from ir.nodes import Filter, LogSource, Rule

    security = And((Predicate("Channel", Kind.EQ, "Security"), Predicate("EventID", Kind.EQ, 4688)))
    mapping = SourceMapping("windows", "process_creation", None, (SourceBranch(security),))
    profile = LogSourceProfile("test", (mapping,))
    rules = [
        Rule("raw", (Filter(Predicate("_raw", Kind.CONTAINS, "needle")),)),
        Rule(
            "proc",
            (Filter(Predicate("CommandLine", Kind.CONTAINS, "x")),),
            LogSource("windows", "process_creation"),
        ),
    ]
    compiled = [compile_rule(r, profile) for r in rules]
    ruleset = RuleSet(compiled)
    events = [
        Event({"Message": "a needle here"}),
        Event({"Channel": ["Security", "Other"], "EventID": 4688, "CommandLine": "x"}),
        Event({"Channel": "Security", "EventID": 4688.0, "CommandLine": "x"}),
        Event({"Channel": "security", "EventID": "4688", "CommandLine": "x"}),
    ]
    for event in events:
        expected = [i for i, c in enumerate(compiled) if c.matches(event)]
        assert expected, event.fields  # each event is matched by some rule
        assert ruleset.match(event) == expected, event.fields


def test_ruleset_dispatches_searches_on_source_and_eventcode_through_their_profile() -> None:
    """Searches read with a field profile are indexed by the ``(source, EventCode)`` their
    filter requires, read from each event through that profile; the index only narrows."""
    from backends.spl import read_spl_search
    from ir.evaluator import RuleSet, compile_rule
    from ir.logsources import NO_PROFILE
    from ir.nodes import Rule
    from translator.api import field_profile

    profile = field_profile("splunk_windows")
    sysmon = "WinEventLog:Microsoft-Windows-Sysmon/Operational"
    searches = [
        'source="WinEventLog:Security" EventCode=4688 CommandLine="*x*"',
        f'((source="WinEventLog:Security" EventCode=4688) OR (source="{sysmon}" EventCode=1)) '
        'CommandLine="*x*"',
        'CommandLine="*x*"',
        'source="WinEventLog:Security" NOT EventCode=4688 CommandLine="*x*"',
        'source="WinEventLog:Security" EventCode="4688" CommandLine="*x*"',
    ]
    compiled = [
        compile_rule(Rule(s, read_spl_search(s), language="spl"), NO_PROFILE, profile)
        for s in searches
    ]
    assert compiled[0].dispatch == {("wineventlog:security", "4688")}
    assert compiled[1].dispatch == {
        ("wineventlog:security", "4688"),
        ("wineventlog:microsoft-windows-sysmon/operational", "1"),
    }
    assert compiled[2].dispatch is None
    assert compiled[3].dispatch == {("wineventlog:security", None)}
    ruleset = RuleSet(compiled)
    events = [
        Event({"Channel": "Security", "EventID": 4688, "CommandLine": "x"}),
        Event({"Channel": "Security", "EventID": 4688.0, "CommandLine": "x"}),
        Event({"Channel": "security", "EventID": "4688", "CommandLine": "x"}),
        Event({"Channel": "Security", "EventID": 4624, "CommandLine": "x"}),
        Event({"Channel": ["Other", "Security"], "EventID": [1, 4688], "CommandLine": "x"}),
        Event({"Channel": sysmon.split(":")[1], "EventID": 1, "CommandLine": "x"}),
        Event({"source": "WinEventLog:Security", "EventCode": "4688", "CommandLine": "x"}),
        Event({"EventID": 4688, "CommandLine": "x"}),
        Event(
            {
                "Event": {
                    "System": {"Channel": "Security", "EventID": 4688},
                    "EventData": {"CommandLine": "x"},
                }
            }
        ),  # fmt: skip
    ]
    for event in events:
        expected = [i for i, c in enumerate(compiled) if c.matches(event)]
        assert ruleset.match(event) == expected, event.fields
    # and it does narrow: a 4624 event is not shown to the 4688 searches
    candidates = ruleset.candidates(events[3])
    assert 0 not in candidates and 1 not in candidates and 3 in candidates
