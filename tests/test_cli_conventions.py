"""The command-line conventions a new user meets first (issue 27): ``--events`` with several
paths, glob patterns and ``-``; tables that stay one line a row in a pipe; the missing-field
warning that leaves out what the search makes itself; a hint at the right ``--from``; the
versions ``--version`` names."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from ir.fielduse import fields_from_events
from translator import parse
from translator.cli import main
from translator.cli_common import spread_values

RULE = """\
title: Whoami
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
"""
HIT = {"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\w\\whoami.exe"}


def run(args: list[str], **kwargs):
    return CliRunner().invoke(main, args, catch_exceptions=False, **kwargs)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "rule.yml").write_text(RULE)
    folder = tmp_path / "logs"
    folder.mkdir()
    for name in ("a.jsonl", "b.jsonl"):
        (folder / name).write_text(json.dumps(HIT) + "\n")
    return folder


def _matched_files(result) -> list[str]:
    return sorted(Path(json.loads(x)["events_file"]).name for x in result.stdout.splitlines())


def test_events_takes_several_paths(logs: Path) -> None:
    rule = str(logs.parent / "rule.yml")
    result = run(["eval", rule, "--events", str(logs / "a.jsonl"), str(logs / "b.jsonl")])
    assert result.exit_code == 0, result.output
    assert _matched_files(result) == ["a.jsonl", "b.jsonl"]
    assert "from 2 file(s)" in result.stderr


def test_events_takes_a_glob_pattern_the_shell_left_alone(logs: Path) -> None:
    result = run(["eval", str(logs.parent / "rule.yml"), "--events", str(logs / "*.jsonl")])
    assert result.exit_code == 0, result.output
    assert _matched_files(result) == ["a.jsonl", "b.jsonl"]


def test_a_pattern_that_matches_nothing_is_an_input_error(logs: Path) -> None:
    result = run(["eval", str(logs.parent / "rule.yml"), "--events", str(logs / "*.json")])
    assert result.exit_code == 2
    assert "no file matches the pattern" in result.stderr


def test_events_from_standard_input(logs: Path) -> None:
    result = run(["eval", str(logs.parent / "rule.yml"), "--events", "-"],
                 input=json.dumps(HIT) + "\n" + json.dumps({"EventID": 1}) + "\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["event_index"] for x in result.stdout.splitlines()] == [0]


def test_check_takes_several_event_files(logs: Path) -> None:
    result = run(["check", str(logs.parent / "rule.yml"), "--events", str(logs / "a.jsonl"),
                  str(logs / "b.jsonl"), "--no-generated", "--format", "json", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["events"] == 2


def test_rules_after_events_get_a_hint(logs: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--events", str(logs), str(logs.parent)])
    assert result.exit_code == 2
    assert "put RULES before it" in result.output


@given(
    st.lists(st.text(st.characters(categories=["L", "N", "P"]), min_size=1).filter(
        lambda v: not v.startswith("-") or v == "-"), min_size=1, max_size=5),
    st.lists(st.sampled_from(["--no-generated", "--all"]), max_size=2),
)
def test_spread_values_gives_each_value_its_option(values: list[str], after: list[str]) -> None:
    spread = spread_values(["rules/", "--events", *values, *after], ["--events"])
    assert spread == ["rules/", *[x for v in values for x in ("--events", v)], *after]


def test_spread_values_stops_at_double_dash() -> None:
    assert spread_values(["--events", "a", "--", "b"], ["--events"]) == [
        "--events", "a", "--", "b"]
    assert spread_values(["--events=a", "b"], ["--events"]) == ["--events=a", "--events", "b"]


def test_piped_table_keeps_each_row_on_one_line(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*[f"folder_with_a_long_name_{n}" for n in range(6)])
    deep.mkdir(parents=True)
    (deep / "whoami_rule_with_a_long_file_name.yml").write_text(RULE)
    result = run(["check", str(tmp_path), "--all", "--no-generated", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "equivalent" in line]
    assert len(rows) == 1
    assert str(deep / "whoami_rule_with_a_long_file_name.yml") in rows[0]


SEARCH = ('EventCode=4688 | eval cmd=lower(CommandLine) | rex field=cmd "(?<tool>\\w+)\\.exe" '
          '| rename tool AS program | where program="whoami" OR cmd="x" OR Missing="y"')


def test_fields_the_search_makes_are_not_read_from_events() -> None:
    (rule,) = parse(SEARCH, "spl")
    assert fields_from_events(rule.stages) == {"EventCode", "CommandLine", "Missing"}
    (counter,) = parse("x=1 | eval n=n+1 | where n>2", "spl")
    assert fields_from_events(counter.stages) == {"x", "n"}  # n is read before it is made


def test_eval_warning_leaves_out_fields_the_search_makes(tmp_path: Path) -> None:
    search = tmp_path / "s.spl"
    search.write_text(SEARCH + "\n")
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps({"EventCode": 4688, "CommandLine": "whoami.exe"}) + "\n")
    result = run(["eval", "--from", "spl", str(search), "--events", str(events)])
    warning = [x for x in result.stderr.splitlines() if "no event has" in x]
    assert warning and "Missing (1)" in warning[0]
    for made in ("cmd", "tool", "program"):
        assert f" {made} (" not in warning[0]


def test_wrong_from_suggests_the_right_one(tmp_path: Path) -> None:
    (tmp_path / "rule.yml").write_text(RULE)
    as_spl = run(["translate", "--from", "spl", str(tmp_path / "rule.yml"), "--to", "sigma"])
    assert as_spl.exit_code == 2
    assert "looks like Sigma: try --from sigma" in as_spl.stderr
    detection = tmp_path / "detection.yml"
    detection.write_text("name: X\nsearch: '`sysmon` EventCode=1'\ntags:\n  analytic_story: [a]\n")
    as_sigma = run(["translate", str(detection), "--to", "spl"])
    assert "looks like SPL: try --from spl" in as_sigma.stderr
    search = tmp_path / "q.spl"
    search.write_text("EventCode=1 | stats count\n")
    assert "try --from spl" in run(["eval", str(search), "--events", "-"], input="").stderr


def test_right_from_gives_no_hint(tmp_path: Path) -> None:
    (tmp_path / "broken.yml").write_text(RULE.replace("condition: selection", "condition: nope"))
    result = run(["translate", str(tmp_path / "broken.yml"), "--to", "spl"])
    assert result.exit_code == 2 and "try --from" not in result.stderr


def test_version_names_the_libraries_it_runs_with() -> None:
    result = run(["--version"])
    assert result.exit_code == 0
    for name in ("ruleglot", "pySigma", "pySigma-backend-splunk", "lark"):
        assert f"{name} {version(name)}" in result.stdout


def test_a_rule_from_standard_input() -> None:
    result = run(["translate", "-", "--to", "spl", "--logsources", "none"],
                 input=RULE.replace("'\\whoami.exe'", "'\\stdin.exe'"))
    assert result.exit_code == 0, result.output
    assert "stdin.exe" in result.stdout
    broken = run(["translate", "-", "--to", "spl"], input="title: x\n")
    assert broken.exit_code == 2 and broken.stderr.startswith("-:")


@pytest.mark.parametrize("lines", [1, 400])
def test_a_closed_pipe_ends_quietly_like_git(tmp_path: Path, lines: int) -> None:
    """``ruleglot translate ... | head -1``: standard output's reader is gone before ruleglot
    writes (or while it writes, past the pipe's buffer): exit 141 (128 + SIGPIPE, git's
    status), nothing on stderr (click's own handler exited 1, read as a failure)."""
    import subprocess
    import sys

    for i in range(lines):
        (tmp_path / f"r{i}.spl").write_text(f'index=main CommandLine="*{"x" * 200}{i}*"\n')
    command = [sys.executable, "-c", "from translator.cli import main; main()", "translate",
               str(tmp_path), "--from", "spl", "--to", "spl", "--jobs", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes away at once
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, errors
    assert "Traceback" not in errors and "BrokenPipe" not in errors
