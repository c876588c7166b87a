"""Splunk's search settings (index, sourcetype, source, time modifiers) are an SPL search's
data source: written to Sigma as its log source or a warning, never a detection field
(ir/nodes.py, "Search settings"; backends/sigma/splunk_sources.py; issue 22)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from backends.sigma.emit import emit_sigma
from backends.sigma.splunk_sources import sigma_source, vendor_product
from backends.spl import read_spl
from ir.errors import RuleglotError
from ir.nodes import SEARCH_SETTINGS, TIME_MODIFIERS

SETTINGS = SEARCH_SETTINGS | TIME_MODIFIERS


def _fields(detection: Any) -> set[str]:
    """Every field name a Sigma detection tests."""
    out: set[str] = set()
    if isinstance(detection, dict):
        for key, value in detection.items():
            if key != "condition":
                out.add(str(key).split("|")[0])
                out |= _fields(value)
    elif isinstance(detection, list):
        for item in detection:
            out |= _fields(item)
    return out


def _lossy(spl: str) -> tuple[dict[str, Any], set[str]]:
    (rule,) = read_spl(spl)
    result = emit_sigma(rule, lossy=True)
    return yaml.safe_load(result.yaml), {w["construct"] for w in result.warnings}


@pytest.mark.parametrize(
    ("spl", "logsource"),
    [
        ('sourcetype="aws:cloudtrail" eventName=DeleteTrail',
         {"product": "aws", "service": "cloudtrail"}),
        ("index=main sourcetype=linux:audit type=EXECVE",
         {"product": "linux", "service": "auditd"}),
        ('sourcetype="o365:management:activity" Operation=Set-Mailbox',
         {"product": "m365", "service": "audit"}),
        ("(sourcetype=aws:cloudtrail OR sourcetype=aws:cloudtrail:lake) eventName=x",
         {"product": "aws", "service": "cloudtrail"}),
    ],
)  # fmt: skip
def test_known_sourcetype_is_the_log_source(spl: str, logsource: dict[str, str]) -> None:
    doc, _ = _lossy(spl)
    assert {k: doc["logsource"][k] for k in logsource} == logsource
    assert not _fields(doc["detection"]) & SETTINGS


@pytest.mark.parametrize(
    ("spl", "construct"),
    [
        ("index=main EventCode=4688", "index"),
        ("earliest=-24h EventCode=4688", "timerange"),  # Rule.timerange, one warning
        ("index=main _index_earliest=-1d EventCode=4688", "timerange"),
        ("eventtype=wineventlog_security EventCode=4688", "eventtype"),
        ("EventCode=4688 (index=a OR User=x)", "index"),
        ('sourcetype="crushftp:sessionlogs" user=x', "sourcetype"),
        ("EventCode=4688 NOT sourcetype=foo", "sourcetype"),
    ],
)
def test_settings_never_detection_fields(spl: str, construct: str) -> None:
    """Lossy: the setting is gone from the detection, with a warning naming it; strict: an
    error naming it."""
    doc, constructs = _lossy(spl)
    assert not _fields(doc["detection"]) & SETTINGS
    assert construct in constructs
    (rule,) = read_spl(spl)
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct in SETTINGS | {"logsource", "timerange"}


def test_unknown_sourcetype_names_its_vendor() -> None:
    """Splunk's source type naming convention (vendor:product:...) gives the product, loudly."""
    doc, constructs = _lossy('sourcetype="crushftp:sessionlogs" user=x')
    assert doc["logsource"]["product"] == "crushftp"
    assert "sourcetype" in constructs


def test_a_data_source_sigma_lacks_is_named_not_product_splunk() -> None:
    """Issue 22: a search whose data source no Sigma log source maps (security_content's
    ``circleci`` macro is ``sourcetype=circleci``) names it as the service, loudly, never as
    ``product: splunk``, and the document is still a rule pySigma reads."""
    from sigma.rule import SigmaRule

    doc, constructs = _lossy("sourcetype=circleci workflow=x")
    assert doc["logsource"]["service"] == "circleci"
    assert "product" not in doc["logsource"]
    assert "sourcetype=circleci" in doc["logsource"]["definition"]
    assert "logsource" in constructs
    assert SigmaRule.from_dict(doc).logsource.service == "circleci"
    doc, _ = _lossy("index=unix sudoedit")
    assert doc["logsource"]["service"] == "unix"


def test_no_data_source_is_a_warning() -> None:
    doc, constructs = _lossy("foo=x")
    assert doc["logsource"] == {"product": "splunk"}
    assert "logsource" in constructs
    (rule,) = read_spl("foo=x")
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct == "logsource"


def test_windows_source_stays_a_channel() -> None:
    """The field profile's reading of ``source`` (a Windows channel) is unchanged."""
    doc, _ = _lossy(
        'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 Image=*x'
    )
    assert doc["logsource"]["product"] == "windows"
    assert not _fields(doc["detection"]) & SETTINGS


def test_sigma_fields_named_like_settings_are_fields() -> None:
    """In a rule read from Sigma, ``source`` is an event field like any other."""
    from backends.sigma import read_sigma

    text = (
        "title: t\nlogsource: {product: windows}\n"
        "detection: {sel: {source: x}, condition: sel}\n"
    )
    (rule,) = read_sigma(text)
    doc = yaml.safe_load(emit_sigma(rule).yaml)
    assert "source" in _fields(doc["detection"])


def test_table() -> None:
    assert sigma_source("sourcetype", "AWS:CloudTrail") is not None
    assert sigma_source("sourcetype", "nothing:known") is None
    assert vendor_product("crushftp:sessionlogs") == "crushftp"
    assert vendor_product("suricata") is None


def test_settings_scan_on_security_content() -> None:
    """``benchmarks/spl_settings_scan.py``'s check as a test (issue 22): every Sigma document
    written (lossy) from security_content's detections holds no search setting or time
    modifier as a detection field. The whole corpus (1,711 detections; about 10 s here).
    (``product: splunk`` documents, which the scan also counts, carry a ``logsource`` warning
    and are not asserted here.)"""
    from backends.spl.reader import prepare
    from benchmarks.spl_settings_scan import SETTINGS as SCANNED
    from benchmarks.spl_settings_scan import detection_fields
    from tests.conftest import shared
    from translator import api

    folder = shared("spl", "detections")
    table = api.macros(shared("spl", "macros"))
    prepare()
    documents = 0
    holding: dict[str, str] = {}
    for path in sorted(folder.rglob("*.yml")):
        try:
            rules = read_spl(path.read_text(encoding="utf-8"), str(path), macros=table)
        except RuleglotError:
            continue  # not read: counted by the read rate, not here
        for rule in rules:
            try:
                text = emit_sigma(rule, lossy=True).yaml
            except RuleglotError:
                continue
            for doc in yaml.safe_load_all(text):
                if not isinstance(doc, dict):
                    continue
                documents += 1
                for name in set(detection_fields(doc.get("detection"))) & SCANNED:
                    holding.setdefault(name, str(path))
    assert documents > 1400
    assert holding == {}


@pytest.mark.parametrize(
    ("spl", "service"),
    [
        # security_content's wineventlog_security and sysmon macros (the Windows part)
        ("(eventtype=wineventlog_security OR Channel=security OR "
         "source=XmlWinEventLog:Security) EventCode=4720", "security"),
        ('(eventtype=wineventlog_application OR source="XmlWinEventLog:Application") '
         "EventCode=1000", "application"),
        ("(sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational OR "
         "source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational) EventCode=1", "sysmon"),
    ],
)  # fmt: skip
def test_setting_naming_the_channel_is_the_service(spl: str, service: str) -> None:
    """An eventtype of the Windows add-on, or the legacy Sysmon source type, ORed with the
    channel's own ``source``: every rendering of that channel, Sigma's service, no warning
    about the log source (CHANNEL_SETTINGS)."""
    doc, constructs = _lossy(spl)
    assert doc["logsource"] == {"product": "windows", "service": service}
    assert not constructs & {"logsource", "eventtype", "sourcetype", "source"}
    assert not _fields(doc["detection"]) & SETTINGS
    (rule,) = read_spl(spl)
    assert yaml.safe_load(emit_sigma(rule).yaml)["logsource"]["service"] == service  # strict


@pytest.mark.parametrize(
    "spl",
    [
        "eventtype=wineventlog_system EventCode=7045",  # alone: the evaluator has no eventtype
        "(eventtype=wineventlog_security OR source=XmlWinEventLog:System) EventCode=1",
        "(eventtype=other OR Channel=security) EventCode=4720",
    ],
)
def test_setting_naming_the_channel_alone_stays_loud(spl: str) -> None:
    """Without the channel's own ``source``/``Channel`` in the same OR (or with an eventtype
    the table does not know), the setting is still reported, never silently a service."""
    _, constructs = _lossy(spl)
    assert constructs & {"logsource", "eventtype"}


def test_channel_settings_table() -> None:
    from backends.sigma.splunk_sources import setting_channel

    assert setting_channel("eventtype", "WinEventLog_Security") == "Security"
    assert setting_channel("sourcetype", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational") \
        == "Microsoft-Windows-Sysmon/Operational"
    assert setting_channel("source", "wineventlog_security") is None
    assert setting_channel("eventtype", "okta_log") is None
