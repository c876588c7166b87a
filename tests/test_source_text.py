"""The one source-text type (:class:`ir.errors.SourceText`): line and column of an offset, which
every span and positioned error of the SPL reader goes through, against a plain reading of the
text; its one clamping rule and one caret, for both readers' inputs (the end of the file, past
it, tabs, CRLF, an empty text)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.sigma.reader import read_sigma
from backends.spl.reader import read_spl
from ir.errors import RuleglotError, SourceText, Span, caret


def _reference(text: str, offset: int) -> tuple[int, int]:
    """Walk the lines (cut after each ``\\n``, and after a ``\\r`` not followed by ``\\n``, as
    editors number them: ``\\v``, ``\\x1e`` or ``\\u2028`` are no line break); an offset on a
    line break or past the text's end is the column just after that line's last character."""
    offset = min(max(offset, 0), len(text))
    chunks = [c for c in re.split(r"(?<=\n)|(?<=\r)(?!\n)", text) if c] or [""]
    start = 0
    for number, chunk in enumerate(chunks, 1):
        line = chunk.rstrip("\r\n")
        if offset < start + len(chunk) or number == len(chunks):
            return number, min(offset - start, len(line)) + 1
        start += len(chunk)
    raise AssertionError("unreachable")


@given(
    st.lists(
        st.sampled_from(["a", "é", " ", "\n", "\r", "\r\n", "\x0b", "\u2028", "\x1e"])
    ).map("".join),
    st.integers(min_value=-3, max_value=40),
)
def test_line_and_column_of_any_offset(text: str, offset: int) -> None:
    assert SourceText(text, None).line_col(offset) == _reference(text, offset)


def test_line_and_column_examples() -> None:
    source = SourceText("ab\ncd\n", "x.spl")
    assert [source.line_col(i) for i in range(8)] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (2, 3), (2, 3),
    ]  # fmt: skip
    span = source.offset_span(1, 4)
    assert (span.line, span.col, span.end_line, span.end_col, span.path) == (1, 2, 2, 2, "x.spl")


def _clamped(text: str, line: int | None, col: int | None) -> tuple[int | None, int | None, str]:
    exc = RuleglotError("m", path="f")
    exc.line, exc.col = line, col
    SourceText(text, "f").clamp(exc)
    assert exc.source_line is not None
    return exc.line, exc.col, exc.source_line


@pytest.mark.parametrize(
    ("text", "line", "col", "expected"),
    [
        ("ab\ncd\n", 2, 2, (2, 2, "cd")),  # inside: unchanged
        ("ab\ncd\n", 2, 9, (2, 3, "cd")),  # past the line's end: just after its last character
        ("ab\ncd\n", 3, 1, (2, 3, "cd")),  # after the last line break: the end of the last line
        ("ab\ncd", 7, 4, (2, 3, "cd")),  # past the last line
        ("ab\ncd", 0, 5, (1, 1, "ab")),  # before the text
        ("ab\ncd", None, None, (1, 1, "ab")),  # no position: the start
        ("ab\ncd", 2, None, (2, 1, "cd")),  # a line without a column: its start
        ("a\r\nbc\r\n", 3, 1, (2, 3, "bc")),  # CRLF is one line break, not part of the line
        ("", 4, 4, (1, 1, "")),  # an empty text is one empty line
        ("\tx", 1, 3, (1, 3, "\tx")),  # a tab is one column
    ],
)
def test_one_clamping_rule(text: str, line: int, col: int, expected: tuple[int, int, str]) -> None:
    assert _clamped(text, line, col) == expected


@given(st.text(alphabet="a\t\r\n", max_size=12), st.integers(-2, 8), st.integers(-2, 12))
def test_clamped_position_lies_inside_the_text(text: str, line: int, col: int) -> None:
    got_line, got_col, source_line = _clamped(text, line, col)
    lines = text.splitlines() or [""]
    assert got_line is not None and got_col is not None
    assert 1 <= got_line <= len(lines)
    assert source_line == lines[got_line - 1]
    assert 1 <= got_col <= len(source_line) + 1


def test_an_offset_and_a_mark_past_the_end_clamp_alike() -> None:
    """The SPL reader's offsets and the Sigma reader's marks meet the same rule."""

    class Mark:
        line, column = 2, 0  # PyYAML's end of stream after "ab\ncd\n"

    source = SourceText("ab\ncd\n", "f")
    from_offset = source.error("m", "syntax", source.offset_span(99))
    from_mark = source.error("m", "syntax", source.span(Mark()))
    assert (from_offset.line, from_offset.col) == (from_mark.line, from_mark.col) == (2, 3)


def test_caret_keeps_tabs() -> None:
    assert caret("\tab", 3) == "\t ^"
    assert caret("ab", 1) == "^"
    assert caret("", 1) == "^"
    exc = RuleglotError("m", path="f", line=1, col=3, source_line="\tab")
    assert str(exc).splitlines()[-1] == "    \t ^"


def test_at_with_source_text_sets_the_caret_line_only() -> None:
    """``at`` never clamps: a span may be of the YAML file an SPL search was read from."""
    exc = RuleglotError("m").at(Span(2, 2, "f"), "one\ntwo\n")
    assert (exc.line, exc.col, exc.source_line) == (2, 2, "two")
    exc = RuleglotError("m").at(Span(10, 5, "f"), "one\ntwo\n")
    assert (exc.line, exc.col, exc.source_line) == (10, 5, None)


def _error(read, text: str) -> RuleglotError:  # type: ignore[no-untyped-def]
    with pytest.raises(RuleglotError) as info:
        read(text, "input")
    return info.value


@pytest.mark.parametrize(
    ("text", "line", "col", "source_line"),
    [
        ("index=x | eval a=(", 1, 19, "index=x | eval a=("),  # the end of the file
        ("index=x\r\n| eval a=(\r\n", 2, 11, "| eval a=("),  # CRLF, past the end
        ("\tindex=x | where (", 1, 19, "\tindex=x | where ("),  # a tab
    ],
)
def test_spl_reader_errors_lie_inside_the_text(
    text: str, line: int, col: int, source_line: str
) -> None:
    exc = _error(read_spl, text)
    assert (exc.line, exc.col, exc.source_line) == (line, col, source_line)


@pytest.mark.parametrize(
    ("text", "line", "col", "source_line"),
    [
        ("title: x\ndetection: [", 2, 13, "detection: ["),  # the end of a file without a break
        ("title: x\r\ndetection: [\r\n", 2, 13, "detection: ["),  # CRLF, PyYAML past the end
        ("title: x\n\tdetection: 1\n", 2, 1, "\tdetection: 1"),  # a tab
        ("", 1, 1, ""),  # an empty text
    ],
)
def test_sigma_reader_errors_lie_inside_the_text(
    text: str, line: int, col: int, source_line: str
) -> None:
    exc = _error(read_sigma, text)
    assert (exc.line, exc.col, exc.source_line) == (line, col, source_line)
    assert str(exc).splitlines()[-1].endswith("^")
