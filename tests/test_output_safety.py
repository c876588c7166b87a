"""Outputs never destroy inputs, unwritable outputs fail before the work, Ctrl-C leaves no
temporary file and says what was done (issue 21)."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from translator import api, cli_common
from translator.cli import main

RULE = """title: Rule {n}
id: 00000000-0000-0000-0000-00000000000{n}
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\\\tool{n}.exe'
    condition: selection
level: low
"""


def _rules(folder: Path, count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        (folder / f"rule{n}.yml").write_text(RULE.format(n=n))
    return folder


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def run(args: list[str]):
    return CliRunner().invoke(main, args)


@pytest.mark.parametrize(
    "make_args",
    [
        lambda d: ["catalog", str(d), "-o", str(d)],
        lambda d: ["catalog", str(d), "-o", str(d / "site")],
        lambda d: ["catalog", str(d / "sub"), "-o", str(d)],
        lambda d: ["translate", str(d), "--to", "sigma", "-o", str(d)],
        lambda d: ["translate", str(d), "--to", "spl", "-o", str(d / "out")],
        lambda d: ["translate", str(d / "sub" / "rule1.yml"), "--to", "spl", "--report",
                   str(d / "sub" / "rule1.yml")],
        # a file inside an input folder: it replaced the rule of that name
        lambda d: ["translate", str(d), "--to", "spl", "--report", str(d / "rule2.yml")],
        lambda d: ["check", str(d), "--report", str(d / "sub" / "rule1.yml")],
    ],
)
def test_output_overlapping_an_input_is_refused(tmp_path: Path, make_args) -> None:
    rules = _rules(tmp_path / "rules")
    _rules(rules / "sub", 1)
    before = _digest(rules)
    result = run(make_args(rules))
    assert result.exit_code == 2, result.output
    assert "refusing to write" in result.output
    assert "Traceback" not in result.output
    assert _digest(rules) == before


MACRO = "definition: 'source=\"XmlWinEventLog:Security\"'\nname: mysec\n"


@pytest.mark.parametrize(
    "make_args",
    [
        lambda r, m, e: ["translate", str(r), "--from", "spl", "--to", "sigma", "--macros",
                         str(m), "-o", str(m)],
        lambda r, m, e: ["translate", str(r), "--from", "spl", "--to", "spl", "--macros",
                         str(m), "--report", str(m / "mysec.yml")],
        lambda r, m, e: ["check", str(r), "--from", "spl", "--macros", str(m), "--events",
                         str(e), "--report", str(e / "e.jsonl")],
        lambda r, m, e: ["explain", str(r), "--macros", str(m), "-o", str(m / "mysec.yml")],
    ],
)
def test_outputs_inside_macro_and_event_folders_are_refused(tmp_path: Path, make_args) -> None:
    """The macro and event folders are inputs too: a report or page written there replaced
    a macro definition or an event file (exit 0)."""
    macros, events = tmp_path / "macros", tmp_path / "events"
    macros.mkdir()
    events.mkdir()
    (macros / "mysec.yml").write_text(MACRO)
    (events / "e.jsonl").write_text('{"EventCode": 4625}\n')
    search = tmp_path / "s.spl"
    search.write_text("`mysec` EventCode=4625\n")
    before = (_digest(macros), _digest(events))
    result = run(make_args(search, macros, events))
    assert result.exit_code == 2, result.output
    assert "refusing to write" in result.output
    assert (_digest(macros), _digest(events)) == before


def test_a_report_over_a_translation_is_refused(tmp_path: Path) -> None:
    """``--report`` naming a file that ``-o`` writes replaced the translation (exit 0)."""
    rules = _rules(tmp_path / "rules", 2)
    out = tmp_path / "out"
    result = run(["translate", str(rules), "--to", "spl", "-o", str(out),
                  "--report", str(out / "rule1.spl")])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"refusing to write --report {out / 'rule1.spl'}" in result.output
    assert f"the translation of {rules / 'rule1.yml'} is written there" in result.output
    assert not any(out.rglob("*.spl"))


def test_equal_names_from_two_inputs_are_refused_by_name(tmp_path: Path) -> None:
    a, b = _rules(tmp_path / "a", 2), _rules(tmp_path / "b", 2)
    (b / "rule2.yml").write_text(RULE.format(n=7))
    out = tmp_path / "out"
    result = run(["translate", str(a), str(b), "--to", "spl", "-o", str(out)])
    assert result.exit_code == 2
    assert f"{a / 'rule1.yml'} and {b / 'rule1.yml'} would both be written here" in result.output
    assert not any(out.rglob("*.spl"))


def test_input_folders_are_mirrored(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules", 1)
    _rules(rules / "sub", 1)  # rule1.yml twice, in different folders
    out = tmp_path / "out"
    result = run(["translate", str(rules), "--to", "spl", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.spl")) == [
        "rule1.spl", "sub/rule1.spl"]


def test_unwritable_outputs_fail_before_the_work(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    for args in (
        ["translate", str(rules), "--to", "spl", "-o", str(blocker / "out")],
        ["translate", str(rules), "--to", "spl", "--report", str(blocker / "r.json")],
        ["check", str(rules), "--report", str(blocker / "report.json")],
        ["catalog", str(rules), "-o", str(blocker / "site")],
        ["explain", str(rules / "rule1.yml"), "-o", str(blocker / "page.html")],
    ):
        start = time.perf_counter()
        result = run(args)
        assert result.exit_code == 2, (args, result.output)
        assert f"{blocker}" in result.output and ": io: cannot write" in result.output
        assert "Traceback" not in result.output
        assert result.output.count("\n") == 1, result.output  # one error line, no work done
        assert time.perf_counter() - start < 5


def test_ctrl_c_leaves_no_temporary_file_and_a_report(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rules(tmp_path / "rules", 5)
    out, report = tmp_path / "out", tmp_path / "report.json"
    real = api.emit_translation
    calls = []

    def interrupted_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "emit_translation", interrupted_on_the_third)
    result = run(["translate", str(rules), "--to", "spl", "-o", str(out), "--report",
                  str(report), "-j", "1"])
    assert result.exit_code == 130
    assert "interrupted: 2 of 5 file(s) translated, 2 written to" in result.output
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert sorted(p.name for p in out.iterdir()) == ["rule1.spl", "rule2.spl"]
    done = json.loads(report.read_text())
    assert done["interrupted"] is True and len(done["rules"]) == 2


# --- write_atomically: one file of a batch, through a temporary file and a rename


def _no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _half_then(stop: BaseException) -> Any:
    """A ``Path.write_text`` that writes half its text, then stops as ``stop``."""
    real = Path.write_text

    def half_then_stop(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        real(self, data[: len(data) // 2], *args, **kwargs)
        raise stop

    return half_then_stop


@pytest.mark.parametrize("stop", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_new_output_that_fails_half_written_is_never_seen(
    tmp_path: Path, stop: BaseException, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Path, "write_text", _half_then(stop))
    target = tmp_path / "rule.spl"
    with pytest.raises(type(stop)):
        cli_common.write_atomically(target, "index=main EventCode=1 " * 100)
    assert not target.exists() and _no_temporaries(tmp_path)


def test_an_existing_output_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rule.spl"
    cli_common.write_atomically(target, "old")
    opened = target.open()  # a reader of the earlier output
    cli_common.write_atomically(target, "new")
    assert target.read_text() == "new\n"
    assert opened.read() == "old\n"  # renamed over, never truncated in place
    opened.close()

    monkeypatch.setattr(Path, "write_text", _half_then(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        cli_common.write_atomically(target, "newer")
    monkeypatch.undo()
    assert target.read_text() == "new\n" and _no_temporaries(tmp_path)


def test_an_output_path_that_is_a_link_is_replaced_not_written_through(tmp_path: Path) -> None:
    elsewhere = tmp_path / "input.yml"
    elsewhere.write_text("title: an input\n")
    link = tmp_path / "out.spl"
    link.symlink_to(elsewhere)
    cli_common.write_atomically(link, "index=main")
    assert elsewhere.read_text() == "title: an input\n"
    assert not link.is_symlink() and link.read_text() == "index=main\n"


def test_a_batch_writes_the_texts_it_is_given(tmp_path: Path) -> None:
    texts = {f"r{n}.spl": "x" * n + "é\n" * (n % 3) for n in range(50)}
    for name, text in texts.items():
        cli_common.write_atomically(tmp_path / name, text, make_parents=False)
    for name, text in texts.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == (
            text if text.endswith("\n") else text + "\n")
    assert _no_temporaries(tmp_path)


def test_an_earlier_runs_output_for_a_failed_input_is_named(tmp_path: Path) -> None:
    """A re-run whose input now fails writes nothing for it: the earlier translation stays
    (it is not the user's to lose), and the summary says which outputs are such (QA: one
    deploying the folder got the old rule without a word)."""
    rules = _rules(tmp_path / "rules", 2)
    out = tmp_path / "out"
    assert run(["translate", str(rules), "--to", "spl", "-o", str(out)]).exit_code == 0
    (rules / "rule1.yml").write_text("title: [unclosed\n")
    result = run(["translate", str(rules), "--to", "spl", "-o", str(out)])
    assert result.exit_code == 2
    assert ("1 output(s) were not written because their input failed, and still hold an "
            f"earlier run's translation: {out / 'rule1.spl'}") in result.stderr  # fmt: skip
    fresh = tmp_path / "fresh"
    assert "earlier run" not in run(["translate", str(rules), "--to", "spl", "-o",
                                     str(fresh)]).stderr  # fmt: skip


def test_a_new_file_of_a_kind_no_command_reads_may_sit_beside_the_inputs(tmp_path: Path) -> None:
    """``explain rules/a.yml -o rules/a.md`` replaces nothing and is never read as a rule:
    allowed (a file ruleglot reads by suffix, or an existing one, is refused)."""
    rules = _rules(tmp_path / "rules", 1)
    before = _digest(rules)
    page = run(["explain", str(rules / "rule1.yml"), "--corpus", str(rules), "-o",
                str(rules / "rule1.md")])  # fmt: skip
    assert page.exit_code == 0, page.output
    report = run(["translate", str(rules), "--to", "spl", "--report", str(rules / "r.json")])
    assert report.exit_code == 2
    assert "where it would replace a file or be read as one by the next run" in report.output
    after = _digest(rules)
    assert after.pop("rule1.md") and after == before
