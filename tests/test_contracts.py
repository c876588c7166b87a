"""Contracts kept loudly (issue 21): strict translate writes nothing it would warn about,
savedsearches.conf values survive Splunk's line rules, pages link only web URLs and carry a
Content-Security-Policy, BOM-prefixed inputs read."""

from __future__ import annotations

import base64
import codecs
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends.sigma.reader import read_sigma
from backends.spl.emit import emit_spl_result, savedsearch
from ir.errors import RuleglotError
from translator.cli import main
from translator.pages import is_web_url

from .conftest import shared

PROCESS_RULE = """title: {title}
description: {description}
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine: {value}
    condition: selection
"""


def test_strict_translate_refuses_what_it_would_warn_about(tmp_path: Path) -> None:
    rule = shared("sigma", "rules", "windows", "builtin", "openssh",
                  "win_sshd_openssh_server_listening_on_socket.yml")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["translate", str(rule), "--to", "spl", "-o", str(out)])
    assert result.exit_code == 2
    assert f"{rule}:22:18: unsupported: field 'process'" in result.output
    assert not list(out.rglob("*.spl"))  # nothing written for that rule
    lossy = CliRunner().invoke(main, ["translate", str(rule), "--to", "spl", "--lossy"])
    assert lossy.exit_code == 0 and "lossy: field:" in lossy.output


def _conf_stanzas(text: str) -> dict[str, dict[str, str]]:
    """savedsearches.conf as Splunk reads it: a line ending with a backslash continues on the
    next (the line break kept), ``key = value`` lines, ``[stanza]`` headers."""
    stanzas: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        while line.endswith("\\") and index + 1 < len(lines):
            index += 1
            line = line[:-1] + "\n" + lines[index]
        index += 1
        if line.startswith("[") and line.rstrip().endswith("]") and "\n" not in line:
            current = stanzas.setdefault(line.strip()[1:-1], {})
        elif " = " in line and current is not None:
            key, value = line.split(" = ", 1)
            assert key not in current, f"{key} set twice"
            current[key] = value
        else:
            assert not line.strip(), f"a line that is no key: {line!r}"
    return stanzas


def test_savedsearches_values_keep_their_line_breaks_inside_the_value() -> None:
    description = json.dumps("first\nsecond = injected\n[stanza]\r\nends with C:\\")
    rule = read_sigma(PROCESS_RULE.format(title="T", description=description,
                                          value=json.dumps("a\nb")))[0]
    written = emit_spl_result(rule)
    text = savedsearch(rule, written.commands)
    stanzas = _conf_stanzas(text)
    assert list(stanzas) == ["T"]
    values = stanzas["T"]
    assert set(values) == {
        "search", "description", "cron_schedule", "enableSched", "disabled",
        "dispatch.earliest_time", "dispatch.latest_time",
    }
    assert values["description"] == "first\nsecond = injected\n[stanza]\nends with C:\\ "
    assert 'CommandLine="a\nb"' in values["search"]


def test_savedsearches_refuses_a_search_line_ending_with_a_backslash() -> None:
    rule = read_sigma(PROCESS_RULE.format(title="T", description="d",
                                          value=json.dumps("x\\\ny")))[0]
    with pytest.raises(RuleglotError) as caught:
        savedsearch(rule, emit_spl_result(rule).commands)
    assert caught.value.construct == "savedsearches"


@pytest.mark.parametrize("url, web", [
    ("https://example.com/x", True), ("HTTP://example.com", True),
    ("javascript:alert(4)", False), (" java\tscript:alert(5)", False),
    ("\x01javascript:alert(1)", False), ("data:text/html,<script>", False),
    ("vbscript:x", False), ("//example.com", False), ("https:", False),
])
def test_only_web_urls_are_links(url: str, web: bool) -> None:
    assert is_web_url(url) is web


def test_pages_link_only_web_references_and_carry_a_policy(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "xss.yml").write_text(
        "title: XSS\nreferences:\n  - 'javascript:alert(4)'\n  - 'https://example.com/r'\n"
        + PROCESS_RULE.split("\n", 2)[2].format(value="x"))
    page = CliRunner().invoke(main, ["explain", str(rules / "xss.yml"), "--format", "html"])
    assert page.exit_code == 0, page.output
    assert 'href="javascript' not in page.stdout
    assert '<a href="https://example.com/r"' in page.stdout
    site = tmp_path / "site"
    built = CliRunner().invoke(main, ["catalog", str(rules), "-o", str(site)])
    assert built.exit_code == 0, built.output
    for html in [page.stdout, *(p.read_text() for p in site.rglob("*.html"))]:
        assert 'http-equiv="Content-Security-Policy"' in html
        assert 'href="javascript' not in html
    index = (site / "index.html").read_text()
    script = re.search(r"<script>(.*?)</script>", index, re.DOTALL)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"sha256-{digest}" in index  # the policy allows exactly the script the page has
    assert "onsubmit" not in index  # no inline handler the policy would block


def test_bom_prefixed_inputs_are_read(tmp_path: Path) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_bytes(codecs.BOM_UTF8 + PROCESS_RULE.format(
        title="T", description="d", value="x").encode())
    events = tmp_path / "events.jsonl"
    event = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "CommandLine": "x"}
    events.write_bytes(codecs.BOM_UTF8 + (json.dumps(event) + "\n").encode() * 2)
    result = CliRunner().invoke(main, ["eval", str(rule), "--events", str(events)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["event_index"] for line in result.stdout.splitlines()] == [0, 1]


def test_savedsearches_deployment_fields() -> None:
    """An alert Splunk can run: window, schedule, actions, annotations; unique names are the
    caller's (``name``), and a bad action name is refused rather than written."""
    from backends.spl.emit import Deployment

    text = PROCESS_RULE.format(title=json.dumps("T [x]\n y"), description='"d"', value='"v"')
    rule = read_sigma(text)[0]
    rule = dataclasses.replace(rule, tags=("attack.t1059.001", "attack.execution"))
    commands = emit_spl_result(rule).commands
    default = _conf_stanzas(savedsearch(rule, commands))
    assert list(default) == ["T x y"]
    values = default["T x y"]
    assert values["dispatch.earliest_time"] == "-15m" and values["dispatch.latest_time"] == "now"
    assert values["enableSched"] == "0" and "actions" not in values
    assert values["action.correlationsearch.annotations"] == '{"mitre_attack": ["T1059.001"]}'

    deployed = Deployment(
        cron="0 * * * *", earliest="-1h@h", latest="@h", schedule=True,
        actions=("notable", "email", "notable"), name="T (2)",
    )
    values = _conf_stanzas(savedsearch(rule, commands, deployed))["T (2)"]
    assert values["cron_schedule"] == "0 * * * *" and values["enableSched"] == "1"
    assert values["dispatch.earliest_time"] == "-1h@h" and values["dispatch.latest_time"] == "@h"
    assert values["actions"] == "notable,email"
    assert values["action.notable"] == "1" and values["action.email"] == "1"
    assert values["counttype"] == "number of events" and values["quantity"] == "0"

    with pytest.raises(RuleglotError) as caught:
        savedsearch(rule, commands, Deployment(actions=("email\nsearch = x",)))
    assert caught.value.construct == "savedsearches"


def test_translate_writes_deployment_options(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(PROCESS_RULE.format(title="T", description='"d"', value='"v"'), "utf-8")
    args = ["translate", str(rule), "--to", "spl", "--format", "savedsearches",
            "--schedule", "5 * * * *", "--earliest", "-1h", "--alert-action", "email"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    values = _conf_stanzas(result.stdout)["T"]
    assert values["cron_schedule"] == "5 * * * *" and values["enableSched"] == "1"
    assert values["dispatch.earliest_time"] == "-1h" and values["actions"] == "email"


def test_translate_writes_one_stanza_per_rule(tmp_path: Path) -> None:
    """Two rules titled alike: Splunk would merge their stanzas into one search."""
    for name in ("a.yml", "b.yml"):
        (tmp_path / name).write_text(
            PROCESS_RULE.format(title="Same", description='"d"', value=json.dumps(name)), "utf-8"
        )
    result = CliRunner().invoke(
        main, ["translate", str(tmp_path), "--to", "spl", "--format", "savedsearches"]
    )
    assert result.exit_code == 0, result.output
    stanzas = _conf_stanzas(result.stdout)
    assert list(stanzas) == ["Same", "Same (2)"]
    assert 'CommandLine="a.yml"' in stanzas["Same"]["search"]
    assert 'CommandLine="b.yml"' in stanzas["Same (2)"]["search"]
