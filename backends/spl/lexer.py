"""lark's contextual lexer without the bookkeeping ruleglot does not read.

Plugged in where lark expects a replacement (``Lark(..., _plugins={"ContextualLexer": ...})``,
the hook lark-cython uses): the same per-state scanners (built by lark from ``spl.lark``), tried
in the same order, the same keyword callbacks, the same ignored terminals; what it leaves out is
lark's line and column counting. lark's ``BasicLexer.next_token`` feeds a line counter for every
token and every run of whitespace and builds each token with its line and column; the builder
reads only offsets (``start_pos``/``end_pos``, which :class:`~backends.spl.source.SourceFile`
turns into lines and columns once, for the spans it keeps). Reading security_content's 1,709
searches, lark's lexer was 0.63 s of the 1.02 s lark spent parsing them (issue 7 (b)).

What differs from lark's tokens, and only that: ``line``, ``column``, ``end_line`` and
``end_column`` are ``None``. Where no terminal of the parser state matches, the lexer hands over
to lark's own :meth:`ContextualLexer.lex` at that position (its line counter advanced there
first), so lexical errors are lark's, to the character. ``tests/test_spl_lexer.py`` checks the
token streams against lark's on the whole corpus and on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from lark.lexer import BasicLexer, ContextualLexer, LexerState, Token

#: What one parser state's lexer needs at each token: its compiled alternations (lark splits a
#: scanner past Python's 100 named groups), its callbacks, its ignored terminal names.
_Table = tuple[tuple[re.Pattern[str], ...], dict[str, Callable[[Token], Token]], frozenset[str]]

_new_str = str.__new__


def _token(type_: str, value: str, start: int, end: int) -> Token:
    """``Token(type_, value, start, None, None, None, None, end)`` in a third of the time (lark's
    constructor is two Python calls); every slot is set, as lark's sets them."""
    token = _new_str(Token, value)
    token.type = type_
    token.value = value
    token.start_pos = start
    token.end_pos = end
    token.line = token.column = token.end_line = token.end_column = None
    return token


class OffsetsOnlyLexer(ContextualLexer):
    """A ``ContextualLexer`` whose tokens carry offsets and no line or column (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tables: dict[int, _Table] = {}

    def _table(self, state: int) -> _Table:
        """The scanner of the parser state ``state``, built (by lark) on first use."""
        lexer = self.lexers[state]
        assert isinstance(lexer, BasicLexer)  # what ContextualLexer builds for each state
        table = (tuple(lexer.scanner._mres), lexer.callback, lexer.ignore_types)
        self._tables[state] = table
        return table

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        text_slice = lexer_state.text
        text, end = text_slice.text, text_slice.end
        line_counter = lexer_state.line_ctr
        pos = line_counter.char_pos
        tables = self._tables
        state_stack = parser_state.state_stack  # the parser pushes and pops this very list
        last: Token | None = lexer_state.last_token
        while pos < end:
            state = state_stack[-1]
            table = tables.get(state) or self._table(state)
            patterns, callbacks, ignored = table
            for pattern in patterns:
                match = pattern.match(text, pos, end)
                if match is not None:
                    break
            else:  # nothing matches here: lark's own lexer raises its error from here
                line_counter.feed(text[line_counter.char_pos : pos])
                lexer_state.last_token = last
                yield from ContextualLexer.lex(self, lexer_state, parser_state)
                return
            type_ = match.lastgroup
            assert type_ is not None
            stop = match.end()
            if type_ in ignored:
                if type_ in callbacks:  # lark calls them on ignored tokens too
                    callbacks[type_](_token(type_, match.group(), pos, stop))
                pos = stop
                continue
            token = _token(type_, match.group(), pos, stop)
            pos = stop
            if type_ in callbacks:
                token = callbacks[type_](token)
            last = token
            yield token
        line_counter.char_pos = pos
        lexer_state.last_token = last
