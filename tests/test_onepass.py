"""SPL pipelines in one pass (translator.onepass): each pipeline's rows on the events its
leading filter keeps are its rows on all events."""

from __future__ import annotations

from typing import Any

from ir.events import Event
from translator import api
from translator.onepass import leading_filter, run_searches, select_events

SEARCHES = [
    'source="Sec" EventCode=4688 CommandLine="*whoami*" | stats count by User',
    'EventCode=4624 | where LogonType=10 | eval who=lower(User) | table who',
    'source="Sec" (EventCode=4688 OR EventCode=4624) | stats count by EventCode',
    'CommandLine="*net*" | eval n=len(CommandLine) | where n > 5 | fields n',
    'source="Other" | stats count',
    'EventCode=4688 | join User [search EventCode=4624 | fields User LogonType] | table User',
    'source="Sec" | head 2 | eval x=1',
]
EVENTS: list[dict[str, Any]] = [
    {"source": "Sec", "EventCode": 4688, "CommandLine": "cmd /c WHOAMI", "User": "Bob"},
    {"source": "Sec", "EventCode": 4688, "CommandLine": "net user", "User": "ann"},
    {"source": "Sec", "EventCode": 4624, "LogonType": 10, "User": "Ann"},
    {"source": "Sec", "EventCode": 4624, "LogonType": 3, "User": "bob"},
    {"source": "Other", "EventCode": "4688", "CommandLine": "whoami", "User": "eve"},
    {"EventCode": [4624, 1], "LogonType": "10", "User": "Zed"},
]


def _rows(rows: list[Event]) -> list[dict[str, Any]]:
    return [api.row_dict(r) for r in rows]


def test_each_pipeline_gives_the_same_rows_on_its_own_events():
    rules = [rule for text in SEARCHES for rule in api.parse(text, "spl")]
    events = [Event(e) for e in EVENTS]
    selected = select_events(rules, events, "none")
    for rule, own in zip(rules, selected, strict=True):
        run = api.compile_run(rule, "none")
        whole = _rows(run([Event(e) for e in EVENTS]))
        if own is not None:
            assert len(own) < len(events)
            assert _rows(run(own)) == whole, rule.source_text
    # narrowed: the searches that start with a filter and have no subsearch
    assert [own is not None for own in selected] == [True, True, True, True, True, False, True]
    assert selected[0] is not None and [e.fields["User"] for e in selected[0]] == ["Bob"]


def test_filter_only_searches_and_subsearches_are_not_narrowed():
    (filter_only,) = api.parse('source="Sec" EventCode=4688', "spl")
    (joined,) = api.parse(SEARCHES[5], "spl")
    assert leading_filter(filter_only) is None and leading_filter(joined) is None


SYSMON = "Microsoft-Windows-Sysmon/Operational"
TSTATS = [
    "| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe "
    "by Processes.dest",
    "| tstats count min(_time) as first from datamodel=Endpoint.Processes "
    "where Processes.process IN (\"*whoami*\", \"*net user*\") by Processes.process_name",
    "| tstats count from datamodel=Endpoint.Processes by Processes.parent_process_name",
    "| tstats count from datamodel=Endpoint.Registry "
    "where Registry.registry_path=\"*\\\\Run\\\\*\" by Registry.dest",
    "| tstats count from datamodel=Endpoint.Processes where Processes.process_name!=cmd.exe "
    "by Processes.dest | where count > 1",
    "| tstats count from datamodel=Endpoint.Processes by Processes.dest | join Processes.dest "
    "[| tstats count as n from datamodel=Endpoint.Processes by Processes.dest]",
]
TSTATS_EVENTS: list[dict[str, Any]] = [
    {"Channel": SYSMON, "EventID": 1, "Image": "C:\\W\\cmd.exe", "CommandLine": "cmd /c WHOAMI",
     "ParentImage": "C:\\x\\explorer.exe", "Computer": "h1",
     "UtcTime": "2024-01-01 10:00:00.000"},
    {"Channel": SYSMON, "EventID": 1, "Image": "C:\\W\\net.exe", "CommandLine": "net user x",
     "ParentImage": "C:\\W\\cmd.exe", "Computer": "h2", "UtcTime": "2024-01-01 10:01:00.000"},
    {"Channel": SYSMON, "EventID": 13, "TargetObject": "HKLM\\Software\\Run\\evil",
     "Computer": "h1"},
    {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\W\\CMD.EXE",
     "Computer": "h2"},
    {"Channel": SYSMON, "EventID": 3, "Image": "C:\\W\\cmd.exe", "Computer": "h1"},
    {"Channel": SYSMON, "EventID": 1, "Image": "C:\\W\\ping.exe", "Computer": "h2"},
]


def test_tstats_searches_give_the_same_rows_on_the_events_their_where_keeps():
    rules = [rule for text in TSTATS for rule in api.parse(text, "spl")]
    selected = select_events(rules, [Event(e) for e in TSTATS_EVENTS])
    for rule, own in zip(rules, selected, strict=True):
        run = api.compile_run(rule)
        whole = _rows(run([Event(e) for e in TSTATS_EVENTS]))
        assert whole or "Registry" in rule.source_text
        if own is not None:
            assert _rows(run(own)) == whole, rule.source_text
    # the join searches all events in its subsearch: not narrowed; the others are
    assert [own is not None for own in selected] == [True, True, True, True, True, False]
    # process_name=cmd.exe is case-insensitive in tstats' where as in search: both cmd events
    first, _, every, registry, _, _ = selected
    assert first is not None and [e.fields["EventID"] for e in first] == [1, 4688]
    # a search without where sees the data set's events: process creations, not EventID 3
    assert every is not None and [e.fields["EventID"] for e in every] == [1, 1, 4688, 1]
    assert registry is not None and [e.fields["EventID"] for e in registry] == [13]


def test_run_searches_forked_gives_each_search_its_own_rows_in_order():
    rules = [rule for text in (*SEARCHES, *TSTATS) for rule in api.parse(text, "spl")]
    events = [Event(e) for e in EVENTS + TSTATS_EVENTS]
    one = run_searches(rules, events, "none", jobs=1)
    two = run_searches(rules, events, "none", jobs=2)
    assert one == two
    for rule, outcome in zip(rules, one, strict=True):
        assert outcome == _rows(api.compile_run(rule, "none")(events)), rule.source_text


def test_a_runner_compiles_each_search_and_may_decline_it():
    rules = [rule for text in (*SEARCHES[:3], *TSTATS[:2]) for rule in api.parse(text, "spl")]
    events = [Event(e) for e in EVENTS + TSTATS_EVENTS]

    def runner(rule: Any) -> Any:
        if rule is rules[1]:
            return None
        run = api.compile_run(rule, "none")
        # narrows event by event, as a time range does: keeps events without a LogonType 3
        return lambda chosen: run([e for e in chosen if e.fields.get("LogonType") != 3])

    for jobs in (1, 2):
        outcomes = run_searches(rules, events, "none", jobs=jobs, runner=runner)
        assert outcomes[1] is None
        for index in (0, 2, 3, 4):
            whole = runner(rules[index])(events)
            assert outcomes[index] == _rows(whole), rules[index].source_text
