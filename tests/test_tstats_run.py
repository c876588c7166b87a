"""tstats run on events: DataModel -> Filter(tstats) -> Stats(tstats) through the CIM profile."""

from __future__ import annotations

import orjson
import pytest

from backends.spl.macros import MacroTable
from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.events import Event
from ir.nodes import Aggregation, DataModel, Filter, Predicate, Stats
from ir.pipeline import run_pipeline
from ir.serialize import dumps, loads
from tests.conftest import shared
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


def test_nodename_of_a_child_of_a_data_set_without_sources_has_no_rows():
    search = ("| tstats count from datamodel=Network_Sessions where nodename=All_Sessions.DHCP"
              " All_Sessions.tag=dhcp by All_Sessions.dest_ip")
    assert _rows(search) == []
    # a child of a data set that has rows still needs its constraint: refused (below)
    with pytest.raises(RuleglotError):
        _rows("| tstats count from datamodel=Endpoint.Processes"
              " where nodename=Processes.Windows_Processes")


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


# --- join / append / appendpipe: a subsearch searches the same events ---------------------------

NET = {"Channel": SYSMON, "EventID": 3, "ProcessGuid": "{g1}", "DestinationPort": 443,
       "Computer": "h1", "UtcTime": "2024-01-01 10:00:00"}
PROCS = [
    _proc("C:\\a\\cmd.exe", "h1", "2024-01-01 10:00:00", ProcessGuid="{g1}"),
    _proc("C:\\a\\cmd.exe", "h1", "2024-01-01 10:00:00", ProcessGuid="{g2}"),
    NET,
]
EVENTS_OF_PROCS = [Event(e) for e in PROCS]
JOIN = (
    "| tstats count from datamodel=Endpoint.Processes by Processes.process_guid"
    " | `drop_dm_object_name(Processes)` | join {opts} process_guid"
    " [| tstats count as connections from datamodel=Network_Traffic"
    " by All_Traffic.dest_port | `drop_dm_object_name(All_Traffic)`"
    " | eval process_guid=\"{{g1}}\"]"
)


def test_join_keeps_the_rows_that_match_and_adds_the_subsearch_fields():
    rows = _rows(JOIN.format(opts=""), PROCS)
    assert rows == [{"count": 1, "process_guid": "{g1}", "connections": 1, "dest_port": 443}]


def test_join_type_left_keeps_rows_without_a_match():
    rows = _rows(JOIN.format(opts="type=left"), PROCS)
    assert rows == [
        {"count": 1, "process_guid": "{g1}", "connections": 1, "dest_port": 443},
        {"count": 1, "process_guid": "{g2}"},
    ]


def test_join_max_takes_the_first_matches_and_max_0_all():
    search = (
        "| makeresults | eval k=1 | join {opts} k [| tstats count from"
        " datamodel=Endpoint.Processes by Processes.process_guid | eval k=1]"
    )
    stages = api.parse(search.format(opts=""), "spl", macros=MacroTable())[0].stages
    join = stages[-1]
    rows = run_pipeline([Filter(Predicate("EventID", "eq", 3)), *stages[1:]], EVENTS_OF_PROCS)
    assert [r.get("Processes.process_guid") for r in rows] == ["{g1}"]
    stages = api.parse(search.format(opts="max=0"), "spl", macros=MacroTable())[0].stages
    rows = run_pipeline([Filter(Predicate("EventID", "eq", 3)), *stages[1:]], EVENTS_OF_PROCS)
    assert [r.get("Processes.process_guid") for r in rows] == ["{g1}", "{g2}"]
    assert join.command == "join"


def test_append_and_appendpipe_add_rows_after_the_current_ones():
    rows = _rows(
        "| tstats count from datamodel=Endpoint.Processes"
        " | append [| tstats count from datamodel=Network_Traffic]"
        " | appendpipe [stats sum(count) as total]",
        PROCS,
    )
    assert rows == [{"count": 2}, {"count": 1}, {"total": 3}]


def test_join_options_it_does_not_model_are_refused_by_name():
    rule = api.parse("| tstats count from datamodel=Web | join usetime=t x [| tstats count"
                     " from datamodel=Web]", "spl", macros=MacroTable())[0]
    with pytest.raises(RuleglotError) as caught:
        api.run(rule, [], fields="none")
    assert caught.value.construct == "join:usetime"


# --- the shared corpus: security_content's tstats detections -------------------------------------


def test_every_tstats_detection_that_reads_reads_a_data_set_of_the_profile():
    spl = shared("spl")
    table = MacroTable.from_folder(spl / "macros")
    index = [orjson.loads(line) for line in (spl / "INDEX.jsonl").read_bytes().splitlines()]
    entries = [e for e in index
               if e["search_kind"] == "tstats" and e["path"].startswith("detections/")]
    read = unknown = 0
    for entry in entries:
        try:
            rules = api.parse((spl / entry["path"]).read_text("utf-8"), "spl", macros=table)
        except RuleglotError:
            continue
        for rule in rules:
            assert isinstance(rule.stages[0], DataModel), entry["path"]
            read += 1
            unknown += cim_windows().find(rule.stages[0].name) is None
    # 902 detections: 899 read (1 subsearch in tstats' where, 2 undefined macros; the two
    # `search NOT [subsearch]` exclusions read since issue 22), all of whose data sets the
    # profile declares
    assert (len(entries), read, unknown) == (902, 899, 0)


def test_a_subsearch_as_search_terms_keeps_the_rows_its_results_match():
    search = (
        "| tstats count from datamodel=Endpoint.Processes by Processes.process_guid"
        " Processes.dest | `drop_dm_object_name(Processes)`"
        " | search [| tstats count from datamodel=Network_Traffic by All_Traffic.dest_port"
        " | eval process_guid=\"{{G{tail}\" | table process_guid]"
    )
    # a wildcard in a result value is a wildcard, and search terms ignore case
    assert _rows(search.format(tail="1*"), PROCS) == [
        {"count": 1, "process_guid": "{g1}", "dest": "h1"}
    ]
    assert _rows(search.format(tail="3}"), PROCS) == []
