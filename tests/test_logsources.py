"""The windows log-source profile selects the events thor.yml / pySigma's pipelines say it does."""

from __future__ import annotations

import pytest

from backends.sigma.logsources import windows_profile
from ir.evaluator import compile_rule
from ir.events import Event
from ir.logsources import NO_PROFILE
from ir.nodes import Filter, Kind, LogSource, Predicate, Rule

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def rule(logsource: LogSource, field="Image", value="\\cmd.exe") -> Rule:
    return Rule("t", (Filter(Predicate(field, Kind.ENDSWITH, value)),), logsource)


@pytest.mark.parametrize(
    ("logsource", "event", "expected"),
    [
        # process_creation: Sysmon 1, or Security 4688 with Image read from NewProcessName
        (
            LogSource("windows", "process_creation"),
            {"Channel": SYSMON, "EventID": 1, "Image": "C:\\cmd.exe"},
            True,
        ),
        (
            LogSource("windows", "process_creation"),
            {"Channel": SYSMON, "EventID": 3, "Image": "C:\\cmd.exe"},
            False,
        ),
        (
            LogSource("windows", "process_creation"),
            {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\cmd.exe"},
            True,
        ),
        (
            LogSource("windows", "process_creation"),
            {"Channel": "Security", "EventID": 4689, "NewProcessName": "C:\\cmd.exe"},
            False,
        ),
        # service: the channel
        (
            LogSource("windows", None, "security"),
            {"Channel": "Security", "EventID": 5145, "Image": "a\\cmd.exe"},
            True,
        ),
        (
            LogSource("windows", None, "security"),
            {"Channel": "System", "Image": "a\\cmd.exe"},
            False,
        ),
        (
            LogSource("windows", None, "powershell"),
            {"Channel": "PowerShellCore/Operational", "Image": "a\\cmd.exe"},
            True,
        ),
        # ps_script is PowerShell 4104
        (
            LogSource("windows", "ps_script"),
            {
                "Channel": "Microsoft-Windows-PowerShell/Operational",
                "EventID": 4104,
                "Image": "\\cmd.exe",
            },
            True,
        ),
        (
            LogSource("windows", "ps_script"),
            {
                "Channel": "Microsoft-Windows-PowerShell/Operational",
                "EventID": 4103,
                "Image": "\\cmd.exe",
            },
            False,
        ),
        # registry_event is Sysmon 12, 13 or 14
        (
            LogSource("windows", "registry_event"),
            {"Channel": SYSMON, "EventID": 14, "Image": "\\cmd.exe"},
            True,
        ),
    ],
)
def test_windows_profile_selects_events(logsource, event, expected):
    compiled = compile_rule(rule(logsource), windows_profile())
    assert not compiled.unmapped
    assert compiled.matches(Event(event)) is expected


def test_unmapped_logsource_selects_no_windows_event_and_says_so():
    compiled = compile_rule(rule(LogSource("linux", "process_creation")), windows_profile())
    assert compiled.unmapped
    assert not compiled.matches(Event({"Image": "/x\\cmd.exe"}))


def test_profile_none_runs_every_rule_on_every_event():
    compiled = compile_rule(rule(LogSource("linux", "process_creation")), NO_PROFILE)
    assert not compiled.unmapped
    assert compiled.matches(Event({"Image": "/x\\cmd.exe"}))
