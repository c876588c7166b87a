"""The equivalence harness: event generation (ir/generate.py) and ``ruleglot check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings

from backends.sigma import read_sigma
from backends.spl import read_spl_search
from backends.spl.emit import emit_spl_result
from ir.evaluator import compile_expr
from ir.events import Event
from ir.generate import generate, generated_events_strategy
from ir.nodes import Filter, Rule
from translator import api
from translator.api import compile_rules, field_profile
from translator.cli import main

from .conftest import shared

RULE = """
title: question mark, exclusion and two selections
logsource:
  product: windows
  category: process_creation
detection:
  sel_image:
    Image|endswith: '\\a?c.exe'
  sel_cmd:
    CommandLine|contains|all: ['-enc', 'hidden']
  filter:
    User: 'SYSTEM'
  condition: (sel_image or sel_cmd) and not filter
"""


def _rule(text: str = RULE) -> Rule:
    return read_sigma(text, "rule.yml")[0]


def _write(tmp_path: Path, text: str = RULE, name: str = "rule.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- generation --------------------------------------------------------------------------------


def test_generation_is_deterministic_for_a_seed() -> None:
    windows = api.profile("windows")
    first = [g.fields for g in generate(_rule(), profile=windows, seed=7)]
    again = [g.fields for g in generate(_rule(), profile=windows, seed=7)]
    assert first == again and len(first) > 20


def test_generation_is_the_same_in_every_process() -> None:
    """Python hashes strings differently in each process; generated events must not follow
    (rstr drew a negated class's and ``\\W``'s characters in set order)."""
    code = (
        "import random\n"
        "from ir.generate import _regex_samples\n"
        "from ir.nodes import Regex\n"
        "rng = random.Random(3)\n"
        "print([_regex_samples(Regex(p), rng) for p in ('[^a]{30}', '\\\\W{30}', 'x[^0-9]+y')])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "2", "3")
    }
    assert len(outputs) == 1, outputs


def test_every_branch_and_the_exclusion_are_exercised() -> None:
    rule = _rule()
    events = [g.event() for g in generate(rule, profile=api.profile("windows"))]
    (expr,) = [s.expr for s in rule.stages if isinstance(s, Filter)]
    image, cmd = (compile_expr(e) for e in expr.args[0].args)  # type: ignore[attr-defined]
    excluded = compile_expr(expr.args[1].arg)  # type: ignore[attr-defined]
    compiled = compile_rules([rule], "windows")[0]
    matched = [e for e in events if compiled.matches(e)]
    assert any(image(e) and not cmd(e) for e in matched), "selection 1 alone decides"
    assert any(cmd(e) and not image(e) for e in matched), "selection 2 alone decides"
    suppressed = [e for e in events if (image(e) or cmd(e)) and excluded(e)]
    assert suppressed and not any(compiled.matches(e) for e in suppressed
                                  if e.get("Channel") is not None)
    # an |all on one field is met by one value holding both texts
    assert any("-enc" in str(e.get("CommandLine")) and "hidden" in str(e.get("CommandLine"))
               for e in matched)


def test_near_misses_are_the_ways_translations_go_wrong() -> None:
    values = [g.fields.get("Image", "<missing>") for g in generate(
        _rule(), profile=api.profile("windows"), limit=5000)]
    texts = {v for v in values if isinstance(v, str)}
    assert "\\axc.exe" in texts                      # the hit: ? is one character
    assert "\\AXC.EXE" in texts                      # case changed
    assert "axc.exe" in texts                        # one character less at the boundary
    assert "/axc.exe" in texts                       # the other slash
    assert "<missing>" in values and None in values and "" in values   # missing, null, empty
    assert any(isinstance(v, list) and len(v) == 2 for v in values)    # a list of values


def test_spl_rules_are_generated_in_event_field_names() -> None:
    stages = read_spl_search('source="WinEventLog:Security" EventCode=4688 process_name="evil.exe"')
    rule = Rule("spl", tuple(stages), language="spl")
    fields = field_profile("splunk_windows")
    made = generate(rule, fields=fields)
    witness = made[0].fields
    assert witness["Channel"] == "Security" and str(witness["EventID"]) == "4688"
    assert compile_rules([rule], "none", "splunk_windows")[0].matches(made[0].event())


def test_generated_events_strategy_feeds_property_tests() -> None:
    rule = _rule()
    spl = emit_spl_result(rule, logsources=api.profile("windows"), fields="splunk_windows")
    back = Rule("spl", tuple(read_spl_search(spl.text)), language="spl")
    source = compile_rules([rule], "windows")[0]
    target = compile_rules([back], "none", "splunk_windows")[0]
    seen: list[bool] = []

    @settings(max_examples=60, database=None)
    @given(generated_events_strategy([rule], profile=api.profile("windows")))
    def agree(event: Event) -> None:
        seen.append(source.matches(event))
        assert source.matches(event) == target.matches(event), event.fields

    agree()
    assert any(seen) and not all(seen)


def test_multi_valued_channel_reads_as_a_multi_valued_source() -> None:
    """Found by check: the field profile's prefix transform stringified a list."""
    fields = field_profile("splunk_windows")
    assert fields is not None
    event = fields.apply(Event.from_fields({"Channel": ["Security"], "EventID": 4688}))
    assert event.get("source") == ["WinEventLog:Security"]


# --- ruleglot check ------------------------------------------------------------------------------


def _check(*args: str) -> Any:
    return CliRunner().invoke(main, ["check", *args])


def test_check_a_correct_translation(tmp_path: Path) -> None:
    result = _check(str(_write(tmp_path)), "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "equivalent" and entry["generated"] > 20


@pytest.fixture
def broken_emitter(monkeypatch: pytest.MonkeyPatch) -> None:
    """A translation that writes Sigma's ``?`` as ``*`` (pySigma-backend-splunk's issue #55),
    the way ruleglot's SPL writes it: ``a.c`` -> ``a.*c``."""
    real = api.emit_translation

    def broken(rule: Rule, write: str = "ir", **options: Any) -> api.Translation:
        done = real(rule, write, **options)
        done.text = done.text.replace("a.c", "a.*c")
        return done

    monkeypatch.setattr(api, "emit_translation", broken)


def test_check_finds_a_minimal_counterexample(tmp_path: Path, broken_emitter: None) -> None:
    result = _check(str(_write(tmp_path)), "--format", "json")
    assert result.exit_code == 1, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "differs"
    example = entry["counterexample"]
    assert (example["source"], example["translation"]) == (False, True)
    event = example["event"]
    # nothing the difference does not need: the log source's two fields and the image
    assert set(event) == {"Channel", "EventID", "Image"}
    assert event["Image"].lower() == "\\ac.exe"


def test_check_table_for_people(tmp_path: Path, broken_emitter: None) -> None:
    result = _check(str(_write(tmp_path)))
    assert result.exit_code == 1
    assert "differs" in result.stdout and "counterexample" in result.stdout
    line = [x for x in result.stdout.splitlines() if x.startswith("{")][0]
    assert json.loads(line)["Image"].lower() == "\\ac.exe"     # copyable as an event line
    assert "1 differs" in result.stderr


def test_check_on_given_events_names_their_origin(tmp_path: Path, broken_emitter: None) -> None:
    events = tmp_path / "events.jsonl"
    rows = [{"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x\\abbc.exe"}]
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = _check(str(_write(tmp_path)), "--events", str(events), "--no-generated",
                    "--format", "json")
    assert result.exit_code == 1
    (entry,) = json.loads(result.stdout)
    assert entry["counterexample"]["origin"] == f"{events}#0"
    assert entry["generated"] == 0 and entry["events"] == 1


def test_check_on_two_cores_finds_what_one_core_finds(
    tmp_path: Path, broken_emitter: None
) -> None:
    """The given events split over two forked workers (the differing event in the second
    half: its index must come back right) and the generated events of the rules that agree on
    them run on both workers: the report is the one a single process writes."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for n in range(2):  # written wrong by the broken emitter
        _write(rules, RULE.replace("title: ", f"title: broken {n} "), f"broken{n}.yml")
        fine = RULE.replace("'\\a?c.exe'", f"'\\fine{n}.exe'")
        _write(rules, fine.replace("title: ", f"title: fine {n} "), f"fine{n}.yml")
    events = tmp_path / "events.jsonl"
    rows = [{"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x\\b.exe"}] * 8
    rows[5] = {**rows[5], "NewProcessName": "C:\\x\\abbc.exe"}
    events.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    args = [str(rules), "--events", str(events), "--format", "json", "--jobs"]
    one, two = _check(*args, "1"), _check(*args, "2")
    assert one.exit_code == two.exit_code == 1, two.output
    report = json.loads(two.stdout)
    assert report == json.loads(one.stdout)
    assert sorted(e["status"] for e in report) == ["differs", "differs", "equivalent", "equivalent"]
    for entry in report:
        if entry["status"] == "differs":
            assert entry["counterexample"]["origin"] == f"{events}#5"
        else:
            assert entry["generated"] > 20


def test_check_empty_wildcard_is_not_written_as_exists(tmp_path: Path) -> None:
    """Found by check on SigmaHQ's aws_rds_change_master_password: ``|contains: '*'`` was
    written ``f="*"``, which SPL reads as "f exists", true on a JSON null."""
    rule = RULE.replace("CommandLine|contains|all: ['-enc', 'hidden']", "CommandLine|contains: '*'")
    result = _check(str(_write(tmp_path, rule)), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "equivalent"


def test_check_refusals_and_bad_input(tmp_path: Path) -> None:
    cased_fieldref = RULE.replace("User: 'SYSTEM'", "User|fieldref|contains: Image")
    rules = tmp_path / "rules"
    rules.mkdir()
    _write(rules, cased_fieldref, "refused.yml")
    _write(rules, "title: [unclosed", "bad.yml")
    result = _check(str(rules), "--format", "json", "--report", str(tmp_path / "r.json"))
    report = json.loads((tmp_path / "r.json").read_text())
    statuses = {Path(e["path"]).name: e["status"] for e in report}
    assert statuses["refused.yml"] == "refused"
    assert statuses["bad.yml"] == "input-error"
    refused = next(e for e in report if e["status"] == "refused")
    assert refused["error"]["construct"] and refused["error"]["line"]
    assert result.exit_code == 2            # nothing differs; an input could not be read


SPL_LOSSY = """
name: lossy
search: '`wineventlog_security` EventCode=4720 | stats count by user'
"""


def test_check_spl_to_sigma_lossy_is_announced(tmp_path: Path) -> None:
    macros = shared("spl", "macros")
    path = _write(tmp_path, SPL_LOSSY, "lossy.yml")
    result = _check("--from", "spl", "--macros", str(macros), "--lossy", str(path),
                    "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    # the stats only shapes the output (lossy_effects), so the whole search is run on each
    # event alone: the Sigma rule requires the by-field as Splunk's stats counts no event
    # without it
    assert entry["status"] == "lossy"
    assert entry["compared"] == "each event alone makes a result row"
    effects = {w["construct"]: w["effect"] for w in entry["warnings"]}
    assert effects == {"stats": "shaping"}
    # the source macro's eventtype=wineventlog_security disjunct is the Security channel as
    # the Windows add-on defines it (backends/sigma/splunk_sources.CHANNEL_SETTINGS), ORed
    # with the channel itself: service security, no log-source warning; nothing differs
    assert "counterexample" not in entry
    assert entry["generated"] > 20


SPL_GAINS_WINDOWS = """
name: gains windows
search: 'EventCode=4720 TargetUserName=x*'
"""


def test_check_spl_generates_inside_the_translations_log_source(tmp_path: Path) -> None:
    """The translation gains ``product: windows`` (EventCode is a Windows field); events
    generated from the search get a Channel, so the exact translation is equivalent instead
    of differing on events without one (issue 22)."""
    path = _write(tmp_path, SPL_GAINS_WINDOWS, "gains.yml")
    result = _check("--from", "spl", str(path), "--format", "json", "--jobs", "1")
    (entry,) = json.loads(result.stdout)
    assert "product: windows" in entry["translation"]
    assert entry["status"] == "equivalent", entry.get("counterexample")
    assert entry["generated"] > 10


def test_check_strict_spl_to_sigma_is_refused(tmp_path: Path) -> None:
    macros = shared("spl", "macros")
    path = _write(tmp_path, SPL_LOSSY, "lossy.yml")
    result = _check("--from", "spl", "--macros", str(macros), str(path), "--format", "json")
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "refused" and entry["error"]["construct"] == "stats"


DNS_RULE = """
title: a DNS rule names `query`, which the Windows field profile extracts from QueryName
logsource:
  category: dns
detection:
  selection:
    query|endswith: '.telegram.org'
  condition: selection
"""


def test_field_profile_is_not_applied_to_a_macro_log_source(tmp_path: Path) -> None:
    """Found by check on SigmaHQ's net_dns_* rules: the SPL side read `query` through the
    Windows field profile (``query`` <- Sysmon ``QueryName``), so an event with only
    ``QueryName`` matched the translation and not the rule; a log source left to a macro is
    not the profile's Windows data."""
    result = _check(str(_write(tmp_path, DNS_RULE)), "--format", "json")
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "equivalent" and entry["compared"].startswith("detection only")
    linux = "title: t\nlogsource:\n  product: linux\ndetection:\n  s:\n    EventID: 4\n"
    written = emit_spl_result(read_sigma(linux + "  condition: s\n")[0])
    assert written.text == "`sigma_linux` EventID=4"    # no EventCode: not a Windows log source


def test_product_windows_needs_a_channel_with_a_value(tmp_path: Path) -> None:
    """Found by check on win_alert_mimikatz_keywords: ``product: windows`` alone was "Channel
    exists", true on a JSON null Channel, from which Splunk extracts no ``source``."""
    rule = read_sigma("title: t\nlogsource:\n  product: windows\ndetection:\n  s:\n    EventID: 4\n"
                      "  condition: s\n")[0]
    (compiled,) = compile_rules([rule], "windows")
    assert compiled.matches(Event.from_fields({"Channel": "Security", "EventID": 4}))
    assert not compiled.matches(Event.from_fields({"Channel": None, "EventID": 4}))
    assert emit_spl_result(rule).text == 'source="WinEventLog:*" EventCode=4'


def test_a_field_the_profile_extracts_from_another_is_announced(tmp_path: Path) -> None:
    """win_sshd_openssh_server_listening_on_socket names ``process``, which the add-on's CIM
    extraction fills from ``CommandLine`` on an event without it: a warning, so check reports
    the pair lossy (with the event) instead of a silent difference."""
    rule = ("title: t\nlogsource:\n  product: windows\n  service: openssh\ndetection:\n"
            "  s:\n    process: sshd\n  condition: s\n")
    result = _check(str(_write(tmp_path, rule)), "--format", "json")
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "lossy", result.output
    assert "'process'" in entry["warnings"][0]["message"]
    assert "CommandLine" in entry["warnings"][0]["message"]
    # named and positioned like every lossy warning: the rule's `process:` line
    assert (entry["warnings"][0]["construct"], entry["warnings"][0]["line"]) == ("field", 7)
    assert entry["counterexample"]["event"].get("CommandLine") is not None


def test_a_pipeline_with_a_log_source_reads_each_branch_with_its_aliases() -> None:
    """pySigma's ``| rex | eval | search`` queries run on the Sigma rule's log source: a 4688
    event's ``NewProcessName`` is read as ``Image`` there, as a filter rule reads it."""
    from ir.nodes import LogSource
    from translator.check import Decider

    stages = read_spl_search('Image="*\\\\cmd.exe" | eval x=1 | where x=1')
    rule = Rule("p", tuple(stages), LogSource("windows", "process_creation"), language="spl")
    decider = Decider(rule, "windows", "none")
    assert decider.compiled is None
    security = Event.from_fields(
        {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\cmd.exe"})
    sysmon = Event.from_fields({"Channel": "Microsoft-Windows-Sysmon/Operational",
                                "EventID": 1, "Image": "C:\\cmd.exe"})
    elsewhere = Event.from_fields({"Channel": "System", "EventID": 1, "Image": "C:\\cmd.exe"})
    assert [decider.matches(e) for e in (security, sysmon, elsewhere)] == [True, True, False]
    assert decider.match_many([security, sysmon, elsewhere], 10) == {10, 11}


SPL_SHAPING = """
name: shaping
search: 'source="XmlWinEventLog:Security" EventCode=4720
  | stats count min(_time) as firstTime by _time, Computer
  | convert ctime(firstTime) | rename Computer as dest'
"""


def test_check_holds_a_shaping_only_translation_to_the_whole_search(tmp_path: Path) -> None:
    """Every warning only shapes the output, so check runs the whole search on each event
    alone (generated events get the ``_time`` every Splunk event has) and finds no event the
    Sigma rule decides differently: a counterexample would make it ``differs``."""
    path = _write(tmp_path, SPL_SHAPING, "shaping.yml")
    result = _check("--from", "spl", "--lossy", str(path), "--format", "json", "--jobs", "1")
    (entry,) = json.loads(result.stdout)
    assert {w["effect"] for w in entry["warnings"]} == {"shaping"}
    assert entry["compared"] == "each event alone makes a result row"
    assert entry["status"] == "lossy" and "counterexample" not in entry
    assert entry["generated"] > 10


def test_generated_events_have_one_channel_and_event_id() -> None:
    """A tstats search over Endpoint.Processes (Sysmon 1 and Security 4688) against its Sigma
    translation: an event generated with ``Channel``/``EventID`` lists naming both sources at
    once is no Windows event, and must not be the counterexample of a ``differs`` (it was for
    177 security_content detections)."""
    path = shared("spl", "detections", "endpoint", "7zip_commandline_to_smb_share_path.yml")
    macros = shared("spl", "macros")
    result = _check(str(path), "--from", "spl", "--to", "sigma", "--lossy", "--macros",
                    str(macros), "--format", "json")  # fmt: skip
    (entry,) = json.loads(result.stdout)
    assert entry["status"] == "lossy", entry.get("counterexample")
    assert entry["generated"] > 20
