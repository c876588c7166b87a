"""The event model: both shapes in ../shared/corpus/events, read as the module docstring says."""

from __future__ import annotations

from ir.events import MISSING, Event

EVTX = {
    "Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "5770"}},
            "EventID": 1,
            "TimeCreated": {"#attributes": {"SystemTime": "2019-04-30T07:26:34.133638Z"}},
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "IEWIN7",
            "Correlation": None,
        },
        "EventData": {"Image": "C:\\Windows\\cmd.exe ", "Threat Name": "Evil", "RuleName": ""},
    }
}


def test_evtx_system_fields_are_top_level():
    event = Event(EVTX)
    assert event.get("EventID") == 1
    assert event.get("Channel") == "Microsoft-Windows-Sysmon/Operational"
    assert event.get("Provider_Name") == "Microsoft-Windows-Sysmon"
    assert event.get("TimeCreated_SystemTime") == "2019-04-30T07:26:34.133638Z"
    assert event.get("Correlation") is None
    assert event.get("Event.System.Computer") == "IEWIN7"


def test_evtx_eventdata_spaces_removed_values_not_trimmed():
    event = Event(EVTX)
    assert event.get("Image") == "C:\\Windows\\cmd.exe "
    assert event.get("ThreatName") == "Evil"
    assert event.get("Threat Name") == "Evil"
    assert event.get("RuleName") == ""
    assert event.get("Nope") is MISSING


def test_evtx_eventid_with_qualifiers_and_userdata():
    raw = {
        "Event": {
            "System": {
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4625},
                "Channel": "Security",
            },
            "UserData": {"LogFileCleared": {"SubjectUserName": "bob"}},
        }
    }
    event = Event(raw)
    assert event.get("EventID") == 4625
    assert event.get("EventID_Qualifiers") == 0
    assert event.get("SubjectUserName") == "bob"


def test_flat_event_and_raw_text():
    line = '{"EventID": 4688, "NewProcessName": "C:\\\\x.exe"}'
    event = Event({"EventID": 4688, "NewProcessName": "C:\\x.exe"}, line + "\n")
    assert event.get("NewProcessName") == "C:\\x.exe"
    assert event.raw_text == line
    assert Event({"_raw": "own raw"}).raw_text == "own raw"
