"""The command line as a user meets it: outputs, positioned errors, exit status, batches."""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

from click.testing import CliRunner
from sigma.collection import SigmaCollection

from ir import serialize
from translator.cli import main

SEED_RULE = """\
title: PSexec execution over SMB share
id: 7a0b1c2d-0000-4000-8000-000000000001
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 5145
    ShareName:
      - '\\\\*\\ADMIN$'
      - '\\\\*\\IPC$'
    RelativeTargetName|contains: PSEXESVC
  filter:
    SubjectUserName: '%admin_account%'
  condition: selection and not filter
"""

HIT = {
    "Channel": "Security",
    "EventID": 5145,
    "ShareName": "\\\\*\\IPC$",
    "RelativeTargetName": "PSEXESVC",
    "SubjectUserName": "bob",
}
EXCLUDED = {**HIT, "SubjectUserName": "%ADMIN_ACCOUNT%"}


def run(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def write_events(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_eval_prints_one_json_line_per_match(tmp_path: Path):
    rule = tmp_path / "psexec.yml"
    rule.write_text(SEED_RULE)
    events = write_events(
        tmp_path / "e.jsonl", [json.dumps(HIT), json.dumps(EXCLUDED), json.dumps(HIT)]
    )
    result = run(["eval", str(rule), "--events", str(events)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines == [
        {
            "rule_id": "7a0b1c2d-0000-4000-8000-000000000001",
            "rule_path": str(rule),
            "events_file": str(events),
            "event_index": i,
        }
        for i in (0, 2)
    ]
    assert "2 match(es)" in result.stderr


def test_batch_goes_on_past_bad_inputs_and_exits_2(tmp_path: Path):
    good = tmp_path / "a_good.yml"
    good.write_text(SEED_RULE)
    bad = tmp_path / "b_bad.yml"
    bad.write_text(
        "title: x\nlogsource: {product: windows}\ndetection:\n  sel:\n"
        "    a|nosuchmodifier: 1\n  condition: sel\n"
    )
    events = write_events(tmp_path / "e.jsonl", [json.dumps(HIT), "{not json", json.dumps(HIT)])
    result = run(["eval", str(tmp_path), "--events", str(events)])
    assert result.exit_code == 2
    # the good rule still ran on both good events
    assert [json.loads(x)["event_index"] for x in result.stdout.splitlines()] == [0, 2]
    assert re.search(rf"{re.escape(str(bad))}:5:\d+: invalid: .*nosuchmodifier", result.stderr)
    assert re.search(rf"{re.escape(str(events))}:2:\d+: events: ", result.stderr)


def test_malformed_yaml_is_a_positioned_syntax_error(tmp_path: Path):
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\ndetection: [unclosed\n")
    result = run(["parse", str(bad)])
    assert result.exit_code == 2
    assert re.search(rf"{re.escape(str(bad))}:\d+:\d+: syntax: ", result.stderr)


def test_parse_to_ir_loads_back_equal(tmp_path: Path):
    rule = tmp_path / "psexec.yml"
    rule.write_text(SEED_RULE)
    result = run(["parse", str(rule), "--to", "ir"])
    assert result.exit_code == 0, result.stderr
    loaded = serialize.loads(result.stdout)
    assert loaded.title == "PSexec execution over SMB share"
    assert loaded.logsource.service == "security"
    again = run(["parse", "--from", "ir", _write(tmp_path / "r.json", result.stdout)])
    assert serialize.loads(again.stdout) == loaded


def test_missing_file_is_an_io_error(tmp_path: Path):
    result = run(["parse", str(tmp_path / "nope.yml")])
    assert result.exit_code == 2
    assert "io: cannot read file" in result.stderr


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


SPL_STATS = (
    'source="XmlWinEventLog:Security" EventCode=5145 Relative_Target_Name=PSEXESVC* '
    "| stats count by host, Share_Name\n"
)


def test_eval_runs_an_spl_pipeline_through_the_field_profile(tmp_path: Path):
    search = tmp_path / "psexec.spl"
    search.write_text(SPL_STATS)
    events = write_events(
        tmp_path / "e.jsonl",
        [
            json.dumps(
                {
                    "Channel": "Security",
                    "EventID": 5145,
                    "Computer": "ws1",
                    "ShareName": "\\\\*\\IPC$",
                    "RelativeTargetName": "PSEXESVC.exe",
                }
            ),
            json.dumps(
                {
                    "Channel": "Security",
                    "EventID": 5145,
                    "Computer": "ws1",
                    "ShareName": "\\\\*\\IPC$",
                    "RelativeTargetName": "psexesvc-x.log",
                }
            ),
            json.dumps(
                {
                    "Channel": "Security",
                    "EventID": 5140,
                    "Computer": "ws1",
                    "ShareName": "\\\\*\\IPC$",
                    "RelativeTargetName": "PSEXESVC",
                }
            ),
            json.dumps(
                {
                    "Channel": "System",
                    "EventID": 5145,
                    "Computer": "ws2",
                    "RelativeTargetName": "PSEXESVC",
                }
            ),
        ],
    )
    result = run(["eval", "--from", "spl", str(search), "--events", str(events)])
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line)["row"] for line in result.stdout.splitlines()]
    # EventCode and source come from the profile; the search's value matching is case-insensitive
    assert rows == [{"host": "ws1", "Share_Name": "\\\\*\\IPC$", "count": 2}]


def test_spl_syntax_error_is_positioned_with_a_caret(tmp_path: Path):
    search = tmp_path / "bad.spl"
    search.write_text("index=main | eval x=(1+\n")
    result = run(["parse", "--from", "spl", str(search)])
    assert result.exit_code == 2
    assert re.search(rf"{re.escape(str(search))}:1:\d+: syntax: ", result.stderr)
    assert "^" in result.stderr


#: A field reference with ``contains``: SPL has no exact form for "the value of one field
#: inside another" (no regex escaping of a field's value in eval), so strict mode refuses it.
FIELDREF_RULE = """\
title: fieldref rule
logsource: {product: windows, service: security}
detection:
  sel:
    TargetUserName|fieldref|contains: SubjectUserName
  condition: sel
"""


def test_translate_makes_each_output_folder_again_in_a_new_run(tmp_path: Path):
    """Folders are made once per run (issue 24), not once per process: a second run into an
    output whose folders were removed still writes every file."""
    import shutil

    rules = tmp_path / "rules"
    for sub in ("a", "a/b"):
        (rules / sub).mkdir(parents=True)
        for name in ("one", "two"):
            (rules / sub / f"{name}.yml").write_text(SEED_RULE)
    out = tmp_path / "out"
    for _ in range(2):
        shutil.rmtree(out, ignore_errors=True)
        result = run(["translate", str(rules), "--to", "spl", "-o", str(out), "-j", "1"])
        assert result.exit_code == 0
        assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.spl")) == [
            "a/b/one.spl", "a/b/two.spl", "a/one.spl", "a/two.spl"
        ]


def test_translate_writes_one_file_per_input_and_a_report(tmp_path: Path):
    rules = tmp_path / "rules"
    (rules / "sub").mkdir(parents=True)
    (rules / "sub" / "psexec.yml").write_text(SEED_RULE)
    (rules / "fieldref.yml").write_text(FIELDREF_RULE)
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = run(["translate", str(rules), "--to", "spl", "-o", str(out),
                  "--report", str(report)])
    # strict: the fieldref rule cannot be carried over
    assert result.exit_code == 2
    assert re.search(rf"{re.escape(str(rules / 'fieldref.yml'))}:\d+:\d+: unsupported: ",
                     result.stderr)
    written = (out / "sub" / "psexec.spl").read_text()
    assert 'EventCode=5145' in written and 'NOT SubjectUserName="%admin_account%"' in written
    assert not (out / "fieldref.spl").exists()
    assert not list(out.rglob(".*.tmp"))
    entries = {Path(e["path"]).name: e for e in json.loads(report.read_text())}
    assert entries["psexec.yml"]["status"] == "ok"
    assert entries["fieldref.yml"]["status"] == "error"
    assert entries["fieldref.yml"]["errors"][0]["construct"] == "fieldref"


def test_translate_spl_to_sigma_lossy_lists_constructs(tmp_path: Path):
    search = tmp_path / "s.spl"
    search.write_text('source="XmlWinEventLog:Security" EventCode=4688 | stats count by host\n')
    strict = run(["translate", "--from", "spl", str(search), "--to", "sigma"])
    assert strict.exit_code == 2 and "unsupported" in strict.stderr
    lossy = run(["translate", "--from", "spl", str(search), "--to", "sigma", "--lossy"])
    assert lossy.exit_code == 0, lossy.stderr
    assert "lossy: stats" in lossy.stderr
    assert "EventID: 4688" in lossy.stdout and "service: security" in lossy.stdout


def test_translate_without_log_source_terms(tmp_path: Path):
    rule = tmp_path / "linux.yml"
    rule.write_text("title: t\nlogsource: {product: linux, category: process_creation}\n"
                    "detection:\n  sel: {Image|endswith: /curl}\n  condition: sel\n")
    report = tmp_path / "report.json"
    strict = run(["translate", str(rule), "--to", "spl", "--report", str(report)])
    # the windows profile does not map linux: a data-source macro named after the log source
    assert strict.exit_code == 0 and strict.stdout.strip() == (
        '`sigma_linux_process_creation` Image="*/curl"'
    )
    assert json.loads(report.read_text())[0]["macros"] == ["sigma_linux_process_creation"]
    plain = run(["translate", str(rule), "--to", "spl", "--logsources", "none"])
    assert plain.exit_code == 0 and plain.stdout.strip() == 'Image="*/curl"'


def test_pysigma_processing_pipelines_apply_before_reading(tmp_path: Path):
    rule = tmp_path / "psexec.yml"
    rule.write_text(SEED_RULE)
    result = run(["translate", str(rule), "--to", "spl", "-p", "splunk_windows",
                  "--logsources", "none"])
    assert result.exit_code == 0, result.stderr
    # splunk_windows maps EventID to EventCode and adds the channel as source
    assert result.stdout.startswith('source="WinEventLog:Security" EventCode=5145 ')
    unknown = run(["parse", str(rule), "-p", "no-such-pipeline"])
    assert unknown.exit_code == 2 and "unknown processing pipeline" in unknown.stderr


def test_pipeline_terms_are_written_once_as_pysigma_backend_splunk_writes_them(
    tmp_path: Path,
) -> None:
    """With -p splunk_windows the pipeline has already added the log source's ``source=``
    term and renamed EventID: the log-source profile must not add its terms again (issue 26
    found ``source=`` written twice, and a field-collision error in strict mode)."""
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.splunk import splunk_windows_pipeline

    text = (
        "title: T\nlogsource: {product: windows, service: security}\n"
        "detection:\n  sel:\n    EventID: 4688\n    CommandLine|contains: whoami\n"
        "  condition: sel\n"
    )
    rule = tmp_path / "r.yml"
    rule.write_text(text)
    args = ["translate", str(rule), "--to", "spl", "-p", "splunk_windows"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    reference = SplunkBackend(splunk_windows_pipeline()).convert(SigmaCollection.from_yaml(text))
    assert result.stdout.strip() == reference[0]
    assert result.stdout.count("source=") == 1


TWO_RULES = """\
title: First
id: b0000000-0000-4000-8000-000000000001
status: test
logsource: {product: windows}
detection: {sel: {CommandLine: a}, condition: sel}
---
title: Second
id: b0000000-0000-4000-8000-000000000002
status: test
logsource: {product: windows}
detection: {sel: {CommandLine: b}, condition: sel}
"""


def test_several_sigma_translations_read_back_as_several_rules(tmp_path: Path) -> None:
    """Sigma written for several rules (a file of two, two files, on stdout or with -o, and
    ``parse --to sigma``) is YAML documents separated by ``---``: joined by a blank line they
    were one document, refused for its duplicate keys."""
    first = tmp_path / "two.yml"
    first.write_text(TWO_RULES)
    second = tmp_path / "more" / "two.yml"
    second.parent.mkdir()
    second.write_text(TWO_RULES.replace("b0000000", "c0000000"))
    runner = CliRunner()
    outputs = {
        "stdout": runner.invoke(main, ["translate", str(first), str(second), "--to", "sigma"]),
        "parse": runner.invoke(main, ["parse", str(first), str(second), "--to", "sigma"]),
    }
    texts = {name: result.stdout for name, result in outputs.items()}
    assert all(r.exit_code == 0 for r in outputs.values()), outputs
    out = tmp_path / "out"
    result = runner.invoke(main, ["translate", str(first), "--to", "sigma", "-o", str(out)])
    assert result.exit_code == 0, result.output
    texts["-o"] = (out / "two.yml").read_text()
    for name, text in texts.items():
        expected = 2 if name == "-o" else 4
        collection = SigmaCollection.from_yaml(text)
        assert not collection.errors, (name, collection.errors)
        assert len(collection.rules) == expected, name
        written = tmp_path / f"{name}.yml"
        written.write_text(text)
        read_back = runner.invoke(main, ["parse", str(written)])
        assert read_back.exit_code == 0, (name, read_back.output)
        assert read_back.stdout.count('"node": "Rule"') == expected, name


def test_standard_input_events_reach_the_workers(tmp_path: Path) -> None:
    """``--events -`` beside a file on two processes: the workers' standard input is
    /dev/null (multiprocessing), so they match what the parent read before forking; its
    events matched nothing and its bad lines went unreported."""
    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: T\nid: 99999999-9999-4999-8999-999999999999\nstatus: test\n"
        "logsource: {product: windows}\ndetection: {sel: {a: x}, condition: sel}\n"
    )
    events = tmp_path / "f.jsonl"
    events.write_text('{"a": "x"}\n')
    runs = [
        CliRunner().invoke(
            main,
            ["eval", "--profile", "none", str(rule), "--events", "-", str(events), "-j", jobs],
            input='{"a": "x"}\nnot json\n',
        )
        for jobs in ("1", "2")
    ]
    for result in runs:
        assert result.exit_code == 2, result.output  # the bad line is an input error
        matched = [json.loads(line)["events_file"] for line in result.stdout.splitlines()]
        assert matched == ["-", str(events)]
        assert "-:2:" in result.stderr


def test_a_byte_that_is_not_utf8_is_an_error_at_its_line_and_column(tmp_path: Path) -> None:
    """In a rule file the error had no position (a byte offset in the message); in an event
    line orjson's "surrogates not allowed" did not say what was wrong."""
    rule = tmp_path / "bad.yml"
    rule.write_bytes(b"title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n"
                     b'    CommandLine: "\xc3\xa9\xffb"\n  condition: sel\n')  # fmt: skip
    result = CliRunner().invoke(main, ["translate", str(rule), "--to", "spl"])
    assert result.exit_code == 2
    # the column counts characters: 4 spaces, 'CommandLine: "' and the one character 'é'
    assert f"{rule}:6:20: io: not UTF-8: byte 0xff (invalid start byte)" in result.stderr
    rule.write_bytes(codecs.BOM_UTF8 + b"title: x\nfoo: \xe9t\n")  # the mark is no column
    result = CliRunner().invoke(main, ["parse", str(rule)])
    assert f"{rule}:2:6: io: not UTF-8: byte 0xe9 (invalid continuation byte)" in result.stderr
    good = tmp_path / "good.yml"
    good.write_text(
        "title: T\nid: 99999999-9999-4999-8999-999999999999\nstatus: test\n"
        "logsource: {product: windows}\ndetection: {sel: {a: x}, condition: sel}\n"
    )
    events = tmp_path / "e.jsonl"
    events.write_bytes(b'{"a": "x"}\n{"a": "\xff"}\n')
    result = CliRunner().invoke(
        main, ["eval", "--profile", "none", str(good), "--events", str(events)]
    )
    assert result.exit_code == 2
    assert f"{events}:2:8: events: not UTF-8: byte 0xff (invalid start byte)" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the good line still matched


def test_a_classic_source_search_under_the_xml_profile_is_named(tmp_path: Path) -> None:
    """``translate --to spl`` writes classic ``source="WinEventLog:..."`` terms (after
    pySigma-backend-splunk); ``eval --from spl`` reads events through splunk_windows_xml by
    default, whose sources are ``XmlWinEventLog:...``: the search matched nothing, silently."""
    events = tmp_path / "e.jsonl"
    events.write_text('{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", '
                      '"Image": "C:\\\\x\\\\cmd.exe"}\n')  # fmt: skip
    searches = {
        "classic": 'source="WinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1',
        "xml": 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1',
        "both": '(source="WinEventLog:Security" OR '
                'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational") EventCode=1',
        "negated": 'EventCode=1 NOT source="WinEventLog:Security"',
    }  # fmt: skip
    outcomes = {}
    for name, text in searches.items():
        path = tmp_path / f"{name}.spl"
        path.write_text(text + "\n")
        for fields in ([], ["--fields", "splunk_windows"]):
            result = CliRunner().invoke(
                main, ["eval", "--from", "spl", str(path), "--events", str(events), *fields]
            )
            assert result.exit_code == 0, result.output
            outcomes[name, bool(fields)] = (
                len(result.stdout.splitlines()), "search(es) test only classic" in result.stderr
            )
    assert outcomes == {
        ("classic", False): (0, True),  # matches nothing, and says why
        ("classic", True): (1, False),
        ("xml", False): (1, False),
        ("xml", True): (0, False),
        ("both", False): (1, False),
        ("both", True): (0, False),
        ("negated", False): (1, False),  # holds on every XML event: no warning
        ("negated", True): (1, False),
    }
    own = tmp_path / "own.jsonl"  # events that carry their own classic source
    own.write_text('{"source": "WinEventLog:Microsoft-Windows-Sysmon/Operational", '
                   '"EventCode": 1}\n')  # fmt: skip
    result = CliRunner().invoke(
        main, ["eval", "--from", "spl", str(tmp_path / "classic.spl"), "--events", str(own)]
    )
    assert len(result.stdout.splitlines()) == 1
    assert "search(es) test only classic" not in result.stderr


def test_fields_a_stats_groups_or_aggregates_by_are_named_when_no_event_has_them(
    tmp_path: Path,
) -> None:
    """``stats count by object_file_path`` on events without the field returns nothing; the
    warning listed only fields read by predicates and eval (QA). Names read after a stage
    whose columns are not known here (``inputlookup``, a command run as text) are not
    guessed."""
    events = tmp_path / "e.jsonl"
    events.write_text('{"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}\n')
    warned = {}
    for name, text in {
        "by": "EventCode=1 | stats count by object_file_path",
        "aggregated": "EventCode=1 | stats dc(object_file_name) as n",
        "made": "EventCode=1 | eval object_file_path=1 | stats count by object_file_path",
        "opaque": "EventCode=1 | xmlkv | stats count by object_file_path",
        "renamed": "EventCode=1 | rename *_path as * | stats count by object_file",
    }.items():
        path = tmp_path / f"{name}.spl"
        path.write_text(text + "\n")
        result = CliRunner().invoke(main, ["eval", "--from", "spl", str(path), "--events",
                                           str(events)])  # fmt: skip
        line = next((x for x in result.stderr.splitlines() if "no event has" in x), "")
        warned[name] = line.split(": ")[-1] if line else None
    assert warned == {"by": "object_file_path (1)", "aggregated": "object_file_name (1)",
                      "made": None, "opaque": None, "renamed": None}  # fmt: skip


def test_a_strict_error_from_a_lossy_warning_says_nothing_was_written(tmp_path: Path) -> None:
    """The Sigma writer's strict error was its lossy warning word for word ("...; written
    as a keyword") while nothing was written (QA)."""
    search = tmp_path / "t.spl"
    search.write_text("TERM(mimikatz)\n")
    result = CliRunner().invoke(main, ["translate", "--from", "spl", "--to", "sigma",
                                       str(search)])  # fmt: skip
    assert result.exit_code == 2
    assert "written as a keyword (strict: --lossy writes it with this warning)" in result.stderr
    assert result.stdout == ""


def test_translate_reads_standard_input_before_its_workers_fork(tmp_path: Path) -> None:
    """``translate - file -j 2``: the worker that took ``-`` read /dev/null ("no Sigma rule
    in input"); the parent reads standard input before forking."""
    second = tmp_path / "r.yml"
    second.write_text(TWO_RULES.split("---\n")[1])
    result = CliRunner().invoke(
        main, ["translate", "-", str(second), "--to", "spl", "-j", "2"],
        input=TWO_RULES.split("---\n")[0],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ['source="WinEventLog:*" CommandLine="a"',
                                          'source="WinEventLog:*" CommandLine="b"']  # fmt: skip
