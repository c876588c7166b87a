"""Sigma emitter: IR -> Sigma YAML, checked by reading it back (backends/sigma/emit.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection

from backends.sigma import read_sigma
from backends.sigma.emit import RULEGLOT_NAMESPACE, emit_sigma
from backends.spl import read_spl
from ir.errors import RuleglotError
from ir.evaluator import compile_expr
from ir.events import Event
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
from tests import strategies as s
from tests.test_sigma_correlation import BUCKET, EVENT_COUNT, TEMPORAL, VALUE_COUNT, _logon
from translator.api import run

SHARED = Path(__file__).resolve().parents[2] / "shared"
#: The seed PSexec rule, copied verbatim into the project's own corpus case (so this test runs
#: without ../shared too).
SEED = Path(__file__).resolve().parents[1] / "corpus" / "cases" / "psexec_over_smb.yml"
SIGMA_RULES = SHARED / "corpus" / "sigma" / "rules"
M = Wildcard.MANY


def P(field, kind, value, cased=False):  # noqa: N802 - reads like the node
    return Predicate(field, Kind(kind), value, cased)


def rule_of(expr: Expr, **meta) -> Rule:
    meta.setdefault("logsource", LogSource("windows"))
    return Rule(title="t", stages=(Filter(expr),), **meta)


def detection(expr: Expr) -> dict:
    return yaml.safe_load(emit_sigma(rule_of(expr)).yaml)["detection"]


def normal(expr: Expr) -> object:
    """A canonical form: And/Or flattened, operands sorted."""
    if isinstance(expr, Not):
        return ("not", normal(expr.arg))
    if isinstance(expr, (And, Or)):
        args: list[object] = []
        for arg in expr.args:
            n = normal(arg)
            if isinstance(n, tuple) and n[0] == type(expr).__name__:
                args.extend(n[1])
            else:
                args.append(n)
        return (type(expr).__name__, tuple(sorted(args, key=repr)))
    return expr


def round_trip(rule: Rule) -> Rule:
    text = emit_sigma(rule).yaml
    assert len(SigmaCollection.from_yaml(text).rules) == 1
    (back,) = read_sigma(text)
    return back


# --- table: IR -> detection ---------------------------------------------------------------------

TABLE = [
    (P("EventID", "eq", 4688), {"selection": {"EventID": 4688}, "condition": "selection"}),
    (P("a", "eq", "4688"), {"selection": {"a": "4688"}, "condition": "selection"}),
    (P("a", "eq", True), {"selection": {"a": True}, "condition": "selection"}),
    (P("a", "eq", "x*y?z\\"), {"selection": {"a": "x\\*y\\?z\\"}, "condition": "selection"}),
    (P("a", "contains", "x", True),
     {"selection": {"a|contains|cased": "x"}, "condition": "selection"}),
    (P("a", "startswith", "x"), {"selection": {"a|startswith": "x"}, "condition": "selection"}),
    (P("a", "endswith", "\\x.exe"),
     {"selection": {"a|endswith": "\\x.exe"}, "condition": "selection"}),
    (P("a", "wildcard", Pattern(("x", M, "y", Wildcard.ONE))),
     {"selection": {"a": "x*y?"}, "condition": "selection"}),
    (P("a", "regex", Regex("^x.*", "im")),
     {"selection": {"a|re|i|m": "^x.*"}, "condition": "selection"}),
    (P("a", "cidr", "10.0.0.0/8"),
     {"selection": {"a|cidr": "10.0.0.0/8"}, "condition": "selection"}),
    (P("a", "exists", False), {"selection": {"a|exists": False}, "condition": "selection"}),
    (P("a", "null", None), {"selection": {"a": None}, "condition": "selection"}),
    (P("a", "gte", 3), {"selection": {"a|gte": 3}, "condition": "selection"}),
    (P("a", "fieldref", FieldRef("b", "endswith")),
     {"selection": {"a|fieldref|endswith": "b"}, "condition": "selection"}),
    (P("t", "timepart", TimePart("hour", 3)),
     {"selection": {"t|hour": 3}, "condition": "selection"}),
    (Or((P("a", "eq", "x"), P("a", "eq", "y"))),
     {"selection": {"a": ["x", "y"]}, "condition": "selection"}),
    (And((P("a", "contains", "x"), P("a", "contains", "y"), P("b", "eq", 1))),
     {"selection": {"a|contains|all": ["x", "y"], "b": 1}, "condition": "selection"}),
    (Or((P("a", "eq", 1), P("b", "eq", 2))),
     {"selection": [{"a": 1}, {"b": 2}], "condition": "selection"}),
    (Or((P(None, "contains", "evil"), P(None, "wildcard", Pattern((M, "a", Wildcard.ONE, M))))),
     {"selection": ["evil", "a?"], "condition": "selection"}),
    (P(None, "regex", Regex("x")), {"selection": {"|re": "x"}, "condition": "selection"}),
    (And((P("a", "eq", 1), Not(P("b", "eq", 2)), Not(Or((P("c", "eq", 3), P("d", "eq", 4)))))),
     {"selection": {"a": 1}, "filter_1": {"b": 2}, "filter_2": [{"c": 3}, {"d": 4}],
      "condition": "selection and not filter_1 and not filter_2"}),
    (And((P("a", "eq", 1), Or((P("b", "eq", 2), Not(P("c", "eq", 3)))))),
     {"selection_1": {"a": 1}, "selection_2": {"b": 2}, "selection_3": {"c": 3},
      "condition": "selection_1 and (selection_2 or not selection_3)"}),
    (And((P(None, "contains", "x"), P(None, "contains", "y"))),
     {"selection": {"|contains|all": ["x", "y"]}, "condition": "selection"}),
]  # fmt: skip


@pytest.mark.parametrize(("expr", "expected"), TABLE)
def test_detection_table(expr, expected):
    assert detection(expr) == expected
    back = round_trip(rule_of(expr))
    assert normal(back.stages[0].expr) == normal(expr)


# --- round trips ---------------------------------------------------------------------------------


def test_seed_round_trips_with_its_exclusion():
    (rule,) = read_sigma(yaml.safe_load(SEED.read_text())["rule"], str(SEED))
    result = emit_sigma(rule)
    assert result.warnings == []
    doc = yaml.safe_load(result.yaml)
    assert doc["detection"]["filter"] == {"SubjectUserName": "%admin_account%"}
    assert doc["detection"]["condition"] == "selection and not filter"
    back = round_trip(rule)
    assert back == rule
    assert back.exclusions == (P("SubjectUserName", "eq", "%admin_account%"),)
    assert back.indicators == rule.indicators


def _sigma_corpus_sample(n: int = 300) -> list[Path]:
    if not SIGMA_RULES.is_dir():
        return []
    paths = sorted(SIGMA_RULES.rglob("*.yml"))
    return random.Random(7).sample(paths, min(n, len(paths)))


def test_sigma_corpus_rules_round_trip():
    paths = _sigma_corpus_sample()
    if not paths:
        pytest.skip("no SigmaHQ corpus")
    compared = 0
    for path in paths:
        try:
            rules = read_sigma(path.read_text(encoding="utf-8"), str(path))
        except RuleglotError:
            continue
        for rule in rules:
            back = round_trip(rule)
            assert normal(back.stages[0].expr) == normal(rule.stages[0].expr), path
            assert (back.title, back.id, back.tags, back.logsource, back.level) == (
                rule.title, rule.id, rule.tags, rule.logsource, rule.level
            ), path  # fmt: skip
            compared += 1
    assert compared > 100


def _writable(expr: Expr) -> bool:
    """Exprs the emitter writes in strict mode: no term, no field-less kinds keywords lack."""
    if isinstance(expr, Not):
        return _writable(expr.arg)
    if isinstance(expr, (And, Or)):
        return all(_writable(a) for a in expr.args)
    if expr.kind is Kind.TERM or (expr.kind is Kind.FIELDREF and expr.cased):
        return False
    if expr.field is None:
        if expr.kind is Kind.WILDCARD:
            parts = expr.value.parts
            return len(parts) >= 2 and parts[0] is M and parts[-1] is M
        return expr.kind is Kind.REGEX or (expr.kind is Kind.CONTAINS and expr.value != "")
    return True


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(s.exprs, st.lists(s.events, min_size=1, max_size=8))
def test_emitted_filters_decide_like_the_original(expr, events):
    assume(_writable(expr))
    back = round_trip(rule_of(expr)).stages[0].expr
    original, emitted = compile_expr(expr), compile_expr(back)
    for fields in events:
        event = Event(fields)
        assert original(event) == emitted(event), (expr, back, fields)


@pytest.mark.parametrize("depth", [199, 200])
def test_nested_nots_cancel_in_pairs(depth: int) -> None:
    """``NOT (`` nested 200 times was written as 200 ``not`` that pySigma's condition parser
    could not read back (translate said ok; QA); pairs cancel (a complement taken twice)."""
    expr = Predicate("User", Kind.EQ, "a")
    for _ in range(depth):
        expr = Not(expr)
    back = round_trip(rule_of(expr)).stages[0].expr
    original, emitted = compile_expr(expr), compile_expr(back)
    for fields in ({"User": "a"}, {"User": "b"}, {}):
        assert original(Event(fields)) == emitted(Event(fields)), fields
    user = Predicate("User", Kind.EQ, "a")
    assert back == (Not(user) if depth % 2 else user)


# --- metadata ------------------------------------------------------------------------------------


def test_metadata_status_tags_and_derived_id():
    rule = rule_of(
        P("a", "eq", 1), id="not-a-uuid", status="production", tags=("attack.t1021.002", "bad"),
        date="2024-09-30", references=("https://x",), author="me", description="d",
    )  # fmt: skip
    doc = yaml.safe_load(emit_sigma(rule).yaml)
    import uuid

    assert doc["id"] == str(uuid.uuid5(RULEGLOT_NAMESPACE, "not-a-uuid"))
    assert doc["ruleglot_original_id"] == "not-a-uuid"
    assert doc["status"] == "stable"
    assert doc["tags"] == ["attack.t1021.002"]
    (back,) = read_sigma(emit_sigma(rule).yaml)
    assert back.date == "2024-09-30" and back.author == "me" and back.references == ("https://x",)


# --- SPL input: field profile, strict errors, lossy warnings -------------------------------------

SPL_PSEXEC = (
    "source=XmlWinEventLog:Security EventCode=5145 Relative_Target_Name=*PSEXESVC* "
    'NOT SubjectUserName="%admin_account%"'
)


def test_spl_fields_and_source_map_back():
    (rule,) = read_spl(SPL_PSEXEC)
    result = emit_sigma(rule)
    assert result.warnings == []
    doc = yaml.safe_load(result.yaml)
    assert doc["logsource"] == {"product": "windows", "service": "security"}
    assert doc["detection"] == {
        "selection": {"EventID": 5145, "RelativeTargetName|contains": "PSEXESVC"},
        "filter": {"SubjectUserName": "%admin_account%"},
        "condition": "selection and not filter",
    }


def test_spl_source_of_a_multi_channel_service_keeps_the_channel():
    (rule,) = read_spl('source="XmlWinEventLog:Microsoft-Windows-PowerShell/Operational" x=1')
    doc = yaml.safe_load(emit_sigma(rule).yaml)
    assert doc["logsource"] == {"product": "windows", "service": "powershell"}
    assert doc["detection"]["selection"] == {
        "Channel": "Microsoft-Windows-PowerShell/Operational",
        "x": 1,
    }


def test_strict_errors_name_the_construct_and_position():
    (rule,) = read_spl("EventCode=4688 evil")
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    err = info.value
    assert (err.category, err.construct, err.line, err.col) == ("unsupported", "term", 1, 16)
    (rule,) = read_spl("EventCode=4688\n| stats count by host")
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.construct, info.value.line) == ("stats", 2)
    (rule,) = read_spl("process_name=é*")  # no exact form: tests/test_sigma_basename.py
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert info.value.construct == "basename"


def test_lossy_mode_lists_warnings_and_still_loads():
    (rule,) = read_spl(
        "(eventtype=x OR source=XmlWinEventLog:Security) process_name=cmd.exe evil\n"
        "| where len(CommandLine) > 10\n| stats count by host\n| where count > 2"
    )
    result = emit_sigma(rule, lossy=True)
    constructs = [w["construct"] for w in result.warnings]
    assert constructs == [
        "correlation:timespan",
        "where",
        "logsource",
        "term",
        "condition",
    ]
    assert all(w["line"] and w["col"] for w in result.warnings)
    SigmaCollection.from_yaml(result.yaml)
    doc = yaml.safe_load(result.yaml)
    assert doc["logsource"]["service"] == "security"
    # process_name is the file name of the first present of Image, NewProcessName: the path
    # is the name, or ends in it after either separator (tests/test_sigma_basename.py)
    detection = doc["detection"]
    assert detection["selection_1"] == [
        {"Image": "cmd.exe"}, {"Image|endswith": "\\cmd.exe"}, {"Image|endswith": "/cmd.exe"},
    ]  # fmt: skip
    assert detection["selection_2"] == {"Image": None}
    assert detection["selection_3"] == [
        {"NewProcessName": "cmd.exe"}, {"NewProcessName|endswith": "\\cmd.exe"},
        {"NewProcessName|endswith": "/cmd.exe"},
    ]  # fmt: skip
    assert detection["selection_4"] == ["evil"]
    assert detection["condition"].startswith("(selection_1 or (selection_2 and selection_3))")


def test_condition_leaf_is_unsupported():
    (rule,) = read_spl("x=1 | where len(CommandLine) > 10")
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert info.value.category == "unsupported"


# --- correlation rules (backends/sigma/emit_correlation.py) ---------------------------------------

LOGONS = [
    _logon("bob", 1), _logon("bob", 2), _logon("bob", 3),
    _logon("bob", 4, event_id=4624, LogonType="3"),
    _logon("alice", 1, IpAddress="10.0.0.1"), _logon("carol", 2, IpAddress="10.0.0.1"),
    _logon("dave", 3, IpAddress="10.0.0.1"), _logon("dave", 4, IpAddress="10.0.0.2"),
    _logon("erin", 6), _logon("erin", 7, event_id=4624, LogonType="3"),
    _logon("frank", 8, event_id=4624, LogonType="2"), _logon("frank", 9),
]  # fmt: skip

CORRELATIONS = {
    "event_count": EVENT_COUNT,
    "value_count": VALUE_COUNT,
    "temporal": TEMPORAL,
    "neq": EVENT_COUNT.replace("gte: 3", "neq: 3"),
    "months": VALUE_COUNT.replace("timespan: 1h", "timespan: 1M"),
    "temporal_condition": TEMPORAL + "  condition:\n    gte: 1\n",
    "generate": EVENT_COUNT.replace("  timespan: 5m", "  timespan: 5m\n  generate: true"),
}


@pytest.mark.parametrize("text", CORRELATIONS.values(), ids=list(CORRELATIONS))
def test_correlation_round_trips(text):
    """Sigma correlation -> IR -> Sigma (the correlated rules and the correlation) -> IR is the
    same rule, so it runs the same; the collection is valid for pySigma too."""
    rule = read_sigma(text)[-1]
    result = emit_sigma(rule)
    assert result.warnings == []
    collection = SigmaCollection.from_yaml(result.yaml)
    assert len(collection) == len(text.split("\n---\n"))
    (back,) = read_sigma(result.yaml)  # generate: false, so only the correlation is a rule
    assert back == rule
    assert run(back, LOGONS) == run(rule, LOGONS)


def test_event_count_documents():
    base, corr = yaml.safe_load_all(emit_sigma(read_sigma(EVENT_COUNT)[0]).yaml)
    assert base["name"] == "many_failed_logons"
    assert base["logsource"] == {"product": "windows", "service": "security"}
    assert base["detection"] == {"selection": {"EventID": 4625}, "condition": "selection"}
    assert "logsource" not in corr and "detection" not in corr
    assert (corr["title"], corr["id"], corr["level"]) == (
        "Many failed logons",
        "0e95725d-7320-415d-80f7-004da920fc12",
        "high",
    )
    assert corr["correlation"] == {
        "type": "event_count", "rules": ["many_failed_logons"], "group-by": ["TargetUserName"],
        "timespan": "5m", "condition": {"gte": 3}, "generate": False,
    }  # fmt: skip


def test_temporal_documents_keep_rule_names_and_all_rules_default():
    *bases, corr = yaml.safe_load_all(emit_sigma(read_sigma(TEMPORAL)[0]).yaml)
    assert [b["name"] for b in bases] == ["failed_logon", "success_logon"]
    assert bases[1]["detection"] == {
        "selection": {"EventID": 4624, "LogonType|contains": "3"},
        "condition": "selection",
    }
    assert corr["correlation"] == {
        "type": "temporal", "rules": ["failed_logon", "success_logon"],
        "group-by": ["TargetUserName"], "timespan": "10m", "generate": False,
    }  # fmt: skip


def test_temporal_rule_referenced_by_id_keeps_the_id():
    text = TEMPORAL.replace("    - failed_logon\n", "    - 0e95725d-7320-415d-80f7-004da920fc11\n")
    rule = read_sigma(text)[0]
    first, *_ = yaml.safe_load_all(emit_sigma(rule).yaml)
    assert first["id"] == "0e95725d-7320-415d-80f7-004da920fc11" and "name" not in first
    assert read_sigma(emit_sigma(rule).yaml) == [rule]


# SPL threshold searches that are Sigma correlations exactly: (search, correlation, events'
# extra fields). The search's title is "SPL search", hence the base rule name.
SPL_CORRELATIONS = [
    ("EventCode=4625 | bin _time span=5m | stats count by _time, TargetUserName"
     " | where count >= 3",
     {"type": "event_count", "rules": ["spl_search"], "group-by": ["TargetUserName"],
      "timespan": "5m", "condition": {"gte": 3}, "generate": False}),
    ("EventCode=4625 | bin _time span=1h"
     " | stats dc(TargetUserName) as value_count by _time, IpAddress | where value_count > 2",
     {"type": "value_count", "rules": ["spl_search"], "group-by": ["IpAddress"],
      "timespan": "1h", "condition": {"gt": 2, "field": "TargetUserName"}, "generate": False}),
    ("EventCode=4625 | bin _time span=5min | stats count by _time, TargetUserName"
     " | where count=3",
     {"type": "event_count", "rules": ["spl_search"], "group-by": ["TargetUserName"],
      "timespan": "5m", "condition": {"eq": 3}, "generate": False}),
    ("EventCode=4625 | bin span=1mon | stats count by _time, TargetUserName | where count!=3",
     {"type": "event_count", "rules": ["spl_search"], "group-by": ["TargetUserName"],
      "timespan": "1M", "condition": {"neq": 3}, "generate": False}),
    ("EventCode=4625 | bin _time span=1q | stats count by _time | where count < 20",
     {"type": "event_count", "rules": ["spl_search"], "timespan": "3M",
      "condition": {"lt": 20}, "generate": False}),
    ("EventCode=4625 | bin _time span=5m | stats count by _time, TargetUserName"
     " | search count>=3",
     {"type": "event_count", "rules": ["spl_search"], "group-by": ["TargetUserName"],
      "timespan": "5m", "condition": {"gte": 3}, "generate": False}),
    # signature_id is the profile's copy of EventID: the group-by is the event field
    ("EventCode=* | bin _time span=5m | stats count by _time, signature_id | where count > 1",
     {"type": "event_count", "rules": ["spl_search"], "group-by": ["EventID"],
      "timespan": "5m", "condition": {"gt": 1}, "generate": False}),
]  # fmt: skip


def _groups(rows: list[dict], *by: str) -> set[tuple]:
    """The alerting groups of result rows: their ``_time`` and ``by`` values."""
    return {(row["_time"], *(row.get(name) for name in by)) for row in rows}


@pytest.mark.parametrize(("search", "correlation"), SPL_CORRELATIONS)
def test_spl_threshold_searches_are_correlations(search, correlation):
    """The same groups alert (the group-by may be the event field of a profile field)."""
    (rule,) = read_spl(search)
    result = emit_sigma(rule)
    assert result.warnings == []
    base, corr = yaml.safe_load_all(result.yaml)
    assert corr["correlation"] == correlation
    assert base["logsource"] == {"product": "windows"}
    (back,) = read_sigma(result.yaml)
    spl_rows, sigma_rows = run(rule, LOGONS), run(back, LOGONS)
    assert spl_rows, "the events should make the search alert"
    by = correlation.get("group-by", [])
    spl_by = [{"EventID": "signature_id"}.get(name, name) for name in by]
    assert _groups(sigma_rows, *by) == _groups(spl_rows, *spl_by)


def test_spl_eval_copies_are_read_through():
    """eval f=g only copies: filters and group-by after it read g (reported, since the copy
    is not in Sigma's output)."""
    (rule,) = read_spl(
        "EventCode=4625 | eval account=TargetUserName | search account=b*"
        " | bin _time span=5m | stats count by _time, account | where count >= 3"
    )
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.construct, info.value.line, info.value.col) == ("eval", 1, 18)
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["eval"]
    base, corr = yaml.safe_load_all(result.yaml)
    assert base["detection"]["selection"] == {"EventID": 4625, "TargetUserName|startswith": "b"}
    assert corr["correlation"]["group-by"] == ["TargetUserName"]
    (back,) = read_sigma(result.yaml)
    assert _groups(run(back, LOGONS), "TargetUserName") == {(BUCKET, "bob")}
    assert _groups(run(rule, LOGONS), "account") == {(BUCKET, "bob")}


def test_spl_values_where_is_a_temporal_correlation():
    """stats values(*) then a where on the values: the groups alert when some event has each
    value, which is a temporal correlation over one rule per where part. The values() columns
    are not kept: reported as 'correlation:columns' (so strict mode refuses it)."""
    search = (
        "EventCode=4624 OR EventCode=4625\n| bin _time span=5m\n"
        "| stats values(*) as * by _time, TargetUserName\n"
        '| where match(signature_id, "4625") AND LogonType="3"'
    )
    (rule,) = read_spl(search)
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.construct, info.value.line) == ("correlation:columns", 3)
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["correlation:columns"]
    first, second, corr = yaml.safe_load_all(result.yaml)
    # the search's filter ANDed with one where part each
    assert first["detection"] == {
        "selection": {"EventID": [4624, 4625], "EventID|re": "4625"},
        "condition": "selection",
    }
    assert second["detection"] == {
        "selection": {"EventID": [4624, 4625], "LogonType|cased": "3"},
        "condition": "selection",
    }
    assert corr["correlation"] == {
        "type": "temporal", "rules": ["spl_search_1", "spl_search_2"],
        "group-by": ["TargetUserName"], "timespan": "5m", "generate": False,
    }  # fmt: skip
    (back,) = read_sigma(result.yaml)
    # a failure and a network logon in one 5-minute bucket: bob (12:01-12:04), erin (12:06-07)
    expected = {(BUCKET, "bob"), (BUCKET + 300, "erin")}
    assert _groups(run(rule, LOGONS), "TargetUserName") == expected
    assert _groups(run(back, LOGONS), "TargetUserName") == expected


def test_spl_values_where_with_one_part_is_event_count_at_least_one():
    (rule,) = read_spl(
        "EventCode=4624 | bin _time span=5m | stats values(*) as * by _time, TargetUserName"
        ' | where LogonType="2"'
    )
    result = emit_sigma(rule, lossy=True)
    *_, corr = yaml.safe_load_all(result.yaml)
    assert corr["correlation"]["type"] == "event_count"
    assert corr["correlation"]["condition"] == {"gte": 1}
    (back,) = read_sigma(result.yaml)
    expected = {(BUCKET + 300, "frank")}  # the one type 2 logon, at 12:08
    assert _groups(run(rule, LOGONS), "TargetUserName") == expected
    assert _groups(run(back, LOGONS), "TargetUserName") == expected


# Stats compared by where that Sigma cannot say: (search, construct, line of the error).
REFUSED = [
    ("EventCode=4625\n| stats count by TargetUserName\n| where count > 2",
     "correlation:timespan", 2),
    ("EventCode=4625\n| bin _time span=5m\n| stats count by TargetUserName\n| where count > 2",
     "correlation:timespan", 3),
    ("EventCode=4625\n| bin _time span=1.5h\n| stats count by _time\n| where count > 2",
     "correlation:timespan", 2),
    # sum/avg are value_sum/value_avg (test_sigma_legacy.py); max has no correlation type
    ("EventCode=4625\n| bin _time span=5m\n| stats max(Size) as total by _time\n"
     "| where total > 2", "correlation:aggregation", 3),
    ("EventCode=4625\n| bin _time span=5m\n| stats count(Size) by _time\n"
     "| where 'count(Size)' > 2", "correlation:aggregation", 3),
    ("EventCode=4625\n| bin _time span=5m\n| stats count by _time\n"
     "| where count > 2 AND count < 10", "correlation:condition", 4),
    ("EventCode=4625\n| bin _time span=5m\n| stats count by _time\n| where count > 2.5",
     "correlation:condition", 4),
    # a filter on the aggregate after the where (one on a group key moves before the stats:
    # tests/test_pushdown.py)
    ("EventCode=4625\n| bin _time span=5m\n| stats count by _time, TargetUserName\n"
     "| where count > 2\n| search count!=5", "correlation:stages", 5),
    ("EventCode=4625\n| bin _time span=5m\n| stats count by _time, TargetUserName\n"
     "| where count > 2\n| head 5", "correlation:stages", 5),
    ("EventCode=4625\n| bin _time span=5m\n| stats count by _time, TargetUserName\n"
     "| where count > 2\n| sort - count", "correlation:stages", 5),
    ("EventCode=4625\n| bin _time span=5m\n| stats count, sum(Size) as count by _time\n"
     "| where count > 2", "correlation:aggregation", 3),
    ("EventCode=4625\n| bin _time span=5m\n| stats values(*) as * by _time, TargetUserName\n"
     '| where NOT match(IpAddress, "^10\\.")', "correlation:condition", 4),
    ("EventCode=4625\n| bin _time span=5m\n| stats values(IpAddress) by _time\n"
     '| where match(IpAddress, "^10\\.")', "correlation:condition", 4),
]  # fmt: skip


@pytest.mark.parametrize(("search", "construct", "line"), REFUSED)
def test_refused_correlations_name_the_construct(search, construct, line):
    (rule,) = read_spl(search)
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.category, info.value.construct, info.value.line) == (
        "unsupported",
        construct,
        line,
    )
    result = emit_sigma(rule, lossy=True)  # lossy: the stats and what follows are dropped
    assert result.warnings[0]["construct"] == construct
    assert len(result.warnings) == len(rule.stages) - 1
    assert len(list(yaml.safe_load_all(result.yaml))) == 1


def test_reader_shaped_temporal_only():
    """A sigma_rule eval is read back only when it tags the filter's alternatives."""
    rule = read_sigma(TEMPORAL)[0]
    changed = Rule(
        title=rule.title,
        stages=(Filter(P("EventID", "eq", 4625)), *rule.stages[1:]),
        logsource=rule.logsource,
    )
    with pytest.raises(RuleglotError) as info:
        emit_sigma(changed)
    assert info.value.construct == "correlation:temporal"


def test_alias_other_than_the_readers_is_reported():
    (rule,) = read_spl(
        "EventCode=4625 | bin _time span=1h | stats dc(TargetUserName) as users by _time,"
        " IpAddress | where users > 2"
    )
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["correlation:alias"]
    (back,) = read_sigma(result.yaml)
    expected = {(BUCKET, "10.0.0.1")}  # alice, carol, dave
    assert _groups(run(back, LOGONS), "IpAddress") == _groups(run(rule, LOGONS), "IpAddress")
    assert _groups(run(back, LOGONS), "IpAddress") == expected


def test_raw_is_not_a_sigma_field():
    (rule,) = read_spl('EventCode=4688 | regex _raw="psexec"')
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.construct, info.value.line, info.value.col) == ("_raw", 1, 24)
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["_raw"]
    detection = yaml.safe_load(result.yaml)["detection"]
    assert detection["selection_2"] == {"|re": "psexec"}  # a keyword: any one value


def test_table_before_a_filter_on_a_dropped_field_is_named():
    (rule,) = read_spl("EventCode=4688 | table EventCode | search CommandLine=*x*")
    result = emit_sigma(rule, lossy=True)
    (warning,) = result.warnings
    assert warning["construct"] == "table" and "drops CommandLine" in warning["message"]


# Events for fields the profile takes from the first present of several (user: User,
# TargetUserName, SubjectUserName; host: Computer, Hostname).
ACCOUNTS = [
    {"User": "bob"},
    {"TargetUserName": "bob"},
    {"User": None, "SubjectUserName": "bob"},
    {"User": "alice", "TargetUserName": "bob"},  # user is alice: the first present wins
    {"TargetUserName": "alice", "SubjectUserName": "bob"},
    {"Computer": "x"},
    {},
]


@pytest.mark.parametrize(
    ("search", "matching"),
    [
        ("user=bob", [0, 1, 2]),
        ("NOT user=bob", [3, 4, 5, 6]),
        ("user=*", [0, 1, 2, 3, 4]),
        ("NOT user=*", [5, 6]),
        ("user=b*", [0, 1, 2]),
    ],
)
def test_first_present_of_several_fields_is_exact(search, matching):
    """A filter on a field the profile takes from the first of several present fields is
    written exactly: s1 holds, or s1 is null and s2 holds, ... (no warning)."""
    (rule,) = read_spl(search)
    result = emit_sigma(rule)
    assert result.warnings == []
    (back,) = read_sigma(result.yaml)
    spl_rows = [i for i, e in enumerate(ACCOUNTS) if run(rule, [e])]
    sigma_rows = [i for i, e in enumerate(ACCOUNTS) if run(back, [e])]
    assert spl_rows == sigma_rows == matching


def test_first_present_detection_layout():
    (rule,) = read_spl("user=bob")
    assert yaml.safe_load(emit_sigma(rule).yaml)["detection"] == {
        "selection": [
            {"User": "bob"},
            {"User": None, "TargetUserName": "bob"},
            {"User": None, "TargetUserName": None, "SubjectUserName": "bob"},
        ],
        "condition": "selection",
    }


def test_correlated_rules_with_different_log_sources_are_refused():
    """The correlation reader keeps one log source for all rules, or none when they differ."""
    text = TEMPORAL.replace(
        "title: Successful logon\nname: success_logon\nlogsource:\n  product: windows\n"
        "  service: security\n",
        "title: Successful logon\nname: success_logon\nlogsource:\n  product: windows\n"
        "  service: system\n",
    )
    rule = read_sigma(text)[0]
    assert rule.logsource.is_empty()
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert info.value.construct == "logsource"


def test_presentation_columns_and_trailing_stages_are_reported():
    """The security_content shape: one compared aggregate beside presentation columns, and
    row-shaping stages after the where. The alert maps; the columns are reported."""
    search = (
        "EventCode=4625\n| bin _time span=5m\n"
        "| stats count min(_time) as firstTime values(IpAddress) as ips by _time, TargetUserName\n"
        "| where count >= 3\n| convert ctime(firstTime)\n| rename ips as src\n"
        "| table _time TargetUserName count src"
    )
    (rule,) = read_spl(search)
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert (info.value.construct, info.value.line) == ("correlation:columns", 3)
    result = emit_sigma(rule, lossy=True)
    warnings = [(w["construct"], w["line"]) for w in result.warnings]
    assert warnings == [
        ("correlation:columns", 3), ("convert", 5), ("rename", 6), ("table", 7)
    ]  # fmt: skip
    assert "firstTime, ips" in result.warnings[0]["message"]
    *_, corr = yaml.safe_load_all(result.yaml)
    assert corr["correlation"]["type"] == "event_count"
    assert corr["correlation"]["condition"] == {"gte": 3}
    (back,) = read_sigma(result.yaml)
    assert _groups(run(back, LOGONS), "TargetUserName") == {(BUCKET, "bob")}
    assert _groups(run(rule, LOGONS), "TargetUserName") == {(BUCKET, "bob")}


def test_source_in_the_other_rendering_is_named() -> None:
    """Under splunk_windows_xml, events have source=XmlWinEventLog:<channel>; a search for
    source=WinEventLog:<channel> selects none of them, while a Sigma channel means both."""
    xml = read_spl('source="XmlWinEventLog:Security" EventCode=4624')[0]
    assert emit_sigma(xml).warnings == []
    classic = read_spl('source="WinEventLog:Security" EventCode=4624')[0]
    with pytest.raises(RuleglotError) as err:
        emit_sigma(classic)
    assert err.value.construct == "source"
    assert emit_sigma(classic, fields="splunk_windows").warnings == []  # its own rendering
    lossy = emit_sigma(classic, lossy=True)
    assert [w["construct"] for w in lossy.warnings] == ["source"]
    assert yaml.safe_load(lossy.yaml)["logsource"] == {"product": "windows", "service": "security"}


def test_a_list_field_of_the_shared_events_is_not_a_group_key_to_move() -> None:
    """``tags`` (security-datasets' shipping tags) and ``Data`` (unnamed ``EventData`` items)
    are lists in 14,229 and 1,307 shared events: ``stats ... by tags | search tags!="a"``
    keeps the ``b`` row of an event tagged ``[a, b]``, while the same test on the event (any
    value) drops it. So the test stays after the stats (dropped with it, reported), not moved
    into the detection, where it would miss that event."""
    search = (
        'source="XmlWinEventLog:Security" EventCode=4624 | stats count by {0} TargetUserName'
        ' | search {0}!="a"'
    )
    for name in ("tags", "Data"):
        (rule,) = read_spl(search.format(name))
        event = {"source": "XmlWinEventLog:Security", "EventCode": 4624, "EventID": 4624,
                 name: ["a", "b"], "TargetUserName": "u"}  # fmt: skip
        assert run(rule, [event]) != []  # the search alerts on it
        result = emit_sigma(rule, lossy=True)
        assert "search" in [w["construct"] for w in result.warnings]
        assert "filter" not in yaml.safe_load(result.yaml)["detection"]
