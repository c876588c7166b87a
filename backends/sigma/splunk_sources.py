"""Splunk data sources (``sourcetype``, ``source``) as Sigma log sources: data with sources.

An SPL search chooses its events with Splunk's search settings (``ir.nodes.SEARCH_SETTINGS``);
a Sigma rule does it with ``logsource``. This table says which Sigma log source a Splunk
source type is, for the source types security_content's ``data_sources/*.yml`` and source
macros name (``grep -rh sourcetype ../shared/corpus/spl/data_sources``). Each row cites the
Splunk add-on that defines the source type and the Sigma taxonomy entry (SigmaHQ's
``documentation/logsource-guides`` and the product/service pairs SigmaHQ rules use,
``grep -rh -A3 '^logsource:' ../shared/corpus/sigma/rules``). Where one source type carries
several Sigma services (``azure:monitor:aad``: sign-in and audit logs), only the product is
given: the Sigma rule then reads more events than the search, which the writer reports.

Windows event logs (``XmlWinEventLog``, ``WinEventLog``) are not in :data:`SOURCETYPES`: their
channel is the log source, which ``backends/sigma/emit.py`` reads from ``source`` through the
field profile. :data:`CHANNEL_SETTINGS` lists the other settings that name exactly one Windows
channel (an eventtype of the Splunk Add-on for Microsoft Windows, a legacy Sysmon source type),
so that an OR of them with the channel's ``source`` is that channel's Sigma service.

A source type the table does not know is not guessed silently: :func:`vendor_product` reads
Splunk's naming convention (``vendor:product:technology:format``, Splunk Add-ons manual,
"Source type naming conventions") for the vendor, and the writer reports the result as lossy.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping


@dataclass(frozen=True, slots=True)
class SigmaLogSource:
    """A Sigma log source (``None``: not given) and why."""

    product: str
    service: str | None
    cite: str
    #: the Sigma log source selects more events than the source type (only the product known)
    wider: bool = False


_AWS = "Splunk Add-on for AWS (splunkbase 1876); Sigma product aws"
_MSCS = "Splunk Add-on for Microsoft Cloud Services (splunkbase 3110); Sigma product azure"
_O365 = "Splunk Add-on for Microsoft Office 365 (splunkbase 4055); Sigma product m365"
_LINUX = "Splunk Add-on for Unix and Linux (splunkbase 833); Sigma product linux"
_GWS = "Splunk Add-on for Google Workspace (splunkbase 5556); Sigma product gcp"
_OKTA = "Okta Identity Cloud Add-on for Splunk (splunkbase 6553); Sigma product okta"
_KUBE = "Splunk OpenTelemetry Collector for Kubernetes; Sigma product kubernetes"

#: lower-cased source type pattern (fnmatch) -> Sigma log source; first match wins
SOURCETYPES: tuple[tuple[str, SigmaLogSource], ...] = (
    ("aws:cloudtrail", SigmaLogSource("aws", "cloudtrail", _AWS)),
    ("aws:cloudtrail:lake", SigmaLogSource("aws", "cloudtrail", _AWS)),
    ("aws:*", SigmaLogSource("aws", None, _AWS, wider=True)),
    ("mscs:azure:audit", SigmaLogSource("azure", "activitylogs", _MSCS)),
    ("azure:monitor:aad", SigmaLogSource("azure", None, _MSCS, wider=True)),
    ("mscs:*", SigmaLogSource("azure", None, _MSCS, wider=True)),
    ("o365:management:activity", SigmaLogSource("m365", "audit", _O365)),
    ("o365:*", SigmaLogSource("m365", None, _O365, wider=True)),
    ("linux:audit", SigmaLogSource("linux", "auditd", _LINUX)),
    ("sysmon:linux", SigmaLogSource("linux", None, _LINUX, wider=True)),
    ("gws:reports:admin", SigmaLogSource("gcp", "google_workspace.admin", _GWS)),
    ("oktaim2:log", SigmaLogSource("okta", "okta", _OKTA)),
    ("kube:*", SigmaLogSource("kubernetes", None, _KUBE, wider=True)),
)

#: ``source`` values that name a log file whose Sigma log source is known
SOURCES: tuple[tuple[str, SigmaLogSource], ...] = (
    ("/var/log/audit/audit.log", SigmaLogSource("linux", "auditd", _LINUX)),
    # security_content data_sources/kubernetes_audit.yml: "Kubernetes Audit" is source
    # kubernetes; SigmaHQ's Kubernetes audit rules read product kubernetes, service audit
    ("kubernetes", SigmaLogSource("kubernetes", "audit", _KUBE)),
)

#: The Splunk Add-on for Microsoft Windows' eventtypes, ``default/eventtypes.conf`` (version
#: 11.0.2, quoted literally in a third party's notes on the add-on, found with the ``search``
#: tool: ``find_string "source=WMI:WinEventLog:Security"``; Splunk's own add-on is not in the
#: stored index, so this is a quotation, not the file):
#: ``[wineventlog_security] search = source=WinEventLog:Security OR
#: source=WMI:WinEventLog:Security OR source=XmlWinEventLog:Security``, and the same three
#: renderings for ``wineventlog_system`` and ``wineventlog_application``. Every rendering of
#: one channel: what Sigma's ``service`` means (pySigma's ``windows_logsource_mapping`` names
#: the channel, not a rendering).
_TA_WINDOWS = (
    "Splunk Add-on for Microsoft Windows 11.0.2 default/eventtypes.conf, as a third party's"
    " notes quote it (the add-on itself was not read)"
)
#: The first Splunk Sysmon add-on (TA-microsoft-sysmon 3.2.2, 2016, README: "Sourcetype:
#: XmlWinEventLog:Microsoft-Windows-Sysmon/Operational") gave the Sysmon channel's events that
#: source type; the Splunk Add-on for Sysmon (splunkbase 5709) gives them ``source`` with the
#: channel (security_content ``data_sources/sysmon_eventid_*.yml``: ``source:
#: XmlWinEventLog:Microsoft-Windows-Sysmon/Operational``, ``sourcetype: xmlwineventlog``).
_TA_SYSMON = "TA-microsoft-sysmon 3.2.2 README; security_content data_sources/sysmon_eventid_1.yml"

#: (setting, lower-cased value) -> the Windows channel it selects every rendering of, and why
CHANNEL_SETTINGS: dict[tuple[str, str], tuple[str, str]] = {
    ("eventtype", "wineventlog_security"): ("Security", _TA_WINDOWS),
    ("eventtype", "wineventlog_system"): ("System", _TA_WINDOWS),
    ("eventtype", "wineventlog_application"): ("Application", _TA_WINDOWS),
    ("sourcetype", "xmlwineventlog:microsoft-windows-sysmon/operational"): (
        "Microsoft-Windows-Sysmon/Operational",
        _TA_SYSMON,
    ),
}


def setting_channel(field: str, value: str) -> str | None:
    """The Windows channel ``field=value`` (a search setting) selects, per
    :data:`CHANNEL_SETTINGS`, or ``None``."""
    found = CHANNEL_SETTINGS.get((field, value.lower()))
    return found[0] if found is not None else None


#: Sysmon for Linux's events in Splunk (security_content ``data_sources/
#: sysmon_for_linux_eventid_1.yml`` and ``_11.yml``: ``source: Syslog:Linux-Sysmon/Operational``,
#: ``sourcetype: sysmon:linux``, Splunk Add-on for Sysmon for Linux, splunkbase 6652); their
#: ``example_log`` is Sysmon's XML event (``EventID``, ``Image``, ``CommandLine``...), the field
#: names Sigma's Sysmon-based taxonomy uses.
LINUX_SYSMON_SOURCE = "Syslog:Linux-Sysmon/Operational"
#: Every EventID Sysmon for Linux writes (a superset): Sysinternals' manual page
#: (Sysinternals/SysmonForLinux ``package/usr/share/man/man8/sysmon.8``, 1.3.1: process
#: creation, file creations and deletions, raw disk reads, network connections, ptrace process
#: access: 1, 11, 23, 9, 3, 10), with the process termination, service state, configuration
#: change and error events its configurations and log readers also name (5, 4, 16, 255). No
#: image load (7), remote thread (8), registry (12-14), pipe (17, 18), WMI (19-21) or DNS (22)
#: event: a search's Linux Sysmon part ANDed with such an EventID selects nothing.
LINUX_SYSMON_EVENTS = frozenset({1, 3, 4, 5, 9, 10, 11, 16, 23, 255})

#: The Sigma category of each Sysmon for Linux event: Sigma's generic categories are defined by
#: Sysmon's EventIDs (pySigma's ``sysmon_generic_logsource_eventid_mapping``: process_creation 1,
#: network_connection 3, process_termination 5, raw_access_thread 9, process_access 10,
#: file_event 11, file_delete 23, sysmon_error 255), and SigmaHQ's Linux rules read Sysmon for
#: Linux's events that way, ``product: linux`` with the category (``category:
#: process_creation`` 122 rules, ``file_event`` 8, ``network_connection`` 5: ``grep -rh -A3
#: '^logsource:' ../shared/corpus/sigma/rules/linux``). An EventID of several categories (12)
#: or a category of several EventIDs (sysmon_status: 4, 16) names none.
LINUX_SYSMON_CATEGORIES: dict[int, str] = {
    event: category
    for category, event in sysmon_generic_logsource_eventid_mapping.items()
    if isinstance(event, int)
    and event in LINUX_SYSMON_EVENTS
    and list(sysmon_generic_logsource_eventid_mapping.values()).count(event) == 1
}


def is_linux_sysmon(field: str, value: str) -> bool:
    """``source=Syslog:Linux-Sysmon/Operational``: Sysmon for Linux's events."""
    return field == "source" and value.lower() == LINUX_SYSMON_SOURCE.lower()


_VENDOR = re.compile(r"[a-z][a-z0-9_]*")


def sigma_source(field: str, value: str) -> SigmaLogSource | None:
    """The Sigma log source of ``sourcetype=value`` or ``source=value``, if the table knows it."""
    table = SOURCETYPES if field == "sourcetype" else SOURCES if field == "source" else ()
    text = value.lower()
    for pattern, found in table:
        if fnmatch.fnmatchcase(text, pattern):
            return found
    return None


def vendor_product(sourcetype: str) -> str | None:
    """The vendor part of a source type named by Splunk's convention (``crushftp:sessionlogs``
    -> ``crushftp``), or ``None`` when the name does not follow it."""
    head = sourcetype.lower().split(":", 1)[0]
    if ":" not in sourcetype or not _VENDOR.fullmatch(head):
        return None
    return head
