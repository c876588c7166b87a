"""tstats -> Sigma: the data set's log source and the where clause on Sigma's fields, with the
same meaning: on events, the Sigma rule matches exactly the events whose data-set row passes
the where clause (rows by ir.datamodels, decided by the one evaluator on both sides)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pytest
import yaml

from backends.sigma import read_sigma
from backends.sigma.emit import emit_sigma
from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import (
    Aggregation,
    And,
    Convert,
    DataModel,
    Filter,
    Kind,
    Not,
    Or,
    Predicate,
    Rename,
    Rule,
    Stats,
)
from ir.pipeline import compile_pipeline
from tests.conftest import shared
from translator import api
from translator.inputs import read_events

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _tstats(dataset: str, where: object | None, *after: object, by: tuple[str, ...] = ()) -> Rule:
    stages: list[object] = [DataModel(dataset, (("summariesonly", "false"),))]
    if where is not None:
        stages.append(Filter(where, "tstats"))  # type: ignore[arg-type]
    stages.append(Stats((Aggregation("count"),), by, "tstats"))
    return Rule("t", (*stages, *after), language="spl")  # type: ignore[arg-type]


def _p(field: str, kind: Kind, value: object) -> Predicate:
    return Predicate(field, kind, value)  # type: ignore[arg-type]


def _rows_passing(rule: Rule, events: Iterable[Event]) -> set[int]:
    """Indices of the events that make a result row of the whole tstats pipeline, each run on
    its own by the pipeline (ir.pipeline through ir.datamodels): the oracle owes nothing to
    the translation."""
    profile = cim_windows()
    dataset = profile.dataset(rule.stages[0].name)  # type: ignore[union-attr]
    run = compile_pipeline(rule.stages)
    out: set[int] = set()
    for index, event in enumerate(events):
        if profile.row_fields(event, dataset) is None:
            continue
        if any((row.get("count") or 0) > 0 for row in run([event])):
            out.add(index)
    return out


def _sigma_matches(text: str, events: Iterable[Event]) -> set[int]:
    (rule,) = read_sigma(text)
    compiled = api.compile_rules([rule], "windows", "none")[0]
    return {i for i, e in enumerate(events) if compiled.matches(e)}


def _events(*fields: dict[str, object]) -> list[Event]:
    return [Event(f) for f in fields]


WHERES = [
    ("Endpoint.Processes", And((
        _p("Processes.process_name", Kind.EQ, "cmd.exe"),
        Not(Or((_p("Processes.parent_process_name", Kind.EQ, "explorer.exe"),
                _p("Processes.parent_process_name", Kind.STARTSWITH, "power")))),
    ))),
    ("Endpoint.Processes", _p("Processes.process", Kind.CONTAINS, "-enc")),
    ("Endpoint.Processes", _p("Processes.process_id", Kind.GT, 1000)),
    ("Endpoint.Processes", _p("Processes.user", Kind.CONTAINS, "S-1-5")),
    ("Endpoint.Processes", Not(_p("Processes.original_file_name", Kind.NULL, None))),
    ("Endpoint.Registry", _p("Registry.action", Kind.EQ, "modified")),
    ("Endpoint.Registry", _p("Registry.registry_value_name", Kind.EQ, "Start")),
    ("Endpoint.Filesystem", _p("Filesystem.action", Kind.EQ, "created")),
    ("Endpoint.Filesystem", _p("Filesystem.file_name", Kind.ENDSWITH, ".ps1")),
    ("Network_Traffic", _p("All_Traffic.dest_port", Kind.EQ, 445)),
    ("Authentication", _p("Authentication.action", Kind.EQ, "failure")),
    ("Endpoint.Services", None),
]


@cache
def _shared_events() -> tuple[Event, ...]:
    folder = shared("events")
    out: list[Event] = []
    for path in sorted(folder.rglob("*.jsonl")):
        if path.name == "MANIFEST.jsonl":
            continue
        for item in read_events(path):
            if isinstance(item, tuple):
                out.append(item[1])
    return tuple(out)


@pytest.mark.parametrize(("dataset", "where"), WHERES, ids=[str(i) for i in range(len(WHERES))])
def test_the_sigma_rule_matches_the_events_whose_rows_pass(dataset: str, where: object) -> None:
    rule = _tstats(dataset, where)
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["tstats:stats"]
    events = _shared_events()
    expected = _rows_passing(rule, events)
    assert _sigma_matches(result.yaml, events) == expected
    # the comparison is not empty-handed on the shared events for the common data sets
    if dataset in ("Endpoint.Processes", "Endpoint.Registry"):
        assert expected


def test_process_name_is_the_file_name_of_image_on_both_sources() -> None:
    rule = _tstats("Endpoint.Processes", _p("Processes.process_name", Kind.EQ, "cmd.exe"))
    result = emit_sigma(rule, lossy=True)
    doc = yaml.safe_load(result.yaml)
    assert doc["logsource"] == {"category": "process_creation", "product": "windows"}
    events = _events(
        {"Channel": SYSMON, "EventID": 1, "Image": "C:\\Windows\\System32\\CMD.EXE"},
        {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x\\cmd.exe"},
        {"Channel": SYSMON, "EventID": 1, "Image": "C:\\x\\notcmd.exe"},
        {"Channel": SYSMON, "EventID": 3, "Image": "C:\\x\\cmd.exe"},
    )
    assert _sigma_matches(result.yaml, events) == {0, 1} == _rows_passing(rule, events)


def test_a_field_one_source_lacks_is_written_per_source() -> None:
    # process_guid: Sysmon 1 has it, the 4688 source does not compute it
    rule = _tstats("Endpoint.Processes", Not(_p("Processes.process_guid", Kind.EQ, "{1}")))
    result = emit_sigma(rule, lossy=True)
    events = _events(
        {"Channel": SYSMON, "EventID": 1, "ProcessGuid": "{2}"},
        {"Channel": SYSMON, "EventID": 1, "ProcessGuid": "{1}"},
        {"Channel": "Security", "EventID": 4688, "ProcessGuid": "{1}"},
    )
    assert _sigma_matches(result.yaml, events) == _rows_passing(rule, events) == {0, 2}


def test_strict_refuses_the_stats_and_unknown_data_sets() -> None:
    with pytest.raises(RuleglotError) as err:
        emit_sigma(_tstats("Endpoint.Processes", _p("Processes.process", Kind.EQ, "x")))
    assert err.value.construct == "tstats:stats"
    with pytest.raises(RuleglotError) as err:
        emit_sigma(_tstats("Email", _p("All_Email.src_user", Kind.EQ, "x")), lossy=True)
    assert err.value.construct == "detection"


def test_web_is_the_sigma_webserver_category_with_pysigmas_field_names() -> None:
    where = And((_p("Web.url", Kind.ENDSWITH, "/wp-json/x"), _p("Web.status", Kind.EQ, 200),
                 _p("Web.http_method", Kind.EQ, "POST")))  # fmt: skip
    result = emit_sigma(_tstats("Web", where, by=("Web.src",)), lossy=True)
    doc = yaml.safe_load(result.yaml)
    assert doc["logsource"] == {"category": "webserver"}
    assert doc["detection"]["selection"] == {
        "c-uri|endswith": "/wp-json/x", "sc-status": 200, "cs-method": "POST",
    }  # fmt: skip
    assert doc["detection"]["filter"] == {"src_ip": None}  # the by-field is required
    constructs = {w["construct"]: w["effect"] for w in result.warnings}
    assert constructs == {"datamodel:Web": "meaning", "tstats:stats": "shaping"}
    with pytest.raises(RuleglotError) as err:  # a field Sigma's category does not have
        emit_sigma(_tstats("Web", _p("Web.site", Kind.EQ, "x")), lossy=True)
    assert err.value.construct == "detection"


def test_by_fields_and_filters_on_them_after_the_stats_are_kept() -> None:
    by = ("Processes.dest", "Processes.process_name")
    rule = _tstats(
        "Endpoint.Processes", _p("Processes.process", Kind.CONTAINS, " /c "),
        Rename((("Processes.*", "*"),)),
        Convert((("ctime", "firstTime", None),)),
        Filter(Not(_p("process_name", Kind.EQ, "cmd.exe")), "search"),
        by=by,
    )
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["tstats:stats", "rename", "convert"]
    events = [
        *_events(
            {"Channel": SYSMON, "EventID": 1, "CommandLine": "x /c y", "Image": "C:\\a\\b.exe",
             "Computer": "h"},
            {"Channel": SYSMON, "EventID": 1, "CommandLine": "x /c y", "Image": "C:\\a\\b.exe"},
            {"Channel": SYSMON, "EventID": 1, "CommandLine": "x /c y", "Image": "C:\\cmd.exe",
             "Computer": "h"},
        ),
        *_shared_events(),
    ]
    expected = _rows_passing(rule, events)
    assert {0, 1, 2} & expected == {0}  # no dest: no row; cmd.exe: filtered after the stats
    assert _sigma_matches(result.yaml, events) == expected


def test_stages_after_the_stats_are_dropped_each_named() -> None:
    rule = _tstats(
        "Endpoint.Processes", _p("Processes.process", Kind.EQ, "x"),
        Filter(_p("count", Kind.GT, 5), "where"),
    )
    result = emit_sigma(rule, lossy=True)
    assert [w["construct"] for w in result.warnings] == ["tstats:stats", "where"]


def test_a_field_of_no_data_set_is_refused() -> None:
    rule = _tstats("Endpoint.Processes", _p("host", Kind.EQ, "x"))
    with pytest.raises(RuleglotError) as err:
        emit_sigma(rule)
    assert err.value.construct in ("datamodel:field", "tstats:stats")
    result = emit_sigma(rule, lossy=True)
    assert "datamodel:field" in [w["construct"] for w in result.warnings]


def test_a_filter_on_a_rewritten_or_aggregated_field_is_not_carried() -> None:
    from ir.nodes import Eval, Literal

    by = ("Processes.dest",)
    rewritten = _tstats(
        "Endpoint.Processes", None, Rename((("Processes.*", "*"),)),
        Eval((("dest", Literal("x")),)),
        Filter(_p("dest", Kind.EQ, "x"), "where"),
        by=by,
    )
    warned = [w["construct"] for w in emit_sigma(rewritten, lossy=True).warnings]
    assert warned == ["tstats:stats", "rename", "eval", "where"]
    counted = _tstats("Endpoint.Processes", None, Filter(_p("count", Kind.GT, 5), "where"), by=by)
    assert [w["construct"] for w in emit_sigma(counted, lossy=True).warnings] == [
        "tstats:stats", "where"]


def test_with_fillnull_value_a_missing_by_field_is_the_fill_text() -> None:
    # security_content's `security_content_summariesonly` sets fillnull_value=null: an event
    # without Details makes a row whose registry_value_data is the text "null", which
    # isnotnull() keeps; Sysmon 26 is no file_delete branch of the log-source profile
    rule = Rule("t", (
        DataModel("Endpoint.Registry", (("fillnull_value", "null"),)),
        Filter(_p("Registry.registry_path", Kind.CONTAINS, "\\MiniNt\\"), "tstats"),
        Stats((Aggregation("count"),), ("Registry.registry_value_data",), "tstats"),
        Rename((("Registry.*", "*"),)),
        Filter(Not(_p("registry_value_data", Kind.NULL, None)), "where"),
    ), language="spl")  # fmt: skip
    events = _events(
        {"Channel": SYSMON, "EventID": 12, "TargetObject": "\\Control\\MiniNt\\"},
        {"Channel": SYSMON, "EventID": 13, "TargetObject": "\\MiniNt\\", "Details": "x"},
    )
    result = emit_sigma(rule, lossy=True)
    assert _sigma_matches(result.yaml, events) == _rows_passing(rule, events) == {0, 1}
    deleted = _tstats("Endpoint.Filesystem", _p("Filesystem.file_path", Kind.STARTSWITH, "/etc/"))
    events = _events({"Channel": SYSMON, "EventID": "26", "TargetFilename": "/etc/cron.d"})
    result = emit_sigma(deleted, lossy=True)
    assert _sigma_matches(result.yaml, events) == _rows_passing(deleted, events) == {0}


def test_a_field_in_the_wrong_case_is_missing_not_dropped() -> None:
    """security_content's get_wmiobject_group_discovery ORs ``processes.process_name=cmd.exe``
    (lower-case data set) with ``Processes.process_name=powershell.exe``: Splunk's field names
    are case sensitive, so no row has the first and the OR is the second alone. Dropping it
    (as a field outside the data set) made the translation match every process."""
    where = Or((
        _p("Processes.process_name", Kind.EQ, "powershell.exe"),
        _p("processes.process_name", Kind.EQ, "cmd.exe"),
    ))  # fmt: skip
    rule = _tstats("Endpoint.Processes", where)
    result = emit_sigma(rule, lossy=True)
    assert "datamodel:field" not in {w["construct"] for w in result.warnings}
    events = _events(
        {"Channel": SYSMON, "EventID": 1, "Image": "C:\\w\\powershell.exe", "Computer": "h"},
        {"Channel": SYSMON, "EventID": 1, "Image": "C:\\w\\cmd.exe", "Computer": "h"},
    )
    assert _sigma_matches(result.yaml, events) == _rows_passing(rule, events) == {0}
