"""SPL -> Sigma: a search over Windows and Linux Sysmon (security_content's ``sysmon`` macro) is
the union of two Sigma log sources, written as a rule collection (issue 19).

The Windows rule reads the Sysmon channel (``service: sysmon``); the Linux rule, the same
detection under ``product: linux`` and the category of its EventID (pySigma's Sysmon table, as
SigmaHQ's Linux rules read process_creation, file_event, network_connection), with its own
id ``related`` to the first.
An EventID Sysmon for Linux never writes (7, 22...) makes the Linux part empty: one rule, exact.
``ruleglot check`` compares the search with the union: on the windows profile's events the
Linux rule selects none, so the union is the Windows rule.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection

from backends.sigma.emit import emit_sigma
from backends.spl import read_spl
from ir.errors import RuleglotError
from ir.nodes import LogSource, Rule
from translator.check import collection_member, read_back

#: security_content's ``sysmon`` macro, expanded
SYSMON = (
    "(sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational OR "
    "source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational OR "
    "source=Syslog:Linux-Sysmon/Operational)"
)


def _rule(search: str) -> Rule:
    """A security_content-shaped detection (it has an id) searching ``search`` under the
    expanded ``sysmon`` macro."""
    text = f"name: s\nid: {ID}\nsearch: '{SYSMON} {search}'\n"
    (rule,) = read_spl(text, "s.yml")
    return rule


ID = "6338266a-ee2a-11eb-bf68-acde48001122"


def _docs(search: str, lossy: bool = True) -> tuple[list[dict[str, Any]], list[str], str]:
    rule = _rule(search)
    result = emit_sigma(rule, lossy=lossy)
    docs = list(yaml.safe_load_all(result.yaml))
    return docs, [w["construct"] for w in result.warnings], result.yaml


@pytest.mark.parametrize(
    ("search", "category"),
    [
        ("EventCode=1 process_name=curl CommandLine=*http*", "process_creation"),
        ("EventCode=11 TargetFilename=*.so", "file_event"),
        ("EventCode=3 DestinationPort=4444", "network_connection"),
        ("EventCode=10 TargetImage=*lsass.exe", "process_access"),  # Linux: ptrace
        ("(EventCode=1 OR EventCode=7) Image=x", "process_creation"),  # no Linux 7
    ],
)
def test_windows_and_linux_sysmon_is_a_collection(search: str, category: str) -> None:
    docs, constructs, text = _docs(search)
    assert constructs == []
    windows, linux = docs
    assert windows["logsource"] == {"product": "windows", "service": "sysmon"}
    assert linux["logsource"] == {"product": "linux", "category": category}
    assert linux["detection"] == windows["detection"]
    assert windows["id"] == ID and linux["id"] != ID
    assert linux["related"] == [{"id": windows["id"], "type": "similar"}]
    assert len(SigmaCollection.from_yaml(text).rules) == 2  # pySigma reads the collection
    # strict: nothing to refuse
    rule = _rule(search)
    assert len(list(yaml.safe_load_all(emit_sigma(rule).yaml))) == 2


def test_an_event_linux_sysmon_never_writes_is_one_exact_rule() -> None:
    """Image loads (7) exist only in Windows Sysmon: the Linux part selects nothing."""
    docs, constructs, _ = _docs("EventCode=7 ImageLoaded=*\\\\evil.dll")
    assert len(docs) == 1 and constructs == []
    docs, constructs, _ = _docs("(EventCode=17 OR EventCode=18) PipeName=x")
    assert len(docs) == 1 and constructs == []


@pytest.mark.parametrize(
    "search",
    [
        "EventCode=4 State=Stopped",  # service state: Linux writes it, sysmon_status is 4, 16
        "process_name=curl",  # no EventID: no one category
        "(EventCode=1 OR EventCode=3) Image=x",  # two categories
    ],
)
def test_no_linux_rule_keeps_the_warning(search: str) -> None:
    docs, constructs, _ = _docs(search)
    assert len(docs) == 1 and "logsource" in constructs
    rule = _rule(search)
    with pytest.raises(RuleglotError) as caught:
        emit_sigma(rule)
    assert caught.value.construct == "logsource"
    assert caught.value.line == 3  # positioned on the search line


def test_check_reads_the_collection_as_its_windows_rule() -> None:
    _, _, text = _docs("EventCode=1 process_name=curl")
    back = read_back(text, "sigma")
    assert back.logsource.product == "windows" and back.logsource.service == "sysmon"
    linux = Rule("l", (), LogSource(product="linux", category="process_creation"))
    with pytest.raises(RuleglotError) as caught:
        collection_member([back, back, linux], "windows")  # two rules the profile maps
    assert caught.value.construct == "collection"
    assert collection_member([linux, back], "windows") is back


def test_check_finds_the_collection_equivalent(tmp_path: Any) -> None:
    """``ruleglot check`` on a sysmon-macro search: the union decides every given and
    generated event as the search does (status lossy only for the dropped stats)."""
    entry = _checked(
        tmp_path,
        "name: s\nid: 6338266a-ee2a-11eb-bf68-acde48001122\n"
        "search: '`sysmon` EventCode=1 process_name=cmd.exe | stats count by dest'\n",
    )
    assert entry["status"] == "lossy" and "counterexample" not in entry
    assert {w["construct"] for w in entry["warnings"]} == {"stats"}
    assert entry["translation"].count("\ntitle:") == 1  # two documents
    assert entry["generated"] > 10


def test_check_compares_a_shaping_only_correlation_on_its_event_rule(tmp_path: Any) -> None:
    """A threshold search whose Sigma correlation only renames and drops result columns
    (every warning ``shaping``, once the source macro's eventtype is the Security channel)
    makes no row for one event alone: found by ``check`` on security_content's
    windows_multiple_invalid_users_failed_to_authenticate_using_ntlm (all 10 such rules
    'differed'). It is compared on the correlation's event rule, the leading filters."""
    entry = _checked(
        tmp_path,
        "name: c\nid: 57ad5a64-9df7-11eb-a290-acde48001122\n"
        "search: '`wineventlog_security` EventCode=4776 Status=0xc0000064 | bucket span=5m _time"
        " | stats dc(TargetUserName) AS unique_accounts by _time, Workstation"
        " | where unique_accounts > 30'\n",
    )
    assert "\ncorrelation:" in entry["translation"]
    assert all(w["effect"] == "shaping" for w in entry["warnings"])
    assert entry["status"] == "lossy" and entry["compared"] == "leading filters"
    assert "counterexample" not in entry


def _checked(tmp_path: Any, detection: str) -> dict[str, Any]:
    """``ruleglot check --from spl --to sigma --lossy`` on one security_content-shaped
    ``detection`` (macros from the shared corpus): its one JSON entry."""
    import json

    from click.testing import CliRunner

    from tests.conftest import shared
    from translator.cli import main

    macros = shared("spl", "macros")
    path = tmp_path / "d.yml"
    path.write_text(detection)
    result = CliRunner().invoke(main, [
        "check", "--from", "spl", "--to", "sigma", "--lossy", "--macros", str(macros),
        str(path), "--format", "json",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert isinstance(entry, dict)
    return entry


def test_the_linux_categories_are_the_documented_ones() -> None:
    """``LINUX_SYSMON_CATEGORIES`` is generated from pySigma's Sysmon table; the categories
    ``docs/semantics.md`` and ``splunk_sources`` name are these, ``sysmon_error`` included."""
    from backends.sigma.splunk_sources import LINUX_SYSMON_CATEGORIES

    assert LINUX_SYSMON_CATEGORIES == {
        1: "process_creation", 3: "network_connection", 5: "process_termination",
        9: "raw_access_thread", 10: "process_access", 11: "file_event", 23: "file_delete",
        255: "sysmon_error",
    }  # fmt: skip


def test_the_report_names_every_rule_of_the_collection(tmp_path: Any) -> None:
    """``translate --report`` on a search over Windows and Linux Sysmon names both rules it
    wrote (``rule_ids``: the Windows rule's id, the source's, and the Linux rule's own), and a
    one-rule translation's entry is as before (no ``rule_ids``)."""
    import json

    from click.testing import CliRunner

    from translator.cli import main

    path = tmp_path / "s.yml"
    path.write_text(f"name: s\nid: {ID}\nsearch: '{SYSMON} EventCode=1 process_name=curl'\n")
    one = tmp_path / "one.yml"
    one.write_text(f"name: o\nid: {ID}\nsearch: '{SYSMON} EventCode=7 ImageLoaded=x'\n")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, [
        "translate", "--from", "spl", "--to", "sigma", str(path), str(one),
        "--report", str(report), "-o", str(tmp_path / "out"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    entries = {e["title"]: e for e in json.loads(report.read_text())}
    written = list(yaml.safe_load_all((tmp_path / "out" / "s.yml").read_text()))
    assert entries["s"]["rule_ids"] == [d["id"] for d in written]
    assert len(written) == 2 and entries["s"]["rule_ids"][0] == ID
    assert "rule_ids" not in entries["o"]
