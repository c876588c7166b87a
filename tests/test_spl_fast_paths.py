"""The SPL reader's fast paths (issue 7) give exactly what the plain paths give.

* :func:`~backends.spl.macros.strip_comments` and :func:`~backends.spl.macros.expand` equal the
  character-by-character loops they replaced (kept here as the reference).
* :func:`~backends.spl.source.scalar_offsets` equals its character-by-character loop.
* Detection YAML built by ``_plain_data`` is what PyYAML's ``SafeConstructor`` builds, and a
  document it leaves alone still reads (or fails) as before; macro files read by libyaml are
  ``yaml.safe_load``'s data and errors.
* ``ruleglot translate`` does not import the ``catalog``/``explain``/``check`` modules or rich.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from lark import Lark

from backends import yaml_loaders
from backends.spl import MacroTable, macros, read_spl, reader
from backends.spl.source import scalar_offsets

ROOT = Path(__file__).resolve().parent.parent

def test_grammar_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("RULEGLOT_NO_CACHE", raising=False)
    path = reader._grammar_cache()
    assert isinstance(path, str) and Path(path).parent == tmp_path / "ruleglot"
    if hasattr(os, "getuid"):
        assert (tmp_path / "ruleglot").stat().st_mode & 0o777 == 0o700
        (tmp_path / "ruleglot").chmod(0o777)  # shared with others: no pickle from there
        assert reader._grammar_cache() is False
    monkeypatch.setenv("RULEGLOT_NO_CACHE", "1")
    assert reader._grammar_cache() is False


def test_a_broken_grammar_cache_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "grammar.lark"
    cache.write_bytes(b"not a cache\n\x80garbage")
    options: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "cache": str(cache)}
    parser = Lark.open_from_package("backends.spl", "spl.lark", maybe_placeholders=True, **options)
    assert parser.parse("a=1 | stats count")
    again = Lark.open_from_package("backends.spl", "spl.lark", maybe_placeholders=True, **options)
    assert again.parse("a=1 | stats count") == parser.parse("a=1 | stats count")


# --- macros: the reference loops ------------------------------------------------------------


def _strip_comments_reference(text: str) -> str:
    out = list(text)
    index, length, quoted = 0, len(text), False
    while index < length:
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if quoted:
            if char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif text.startswith("```", index):
            end = text.find("```", index + 3)
            stop = length if end < 0 else end + 3
            for pos in range(index, stop):
                if out[pos] not in "\r\n":
                    out[pos] = " "
            index = stop
            continue
        index += 1
    return "".join(out)


def _expand_reference(text: str, table: MacroTable, undefined: str) -> Any:
    """The old per-character expansion loop, run through the module's own ``call``."""
    expander = macros._Expander(table, undefined)

    def expand(text: str, stack: tuple[str, ...], site: int | None) -> macros.Expansion:
        chars: list[str] = []
        origin: list[int] = []
        calls: list[tuple[int, int, str]] = []
        size = 0
        index, length, quoted = 0, len(text), False
        while index < length:
            char = text[index]
            if quoted or char != "`":
                if char == "\\" and index + 1 < length:
                    chars.append(text[index : index + 2])
                    origin.extend([index if site is None else site] * 2)
                    index += 2
                    size += 2
                    continue
                if char == '"':
                    quoted = not quoted
                chars.append(char)
                origin.append(index if site is None else site)
                index += 1
                size += 1
                continue
            end = text.find("`", index + 1)
            call_site = index if site is None else site
            if end < 0:
                raise macros._error("unterminated", call_site, "syntax")
            body = expander.call(text[index + 1 : end], stack, call_site)
            chars.append(body)
            origin.extend(call_site for _ in body)
            calls.append((size, size + len(body), text[index + 1 : end].strip()))
            size += len(body)
            index = end + 1
        origin.append(length if site is None else site)
        return macros.Expansion("".join(chars), origin, calls)

    expander.expand = expand  # type: ignore[method-assign]
    try:
        done = expand(_strip_comments_reference(text), (), None)
    except macros.MacroError as exc:
        return ("error", exc.offset, exc.category)
    return (done.text, done.origin, done.calls)


def _expand_fast(text: str, table: MacroTable, undefined: str) -> Any:
    try:
        done = macros.expand(text, table, undefined=undefined)
    except macros.MacroError as exc:
        return ("error", exc.offset, exc.category)
    return (done.text, done.origin, done.calls)


PIECES = ["a", "b", " ", '"', "\\", "`", "```", "\n", "\r", "(", ")", ",", "m", "n", "c(", "x_f"]
DEFINITIONS = {
    "m": 'x "q`" \\" ```c\n```',
    "n": "`m` a\\`",
    "c(x, y)": "$x$-`m`-$y$ ```cm",
    "r": "`r`",
}


def test_comments_and_expansion_equal_the_reference_loops() -> None:
    table = MacroTable.from_dict(DEFINITIONS)
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))
        assert macros.strip_comments(text) == _strip_comments_reference(text), repr(text)
        for undefined in ("error", "empty"):
            fast = _expand_fast(text, table, undefined)
            assert fast == _expand_reference(text, table, undefined), repr(text)


#: A chain of calls exactly as deep as expansion allows from the top (``d0`` -> ... ->
#: ``d19``), and macros that call into it one or more calls deep.
DEEP = {
    **{f"d{i}": f"`d{i + 1}` {i}" for i in range(macros.MAX_DEPTH - 1)},
    f"d{macros.MAX_DEPTH - 1}": "end",
    "p": "`d0`",
    "q": "`p` `d3`",
    "u": "`undefined_one` `x_filter`",
}
DEEP_PIECES = ["`d0`", "`d1`", "`d5`", "`p`", "`q`", "`u`", "`m`", "`c(1, `n`)`", "`r`", " "]


def test_expansions_the_table_remembers_equal_fresh_ones() -> None:
    """A call expanded before gives what expanding it afresh gives, from any depth: the same
    text where it fits, the depth error where it does not (``p`` calls ``d0``, whose chain fits
    only from the top)."""
    definitions = {**DEFINITIONS, **DEEP}
    warm = MacroTable.from_dict(definitions)
    assert _expand_fast("`d0`", warm, "error")[0] != "error"
    assert _expand_fast("`p`", warm, "error")[0] == "error"
    assert _expand_fast("`p`", MacroTable.from_dict(definitions), "error")[0] == "error"
    rng = random.Random(11)
    for _ in range(3000):
        text = "".join(rng.choice(DEEP_PIECES + PIECES) for _ in range(rng.randint(0, 6)))
        for undefined in ("error", "empty"):
            fresh = _expand_fast(text, MacroTable.from_dict(definitions), undefined)
            assert _expand_fast(text, warm, undefined) == fresh, repr(text)
    warm.add(macros.Macro("d5", "changed"))  # a new definition forgets what was expanded
    assert "changed" in _expand_fast("`d0`", warm, "error")[0]


# --- scalar offsets -------------------------------------------------------------------------


def _scalar_offsets_reference(text: str, node: yaml.ScalarNode) -> list[int]:
    value = node.value
    start, end = node.start_mark.index, node.end_mark.index
    style = node.style
    pos = start
    if style in ("|", ">"):
        newline = text.find("\n", start, end)
        pos = end if newline < 0 else newline + 1
    elif style in ("'", '"'):
        pos = start + 1
    offsets: list[int] = []
    for char in value:
        probe = pos
        found = -1
        while probe < end:
            here = text[probe]
            if here == char:
                found = probe
                break
            if here not in " \t\r\n'\"\\":
                break
            probe += 1
        if found >= 0:
            offsets.append(found)
            pos = found + 1
            continue
        offsets.append(min(pos, max(end - 1, start)))
        if style == '"':
            probe = pos
            while probe < end and text[probe] in " \t\r\n":
                probe += 1
            if probe + 1 < end and text[probe] == "\\":
                pos = probe + 2 + {"x": 2, "u": 4, "U": 8}.get(text[probe + 1], 0)
    offsets.append(min(pos, end))
    return offsets


def test_scalar_offsets_equal_the_reference_loop() -> None:
    rng = random.Random(3)
    pieces = ["a", " ", "\n", "\\", '"', "'", "\t", "b", "\\n", "x", "  ", "\\x41"]
    for _ in range(3000):
        body = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        for text in (
            "k: " + body,
            'k: "' + body.replace('"', '\\"') + '"',
            "k: '" + body.replace("'", "''") + "'",
            "k: |\n  " + body.replace("\n", "\n  "),
            "k: >-\n  " + body.replace("\n", "\n   "),
        ):
            try:
                root: Any = yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                continue
            node = root.value[0][1]
            assert isinstance(node, yaml.ScalarNode)
            assert scalar_offsets(text, node) == _scalar_offsets_reference(text, node), text


# --- YAML -----------------------------------------------------------------------------------

DETECTION = """\
name: Some Detection
id: 1a2b
version: 3
date: '2024-01-02'
created: 2024-01-02
ratio: 0.5
enabled: true
nothing: ~
tags:
  mitre_attack_id: [T1021.002, T1059]
search: '`m` a=1 | stats count'
"""

DOCUMENTS = {
    "plain": DETECTION,
    "anchors": DETECTION + "x: &a {k: [1, 2]}\ny: *a\n",
    "merge key": DETECTION + "base: &b {k: 1}\nother:\n  <<: *b\n  j: 2\n",
    "explicit tags": DETECTION + "bin: !!binary aGk=\nset: !!set {a, b}\nom: !!omap [a: 1]\n",
    "bad date": DETECTION + "when: 2024-13-45\n",
    "unknown tag": DETECTION + "x: !custom 1\n",
    "complex key": DETECTION + "? [a, b]\n: 1\n",
    "duplicate key": DETECTION + "name: Other\n",
    "two documents": DETECTION + "---\n" + DETECTION.replace("Some", "Another"),
}


def _read(text: str) -> Any:
    try:
        return repr(read_spl(text, "d.yml", macros=MacroTable.from_dict({"m": "b=2"})))
    except Exception as exc:
        return repr(exc)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_detection_yaml_builds_as_pyyaml_does(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text = DOCUMENTS[name]
    for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
        try:
            expected: Any = yaml.constructor.SafeConstructor().construct_document(node)
        except Exception:
            expected = "fails"
        try:
            got: Any = reader._plain_data(node, set())
        except Exception:
            continue  # left to PyYAML's constructor
        assert got == expected
    fast = _read(text)

    def refuse(*_: Any) -> Any:
        raise reader._Unusual("off")

    monkeypatch.setattr(reader, "_plain_data", refuse)
    assert _read(text) == fast


@pytest.mark.parametrize(
    "text",
    [
        "name: m\ndefinition: a=1\n",
        "name: m(1)\ndefinition: a=$x$\narguments: [x]\n",
        "name: m\ndefinition: 'unterminated\n",
        "name: m\n  bad: indentation\n",
        "name: m\n---\nname: n\n",
        "name: m\ndefinition: \x07\n",
        "",
    ],
)
def test_macro_files_read_as_safe_load(text: str) -> None:
    def outcome(load: Any) -> Any:
        try:
            return ("ok", load(text))
        except yaml.YAMLError as exc:
            return ("error", str(exc))

    assert outcome(yaml_loaders.load) == outcome(yaml.safe_load)


# --- the command line -----------------------------------------------------------------------


def test_translate_does_not_import_the_other_commands(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel: {a: 1}\n  condition: sel\n"
    )
    probe = (
        "import sys\n"
        "from translator.cli import main\n"
        "try:\n"
        f"    main(['translate', {str(rule)!r}, '--to', 'spl', '--logsources', 'none'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('translator.catalog_cli', 'translator.check_cli', 'rich')\n"
        "          if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "LOADED []" in done.stdout
    assert "a=1" in done.stdout


def test_help_lists_every_command() -> None:
    from click.testing import CliRunner

    from translator.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in ("catalog", "check", "eval", "explain", "parse", "translate"):
        assert f"  {name} " in result.output
    assert CliRunner().invoke(main, ["check", "--help"]).exit_code == 0
