"""What a lossy SPL -> Sigma change costs (backends/sigma/lossy_effects.py): ``shaping`` only
when the same events alert. Checked against the pipeline itself: for a translation whose every
warning is ``shaping``, the Sigma rule read back matches exactly the events that, each on its
own, make a result row of the whole SPL pipeline (ir.pipeline, the oracle)."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.sigma import read_sigma
from backends.sigma.data_sources import sigma_logsource
from backends.sigma.emit import emit_sigma
from backends.sigma.lossy_effects import MEANING, SHAPING, rule_effect, stage_effects
from ir.events import Event
from ir.nodes import (
    Aggregation,
    Call,
    Convert,
    DataModel,
    Dedup,
    Eval,
    FieldValue,
    Filter,
    Head,
    Kind,
    Literal,
    Predicate,
    Rename,
    Rex,
    Rule,
    Sort,
    Stats,
    Table,
)
from ir.pipeline import compile_pipeline
from translator import api
from translator.results import TranslationResult

COUNT = (Aggregation("count"),)


def _effects(stages: list[object], present: set[str] | None = None) -> list[str]:
    return [e for e, _ in stage_effects(stages, present or set())]  # type: ignore[arg-type]


def test_stats_by_a_field_rows_may_lack_changes_meaning() -> None:
    assert _effects([Stats(COUNT, ("user",))]) == [MEANING]
    assert _effects([Stats(COUNT, ("user",))], {"user"}) == [SHAPING]
    assert _effects([Stats(COUNT, ("host", "_time"))]) == [SHAPING]  # every event has them
    assert _effects([Stats(COUNT, ())]) == [MEANING]  # a row (count=0) even for no event


def test_row_dropping_stages_change_meaning() -> None:
    stats = Stats(COUNT, ("user",))
    where = Filter(Predicate("count", Kind.GT, 5), "where")
    assert _effects([stats, where], {"user"}) == [SHAPING, MEANING]
    assert _effects([Head(5)]) == [MEANING]
    assert _effects([Sort((("count", True),))]) == [MEANING]  # sort keeps 10,000 rows
    assert _effects([Sort((("count", True),), limit=0)]) == [SHAPING]


def test_presence_is_followed_through_renames_and_stats() -> None:
    stats = Stats((Aggregation("count"), Aggregation("min", "_time", "firstTime")), ("P.user",))
    rename = Rename((("P.*", "*"),))
    dedup = Dedup(("user",))
    assert _effects([stats, rename, dedup], {"P.user"}) == [SHAPING, SHAPING, SHAPING]
    assert _effects([stats, Rename((("P.user", "u"),)), dedup], {"P.user"})[-1] == MEANING
    assert _effects([stats, Table(("count",)), dedup], {"P.user"})[-1] == MEANING
    assert _effects([Dedup(("user",), options=(("keepempty", "true"),))]) == [SHAPING]


def test_rule_effect_is_the_worst_warning() -> None:
    assert rule_effect([]) is None
    assert rule_effect([{"effect": SHAPING}]) == SHAPING
    assert rule_effect([{"effect": SHAPING}, {"effect": MEANING}]) == MEANING
    assert rule_effect([{"construct": "x"}]) == MEANING  # a warning that does not say


def _spl(stages: list[object]) -> Rule:
    base = Filter(Predicate("action", Kind.EQ, "deny"))
    return Rule("r", (base, *stages), language="spl")  # type: ignore[arg-type]


def test_every_warning_carries_its_effect() -> None:
    rule = _spl([Stats(COUNT, ("user",)), Convert((("ctime", "count", None),))])
    result = emit_sigma(rule, fields="none", lossy=True)
    assert result.warnings and all(w["effect"] in (SHAPING, MEANING) for w in result.warnings)
    assert all(w["why"] for w in result.warnings)
    dropped = {w["construct"]: w["effect"] for w in result.warnings}
    assert dropped["stats"] == SHAPING and dropped["convert"] == SHAPING
    assert dropped["logsource"] == MEANING  # product: splunk selects no event outside Splunk


def test_a_threshold_after_stats_is_meaning() -> None:
    where = Filter(Predicate("count", Kind.GT, 5), "where")
    result = emit_sigma(_spl([Stats(COUNT, ("user",)), where]), fields="none", lossy=True)
    effects = {w["construct"]: w["effect"] for w in result.warnings}
    assert effects["correlation:timespan"] == MEANING and effects["where"] == MEANING


def test_report_entry_says_the_translation_effect() -> None:
    text = "index=x action=deny | stats count by user | convert ctime(count)"
    (rule,) = api.parse(text, "spl", "t.spl")
    done = api.emit_translation(rule, "sigma", lossy=True)
    entry = TranslationResult.of({"path": "t.spl", "rule_id": None, "title": "t"}, done)
    out = entry.to_dict()
    assert out["status"] == "lossy" and out["effect"] == entry.effect
    assert {c["construct"]: c["effect"] for c in out["constructs"]}["stats"] == SHAPING


# --- the oracle: shaping-only translations alert on exactly the events the pipeline counts ---

SHAPING_TAILS = [
    [Stats(COUNT, ("user",))],
    [Stats(COUNT, ("user", "dest")), Rename((("user", "account"),)), Table(("account",))],
    [Stats((Aggregation("min", "_time", "firstTime"),), ("user",)), Dedup(("user",))],
    [Eval((("n", Literal(1)),)), Stats(COUNT, ("user",)), Sort((("count", True),), limit=0)],
    [Rename((("user", "account"),)), Stats(COUNT, ("account", "dest"))],
    # a by-field an eval sets to a literal is in every row; a rex writes only its groups
    [Eval((("phase", Literal("release")),)), Stats(COUNT, ("user", "phase"))],
    [Rex("(?<first>.)", "action"), Stats(COUNT, ("user", "dest"))],
]

_values = st.none() | st.sampled_from(["deny", "allow", "alice", "bob", ""]) | st.lists(
    st.sampled_from(["alice", "deny"]), max_size=2
)
_events = st.lists(
    st.fixed_dictionaries({"action": _values, "user": _values, "dest": _values}), max_size=12
)


def test_a_by_field_an_eval_computes_is_not_required() -> None:
    rule = _spl([Eval((("user", Call("lower", (FieldValue("x"),))),)), Stats(COUNT, ("user",))])
    result = emit_sigma(rule, fields="none", lossy=True)
    effects = {w["construct"]: w["effect"] for w in result.warnings}
    assert effects["stats"] == MEANING and "user" not in result.yaml


def _oracle(rule: Rule, events: list[Event]) -> set[int]:
    run = compile_pipeline(rule.stages)
    return {i for i, e in enumerate(events) if run([e])}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(range(len(SHAPING_TAILS))), _events)
def test_shaping_only_translations_alert_on_the_events_the_search_counts(
    which: int, raw: list[dict[str, object]]
) -> None:
    rule = _spl(SHAPING_TAILS[which])  # type: ignore[arg-type]
    result = emit_sigma(rule, fields="none", lossy=True)
    shaping = [w for w in result.warnings if w["construct"] != "logsource"]
    assert rule_effect(shaping) == SHAPING, result.warnings
    (back,) = read_sigma(result.yaml)
    compiled = api.compile_rules([back], "none", "none")[0]
    events = [Event({k: v for k, v in e.items() if v is not None}) for e in raw]
    assert {i for i, e in enumerate(events) if compiled.matches(e)} == _oracle(rule, events)


def test_both_renderings_of_a_channel_are_the_sigma_channel() -> None:
    """security_content's ``powershell`` macro ORs the classic and the XML rendering of one
    channel: that is what a Sigma channel means (either rendering), so nothing is lost; one
    rendering alone still selects only its own events and is reported."""
    both = (
        "(source=WinEventLog:Microsoft-Windows-PowerShell/Operational OR "
        'source="XmlWinEventLog:Microsoft-Windows-PowerShell/Operational") EventCode=4104'
    )
    (rule,) = api.parse(both, "spl", "t.spl")
    text = emit_sigma(rule).yaml  # strict: no warning
    assert "service: powershell" in text
    (one,) = api.parse("source=WinEventLog:Microsoft-Windows-PowerShell/Operational "
                       "EventCode=4104", "spl", "t.spl")  # fmt: skip
    warned = emit_sigma(one, lossy=True).warnings
    assert [w["effect"] for w in warned if w["construct"] == "source"] == [MEANING]


# --- tstats with a threshold: a Sigma correlation (backends/sigma/emit.py tstats_correlation) ---

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _tstats_threshold(*after: object) -> Rule:
    where = Predicate("Processes.process", Kind.CONTAINS, "net")
    stats = Stats((Aggregation("count"), Aggregation("min", "_time", "firstTime")),
                  ("_time", "Processes.dest"), "tstats", (("span", "5m"),))  # fmt: skip
    stages = (DataModel("Endpoint.Processes"), Filter(where, "tstats"), stats, *after)
    return Rule("many net", stages, language="spl")  # type: ignore[arg-type]


def test_a_tstats_threshold_is_an_event_count_correlation() -> None:
    rule = _tstats_threshold(
        Rename((("Processes.*", "*"),)),
        Filter(Predicate("count", Kind.GT, 2), "where"),
        Convert((("ctime", "firstTime", None),)),
    )
    result = emit_sigma(rule, lossy=True)
    docs = list(yaml.safe_load_all(result.yaml))
    corr = docs[-1]["correlation"]
    assert corr["type"] == "event_count" and corr["timespan"] == "5m"
    assert corr["group-by"] == ["Computer"] and corr["condition"] == {"gt": 2}
    assert docs[0]["logsource"] == {"category": "process_creation", "product": "windows"}
    assert {w["construct"]: w["effect"] for w in result.warnings} == {
        "correlation:columns": SHAPING, "rename": SHAPING, "convert": SHAPING,
    }  # fmt: skip
    # the correlation read back and the tstats pipeline give the same groups on events
    events = [
        Event({"Channel": SYSMON, "EventID": 1, "CommandLine": "net user", "Computer": host,
               "_time": float(t)})
        for host, t in [("a", 0), ("a", 10), ("a", 20), ("b", 5), ("b", 15), ("a", 400)]
    ]  # fmt: skip
    (back,) = read_sigma(result.yaml)
    selects = Rule("f", back.leading_filters, back.logsource, language="sigma")
    compiled = api.compile_rules([selects], "windows", "none")[0]
    sigma_rows = compile_pipeline(back.stages)([e for e in events if compiled.matches(e)])
    spl_rows = compile_pipeline(rule.stages)(events)
    assert [(r.get("_time"), r.get("Computer"), r.get("count")) for r in sigma_rows] == [
        (r.get("_time"), r.get("dest"), r.get("count")) for r in spl_rows
    ] == [(0.0, "a", 3)]


def test_a_tstats_group_by_of_a_computed_field_is_not_a_correlation() -> None:
    stats = Stats((Aggregation("count"),), ("_time", "Processes.process_name"), "tstats",
                  (("span", "5m"),))  # fmt: skip
    rule = Rule("r", (DataModel("Endpoint.Processes"), stats,
                      Filter(Predicate("count", Kind.GT, 2), "where")), language="spl")  # fmt: skip
    result = emit_sigma(rule, lossy=True)
    effects = {w["construct"]: w["effect"] for w in result.warnings}
    assert effects["correlation:group-by"] == MEANING and effects["where"] == MEANING
    assert "correlation" not in result.yaml


# --- the detection's declared data_source (backends/sigma/data_sources.py) ---


def test_declared_data_sources_name_a_sigma_log_source_only_when_they_agree() -> None:
    found = sigma_logsource(["AWS CloudTrail ConsoleLogin", "AWS CloudTrail"])
    assert found is not None and (found.product, found.service) == ("aws", "cloudtrail")
    assert sigma_logsource(["AWS CloudTrail", "Okta"]) is None  # two log sources
    assert sigma_logsource(["PingID"]) is None  # no Sigma taxonomy: nothing made up


def test_the_data_source_is_the_log_source_only_where_the_search_names_none() -> None:
    rule = Rule("r", (Filter(Predicate("eventName", Kind.EQ, "ConsoleLogin")),),
                language="spl", custom=(("data_source", '["AWS CloudTrail"]'),))  # fmt: skip
    result = emit_sigma(rule, fields="none", lossy=True)
    assert yaml.safe_load(result.yaml)["logsource"] == {"product": "aws", "service": "cloudtrail"}
    assert [(w["construct"], w["effect"]) for w in result.warnings] == [
        ("logsource:data_source", MEANING)
    ]
    settings = Rule("r", (Filter(Predicate("sourcetype", Kind.EQ, "oktaim2:log")),
                          Filter(Predicate("x", Kind.EQ, "1"))), language="spl",
                    custom=(("data_source", '["AWS CloudTrail"]'),))  # fmt: skip
    doc = yaml.safe_load(emit_sigma(settings, fields="none").yaml)  # the search's own wins
    assert doc["logsource"] == {"product": "okta", "service": "okta"}


def test_a_required_file_name_is_a_required_path() -> None:
    """``stats ... by process_name`` requires a value of the file name, which a path has
    exactly when it has one: written on ``Image`` with no ``basename`` warning."""
    (rule,) = api.parse("source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational EventCode=1 "
                        "| stats count by process_name", "spl", "t.spl")  # fmt: skip
    result = emit_sigma(rule, lossy=True)
    assert {w["construct"]: w["effect"] for w in result.warnings} == {"stats": SHAPING}
    assert "Image: '*'" in result.yaml


def test_a_literal_by_field_needs_no_requirement_and_a_rex_group_does() -> None:
    """``eval phase="release"`` gives every row ``phase`` (shaping, nothing required of it);
    a by-field a ``rex`` extracts may be missing (meaning); one it does not write is required
    under its own name."""
    constant = _spl([Eval((("phase", Literal("release")),)), Stats(COUNT, ("phase",))])
    result = emit_sigma(constant, fields="none", lossy=True)
    assert {w["construct"]: w["effect"] for w in result.warnings}["stats"] == SHAPING
    assert "phase" not in result.yaml
    extracted = _spl([Rex("(?<first>.)", "action"), Stats(COUNT, ("first", "user"))])
    result = emit_sigma(extracted, fields="none", lossy=True)
    assert {w["construct"]: w["effect"] for w in result.warnings}["stats"] == MEANING
    other = _spl([Rex("(?<first>.)", "action"), Stats(COUNT, ("user",))])
    result = emit_sigma(other, fields="none", lossy=True)
    assert {w["construct"]: w["effect"] for w in result.warnings}["stats"] == SHAPING
    assert "user: '*'" in result.yaml


def test_a_by_field_a_wildcard_rename_may_have_made_is_not_required() -> None:
    """``rename p.* as *`` moves only the fields an event has: ``user`` after it is ``p.user``
    when the event has that, else the event's own ``user`` (``ir.stages.fields``), so neither
    is required (aws_exfiltration_via_datasync_task required ``requestParameters.eventName``
    for its top-level ``eventName``); the stats then costs meaning."""
    rule = _spl([Rename((("p.*", "*"),)), Stats(COUNT, ("user",))])
    run = compile_pipeline(rule.stages)
    assert run([Event({"action": "deny", "user": "bob"})])  # the pipeline counts it
    result = emit_sigma(rule, fields="none", lossy=True)
    assert "p.user" not in result.yaml
    assert {w["construct"]: w["effect"] for w in result.warnings}["stats"] == MEANING
