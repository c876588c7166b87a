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
        "Channel": "Microsoft-Windows-PowerShell/Operational", "x": 1
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
    (rule,) = read_spl("process_name=cmd.exe")
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
    assert constructs == ["stats", "where", "logsource", "basename", "term", "condition"]
    assert all(w["line"] and w["col"] for w in result.warnings)
    SigmaCollection.from_yaml(result.yaml)
    doc = yaml.safe_load(result.yaml)
    assert doc["logsource"]["service"] == "security"
    assert doc["detection"]["selection_1"] == {"Image|endswith": "\\cmd.exe"}
    assert doc["detection"]["selection_2"] == ["evil"]


def test_condition_leaf_is_unsupported():
    (rule,) = read_spl("x=1 | where len(CommandLine) > 10")
    with pytest.raises(RuleglotError) as info:
        emit_sigma(rule)
    assert info.value.category == "unsupported"
