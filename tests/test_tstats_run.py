"""tstats run on events: DataModel -> Filter(tstats) -> Stats(tstats) through the CIM profile."""

from __future__ import annotations

import pytest

from backends.spl.macros import MacroTable
from ir.errors import RuleglotError
from ir.nodes import Aggregation, DataModel, Filter, Predicate, Stats
from ir.pipeline import run_pipeline
from ir.serialize import dumps, loads
from translator import api

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _proc(image: str, host: str, when: str, **extra: object) -> dict[str, object]:
    return {"Channel": SYSMON, "EventID": 1, "Image": image, "Computer": host,
            "UtcTime": when, **extra}


EVENTS = [
    _proc("C:\\Windows\\System32\\cmd.exe", "h1", "2024-01-01 10:00:00", User="u1"),
    _proc("C:\\Windows\\System32\\CMD.EXE", "h1", "2024-01-01 12:00:00", User="u1"),
    _proc("C:\\Windows\\System32\\cmd.exe", "h2", "2024-01-01 11:00:00"),
    _proc("C:\\Windows\\notepad.exe", "h1", "2024-01-01 10:00:00", User="u1"),
    # a network connection by cmd.exe is no Endpoint.Processes row
    {"Channel": SYSMON, "EventID": 3, "Image": "C:\\Windows\\System32\\cmd.exe",
     "Computer": "h3", "UtcTime": "2024-01-01 10:00:00"},
]


def _rows(search: str, events=EVENTS, macros: MacroTable | None = None):
    rule = api.parse(search, "spl", macros=macros or MacroTable())[0]
    return api.run(rule, events, fields="none")


def test_tstats_counts_the_data_set_rows_its_where_keeps():
    rows = _rows(
        "| tstats count min(_time) as firstTime max(_time) as lastTime"
        " from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe"
        " by Processes.dest | `drop_dm_object_name(Processes)`"
    )
    # search semantics: cmd.exe matches CMD.EXE; h2 has no user but user is not a by-field
    assert rows == [
        {"count": 2, "firstTime": 1704103200, "lastTime": 1704110400, "dest": "h1"},
        {"count": 1, "firstTime": 1704106800, "lastTime": 1704106800, "dest": "h2"},
    ]


def test_missing_by_field_drops_the_row_unless_fillnull_value():
    search = (
        "| tstats {opt} count from datamodel=Endpoint.Processes"
        " where Processes.process_name=cmd.exe by Processes.user"
    )
    assert _rows(search.format(opt="")) == [{"count": 2, "Processes.user": "u1"}]
    assert _rows(search.format(opt='fillnull_value="null"')) == [
        {"count": 1, "Processes.user": "null"},
        {"count": 2, "Processes.user": "u1"},
    ]


def test_security_content_macros_options_run():
    table = MacroTable.from_dict({
        "security_content_summariesonly": "summariesonly=false allow_old_summaries=true "
        'fillnull_value="null"',
    })
    rows = _rows(
        "| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes"
        " where NOT Processes.process_name=notepad.exe by Processes.process_name",
        macros=table,
    )
    # groups are case-sensitive, as stats' are
    assert rows == [
        {"count": 1, "Processes.process_name": "CMD.EXE"},
        {"count": 2, "Processes.process_name": "cmd.exe"},
    ]


def test_span_bins_time_before_counting():
    rows = _rows(
        "| tstats count from datamodel=Endpoint.Processes where Processes.dest=h1"
        " by _time span=1d"
    )
    assert rows == [{"count": 3, "_time": 1704067200}]


def test_a_data_set_without_sources_has_no_rows_on_these_events():
    assert _rows("| tstats count from datamodel=Web by Web.url") == []
    assert _rows("| tstats count from datamodel=Web") == [{"count": 0}]


def test_nodename_of_the_data_set_read_is_no_filter():
    events = [{"Channel": SYSMON, "EventID": 22, "QueryName": "a.org", "Computer": "h"}]
    rows = _rows(
        "| tstats count from datamodel=Network_Resolution where nodename=DNS"
        " DNS.query=a.org by DNS.query",
        events,
    )
    assert rows == [{"count": 1, "DNS.query": "a.org"}]


@pytest.mark.parametrize(
    ("search", "construct"),
    [
        ("| tstats count from datamodel=Authentication"
         " where nodename=Authentication.Failed_Authentication", "tstats:nodename"),
        ("| tstats prestats=t count from datamodel=Endpoint.Processes", "tstats:prestats"),
        ("| tstats chunk_sizes=3 count from datamodel=Endpoint.Processes",
         "tstats:chunk_sizes"),
        ("| tstats count from datamodel=Endpoint", "datamodel"),
        ("| tstats count where index=main by host", "tstats"),
    ],
)
def test_what_cannot_run_is_refused_by_name_with_a_position(search, construct):
    rule = api.parse(search, "spl", macros=MacroTable())[0]
    with pytest.raises(RuleglotError) as caught:
        api.run(rule, EVENTS, fields="none")
    assert caught.value.category == "unsupported"
    assert caught.value.construct == construct
    assert caught.value.line == 1 and caught.value.col is not None


def test_a_data_model_read_later_in_the_pipeline_is_refused():
    stages = [Filter(Predicate("x", "eq", 1)), DataModel("Endpoint.Processes"),
              Stats((Aggregation("count"),), command="tstats")]
    with pytest.raises(RuleglotError) as caught:
        run_pipeline(stages, [])
    assert caught.value.construct == "tstats"


def test_tstats_ir_survives_serialization():
    rule = api.parse(
        "| tstats summariesonly=t count from datamodel=Endpoint.Registry"
        " where Registry.action=modified by Registry.dest _time span=1h",
        "spl",
    )[0]
    assert [type(s).__name__ for s in rule.stages] == ["DataModel", "Filter", "Stats"]
    assert loads(dumps(rule)).stages == rule.stages
