"""The CIM data-model profile: which events make which data-set rows, with which fields."""

from __future__ import annotations

import pytest

from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.events import Event
from ir.fieldprofiles import TRANSFORMS

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _sysmon(event_id: int, **fields: object) -> Event:
    return Event({"Channel": SYSMON, "EventID": event_id, **fields})


def test_sysmon_process_creation_is_a_processes_row_with_prefixed_fields():
    profile = cim_windows()
    dataset = profile.dataset("Endpoint.Processes")
    event = _sysmon(
        1, Image="C:\\Windows\\System32\\cmd.exe", ParentImage="C:\\x\\explorer.exe",
        CommandLine="cmd /c whoami", Computer="host1",
    )
    fields = profile.row_fields(event, dataset)
    assert fields is not None
    assert fields["Processes.process_name"] == "cmd.exe"
    assert fields["Processes.process_path"] == "C:\\Windows\\System32\\cmd.exe"
    assert fields["Processes.parent_process_name"] == "explorer.exe"
    assert fields["Processes.process"] == "cmd /c whoami"
    assert fields["Processes.dest"] == "host1"
    # a field the event does not carry is missing, not null or "unknown"
    assert "Processes.original_file_name" not in fields


def test_security_4688_reads_new_process_name():
    profile = cim_windows()
    event = Event({"Channel": "Security", "EventID": 4688,
                   "NewProcessName": "C:\\a\\b\\rundll32.exe", "ProcessId": "0x10"})
    fields = profile.row_fields(event, profile.dataset("Endpoint.Processes"))
    assert fields is not None
    assert fields["Processes.process_name"] == "rundll32.exe"
    assert fields["Processes.parent_process_id"] == "0x10"


def test_events_of_other_sources_are_not_rows():
    profile = cim_windows()
    processes = profile.dataset("Endpoint.Processes")
    assert profile.row_fields(_sysmon(3, Image="C:\\x.exe"), processes) is None
    assert profile.row_fields(Event({"EventID": 1, "Image": "C:\\x.exe"}), processes) is None
    events = [_sysmon(1, Image="a.exe"), _sysmon(13, TargetObject="HKLM\\k\\v"),
              _sysmon(1, Image="b.exe")]
    rows = profile.rows(events, processes)
    assert [r.fields["Processes.process_name"] for r in rows] == ["a.exe", "b.exe"]
    assert rows[1].event is events[2]


def test_registry_action_and_value_name():
    profile = cim_windows()
    event = _sysmon(13, TargetObject="HKLM\\Software\\Run\\evil", EventType="SetValue",
                    Details="c:\\evil.exe")
    fields = profile.row_fields(event, profile.dataset("Endpoint.Registry"))
    assert fields is not None
    assert fields["Registry.action"] == "modified"
    assert fields["Registry.registry_value_name"] == "evil"
    assert fields["Registry.registry_hive"] == "HKLM"
    assert fields["Registry.registry_path"] == "HKLM\\Software\\Run\\evil"


def test_dns_answers_are_multi_valued():
    profile = cim_windows()
    event = _sysmon(22, QueryName="example.org", QueryResults="type:  5 a.org;1.2.3.4;")
    fields = profile.row_fields(event, profile.dataset("Network_Resolution"))
    assert fields is not None
    assert fields["DNS.answer"] == ["type:  5 a.org", "1.2.3.4"]


def test_file_create_and_delete_actions():
    profile = cim_windows()
    dataset = profile.dataset("Endpoint.Filesystem")
    created = profile.row_fields(_sysmon(11, TargetFilename="C:\\t\\a.dll"), dataset)
    deleted = profile.row_fields(_sysmon(23, TargetFilename="C:\\t\\a.dll"), dataset)
    assert created is not None and deleted is not None
    assert (created["Filesystem.action"], deleted["Filesystem.action"]) == ("created", "deleted")
    assert created["Filesystem.file_name"] == "a.dll"


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("Web", "Web.Web"),
        ("Web.Web", "Web.Web"),
        ("Network_Traffic", "Network_Traffic.All_Traffic"),
        ("Authentication", "Authentication.Authentication"),
        ("endpoint.processes", "Endpoint.Processes"),
    ],
)
def test_data_model_names_resolve(written, name):
    assert cim_windows().dataset(written).name == name


def test_unknown_data_set_is_a_named_unsupported_error():
    with pytest.raises(RuleglotError) as caught:
        cim_windows().dataset("Endpoint")
    assert caught.value.category == "unsupported"
    assert caught.value.construct == "datamodel"


def test_every_extraction_is_cited_and_known():
    for dataset in cim_windows().datasets:
        for source in dataset.sources:
            assert source.cite and source.logsource.product == "windows"
            for extraction in source.extractions:
                assert extraction.cite, (dataset.name, extraction.target)
                assert extraction.transform in TRANSFORMS
                assert extraction.target in dataset.fields, (dataset.name, extraction.target)


def test_split_and_map_transforms():
    assert TRANSFORMS["split"]("a;b;", ";") == ["a", "b"]
    assert TRANSFORMS["split"]("a;", ";") == "a"
    assert TRANSFORMS["map"]("SetValue", "SetValue=modified") == "modified"
    assert TRANSFORMS["map"]("Other", "SetValue=modified") == "Other"


def test_rows_carry_the_base_event_fields_without_a_prefix():
    profile = cim_windows()
    event = _sysmon(1, Image="C:\\x\\a.exe", Computer="h1")
    fields = profile.row_fields(event, profile.dataset("Endpoint.Processes"))
    assert fields is not None
    assert fields["host"] == "h1"
    assert fields["source"] == f"XmlWinEventLog:{SYSMON}"
    assert fields["sourcetype"] == "xmlwineventlog"
