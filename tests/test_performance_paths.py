"""The fast paths (issue 7) give exactly what the plain paths give.

* Sigma YAML composed by libyaml reads into the same IR, spans included, and fails with the same
  positioned errors as PyYAML's pure-Python composer.
* ``ruleglot translate`` on several processes writes the same files, report, stdout and stderr
  as on one.
* The command line retunes the cycle collector (rarer full collections); the library does not.
"""

from __future__ import annotations

import ast
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from backends.sigma import reader
from backends.sigma.reader import read_sigma
from ir import serialize
from ir.errors import RuleglotError
from translator.cli import main
from translator.gc_policy import FULL_COLLECTION_AFTER
from translator.parallel import fork_map

RULE = """\
title: t
id: 6f9ad4c5-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\\\cmd.exe'
    CommandLine|contains:
      - ' /c '
      - ' /k '
  condition: sel
level: high"""

MERGE_AND_ANCHORS = """\
title: anchors
logsource: {product: windows, service: security}
detection:
  base: &base
    EventID: 4624
    LogonType: 3
  sel:
    <<: *base
    TargetUserName: bob
  other: *base
  condition: sel or other
falsepositives:
  - Unknown
"""

COLLECTION = """\
action: global
title: shared
logsource: {product: windows, service: security}
detection:
  condition: sel
---
name: first
detection:
  sel: {EventID: 1}
---
action: repeat
detection:
  sel: {EventID: 2}
---
title: corr
correlation:
  type: event_count
  rules: [first]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
"""

CASES = {
    "no final line break": RULE,
    "final line break": RULE + "\n",
    "CRLF": RULE.replace("\n", "\r\n") + "\r\n",
    "empty value at the end": RULE + "\nfalsepositives:",
    "a list at the end": RULE + "\nfalsepositives:\n  - Unknown",
    "non-ASCII": RULE.replace("title: t", "title: Überprüfung – ✓"),
    "anchors and merge keys": MERGE_AND_ANCHORS,
    "collection with repeat and a correlation": COLLECTION,
    "duplicate key": RULE.replace("level: high", "level: high\nlevel: low"),
    "bad indentation": RULE.replace("  condition: sel", " condition: sel"),
    "unterminated quote": RULE.replace("' /k '", "' /k"),
    "unacceptable character": RULE.replace("title: t", "title: t\x07"),
    "tab indentation": RULE.replace("  condition", "\tcondition"),
    "bad timestamp": RULE + "\ndate: 2024-13-45",
    "unknown modifier": RULE.replace("endswith", "endswithh"),
    "not a mapping": "- a\n- b\n",
    "empty": "",
}


def _outcome(text: str) -> Any:
    """Every rule with its spans (``to_data`` writes them), or the error's every field."""
    try:
        return [serialize.to_data(rule) for rule in read_sigma(text, "r.yml")]
    except RuleglotError as err:
        return ("error", err.category, err.message, err.line, err.col, err.construct)


@pytest.mark.skipif(reader.FAST_LOADER is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("name", sorted(CASES))
def test_libyaml_reads_like_pure_python_yaml(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = CASES[name]
    fast = _outcome(text)
    monkeypatch.setattr(reader, "FAST_LOADER", None)
    assert _outcome(text) == fast


@pytest.mark.skipif(reader.FAST_LOADER is None, reason="PyYAML without libyaml")
def test_the_fast_composer_is_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the pure-Python composer was used")

    monkeypatch.setattr(reader, "_load_documents_slowly", refuse)
    assert read_sigma(RULE)[0].title == "t"


def test_an_error_is_the_pure_python_composers(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a syntax error the text is composed again by PyYAML's own composer, whose messages
    and positions users (and tests) know."""
    with pytest.raises(RuleglotError) as info:
        read_sigma(CASES["unterminated quote"], "r.yml")
    assert info.value.category == "syntax" and info.value.message.startswith("YAML: ")
    assert (info.value.line, info.value.col) == (11, 12)  # the end of the text


def test_end_of_text_positions_follow_pure_python_yaml() -> None:
    text = "a: 1\nb:\n  - x"
    node = next(yaml.compose_all(text, Loader=yaml.SafeLoader))
    assert reader._end_of_text(text) == (2, 5)
    assert (node.end_mark.line, node.end_mark.column) == (2, 5)
    assert reader._end_of_text(text + "\n") is None


def test_fork_map_keeps_order_and_closures() -> None:
    offset = 10

    def add(item: int) -> int:
        return item + offset

    items = list(range(50))
    assert list(fork_map(add, items, jobs=2, chunksize=3)) == [i + 10 for i in items]
    assert list(fork_map(add, items, jobs=1)) == [i + 10 for i in items]


def test_fork_map_items_are_inherited_not_pickled() -> None:
    items = [lambda i=i: i * 2 for i in range(7)]  # local functions do not pickle
    assert list(fork_map(lambda make: make(), items, jobs=2, chunksize=2)) == [
        i * 2 for i in range(7)
    ]


def test_prepare_loads_the_spl_parser_before_workers_fork() -> None:
    from backends.spl import reader
    from translator import api

    reader._parser.cache_clear()
    api.prepare("sigma")  # nothing to load ahead
    assert reader._parser.cache_info().currsize == 0
    api.prepare("spl")
    assert reader._parser.cache_info().currsize == 1


FIELDREF_RULE = """\
title: fieldref rule
logsource: {product: windows, service: security}
detection:
  sel:
    TargetUserName|fieldref|contains: SubjectUserName
  condition: sel
"""


def _translate(rules: Path, out: Path, jobs: int) -> tuple[int, str, str, dict[str, str], Any]:
    report = out.with_suffix(".json")
    result = CliRunner().invoke(
        main,
        [
            "translate",
            str(rules),
            "--to",
            "spl",
            "-o",
            str(out),
            "--report",
            str(report),
            "-j",
            str(jobs),
        ],  # fmt: skip
        catch_exceptions=False,
    )
    files = {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}
    return result.exit_code, result.stdout, result.stderr, files, json.loads(report.read_text())


def test_translate_on_two_processes_is_translate_on_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "sub").mkdir(parents=True)
    for index in range(12):
        (rules / "sub" / f"r{index:02}.yml").write_text(
            RULE.replace("title: t", f"title: t{index}")
        )
    (rules / "broken.yml").write_text(CASES["unterminated quote"])
    (rules / "fieldref.yml").write_text(FIELDREF_RULE)
    (rules / "collection.yml").write_text(COLLECTION)
    one = _translate(rules, tmp_path / "one", 1)
    two = _translate(rules, tmp_path / "two", 2)
    assert one[0] == 2  # the broken and the fieldref rule
    assert one[1:] == two[1:]
    # twelve rules; nothing for the failed ones, nor for the collection, whose correlation is
    # written as an approximation that strict mode refuses (issue 21: warnings are errors)
    assert len(one[3]) == 12
    assert not list((tmp_path / "two").rglob(".*.tmp"))


def test_translate_to_stdout_on_two_processes(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for index in range(6):
        (rules / f"r{index}.yml").write_text(RULE.replace("title: t", f"title: t{index}"))
    outputs = [
        CliRunner().invoke(main, ["translate", str(rules), "--to", "spl", "-j", str(jobs)])
        for jobs in (1, 2)
    ]
    assert outputs[0].exit_code == outputs[1].exit_code == 0
    assert outputs[0].stdout == outputs[1].stdout
    assert outputs[0].stdout.count("\n") == 6


def test_the_command_line_makes_full_collections_rarer_and_the_library_does_not(
    tmp_path: Path,
) -> None:
    """``ruleglot`` commands wait :data:`~translator.gc_policy.FULL_COLLECTION_AFTER`
    middle-generation collections between full ones (the young ones as by default);
    importing the library leaves the host process's collector as it was."""
    probe = "import gc, sys; {}; print(gc.get_threshold())"
    plain = subprocess.run(
        [sys.executable, "-c", probe.format("pass")], capture_output=True, text=True, check=True
    ).stdout
    imported = subprocess.run(
        [sys.executable, "-c", probe.format("import translator.api, translator.library")],
        capture_output=True, text=True, check=True,
    ).stdout
    assert imported == plain
    default = ast.literal_eval(plain)
    before = gc.get_threshold()  # other tests in this process may have run the command
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    try:
        gc.set_threshold(*default)
        result = CliRunner().invoke(main, ["parse", str(rule)])
        assert result.exit_code == 0, result.output
        assert gc.get_threshold() == (default[0], default[1], FULL_COLLECTION_AFTER)
        assert default[2] < FULL_COLLECTION_AFTER
    finally:
        gc.set_threshold(*before)
