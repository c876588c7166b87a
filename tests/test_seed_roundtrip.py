"""The two seed rules (../shared/seeds) translated both ways and back, through translator.api.

* The Sigma seed (``corpus/cases/psexec_over_smb.yml``, copied verbatim with its events) goes
  Sigma -> SPL -> IR -> Sigma strictly: nothing is lost, so stages, exclusions, indicators and
  every event's verdict are the same.
* The SPL seed (``corpus/cases/spl/impacket_psexec.yml``, copied verbatim, with synthetic
  events) goes SPL -> Sigma (lossy) -> IR -> SPL. Its ``bin | stats values(*) | where`` becomes a
  Sigma temporal correlation with the same alerting groups; what Sigma cannot say is asserted
  as the precise warnings, and its effect on the alerts is asserted too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ir.errors import RuleglotError
from ir.nodes import Filter, Kind, Predicate, Rule
from tests.test_sigma_correlation import EVENT_COUNT, TEMPORAL
from translator.api import emit, emit_translation, evaluate, parse, run, translate

CASES = Path(__file__).resolve().parents[1] / "corpus" / "cases"
SIGMA_SEED = CASES / "psexec_over_smb.yml"
SPL_SEED = CASES / "spl" / "impacket_psexec.yml"


def kinds(rule: Rule) -> list[str]:
    return [type(stage).__name__ for stage in rule.stages]


def matched(rule: Rule, events: list[dict]) -> list[int]:
    return sorted({m.event_index for m in evaluate([rule], events)})


# --- the Sigma seed ------------------------------------------------------------------------------


def test_sigma_seed_to_spl_and_back():
    case = yaml.safe_load(SIGMA_SEED.read_text(encoding="utf-8"))
    (rule,) = parse(case["rule"], "sigma", path=str(SIGMA_SEED))
    # the events in the XML convention (source="XmlWinEventLog:Security"), the SPL reader's
    # default field profile, so the SPL search itself can be run on the same events
    spl = translate(case["rule"], "sigma", "spl", fields="splunk_windows_xml")
    assert spl == (
        'source="XmlWinEventLog:Security" EventCode=5145 (ShareName="\\\\*\\\\ADMIN$" OR '
        'ShareName="\\\\*\\\\IPC$") RelativeTargetName="*PSEXESVC*" '
        'NOT SubjectUserName="%admin_account%"'
    )
    (spl_rule,) = parse(spl, "spl")
    sigma = emit_translation(spl_rule, "sigma")
    assert sigma.warnings == []
    (back,) = parse(sigma.text, "sigma")

    # the page's stages, exclusions and indicators
    assert kinds(rule) == kinds(spl_rule) == kinds(back) == ["Filter"]
    assert back.stages == rule.stages
    assert back.logsource == rule.logsource
    exclusion = Predicate("SubjectUserName", Kind.EQ, "%admin_account%")
    assert rule.exclusions == spl_rule.exclusions == back.exclusions == (exclusion,)
    assert back.indicators == rule.indicators
    # in SPL the same indicators, under Splunk's names, and the channel as a source term
    renamed = {"EventCode": "EventID"}
    spl_indicators = [
        Predicate(renamed.get(p.field or "", p.field), p.kind, p.value, p.cased)
        for p in spl_rule.indicators
        if p.field != "source"
    ]
    assert spl_indicators == list(rule.indicators)

    # every event's verdict, as the case file says, for all three
    events = [item["event"] for item in case["events"]]
    expected = [i for i, item in enumerate(case["events"]) if item["match"]]
    assert matched(rule, events) == matched(spl_rule, events) == matched(back, events) == expected


# --- the SPL seed --------------------------------------------------------------------------------

#: What the lossy translation changes, in order: (construct, line in the case's rule text).
SPL_SEED_WARNINGS = [
    ("eval", 10),  # eval file_name=Relative_Target_Name: the where reads Relative_Target_Name
    ("table", 11),  # output columns only
    ("correlation:columns", 13),  # a temporal keeps the alert, not the values() columns
    ("term", 8),  # TERM(EventCode=4688): an indexed term of _raw
    ("term", 9),  # "<EventID>4688<"
    ("term", 9),  # TERM(EventCode=5145)
    ("term", 9),  # "<EventID>5145<"
    ("_raw", 9),  # regex _raw=...: the raw text is not a Sigma field
    ("basename", 10),  # parent_process_name: the file name of ParentImage or ParentProcessName
    ("coalesce", 13),  # by host: Computer or Hostname, grouped by Computer
]


def _spl_seed() -> tuple[dict, Rule]:
    case = yaml.safe_load(SPL_SEED.read_text(encoding="utf-8"))
    (rule,) = parse(case["rule"], "spl", path=str(SPL_SEED), undefined_macros="empty")
    return case, rule


def alerts(rows: list[dict], host: str) -> list[list]:
    return sorted([row["_time"], row[host]] for row in rows)


def test_spl_seed_strict_names_the_first_construct():
    _, rule = _spl_seed()
    with pytest.raises(RuleglotError) as info:
        emit_translation(rule, "sigma")
    err = info.value
    assert (err.category, err.construct, err.line, err.col) == ("unsupported", "eval", 10, 5)


def test_spl_seed_to_sigma_and_back():
    case, rule = _spl_seed()
    events = [item["event"] for item in case["events"]]
    assert kinds(rule) == ["Filter", "Filter", "Eval", "Filter", "Table", "Bin", "Stats", "Filter"]

    sigma = emit_translation(rule, "sigma", lossy=True)
    assert [(w["construct"], w["line"]) for w in sigma.warnings] == SPL_SEED_WARNINGS
    *bases, correlation = yaml.safe_load_all(sigma.text)
    assert correlation["correlation"] == {
        "type": "temporal",
        "rules": ["impacket_psexec_1", "impacket_psexec_2"],
        "group-by": ["Computer"],
        "timespan": "10s",
        "generate": False,
    }
    assert [b["detection"]["selection_2"] for b in bases] == [
        {"EventID|re": "4688"},
        {"EventID|re": "5145"},
    ]
    (sigma_rule,) = parse(sigma.text, "sigma")

    # lossy: strict mode refuses a translation with a warning (issue 21)
    spl = emit_translation(sigma_rule, "spl", fields="splunk_windows_xml", lossy=True)
    # the only change named: Sigma's sliding timespan as bin buckets (the reader's reading too)
    assert [w["message"].split(";")[0] for w in spl.warnings] == [
        "Sigma correlation timespan 10s is a sliding window"
    ]
    (again,) = parse(spl.text, "spl")

    # stages: the filters are one search (plus its where); the eval copy and the table are gone
    # (warned); the values() stats is now the temporal's tag eval and dc(sigma_rule)
    assert kinds(sigma_rule) == ["Filter", "Eval", "Bin", "Stats", "Filter"]
    assert kinds(again) == ["Filter", "Filter", "Eval", "Bin", "Stats", "Filter"]
    tail = [(type(s).__name__, getattr(s, "command", None)) for s in rule.stages[-3:]]
    assert tail == [(type(s).__name__, getattr(s, "command", None)) for s in again.stages[-3:]]
    assert rule.stages[-3] == again.stages[-3]  # bin _time span=10s

    # exclusions: none before, none after
    assert rule.exclusions == sigma_rule.exclusions == again.exclusions == ()

    # indicators: the terms and the _raw regex are dropped (warned above); every other one is
    # kept with its kind and value, on the event field(s) the profile reads it from
    fields = {
        "parent_process_name": {"ParentImage", "ParentProcessName"},
        "file_name": {"RelativeTargetName"},  # after eval file_name=Relative_Target_Name
        "signature_id": {"EventID"},
    }
    dropped = [p for p in rule.indicators if p.kind is Kind.TERM or p.field == "_raw"]
    assert len(dropped) == 5
    for p in rule.indicators:
        if p in dropped:
            continue
        assert p.field is not None
        found = {q.field for q in sigma_rule.indicators if (q.kind, q.value) == (p.kind, p.value)}
        assert fields[p.field] <= found, p
    again_values = {(q.kind, q.value) for q in again.indicators}
    assert {(q.kind, q.value) for q in sigma_rule.indicators} <= again_values

    # verdicts: the search alerts for WS01 and WS04; the Sigma rule, without the terms and the
    # _raw regex, also for WS05 and WS06, whose raw text lacks them; the SPL written from it
    # alerts as the Sigma rule does
    assert alerts(run(rule, events), "host") == case["alerts"]
    lossy = sorted(case["alerts"] + case["lossy_alerts"])
    assert alerts(run(sigma_rule, events), "Computer") == lossy
    assert alerts(run(again, events), "Computer") == lossy


def test_spl_seed_exact_part_keeps_the_alerts():
    """Without what Sigma cannot say (the terms and regex _raw=), the search and its Sigma
    temporal correlation alert for the same groups: the correlation itself is exact."""
    case, rule = _spl_seed()
    events = [item["event"] for item in case["events"]]
    first, regex, *rest = rule.stages
    assert isinstance(first, Filter) and isinstance(regex, Filter) and regex.command == "regex"
    trimmed = Rule(rule.title, tuple(rest), language="spl")
    sigma = emit_translation(trimmed, "sigma", lossy=True)
    assert [w["construct"] for w in sigma.warnings] == [
        "eval", "table", "correlation:columns", "basename", "coalesce"
    ]  # fmt: skip
    (sigma_rule,) = parse(sigma.text, "sigma")
    lossy = sorted(case["alerts"] + case["lossy_alerts"])
    assert alerts(run(trimmed, events), "host") == lossy
    assert alerts(run(sigma_rule, events), "Computer") == lossy


# --- the SPL emitter on stages read from a Sigma correlation -----------------------------------


def test_spl_stats_of_a_correlation_has_no_reader_options():
    text = emit(parse(EVENT_COUNT, "sigma")[0], "spl", lossy=True)  # timespan: a warning
    assert "| stats count by _time, TargetUserName | where count>=3" in text


def test_spl_eval_of_a_temporal_uses_the_profile_field_names():
    text = emit(parse(TEMPORAL, "sigma")[0], "spl", lossy=True)  # timespan: a warning
    assert "EventCode=4625" in text
    assert "EventID" not in text
