"""Sigma -> tstats IR (backends/spl/to_datamodel.py): the data set of the rule's log source and
a where clause on its fields that holds for a row exactly when the Sigma rule holds for the
row's event (decided by the one evaluator on both sides, on constructed and shared events)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import yaml

from backends.sigma import read_sigma
from backends.sigma.logsources import windows_profile
from backends.spl.to_datamodel import ABSENT, to_datamodel
from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.evaluator import compile_expr
from ir.events import Event
from ir.nodes import DataModel, Filter, Rename, Rule, Stats
from tests.conftest import shared
from translator import api

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _sigma(logsource: str, detection: str) -> Rule:
    text = f"title: t\nlogsource:\n{logsource}\ndetection:\n{detection}\n"
    (rule,) = read_sigma(text)
    return rule


def _lowered(rule: Rule, warnings: list[dict[str, object]] | None = None) -> Rule:
    return to_datamodel(rule, cim_windows(), windows_profile(), False, warnings)


def _both(rule: Rule, events: Sequence[Event]) -> tuple[set[int], set[int]]:
    """(events the Sigma rule matches, events whose data-set row passes the tstats where),
    lowered in lossy mode (fields 4688 events lack written as missing)."""
    compiled = api.compile_rules([rule], "windows", "none")[0]
    sigma = {i for i, e in enumerate(events) if compiled.matches(e)}
    lowered = _lowered(rule, [])
    head = lowered.stages[0]
    assert isinstance(head, DataModel)
    profile = cim_windows()
    dataset = profile.dataset(head.name)
    where = lowered.stages[1]
    decide = compile_expr(where.expr) if isinstance(where, Filter) else (lambda _: True)
    rows = set()
    for i, event in enumerate(events):
        fields = profile.row_fields(event, dataset)
        if fields is not None and decide(Event.from_fields(fields)):
            rows.add(i)
    return sigma, rows


PROCESS = "  category: process_creation\n  product: windows"


def test_a_process_creation_rule_reads_endpoint_processes() -> None:
    rule = _sigma(PROCESS, "  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel")
    lowered = _lowered(rule)
    assert [type(s) for s in lowered.stages] == [DataModel, Filter, Stats, Rename]
    head, where, stats, rename = lowered.stages
    assert isinstance(head, DataModel) and head.name == "Endpoint.Processes"
    assert ("summariesonly", "false") in head.options
    assert isinstance(where, Filter) and where.command == "tstats"
    assert "Processes.process_path" in repr(where.expr)
    assert isinstance(stats, Stats) and stats.by == ("Processes.process_path",)
    assert isinstance(rename, Rename) and rename.pairs == (("Processes.*", "*"),)
    events = [
        Event({"Channel": SYSMON, "EventID": 1, "Image": "C:\\Windows\\whoami.exe"}),
        Event({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x\\WHOAMI.EXE"}),
        Event({"Channel": SYSMON, "EventID": 1, "Image": "C:\\x\\notwhoami.exe"}),
        Event({"Channel": SYSMON, "EventID": 11, "Image": "C:\\Windows\\whoami.exe"}),
    ]
    assert _both(rule, events) == ({0, 1}, {0, 1})


def test_a_field_4688_lacks_is_told_apart_by_vendor_product() -> None:
    rule = _sigma(PROCESS, "  sel:\n    OriginalFileName: 'cmd.exe'\n  filter:\n"
                  "    CommandLine|contains: ' /c '\n  condition: sel or not filter")
    with pytest.raises(RuleglotError) as err:  # strict: an assumption on the events
        _lowered(rule)
    assert err.value.construct == "datamodel:absent"
    warnings: list[dict[str, object]] = []
    lowered = _lowered(rule, warnings)
    assert [w["construct"] for w in warnings] == ["datamodel:absent"]
    assert "Processes.vendor_product" in repr(lowered.stages[1])
    events = [
        Event({"Channel": SYSMON, "EventID": 1, "OriginalFileName": "Cmd.Exe"}),
        Event({"Channel": SYSMON, "EventID": 1, "CommandLine": "cmd /c x"}),
        Event({"Channel": "Security", "EventID": 4688, "CommandLine": "cmd /c x"}),
        Event({"Channel": "Security", "EventID": 4688, "CommandLine": "whoami"}),
    ]
    sigma, rows = _both(rule, events)
    assert sigma == rows == {0, 3}


def test_file_event_leaves_out_the_deleted_files() -> None:
    rule = _sigma("  category: file_event\n  product: windows",
                  "  sel:\n    TargetFilename|endswith: '.ps1'\n  condition: sel")
    assert "Filesystem.action" in repr(_lowered(rule).stages[1])
    events = [
        Event({"Channel": SYSMON, "EventID": 11, "TargetFilename": "C:\\a.ps1"}),
        Event({"Channel": SYSMON, "EventID": 23, "TargetFilename": "C:\\a.ps1"}),
    ]
    assert _both(rule, events) == ({0}, {0})


@pytest.mark.parametrize(
    ("logsource", "detection", "construct"),
    [
        ("  category: registry_set\n  product: windows",
         "  sel:\n    TargetObject|contains: 'Run'\n  condition: sel", "datamodel:schema"),
        ("  category: registry_delete\n  product: windows",
         "  sel:\n    TargetObject|contains: 'Run'\n  condition: sel", "logsource"),
        ("  category: registry_add\n  product: windows",
         "  sel:\n    TargetObject|contains: 'Run'\n  condition: sel", "logsource"),
        ("  category: file_delete\n  product: windows",
         "  sel:\n    TargetFilename|endswith: '.ps1'\n  condition: sel", "logsource"),
        ("  product: linux\n  category: process_creation",
         "  sel:\n    Image: 'x'\n  condition: sel", "logsource"),
        (PROCESS, "  sel:\n    Description: 'x'\n  condition: sel", "datamodel:field"),
        (PROCESS, "  keywords:\n    - 'mimikatz'\n  condition: keywords", "keyword"),
    ],
)
def test_refusals_are_named_and_positioned(logsource: str, detection: str, construct: str) -> None:
    with pytest.raises(RuleglotError) as err:
        _lowered(_sigma(logsource, detection))
    assert err.value.construct == construct
    assert err.value.category == "unsupported"
    assert err.value.line is not None


def _sample(data_source: str) -> Event:
    """security_content's sample event of a data source (its ``example_log``, Windows event
    XML) as the event's System and EventData fields."""
    import xml.etree.ElementTree as ET

    data = yaml.safe_load(shared("spl", "data_sources", f"{data_source}.yml").read_text())
    root = ET.fromstring(data["example_log"])
    ns = {"e": "http://schemas.microsoft.com/win/2004/08/events/event"}
    fields: dict[str, object] = {}
    for name in ("EventID", "Channel", "Computer"):
        node = root.find(f"e:System/e:{name}", ns)
        assert node is not None and node.text is not None
        fields[name] = int(node.text) if name == "EventID" else node.text
    for item in root.findall("e:EventData/e:Data", ns):
        fields[item.attrib["Name"]] = item.text
    return Event(fields)


REGISTRY_SET = "  category: registry_set\n  product: windows"


def test_registry_set_is_the_registry_rows_with_a_value_data() -> None:
    rule = _sigma(REGISTRY_SET, "  sel:\n    TargetObject|contains: '\\\\'\n  condition: sel")
    warnings: list[dict[str, object]] = []
    lowered = _lowered(rule, warnings)
    head, where = lowered.stages[:2]
    assert isinstance(head, DataModel) and head.name == "Endpoint.Registry"
    assert "Registry.registry_value_data" in repr(where)
    assert [w["construct"] for w in warnings] == ["datamodel:schema"]
    set_value, delete_key = _sample("sysmon_eventid_13"), _sample("sysmon_eventid_12")
    assert set_value.get("Details") and delete_key.get("EventType") == "DeleteKey"
    rename = Event({"Channel": SYSMON, "EventID": 14, "EventType": "RenameKey",
                    "TargetObject": "HKLM\\SOFTWARE\\a", "NewName": "HKLM\\SOFTWARE\\b"})
    # EventID 13 without an EventType, as 709 of the shared EventID 13 events are
    old = Event({"Channel": SYSMON, "EventID": 13, "TargetObject": "HKLM\\SOFTWARE\\c",
                 "Details": "DWORD (0x00000001)"})
    events = [set_value, delete_key, rename, old]
    assert _both(rule, events) == ({0, 3}, {0, 3})


def test_registry_set_subset_holds_on_the_shared_events() -> None:
    """The fact the subset rests on, measured: among the shared Sysmon 12/13/14 events, a row
    has Registry.registry_value_data exactly when its event is an EventID 13."""
    from tests.test_sigma_emit_datamodel import _shared_events

    profile = cim_windows()
    registry = profile.dataset("Endpoint.Registry")
    counts = {True: 0, False: 0}
    for event in _shared_events():
        fields = profile.row_fields(event, registry)
        if fields is None:
            continue
        has_data = "Registry.registry_value_data" in fields
        assert has_data == (event.get("EventID") == 13), event.fields
        counts[has_data] += 1
    assert counts[True] > 1000 and counts[False] > 1000


def _agreeing_rules(category: str, event_ids: tuple[int, ...], first: int) -> int:
    """How many of the first ``first`` SigmaHQ rules of ``category`` that lower to tstats
    were compared on the shared events with those ``event_ids``; each must agree."""
    folder = shared("sigma", "rules", "windows", *category.split("/"))
    from tests.test_sigma_emit_datamodel import _shared_events

    events = [e for e in _shared_events() if e.get("EventID") in event_ids]
    compared = 0
    for path in sorted(folder.glob("*.yml"))[:first]:
        for rule in read_sigma(path.read_text(), str(path)):
            try:
                _lowered(rule, [])
            except RuleglotError:
                continue
            sigma, rows = _both(rule, events)
            assert sigma == rows, path.name
            compared += 1
    return compared


def test_sigmahq_registry_set_rules_agree_on_the_shared_events() -> None:
    assert _agreeing_rules("registry/registry_set", (12, 13, 14), 80) > 50


def test_the_fields_4688_events_lack_are_not_in_security_contents_list() -> None:
    data = yaml.safe_load(
        shared("spl", "data_sources", "windows_event_log_security_4688.yml").read_text()
    )
    assert not set(ABSENT["Windows Event Log Security 4688"]) & set(data["fields"])


def test_sigmahq_process_creation_rules_agree_on_the_shared_events() -> None:
    assert _agreeing_rules("process_creation", (1, 4688), 150) > 50


# --- end to end: the CLI writes tstats text, and check compares both directions -------------


def _cli(*args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from translator.cli import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


RULE = """title: whoami
logsource:
  category: process_creation
  product: windows
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  filter:
    CommandLine|contains: ' /all'
  condition: sel and not filter
"""

TSTATS = """name: whoami
id: 6a3f1c8e-0000-4000-8000-000000000001
search: '| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes
  where Processes.process_name=whoami.exe AND NOT Processes.process="* /all*"
  by Processes.dest | rename Processes.* as *'
"""


def test_translate_writes_tstats_text_that_reads_back(tmp_path: object) -> None:
    from pathlib import Path

    from backends.spl import read_spl_search

    path = Path(str(tmp_path)) / "r.yml"
    path.write_text(RULE)
    code, out = _cli("translate", "--to", "spl", "--data-model", "cim_windows",
                     "--summariesonly", str(path))
    assert code == 0, out
    text = out.splitlines()[0]
    assert text.startswith("| tstats summariesonly=true")
    assert "from datamodel=Endpoint.Processes" in text
    assert 'Processes.process_path="*\\\\whoami.exe"' in text
    stages = read_spl_search(text)
    assert isinstance(stages[0], DataModel) and isinstance(stages[-1], Rename)


def test_check_both_directions_on_generated_events(tmp_path: object) -> None:
    from pathlib import Path

    sigma = Path(str(tmp_path)) / "r.yml"
    sigma.write_text(RULE)
    code, out = _cli("check", "--to", "spl", "--data-model", "cim_windows", "--jobs", "1",
                     "--format", "json", str(sigma))
    assert code == 0, out
    assert '"status": "equivalent"' in out and "tstats rows" in out
    spl = Path(str(tmp_path)) / "d.yml"
    spl.write_text(TSTATS)
    code, out = _cli("check", "--from", "spl", "--lossy", "--jobs", "1", "--format", "json",
                     str(spl))
    assert '"status": "lossy"' in out and '"counterexample"' not in out, out
