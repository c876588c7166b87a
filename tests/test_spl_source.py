"""Line and column of an offset (``backends.spl.source.SourceFile.line_col``), which every span
and every positioned error of the SPL reader goes through, against a plain reading of the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backends.spl.source import SourceFile


def _reference(text: str, offset: int) -> tuple[int, int]:
    """Walk the lines (as ``str.splitlines`` cuts them); an offset on a line break or past the
    text's end is the column just after that line's last character."""
    offset = min(max(offset, 0), len(text))
    chunks = text.splitlines(keepends=True) or [""]
    start = 0
    for number, chunk in enumerate(chunks, 1):
        line = chunk.splitlines()[0] if chunk.splitlines() else ""
        if offset < start + len(chunk) or number == len(chunks):
            return number, min(offset - start, len(line)) + 1
        start += len(chunk)
    raise AssertionError("unreachable")


@given(
    st.lists(st.sampled_from(["a", "é", " ", "\n", "\r", "\r\n", "\x0b", "\u2028"])).map("".join),
    st.integers(min_value=-3, max_value=40),
)
def test_line_and_column_of_any_offset(text: str, offset: int) -> None:
    assert SourceFile(text, None).line_col(offset) == _reference(text, offset)


def test_line_and_column_examples() -> None:
    source = SourceFile("ab\ncd\n", "x.spl")
    assert [source.line_col(i) for i in range(8)] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (2, 3), (2, 3),
    ]  # fmt: skip
    span = source.span(1, 4)
    assert (span.line, span.col, span.end_line, span.end_col, span.path) == (1, 2, 2, 2, "x.spl")
