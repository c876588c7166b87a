"""The ``windows`` log-source profile, built from pySigma's own tables, not retyped.

Facts and their sources (all shipped with the pySigma packages this project depends on):

* service -> event-log ``Channel``: ``sigma.pipelines.common.windows_logsource_mapping``.
* category -> Sysmon ``EventID`` (on the Sysmon channel):
  ``sigma.pipelines.sysmon.sysmon_generic_logsource_eventid_mapping``.
* PowerShell categories (``ps_script`` = 4104 ...) -> service and EventID:
  ``sigma.pipelines.windows.windows_generic_category_channel_mapping``.
* ``process_creation`` is also Security 4688, where ``Image``/``ParentImage``/``LogonId`` are read
  from ``NewProcessName``/``ParentProcessName``/``SubjectLogonId``:
  ``sigma.pipelines.windows.generic_logsource_to_windows_audit_event_mapping`` and the field
  mapping of ``windows_audit_pipeline``. SigmaHQ's own regression run states the same two
  branches (``../shared/corpus/sigma/tests/thor.yml``, ``process_creation_1``/``_2``).
  The audit pipeline's registry -> 4657 mapping is *not* used: thor.yml does not use it either,
  and 4657's ``ObjectName`` spells keys differently from Sysmon's ``TargetObject``.
* ``product: windows`` alone selects events that have a ``Channel``.

A category or service missing from these tables is unmapped (see :mod:`ir.logsources`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sigma.pipelines.common import windows_logsource_mapping
from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping
from sigma.pipelines.windows import windows as _windows_pipeline

from ir.logsources import LogSourceProfile, SourceBranch, SourceMapping
from ir.nodes import And, Expr, Kind, Not, Or, Predicate

# The windows pipeline module annotates its tables with ``ast.Dict`` (a typo upstream); read them
# as plain dicts.
AUDIT_EVENTS: dict[str, Any] = dict(
    _windows_pipeline.generic_logsource_to_windows_audit_event_mapping  # type: ignore[call-overload]
)
POWERSHELL_CATEGORIES: dict[str, Any] = _windows_pipeline.windows_generic_category_channel_mapping

SYSMON_SERVICE = "sysmon"
SECURITY_SERVICE = "security"

#: ``windows_audit_pipeline``'s field mapping for Security events (pySigma-pipeline-windows).
AUDIT_FIELD_ALIASES = (
    ("Image", "NewProcessName"),
    ("ParentImage", "ParentProcessName"),
    ("LogonId", "SubjectLogonId"),
)


def _any_of(field: str, values: list[Any]) -> Expr:
    preds = [Predicate(field, Kind.EQ, v) for v in values]
    return preds[0] if len(preds) == 1 else Or(tuple(preds))


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def channel_condition(service: str) -> Expr:
    return _any_of("Channel", _as_list(windows_logsource_mapping[service]))


def _event_of(service: str, event_ids: Any) -> Expr:
    return And((channel_condition(service), _any_of("EventID", _as_list(event_ids))))


def _mappings() -> list[SourceMapping]:
    out: list[SourceMapping] = [
        SourceMapping("windows", None, service, (SourceBranch(channel_condition(service)),))
        for service in windows_logsource_mapping
    ]
    audit_categories = {"process_creation"}
    for category, event_ids in sysmon_generic_logsource_eventid_mapping.items():
        branches = [SourceBranch(_event_of(SYSMON_SERVICE, event_ids))]
        if category in audit_categories:
            audit = AUDIT_EVENTS[category]
            branches.append(
                SourceBranch(_event_of(SECURITY_SERVICE, audit["EventID"]), AUDIT_FIELD_ALIASES)
            )
        out.append(SourceMapping("windows", category, None, tuple(branches)))
    for category, info in POWERSHELL_CATEGORIES.items():
        branch = SourceBranch(_event_of(info["service"], info["EventID"]))
        out.append(SourceMapping("windows", category, None, (branch,)))
    # ``product: windows`` alone: any event of a Windows channel. A JSON null Channel names
    # none (and Splunk's ``source`` is not extracted from it), so "has a value", not "exists"
    has_channel = Not(Predicate("Channel", Kind.NULL, True))
    out.append(SourceMapping("windows", None, None, (SourceBranch(has_channel),)))
    return out


@cache
def windows_profile() -> LogSourceProfile:
    """The default profile for evaluating Sigma rules on Windows event logs."""
    return LogSourceProfile(
        "windows",
        tuple(_mappings()),
        source="pySigma pipelines common/sysmon/windows tables (see backends/sigma/logsources.py)",
    )


PROFILES = {"windows": windows_profile}
