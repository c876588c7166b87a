"""Parsing SPL with lark's LALR tables, without lark's per-token bookkeeping.

``spl.lark`` is analysed by lark (``parser="lalr"``, ``lexer="contextual"``); :class:`SplParser`
runs what lark built (each parser state's scanner, keyword callbacks, parse table and
tree-building callbacks) in one loop that lexes and parses together, and returns the tree lark
returns, token for token. What it leaves out, because the builder never reads it: lark's line
and column counting (a line counter fed for every token and every run of whitespace, and four
more fields on each token: here ``line``, ``column``, ``end_line`` and ``end_column`` are
``None``; ``start_pos``/``end_pos`` are kept, and
:class:`~ir.errors.SourceText` turns the few offsets the builder keeps into lines).
Also out: the generator between lexer and parser, and the method calls and attribute lookups of
lark's ``ParserState.feed_token`` per token and per reduction.

Why: reading security_content's 1,709 searches into IR (issue 7 (b)) spent 1.02 s in lark, 0.63 s
of it lexing; this loop takes about 0.59 s for the same trees.

Input that does not parse is parsed again by lark itself (:meth:`lark.Lark.parse`), so every
syntax error is lark's own exception, position and expected set. ``tests/test_spl_parsing.py``
compares trees and errors with lark's on every corpus search and on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lark
from lark.lexer import BasicLexer, ContextualLexer, Token
from lark.parsers.lalr_analysis import Shift

__all__ = ["LarkTables", "SplParser", "lark_tables"]

_new_str = str.__new__


def _token(type_: str, value: str, start: int, end: int) -> Token:
    """``Token(type_, value, start, None, None, None, None, end)`` in a third of the time (lark's
    constructor is two Python calls); every slot is set, as lark's constructor sets them."""
    token = _new_str(Token, value)
    token.type = type_
    token.value = value
    token.start_pos = start
    token.end_pos = end
    token.line = token.column = token.end_line = token.end_column = None
    return token


#: One parser state's scanner: its compiled alternations (lark splits one past Python's 100
#: named groups), the callbacks of its terminals (keywords), its ignored terminal names.
_Scanner = tuple[tuple[re.Pattern[str], ...], dict[str, Callable[[Token], Token]], frozenset[str]]
#: One parse-table action: (True, next state, None, None) to shift, or (False, how many values
#: the rule pops, its tree-building callback, its left-hand side's name) to reduce.
_Action = tuple[bool, Any, Any, Any]


# --- lark's internals ---------------------------------------------------------------------------
#
# lark documents no public API for what the loop below runs: the LALR parse table, the
# tree-building callbacks, the contextual lexer's per-state scanners (lark's documented API is
# ``Lark.parse``/``Lark.parse_interactive``; its interactive parser, ``InteractiveParser.
# feed_token``, is the per-token cost this module avoids). Every read of lark's private
# structure is in :func:`lark_tables` (and :func:`_token` sets a Token's slots), written for
# lark 1.3 (pinned ``>=1.3,<1.4`` in pyproject.toml); ``tests/test_spl_parsing.py::
# test_lark_internals_are_what_lark_tables_reads`` fails, naming the attribute, if a lark release
# moves one.


@dataclass(frozen=True)
class LarkTables:
    """What :class:`SplParser` runs of a lark LALR parser with the contextual lexer."""

    #: lark's ``ParseTable``: ``states`` (state -> terminal -> (Shift or Reduce, argument)),
    #: ``start_states`` and ``end_states`` by start symbol
    parse_table: Any
    #: rule -> its tree-building callback (lark's ``ParseTreeBuilder`` output)
    callbacks: dict[Any, Callable[[Any], Any]]
    #: parser state -> its scanner (made by lark on first use)
    state_scanner: Callable[[Any], _Scanner]


def lark_tables(lark_parser: lark.Lark) -> LarkTables:
    """The parse table, callbacks and per-state scanners of ``lark_parser`` (lark 1.3's layout:
    ``Lark.parser`` is the ``ParsingFrontend``, whose ``parser.parser`` is the LALR ``_Parser``
    and whose ``lexer`` is the ``ContextualLexer`` with one ``BasicLexer`` per parser state)."""
    frontend = lark_parser.parser
    lexer = frontend.lexer
    if not isinstance(lexer, ContextualLexer) or frontend.lexer_conf.postlex is not None:
        raise TypeError("SplParser needs lark's LALR parser with the contextual lexer")
    parser = frontend.parser.parser  # lark's LALR_Parser -> its _Parser

    def state_scanner(state: Any) -> _Scanner:
        state_lexer = lexer.lexers[state]
        assert isinstance(state_lexer, BasicLexer)  # what ContextualLexer builds per state
        scanner = state_lexer.scanner  # built by lark on first use
        return (tuple(scanner._mres), state_lexer.callback, state_lexer.ignore_types)

    return LarkTables(parser.parse_table, parser.callbacks, state_scanner)


class _NoParse(Exception):
    """The text does not parse: lark parses it again to raise its own error."""


class SplParser:
    """The trees of ``lark_parser`` (a LALR parser with the contextual lexer), faster."""

    def __init__(self, lark_parser: lark.Lark, start: str = "start") -> None:
        self.lark = lark_parser
        tables = lark_tables(lark_parser)
        table = tables.parse_table
        self.callbacks: dict[Any, Callable[[Any], Any]] = tables.callbacks
        self.start_state = table.start_states[start]
        self.end_state = table.end_states[start]
        self.actions: dict[Any, dict[str, _Action]] = {}
        for state, row in table.states.items():
            actions: dict[str, _Action] = {}
            for symbol, (action, arg) in row.items():
                if action is Shift:
                    actions[symbol] = (True, arg, None, None)
                else:
                    build = self.callbacks[arg]
                    actions[symbol] = (False, len(arg.expansion), build, arg.origin.name)
            self.actions[state] = actions
        self.state_scanner = tables.state_scanner
        #: each state's scanner, made on first use (compiling all 380 costs 0.04 s a process)
        self.scanners: dict[Any, _Scanner] = {}

    def _scanner(self, state: Any) -> _Scanner:
        found = self.state_scanner(state)
        self.scanners[state] = found
        return found

    def parse(self, text: str) -> lark.Tree[Token]:
        """The tree lark's ``parse(text)`` returns; lark's own exception when it does not parse."""
        try:
            return self._parse(text)
        except _NoParse:
            pass
        self.lark.parse(text)  # raises lark's error
        raise AssertionError(f"lark parses what SplParser does not: {text!r}")  # pragma: no cover

    def _parse(self, text: str) -> lark.Tree[Token]:
        actions, scanners, callbacks = self.actions, self.scanners, self.callbacks
        end_state = self.end_state
        state_stack: list[Any] = [self.start_state]
        value_stack: list[Any] = []
        pos, end = 0, len(text)
        while True:
            if pos < end:  # the next token, lexed in the current state
                state = state_stack[-1]
                scanner = scanners.get(state) or self._scanner(state)
                patterns, token_callbacks, ignored = scanner
                for pattern in patterns:
                    match = pattern.match(text, pos)
                    if match is not None:
                        break
                else:
                    raise _NoParse
                type_ = match.lastgroup
                assert type_ is not None
                stop = match.end()
                if type_ in ignored:
                    if type_ in token_callbacks:  # lark calls them on ignored tokens too
                        token_callbacks[type_](_token(type_, match.group(), pos, stop))
                    pos = stop
                    continue
                token = _token(type_, match.group(), pos, stop)
                pos = stop
                if type_ in token_callbacks:
                    token = token_callbacks[type_](token)
                    type_ = token.type
                at_end = False
            else:
                type_, at_end = "$END", True
            while True:  # reduce until the token shifts (or the input is accepted)
                try:
                    shift, arg, build, origin = actions[state_stack[-1]][type_]
                except KeyError:
                    raise _NoParse from None
                if shift:  # never $END: lark's tables accept by reducing to the end state
                    state_stack.append(arg)
                    value_stack.append(token if type_ not in callbacks else callbacks[type_](token))
                    break
                if arg:
                    values = value_stack[-arg:]
                    del state_stack[-arg:]
                    del value_stack[-arg:]
                else:
                    values = []
                value = build(values)
                goto = actions[state_stack[-1]][origin]
                state_stack.append(goto[1])
                value_stack.append(value)
                if at_end and goto[1] == end_state:
                    tree: lark.Tree[Token] = value_stack[-1]
                    return tree
