"""Hostile inputs end as one positioned error naming the limit, in bounded time and memory,
and the batch goes on (issue 21): YAML alias bombs and deep nesting, macro expansion bombs,
broken macro files, malformed and deep IR JSON."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from backends import yaml_loaders
from backends.spl import macros as spl_macros
from backends.spl.macros import MacroTable
from ir import serialize
from ir.errors import RuleglotError
from translator import api
from translator.cli import main


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """``levels`` levels of ``width`` aliases (the issue's 2 KB bomb: 9**9 nodes)."""
    lines = ["title: bomb", "a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines += ["logsource: {product: windows}",
              f"detection: {{sel: {{CommandLine: *a{levels}}}, condition: sel}}"]
    return "\n".join(lines) + "\n"


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_alias_bomb_is_refused_at_its_node() -> None:
    start, peak = time.perf_counter(), _peak_kb()
    with pytest.raises(RuleglotError) as caught:
        api.parse(alias_bomb(), "sigma", "bomb.yml")
    assert time.perf_counter() - start < 5
    assert _peak_kb() - peak < 200_000  # it grew past 2 GB
    err = caught.value
    assert "MAX_EXPANDED_NODES" in err.message
    assert (err.path, err.line) == ("bomb.yml", 7)  # the first level past the limit


def test_alias_bomb_in_spl_yaml_and_macro_files(tmp_path: Path) -> None:
    bomb = alias_bomb().replace("title: bomb", "name: bomb\nsearch: x")
    with pytest.raises(RuleglotError, match="MAX_EXPANDED_NODES"):
        api.parse(bomb, "spl", "bomb.yml")
    with pytest.raises(yaml.YAMLError, match="MAX_EXPANDED_NODES"):
        yaml_loaders.load(bomb)


def test_alias_and_depth_limits() -> None:
    many = "a: &a x\nb: [" + ", ".join(["*a"] * (yaml_loaders.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(yaml.YAMLError, match="MAX_ALIASES"):
        yaml_loaders.load(many)
    deep = "a: " + "[" * 500 + "]" * 500 + "\n"
    with pytest.raises(yaml.YAMLError, match="MAX_DEPTH"):
        yaml_loaders.load(deep)
    assert yaml_loaders.load("a: &a [1, 2]\nb: *a\n") == {"a": [1, 2], "b": [1, 2]}


@st.composite
def node_graphs(draw: st.DrawFn) -> yaml.Node:
    """A composed document as libyaml may leave it: nodes built bottom-up, each child drawn
    from the nodes made so far (drawn twice: an alias), now and then a collection put inside
    one of its own children (a recursive alias)."""
    made: list[yaml.Node] = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["scalar", "seq", "map"])) if made else "scalar"
        if kind == "scalar":
            made.append(yaml.ScalarNode("tag:yaml.org,2002:str", "x"))
            continue
        picks = st.lists(st.sampled_from(made), max_size=4)
        if kind == "seq":
            made.append(yaml.SequenceNode("tag:yaml.org,2002:seq", draw(picks)))
        else:
            pairs = draw(st.lists(st.tuples(st.sampled_from(made), st.sampled_from(made)),
                                  max_size=4))
            made.append(yaml.MappingNode("tag:yaml.org,2002:map", pairs))
    collections = [n for n in made if not isinstance(n, yaml.ScalarNode)]
    if collections and draw(st.booleans()):
        inner = draw(st.sampled_from(collections))
        outer = draw(st.sampled_from(collections))
        if isinstance(inner, yaml.SequenceNode):
            inner.value.append(outer)
        else:
            inner.value.append((yaml.ScalarNode("tag:yaml.org,2002:str", "k"), outer))
    return made[-1]


def _verdict(check: Callable[[yaml.Node], None], root: yaml.Node) -> str | None:
    try:
        check(root)
    except yaml_loaders.ExpansionError as err:
        return f"{err.problem} at {id(err.problem_mark)}"
    return None


@settings(max_examples=400, deadline=None)
@given(node_graphs(), st.integers(1, 10), st.integers(1, 5), st.integers(0, 4))
def test_quick_expansion_check_answers_as_the_exact_walk(
    root: yaml.Node, nodes: int, depth: int, aliases: int
) -> None:
    """The level-by-level answer for plain trees never lets through what the exact walk
    refuses, and refuses the same way (limits made small so that they are reached)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yaml_loaders, "MAX_EXPANDED_NODES", nodes)
        patch.setattr(yaml_loaders, "MAX_DEPTH", depth)
        patch.setattr(yaml_loaders, "MAX_ALIASES", aliases)
        assert _verdict(yaml_loaders.check_expansion, root) == _verdict(
            yaml_loaders.check_expansion_exactly, root
        )


def test_deep_sigma_yaml_is_an_error() -> None:
    text = ("title: deep\nlogsource: {product: windows}\ndetection:\n  sel:\n"
            "    CommandLine: " + "[" * 5000 + "]" * 5000 + "\n  condition: sel\n")
    with pytest.raises(RuleglotError, match="MAX_DEPTH|nesting depth"):
        api.parse(text, "sigma", "deep.yml")


def _macro_bomb(folder: Path, levels: int = 7) -> None:
    (folder / "m0.yml").write_text("name: m0\ndefinition: 'CommandLine=\"abcdefghij\"'\n")
    for level in range(1, levels + 1):
        calls = " OR ".join([f"`m{level - 1}`"] * 10)
        (folder / f"m{level}.yml").write_text(f"name: m{level}\ndefinition: '{calls}'\n")


def test_macro_expansion_bomb_is_refused(tmp_path: Path) -> None:
    _macro_bomb(tmp_path)
    table = MacroTable.from_folder(tmp_path)
    start, peak = time.perf_counter(), _peak_kb()
    with pytest.raises(RuleglotError) as caught:
        api.parse("index=x `m7`\n", "spl", "bomb.spl", macros=table)
    assert time.perf_counter() - start < 10
    assert _peak_kb() - peak < 300_000  # the kernel killed it at 24 GB
    assert "MAX_EXPANDED_CHARS" in caught.value.message
    assert (caught.value.line, caught.value.col) == (1, 9)  # the call's backtick
    # below the limit, the same macros expand
    assert api.parse("`m3`\n", "spl", "ok.spl", macros=table)


def test_broken_macro_file_is_reported_and_the_rest_used(tmp_path: Path) -> None:
    macros = tmp_path / "macros"
    macros.mkdir()
    (macros / "broken.yml").write_text("name: broken\ndefinition: [unclosed\n")
    (macros / "noname.yml").write_text("definition: x\n")
    (macros / "ok.yml").write_text("name: ok\ndefinition: 'EventCode=1'\n")
    search = tmp_path / "ok.spl"
    search.write_text("`ok` CommandLine=*\n")
    result = CliRunner().invoke(main, ["translate", "--from", "spl", "--macros", str(macros),
                                       str(search), "--to", "sigma"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{macros / 'broken.yml'}:3:1: syntax: macro file is not YAML" in result.output
    assert f"{macros / 'noname.yml'}:1:1: invalid" in result.output
    assert "EventID: 1" in result.stdout  # the search that uses the good macro is translated


def test_a_macro_without_definition_and_a_second_definition_are_errors(tmp_path: Path) -> None:
    """A misspelt ``definition`` key made the macro expand to nothing (the search silently
    lost its data-source terms); a second file defining the same macro silently won (QA).
    Both are reported as broken macro files; the first definition is the one used."""
    macros = tmp_path / "macros"
    macros.mkdir()
    (macros / "mysec.yml").write_text("defintion: 'source=\"XmlWinEventLog:Security\"'\n"
                                      "name: mysec\n")  # fmt: skip
    (macros / "a.yml").write_text("definition: 'User=one'\nname: dup\n")
    (macros / "b.yml").write_text("definition: 'User=two'\nname: dup\n")
    (macros / "empty.yml").write_text("definition: ''\nname: nothing\n")
    table = MacroTable.from_folder(macros)
    messages = {Path(err.path or "").name: err.message for err in table.errors}
    assert messages.keys() == {"mysec.yml", "b.yml"}
    assert "needs a 'definition'" in messages["mysec.yml"]
    assert f"already defined in {macros / 'a.yml'}" in messages["b.yml"]
    assert "mysec" not in table
    rule = api.parse("`dup` `nothing` EventCode=1\n", "spl", "d.spl", macros=table)[0]
    assert "one" in api.emit(rule, "spl") and "two" not in api.emit(rule, "spl")


def _ir_rule() -> str:
    rule = api.parse("title: t\nlogsource: {product: windows}\n"
                     "detection: {sel: {CommandLine|re: 'a+'}, condition: sel}\n", "sigma", "t")
    return serialize.dumps(rule[0])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda text: text.replace('"regex"', '"bogus"'),
        lambda text: text.replace('"Predicate"', '"Nonsense"'),
        lambda text: text.replace('"pattern": "a+"', '"pattern": 5'),
        # a kind whose value has another kind's type (found by test_fuzz: a crash in a writer)
        lambda text: text.replace('"kind": "regex"', '"kind": "contains"'),
        lambda text: text.replace('"kind": "regex"', '"kind": "cidr"'),
        lambda text: '{"node": "Rule", "title": "x", "stages": ' + "[" * 5000 + "]" * 5000 + "}",
        lambda text: json.dumps({"node": "Rule", "title": "x", "stages": json.loads(
            "[" * 300 + "]" * 300)}),
        lambda text: text[: len(text) // 2],
        lambda text: "[]",
    ],
)
def test_malformed_ir_json_is_one_error(tmp_path: Path, mangle) -> None:
    path = tmp_path / "rule.json"
    path.write_text(mangle(_ir_rule()))
    result = CliRunner().invoke(main, ["translate", "--from", "ir", str(path), "--to", "spl"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.startswith(f"{path}:")


def test_limits_are_module_constants() -> None:
    assert spl_macros.MAX_EXPANDED_CHARS >= 100_000
    assert serialize.MAX_DEPTH >= 100
