"""The public batch API (``translator.read_rules`` / ``translate_rule`` / ``check_rules``): what a
migration script relies on. Per-file errors are values, never a raised batch; results carry
positioned issues; ``to_dict()`` is what the command line prints for the same input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import translator
from translator.cli import main

SIGMA_RULE = """\
title: Whoami
id: 11111111-0000-4000-8000-000000000001
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
"""

SPL_OK = 'EventCode=4688 CommandLine="*whoami*"\n'
SPL_STATS = "EventCode=4688 | stats count by host\n"
SPL_BROKEN = "EventCode=4688 | stats count(\n"


@pytest.fixture
def spl_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "searches"
    folder.mkdir()
    (folder / "a_ok.spl").write_text(SPL_OK)
    (folder / "b_stats.spl").write_text(SPL_STATS)
    (folder / "c_broken.spl").write_text(SPL_BROKEN)
    return folder


def test_every_public_name_is_importable_from_the_package() -> None:
    for name in translator.__all__:
        assert getattr(translator, name) is not None, name
    assert set(translator.__all__) == set(translator._SOURCES)
    with pytest.raises(AttributeError):
        translator.no_such_name  # noqa: B018


def test_read_rules_keeps_a_bad_file_as_an_issue(spl_folder: Path) -> None:
    rules = translator.read_rules(spl_folder, "spl")
    assert [Path(r.path).name for r in rules] == ["a_ok.spl", "b_stats.spl"]
    (issue,) = rules.errors
    assert Path(issue.path or "").name == "c_broken.spl"
    assert (issue.category, issue.construct, issue.line, issue.col) == ("syntax", "stats", 1, 30)


def test_read_rules_suggests_the_language_a_file_is_in(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(SIGMA_RULE)
    rules = translator.read_rules(tmp_path / "rule.yml", "spl")
    assert len(rules) == 0
    assert "language='sigma'" in rules.errors[0].message


def test_translate_rule_reports_status_with_positioned_issues(spl_folder: Path) -> None:
    ok, stats = translator.read_rules(spl_folder, "spl")
    done = translator.translate_rule(ok, "sigma")
    assert done.status == "ok" and "CommandLine|contains: whoami" in (done.text or "")
    refused = translator.translate_rule(stats, "sigma")
    assert refused.status == "error" and refused.text is None
    (error,) = refused.errors
    assert (error.construct, error.category, error.line, error.col) == (
        "stats", "unsupported", 1, 18)
    lossy = translator.translate_rule(stats, "sigma", lossy=True)
    assert lossy.status == "lossy" and lossy.text and not lossy.errors
    assert [w.construct for w in lossy.warnings] == ["stats"]
    assert lossy.warnings[0].category is None  # a warning, not an error


def test_translate_rule_takes_profiles_as_arguments(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(SIGMA_RULE)
    (rule,) = translator.read_rules(tmp_path, "sigma")
    windows = translator.translate_rule(rule, "spl")
    everywhere = translator.translate_rule(rule, "spl", logsources="none")
    assert "EventCode" in (windows.text or "")
    assert "EventCode" not in (everywhere.text or "")
    assert set(translator.LOGSOURCE_PROFILES) >= {"none", "windows"}


def test_translation_results_are_the_cli_report(spl_folder: Path, tmp_path: Path) -> None:
    """``TranslationResult.to_dict()`` is the entry ``ruleglot translate --report`` writes."""
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        main,
        ["translate", "--from", "spl", str(spl_folder), "--to", "sigma", "--lossy",
         "--report", str(report)],
    )
    assert result.exit_code == 2  # the broken file
    from_cli = json.loads(report.read_text())
    rules = translator.read_rules(spl_folder, "spl")
    from_api = [translator.translate_rule(r, "sigma", lossy=True).to_dict() for r in rules]
    by_path = {e["path"]: e for e in from_cli if "title" in e}  # not the read error's entry
    assert [by_path[e["path"]] for e in from_api] == from_api
    assert [e["status"] for e in from_api] == ["ok", "lossy"]


def test_check_rules_gives_verdicts_and_counterexamples(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(SIGMA_RULE)
    rules = translator.read_rules(tmp_path, "sigma")
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps({"Channel": "Security", "EventID": 4688,
                                  "NewProcessName": "C:\\w\\whoami.exe"}) + "\n")
    given = translator.read_events([str(tmp_path / "*.jsonl")])
    assert len(given) == 1 and given.origins == [f"{events}#0"]
    (verdict,) = translator.check_rules(rules, "spl", given, generated=False)
    assert verdict.status == "equivalent" and verdict.counterexample is None
    assert verdict.events == 1
    cli = CliRunner().invoke(
        main, ["check", str(tmp_path / "r.yml"), "--events", str(events), "--no-generated",
               "--format", "json", "--jobs", "1"])
    assert json.loads(cli.stdout) == [verdict.to_dict()]


def test_check_rules_finds_a_counterexample_on_plain_dicts() -> None:
    (rule,) = translator.parse(SPL_OK, "spl")
    loaded = translator.LoadedRule("search.spl", rule, "spl")
    # EventCode 4688 without a Channel: the SPL search matches, the Sigma rule's windows
    # log source (Security 4688) does not select it
    event = {"EventCode": 4688, "CommandLine": "a whoami b"}
    (verdict,) = translator.check_rules([loaded], "sigma", [event], generated=False)
    assert verdict.status == "differs"
    assert verdict.counterexample is not None
    assert (verdict.counterexample.source, verdict.counterexample.translation) == (True, False)
    assert verdict.counterexample.origin == "event 0"


def test_read_events_reports_a_pattern_that_matches_nothing(tmp_path: Path) -> None:
    found = translator.read_events(str(tmp_path / "none*.jsonl"))
    assert len(found) == 0
    (issue,) = found.errors
    assert issue.category == "io" and "no file matches" in issue.message
