"""SPL pipelines in one pass (translator.onepass): each pipeline's rows on the events its
leading filter keeps are its rows on all events."""

from __future__ import annotations

from typing import Any

from ir.events import Event
from translator import api
from translator.onepass import leading_filter, select_events

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
