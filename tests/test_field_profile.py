"""The splunk_windows field profile gives Splunk's names for the shared events' fields."""

from __future__ import annotations

from backends.spl.field_profile import splunk_windows_profile
from ir.events import Event

SYSMON_1 = {
    "Event": {
        "System": {
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "WS1",
        },
        "EventData": {
            "Image": "C:\\Windows\\System32\\cmd.exe",
            "ParentImage": "C:\\Windows\\explorer.exe",
            "CommandLine": "cmd /c whoami",
        },
    }
}


def test_pysigma_tables_give_eventcode_source_and_cim_names():
    event = splunk_windows_profile().apply(Event(SYSMON_1))
    assert event.get("EventCode") == 1
    assert event.get("source") == "WinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert event.get("Processes.process") == "cmd /c whoami"
    assert event.get("Processes.process_path") == "C:\\Windows\\System32\\cmd.exe"


def test_addon_extractions_basename_and_rendered_names():
    event = splunk_windows_profile().apply(Event(SYSMON_1))
    assert event.get("process_name") == "cmd.exe"
    assert event.get("parent_process_name") == "explorer.exe"
    share = splunk_windows_profile().apply(
        Event({"EventID": 5145, "Channel": "Security", "RelativeTargetName": "PSEXESVC"})
    )
    assert share.get("Relative_Target_Name") == "PSEXESVC"
    security = splunk_windows_profile().apply(
        Event({"EventID": 4688, "Channel": "Security", "NewProcessName": "C:\\x\\psexec.exe"})
    )
    assert security.get("process_name") == "psexec.exe"


def test_extractions_never_overwrite_and_keep_raw():
    event = Event({"EventID": 1, "EventCode": "own", "_raw": "raw text"})
    applied = splunk_windows_profile().apply(event)
    assert applied.get("EventCode") == "own"
    assert applied.raw_text == "raw text"


def test_unmapped_fields_are_reported_not_guessed():
    profile = splunk_windows_profile()
    assert profile.unmapped(["EventCode", "Image", "nonsense_field"], seen={"Image"}) == [
        "nonsense_field"
    ]
