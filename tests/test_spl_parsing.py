"""The SPL parser's loop (``backends/spl/parsing.py``) against lark parsing the same grammar.

The reader parses with :class:`SplParser`, which runs lark's tables itself; these tests parse
the same texts with lark (the same grammar and options, lark's ``parse``) and require the same
trees (every token's type, value and offsets, every rule) and, on bad input, the same error
(class, position, what was expected). The texts: every security_content search of the shared
corpus after macro expansion, hand-picked edge cases and errors, and generated text made of the
grammar's pieces (so that errors and unusual token sequences are covered).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import lark
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from lark import Token
from lark.parsers.lalr_analysis import Shift

from backends.spl import MacroTable
from backends.spl.macros import expand
from backends.spl.parsing import SplParser, _token, lark_tables
from backends.spl.reader import _parser
from backends.yaml_loaders import SAFE_LOADER
from tests.conftest import shared


@functools.cache
def _lark() -> lark.Lark:
    """The reader's grammar and options, parsed by lark (no grammar cache: built afresh)."""
    options = _parser().lark.options
    return lark.Lark.open_from_package(
        "backends.spl",
        "spl.lark",
        parser="lalr",
        lexer="contextual",
        propagate_positions=options.propagate_positions,
        maybe_placeholders=options.maybe_placeholders,
    )


def _shape(node: Any) -> Any:
    """A tree as nested tuples, each token as (type, value, start, end)."""
    if isinstance(node, lark.Token):
        return (node.type, str(node), node.start_pos, node.end_pos)
    if isinstance(node, lark.Tree):
        return (str(node.data), tuple(_shape(child) for child in node.children))
    return node


def _outcome(parser: lark.Lark | SplParser, text: str) -> Any:
    try:
        return ("tree", _shape(parser.parse(text)))
    except lark.exceptions.UnexpectedInput as exc:
        expected = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or set()
        token = getattr(exc, "token", None)
        return (
            "error",
            type(exc).__name__,
            exc.pos_in_stream,
            exc.line,
            exc.column,
            sorted(str(e) for e in expected),
            _shape(token) if token is not None else None,
        )


def _same(text: str) -> None:
    assert _outcome(_parser(), text) == _outcome(_lark(), text)


def _corpus_searches() -> list[str]:
    macros = MacroTable.from_folder(shared("spl", "macros"))
    searches = []
    for path in sorted(shared("spl", "detections").rglob("*.yml")):
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506
        search = data.get("search") if isinstance(data, dict) else None
        if isinstance(search, str):
            searches.append(expand(search, macros, undefined="empty").text)
    return searches


def test_every_security_content_search_parses_as_lark_parses_it() -> None:
    searches = _corpus_searches()
    assert len(searches) > 1700
    errors = 0
    for text in searches:
        _same(text)
        errors += _outcome(_parser(), text)[0] == "error"
    assert errors < 50  # the comparison covered trees, not only errors


def test_tokens_carry_offsets_and_no_line() -> None:
    tree = _parser().parse('index=main user="a b"\n| stats count by host')
    tokens = list(tree.scan_values(lambda v: isinstance(v, lark.Token)))
    assert [(t.type, str(t), t.start_pos, t.end_pos) for t in tokens[:2]] == [
        ("SEARCH_CMP", "index=", 0, 6),
        ("VALUE", "main", 6, 10),
    ]
    assert all(t.line is None and t.end_column is None for t in tokens)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "index=x | stats count by",
        'a="unterminated',
        "a | eval x=",
        "a | where (x>1",
        "a | eval x=1 |",
        "a ]",
        "a\n| where x ==",
        "search a | eval x=\"é\" | table x\n\n  | bogus 'x'",
        "a | stats count(x) as n by host | where n > 5 AND NOT y LIKE \"%z\"",
        "| tstats count from datamodel=Endpoint.Processes where Processes.x=1 by Processes.y",
        "a [search b | fields c] | append [search d]",
    ],
)
def test_edge_cases_and_errors_parse_as_lark_parses_them(text: str) -> None:
    _same(text)


_PIECES = st.sampled_from(
    [
        "search", "where", "eval", "stats", "tstats", "rename", "table", "by", "as", "from",
        "NOT", "OR", "AND", "IN", "not", "or", "like", "xor", "TERM(x)", "CASE(Y)", "count",
        "x", "Processes.process_name", "'q f'", '"a b"', '"esc\\"q"', "*.exe", "1.5", "-", "+",
        ".", "*", "/", "%", "=", "==", "!=", "<", ">=", "(", ")", "[", "]", ",", "|", " ", "\n",
        "\t", "datamodel=", "x=", "\\", '"', "<<FIELD>>", "{k}", "é",
    ]  # fmt: skip
)


@given(st.lists(_PIECES, max_size=25).map(" ".join), st.lists(_PIECES, max_size=25).map("".join))
def test_generated_text_parses_as_lark_parses_it(spaced: str, glued: str) -> None:
    _same(spaced)
    _same(glued)


def test_lark_internals_are_what_lark_tables_reads() -> None:
    """``backends.spl.parsing.lark_tables`` reads lark 1.3's private layout (lark documents no
    API for it): this fails, naming what moved, when a lark release changes it."""
    assert lark.__version__.startswith("1.3."), f"written for lark 1.3, not {lark.__version__}"
    tables = lark_tables(_lark())
    table = tables.parse_table
    start = table.start_states["start"]
    assert start in table.states and table.end_states["start"] in table.states
    kinds = {type(action).__name__ for row in table.states.values() for action, _ in row.values()}
    assert Shift in {action for row in table.states.values() for action, _ in row.values()}
    assert kinds <= {"Action"}, kinds  # lark's Shift and Reduce are Action instances
    reduces = [arg for row in table.states.values() for action, arg in row.values()
               if action is not Shift]  # fmt: skip
    assert reduces and all(callable(tables.callbacks[rule]) for rule in reduces)
    assert all(isinstance(rule.origin.name, str) and len(rule.expansion) >= 0 for rule in reduces)
    patterns, callbacks, ignored = tables.state_scanner(start)
    assert patterns and all(isinstance(p, re.Pattern) and p.groupindex for p in patterns)
    assert isinstance(callbacks, dict) and isinstance(ignored, (set, frozenset))
    # parsing._token sets these slots itself, as lark's constructor does
    slots = {"type", "value", "start_pos", "end_pos", "line", "column", "end_line", "end_column"}
    assert set(Token.__slots__) == slots
    made, lark_made = _token("WORD", "x", 3, 4), Token("WORD", "x", 3, None, None, None, None, 4)
    assert made == lark_made and all(getattr(made, s) == getattr(lark_made, s) for s in slots)
