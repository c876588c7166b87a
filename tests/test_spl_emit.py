"""SPL emitter: IR -> expected SPL text (one line per shape), the read-back round trip, and
equivalence: a Sigma rule and its SPL translation select the same events."""

from __future__ import annotations

from typing import Any

import pytest

from backends.sigma import read_sigma
from backends.spl import read_spl_search
from backends.spl.emit import (
    emit_spl,
    emit_spl_result,
    logsource_macro,
    logsource_macro_definitions,
)
from backends.spl.macros import MacroTable
from ir.errors import RuleglotError, Span
from ir.events import Event
from ir.nodes import (
    Aggregation,
    And,
    Bin,
    BinOp,
    Call,
    DataModel,
    Dedup,
    Eval,
    Expr,
    FieldRef,
    FieldValue,
    Filter,
    Head,
    Kind,
    Literal,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rename,
    Rule,
    Sort,
    Stats,
    Table,
    TimePart,
    Wildcard,
)
from translator.api import compile_rules, run

M, ONE = Wildcard.MANY, Wildcard.ONE


def P(field: str | None, kind: str, value: Any, cased: bool = False) -> Predicate:
    return Predicate(field, Kind(kind), value, cased)


def bare(expr: Expr, *stages: Any) -> str:
    return emit_spl(Rule("t", (Filter(expr), *stages)), logsources=None)


# --- IR -> text ------------------------------------------------------------------------------

CASES: list[tuple[Expr, str]] = [
    (P("a", "eq", "x"), 'a="x"'),
    (P("a", "eq", 'q"b\\c'), 'a="q\\"b\\\\c"'),
    (P("a", "eq", "a?b"), 'a="a?b"'),
    (P("a", "eq", ""), 'a=""'),
    (P("EventID", "eq", 4688), "EventCode=4688"),
    (P("a", "eq", -5), "a=-5"),
    (P("a", "eq", True), 'a="true"'),
    (P("a", "contains", "x"), 'a="*x*"'),
    (P("a", "startswith", "x"), 'a="x*"'),
    (P("a", "endswith", "\\x"), 'a="*\\\\x"'),
    (P("a", "wildcard", Pattern(("x", M, "y"))), 'a="x*y"'),
    (P("a", "exists", True), "a=*"),
    (P("a", "exists", False), "NOT a=*"),
    (P("a", "gt", 5), "a>5"),
    (P("a", "lte", 1.5), "a<=1.5"),
    (P("a", "cidr", "10.0.0.0/8"), 'a="10.0.0.0/8"'),
    (P(None, "term", "x y"), '"x y"'),
    (
        And((P("a", "eq", "1"), Or((P("b", "eq", "2"), P("c", "eq", "3"))))),
        'a="1" (b="2" OR c="3")',
    ),
    (
        Or((And((P("a", "eq", "1"), P("b", "eq", "2"))), P("c", "eq", "3"))),
        '(a="1" b="2") OR c="3"',
    ),
    (Not(P("a", "eq", "1")), 'NOT a="1"'),
    (Not(Or((P("a", "eq", "1"), P("b", "eq", "2")))), 'NOT (a="1" OR b="2")'),
    (Not(P("a", "exists", False)), "NOT (NOT a=*)"),
    # where
    (P("a", "eq", "x", cased=True), 'a=CASE("x")'),
    (P("a", "contains", "x*y"), '| where match(a, "(?i)x\\\\*y")'),
    (P("a", "wildcard", Pattern(("x", ONE))), '| where match(a, "(?is)^x.$(?!\\\\n)")'),
    (P("a", "eq", "a.b"), 'a="a.b"'),
    (P("a", "startswith", "x", cased=True), 'a=CASE("x*")'),
    (P("a", "startswith", "x*", cased=True), '| where like(a, "x*%")'),
    (P("a", "startswith", "x_*", cased=True), '| where match(a, "^x_\\\\*")'),
    (P("a", "endswith", ""), '| where match(a, "(?i)$(?!\\\\n)")'),
    (P("a", "regex", Regex("^x\\d", "im")), '| where match(a, "(?im)^x\\\\d")'),
    (P("a", "regex", Regex("(?s)x", "i")), '| where match(a, "(?is)x")'),
    (P("a", "null", None), "| where isnull(a)"),
    (P("a", "eq", 1.5), '| where match(a, "^1\\\\.5$(?!\\\\n)")'),
    (P("a", "fieldref", FieldRef("b")), "| where lower(a)=lower(b)"),
    (P("a", "fieldref", FieldRef("b"), cased=True), "| where a=b"),
    (P("a b", "eq", "x", cased=True), '"a b"=CASE("x")'),
    (P("a b", "eq", "x*", cased=True), "| where 'a b'=\"x*\""),
    (
        And((P("a", "eq", "1"), Or((P("b", "eq", "2"), P("c", "null", None))))),
        'a="1" | where match(b, "(?i)^2$(?!\\\\n)") OR isnull(c)',
    ),
    (
        Not(And((P("b", "regex", Regex("x")), P("c", "gt", 1)))),
        '| where NOT (match(b, "x") AND c>1)',
    ),
]


@pytest.mark.parametrize(("expr", "spl"), CASES)
def test_emit_text(expr: Expr, spl: str) -> None:
    assert bare(expr) == spl


@pytest.mark.parametrize(("expr", "spl"), CASES)
def test_emit_reads_back(expr: Expr, spl: str) -> None:
    assert read_spl_search(spl)  # the text is SPL the reader accepts


STAGES: list[tuple[Any, str]] = [
    (Stats((Aggregation("count"),), ("a", "b")), "stats count by a, b"),
    (
        Stats(
            (
                Aggregation("dc", "a", "n"),
                Aggregation("count", BinOp(">", FieldValue("x"), Literal(1)), "c"),
            )
        ),
        "stats dc(a) as n, count(eval((x > 1))) as c",
    ),
    (
        Stats((Aggregation("max", "x", "m"),), ("h",), command="eventstats"),
        "eventstats max(x) as m by h",
    ),
    (Table(("a", "b")), "table a b"),
    (Table(("c",), command="fields", remove=True), "fields - c"),
    (
        Eval((("x", BinOp(".", Call("lower", (FieldValue("a"),)), Literal("b"))),)),
        'eval x=(lower(a) . "b")',
    ),
    (
        Eval((("y", Call("if", (FieldValue("a"), Literal("s"), Literal(None)))),)),
        'eval y=if(a, "s", null())',
    ),
    (Rename((("a", "b"), ("c d", "e"))), 'rename a as b, "c d" as e'),
    (Bin("_time", "10s"), "bin _time span=10s"),
    (Bin("x", bins=10, alias="y"), "bin x bins=10 as y"),
    (Dedup(("a", "b"), 2, (("keepempty", "true"),)), "dedup 2 a b keepempty=true"),
    (Sort((("a", True), ("b", False)), 0), "sort 0 -a +b"),
    (Head(5), "head 5"),
    (Head(3, "tail"), "tail 3"),
]


@pytest.mark.parametrize(("stage", "spl"), STAGES)
def test_emit_stages_round_trip(stage: Any, spl: str) -> None:
    text = bare(P("a", "eq", "x"), stage)
    assert text == f'a="x" | {spl}'
    assert read_spl_search(text)[1] == stage


def test_unsupported() -> None:
    for expr, construct in [
        (P(None, "eq", 4688), "keyword"),
        (P("a", "fieldref", FieldRef("b", "contains")), "fieldref"),
        (P("a", "timepart", TimePart("hour", 3)), "timepart"),
    ]:
        with pytest.raises(RuleglotError) as err:
            bare(expr)
        assert err.value.category == "unsupported" and err.value.construct == construct


def test_unmapped_logsource_is_a_macro_named_after_it() -> None:
    """A log source the profile does not map keeps its meaning as a data-source macro; run
    with the profile's definition, it selects what the profile selects: no Windows event."""
    rule = Rule("t", (Filter(P("a", "eq", "x")),), LogSource("gcp", None, "gcp.audit"))
    emitted = emit_spl_result(rule)
    assert emitted.text == '`sigma_gcp_gcp_audit` a="x"'
    assert emitted.macros == ["sigma_gcp_gcp_audit"] and not emitted.warnings
    assert logsource_macro(LogSource("linux", "process_creation")) == "sigma_linux_process_creation"
    table = MacroTable.from_dict(logsource_macro_definitions(emitted.macros))
    stages = read_spl_search(emitted.text, macros=table)
    event = Event({"a": "x"})
    spl_rule = Rule("t", tuple(stages), language="spl")
    assert not compile_rules([spl_rule])[0].matches(event)
    assert compile_rules([Rule("t", rule.stages)])[0].matches(event)  # the filter alone does
    with pytest.raises(RuleglotError) as err:
        read_spl_search(emitted.text)
    assert err.value.construct == "macro"


def test_logsource_terms() -> None:
    rule = Rule(
        "t", (Filter(P("Image", "endswith", "\\x.exe")),), LogSource("windows", "process_creation")
    )
    assert emit_spl(rule) == (
        '(source="WinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 Image="*\\\\x.exe")'
        ' OR (source="WinEventLog:Security" EventCode=4688 NewProcessName="*\\\\x.exe")'
    )
    ps = Rule("t", (Filter(P("a", "eq", "1")),), LogSource("windows", service="security"))
    assert emit_spl(ps, fields="splunk_windows_xml") == 'source="XmlWinEventLog:Security" a="1"'
    assert emit_spl(Rule("t", (), LogSource("windows"))) == 'source="WinEventLog:*"'


def test_savedsearches() -> None:
    rule = Rule(
        "My [rule]",
        (Filter(P("a", "null", None)),),
        description="line1\nline2",
        tags=("attack.t1059.001", "attack.execution", "attack.T1003"),
    )
    text = emit_spl(rule, logsources=None, format="savedsearches")
    assert text.splitlines()[:4] == [
        "[My  rule]",
        "search = | where isnull(a)",
        "description = line1\\",  # the line break is the continuation: no added space
        "line2",
    ]
    assert 'action.correlationsearch.annotations = {"mitre_attack": ["T1059.001", "T1003"]}' in text
    assert "enableSched = 0" in text


# --- equivalence -----------------------------------------------------------------------------

SIGMA_RULES = [
    r"""
title: proc
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    CommandLine|contains: ['a"b', 'x?y', 'lit\*star', 'C:\Win\']
  flt:
    ParentImage: null
  condition: sel and not flt
""",
    r"""
title: plain
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
    TargetUserName|startswith: 'Adm'
  sel2:
    LogonType: [3, 10]
  condition: sel and sel2
""",
    r"""
title: cased and regex
logsource: {product: windows, category: process_creation}
detection:
  a:
    CommandLine|cased|contains: 'Foo'
  b:
    CommandLine|re: '^x\d+$'
  c:
    CommandLine|re|i: 'zz'
  condition: a or b or c
""",
    r"""
title: fieldref and exists
logsource: {product: windows, category: process_creation}
detection:
  a:
    ParentImage|fieldref: Image
  b:
    OriginalFileName|exists: true
  c:
    Company|exists: false
  condition: a or (b and c)
""",
    r"""
title: any window
logsource: {product: windows}
detection:
  a:
    Data|contains|all: ['q', 'w']
  b:
    Data: 'ab*cd?'
  condition: a or b
""",
]


def proc(image: str, cmd: Any = "c", sysmon: bool = True, **more: Any) -> dict[str, Any]:
    if sysmon:
        base = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": image}
    else:
        base = {"Channel": "Security", "EventID": 4688, "NewProcessName": image}
    return {**base, "CommandLine": cmd, **more}


EVENTS: list[dict[str, Any]] = [
    proc("C:\\Windows\\cmd.exe", 'a"b'),
    proc("C:\\Windows\\CMD.EXE", 'A"B'),
    proc("C:\\Windows\\cmd.exe", 'a"b', ParentImage="p"),
    proc("C:\\Windows\\cmd.exe", 'a"b', sysmon=False),
    proc("C:\\Windows\\cmd.exe", 'a"b', sysmon=False, ParentProcessName="p"),
    proc("C:\\Windows\\cmd.exe", "xzy"),
    proc("C:\\Windows\\cmd.exe", "x\ny"),
    proc("C:\\Windows\\cmd.exe", "xy"),
    proc("C:\\Windows\\cmd.exe", "lit*star"),
    proc("C:\\Windows\\cmd.exe", "litXstar"),
    proc("C:\\Windows\\cmd.exe", "C:\\Win\\x"),
    proc("C:\\Windows\\cmd.exe", "C:\\Winx"),
    proc("C:\\Windows\\cmd.exe", ["no", 'a"b']),
    proc("C:\\Windows\\cmd.exe\n", 'a"b'),
    proc("C:\\Windows\\notcmd.exe", 'a"b'),
    proc("x", "Foo"),
    proc("x", "foo"),
    proc("x", "x123"),
    proc("x", "x123\n"),
    proc("x", "X123"),
    proc("x", "ZZ"),
    proc("x", None),
    {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "CommandLine": "Foo"},
    {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3, "CommandLine": "Foo"},
    proc("a.exe", ParentImage="A.EXE"),
    proc("a.exe", ParentImage="b.exe"),
    proc("a.exe", sysmon=False, ParentProcessName="A.exe"),
    proc("a.exe", OriginalFileName="o"),
    proc("a.exe", OriginalFileName="o", Company="c"),
    proc("a.exe", OriginalFileName=None),
    {"Channel": "Security", "EventID": 4624, "TargetUserName": "admin", "LogonType": 3},
    {"Channel": "Security", "EventID": "4624", "TargetUserName": "ADMIN", "LogonType": "10"},
    {"Channel": "Security", "EventID": 4624, "TargetUserName": "xadmin", "LogonType": 3},
    {"Channel": "Security", "EventID": 4625, "TargetUserName": "admin", "LogonType": 3},
    {"Channel": "Security", "EventID": 4624, "TargetUserName": "admin", "LogonType": 2},
    {"Channel": "Security", "EventID": 4624, "TargetUserName": "admin"},
    {"Channel": "System", "EventID": 4624, "TargetUserName": "admin", "LogonType": 3},
    {"Channel": "System", "Data": "wq"},
    {"Channel": "System", "Data": "w"},
    {"Channel": "System", "Data": "AB--cdX"},
    {"Channel": "System", "Data": "ab*cd"},
    {"Channel": "System", "Data": ["x", "abcdz"]},
    {"Data": "wq"},
]


@pytest.mark.parametrize("fields", ["splunk_windows", "splunk_windows_xml"])
@pytest.mark.parametrize("text", SIGMA_RULES, ids=lambda t: t.split("\n")[1])
def test_equivalence(text: str, fields: str) -> None:
    rule = read_sigma(text)[0]
    emitted = emit_spl_result(rule, fields=fields)
    spl = emitted.text
    translated = Rule(rule.title, read_spl_search(spl), language="spl")
    (source,) = compile_rules([rule], "windows", fields="none")
    (target,) = compile_rules([translated], "windows", fields=fields)
    hits = 0
    for fields_ in EVENTS:
        if emitted.warnings and None in fields_.values():
            continue  # exists written as isnotnull: the documented JSON-null difference
        event = Event(fields_)
        expected = source.matches(event)
        hits += expected
        assert target.matches(event) == expected, (spl, fields_)
    assert hits  # every rule has a hit among the events


def test_warnings_for_exists_in_where() -> None:
    expr = Or((P("a", "exists", True), P("b", "regex", Regex("x"))))
    emitted = emit_spl_result(Rule("t", (Filter(expr),)), logsources=None)
    assert emitted.text == '| where isnotnull(a) OR match(b, "x")'
    assert emitted.warnings


KEYWORD_RULE = r"""
title: keywords
logsource: {product: windows, service: system}
detection:
  keywords:
    - 'mimi"katz'
    - 'C:\Temp\x'
    - 'ab?d'
  regex:
    '|re': '^evil\d$'
  sel:
    EventID: 7045
  condition: sel and (keywords or regex)
"""

#: (event fields, whether the Sigma rule matches it: reasoned from the Sigma specification,
#: "keywords ... search in the whole event", case-insensitive, any value, nested and lists too)
KEYWORD_EVENTS: list[tuple[dict[str, Any], bool]] = [
    ({"ImagePath": 'run MIMI"KATZ now'}, True),  # case-insensitive substring, quote kept
    ({"ImagePath": "mimikatz"}, False),
    ({"Param": ["x", "c:\\temp\\x.exe"]}, True),  # any value of a list, backslashes literal
    ({"Param": "c:\\\\temp\\\\x"}, False),  # JSON-escaped text is not the value
    ({"Data": {"Inner": "xxABcDyy"}}, True),  # nested value; ? is one character
    ({"Data": {"Inner": "abd"}}, False),
    ({'mimi"katz': "key names are not values"}, False),
    ({"ServiceName": "evil7"}, True),  # the |re keyword, unanchored by Sigma, anchored here
    ({"ServiceName": "an evil7"}, False),
    ({"ServiceName": "evil7\n"}, True),  # $ matches before a final newline (PCRE and re)
    ({"ServiceName": "EVIL7"}, False),  # a regex keyword is case-sensitive without (?i)
    ({"ServiceName": "x", "Other": "mimi"}, False),  # not across fields
    # the profile's process_name ("evil7", a basename it computes) is not one of the values
    ({"Image": "c:\\tools\\evil7"}, False),
]


@pytest.mark.parametrize("fields", ["splunk_windows", "splunk_windows_xml"])
def test_keywords_become_a_foreach_over_every_field(fields: str) -> None:
    """A Sigma keyword is "this text in any value": foreach over the fields, not _raw."""
    rule = read_sigma(KEYWORD_RULE)[0]
    emitted = emit_spl_result(rule, fields=fields)
    assert '| foreach * [eval _kw1=if(NOT "<<FIELD>>" IN ("file_name", ' in emitted.text
    assert '"source"' in emitted.text  # the fields the profile computes are skipped
    assert "_raw" not in emitted.text and not emitted.warnings
    translated = Rule(rule.title, read_spl_search(emitted.text), language="spl")
    (source,) = compile_rules([rule], "windows", fields="none")
    for extra, _ in KEYWORD_EVENTS:
        event = Event({"Channel": "System", "EventID": 7045, **extra})
        expected = source.matches(event)
        rows = run(translated, [event], fields=fields)
        assert bool(rows) == expected, (emitted.text, extra)
    verdicts = [
        source.matches(Event({"Channel": "System", "EventID": 7045, **extra}))
        for extra, _ in KEYWORD_EVENTS
    ]
    assert verdicts == [expected for _, expected in KEYWORD_EVENTS]


def test_refusals_name_the_construct_and_point_at_it() -> None:
    """Found in review: the per-branch field renaming dropped predicate spans (errors pointed
    at 1:1), and an unmodelled command was named by its IR class ("Command")."""
    rule = read_sigma(
        "title: t\nlogsource: {product: windows, service: security}\ndetection:\n  s:\n"
        "    A|fieldref|contains: B\n  condition: s\n"
    )[0]
    with pytest.raises(RuleglotError) as err:
        emit_spl(rule)
    assert (err.value.construct, err.value.line, err.value.col) == ("fieldref", 5, 26)
    # a data model alone (no tstats after it) has no SPL of its own
    lone = Rule("t", (Filter(P("a", "eq", "1")), DataModel("Web", span=Span(2, 3))))
    with pytest.raises(RuleglotError) as err:
        emit_spl(lone, logsources=None)
    assert (err.value.construct, err.value.line, err.value.col) == ("tstats", 2, 3)


def test_dotted_field_names_are_quoted_in_eval() -> None:
    """In eval, ``.`` concatenates: ``match(a.b, ...)`` could read as ``a . b``; ``'a.b'`` is
    the field under every reading (seen in check's translations of SigmaHQ's AWS rules)."""
    rule = Rule("dots", (Filter(Predicate("a.b", Kind.REGEX, Regex("x"))),))
    spl = emit_spl(rule)
    assert "match('a.b', " in spl
    stages = read_spl_search(spl)
    assert compile_rules([Rule("back", tuple(stages), language="spl")], "none", "none")[0].matches(
        Event.from_fields({"a.b": "x"})
    )


def test_approximations_are_warnings_naming_the_construct_and_its_position() -> None:
    """Lossless or loud: what the SPL emitter can only approximate is a warning with its
    construct and the line and column where the rule wrote it (the report's shape)."""
    text = (
        "title: t\nlogsource: {product: windows, service: security}\ndetection:\n"
        "  sel:\n    Image|re: 'a.c'\n  other:\n    Token|exists: true\n"
        "  condition: sel or other\n"
    )
    (rule,) = read_sigma(text)
    (warning,) = emit_spl_result(rule).warnings  # an OR with a regex: exists goes to where
    assert warning["construct"] == "exists" and "JSON null" in warning["message"]
    assert warning["line"] == 7 and warning["col"] is not None  # the `Token|exists` line
