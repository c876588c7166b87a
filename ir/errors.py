"""ruleglot's one error type, with a position inside the input.

Every reader raises :class:`RuleglotError` (never a library's own exception), so a batch run
can report ``path:line:col: category: message`` with a caret under the column and go on with the
next input. Categories are a small closed vocabulary so scripts can filter on them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: The categories an error may carry. ``unsupported`` is a construct ruleglot understands but
#: cannot represent or translate with the same meaning; ``syntax`` is malformed input; ``invalid``
#: is well-formed input that breaks the language's rules (unknown modifier, undefined identifier);
#: ``io`` is a file that cannot be read; ``events`` is an unreadable event line.
CATEGORIES = ("syntax", "invalid", "unsupported", "io", "events")


@dataclass(frozen=True)
class Span:
    """Where a node came from: 1-based line and column of its first character.

    Spans never take part in equality or hashing (see :mod:`ir.nodes`): two rules that mean the
    same thing compare equal wherever they were written.
    """

    line: int
    col: int
    path: str | None = None
    end_line: int | None = None
    end_col: int | None = None


@dataclass
class RuleglotError(Exception):
    """A problem with an input, positioned as precisely as the reader could.

    ``line``/``col`` are 1-based; ``None`` where no position is known (an unreadable file).
    ``construct`` names what could not be handled (a modifier, a command), for machine-readable
    reports.
    """

    message: str
    category: str = "invalid"
    path: str | None = None
    line: int | None = None
    col: int | None = None
    source_line: str | None = None
    construct: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown error category {self.category!r}")
        super().__init__(self.message)

    def at(self, span: Span | None, source_text: str | None = None) -> RuleglotError:
        """Fill in the position from ``span`` (and the caret line from ``source_text``)."""
        if span is not None and self.line is None:
            self.line, self.col = span.line, span.col
            self.path = self.path or span.path
        if source_text is not None and self.line is not None and self.source_line is None:
            # no clamping here: the span may be of the file the text was read from (an SPL
            # search inside a YAML detection), so a line outside the text gets no caret line
            lines = split_lines(source_text)
            if 0 < self.line <= len(lines):
                self.source_line = lines[self.line - 1]
        return self

    def located(self) -> str:
        """``path:line:col`` as far as it is known."""
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.located()}: {self.category}: {self.message}"
        if self.source_line is not None and self.col is not None:
            text += f"\n    {self.source_line}\n    {caret(self.source_line, self.col)}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "category": self.category,
            "construct": self.construct,
            "message": self.message,
        }


def caret(line: str, col: int) -> str:
    """The caret line under column ``col`` of ``line``: a tab before the column stays a tab, so
    that the caret stands under the character however the terminal expands tabs."""
    prefix = line[: max(col, 1) - 1]
    return "".join("\t" if char == "\t" else " " for char in prefix) + "^"


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """``text`` cut into lines at ``\\n``, ``\\r\\n`` and ``\\r`` only (``str.splitlines`` without
    its other breaks: a control character such as ``\\x1e`` inside a search is no new line for
    an editor, a caret or a ``line:col``); like ``splitlines``, no empty line after a final
    break."""
    lines: list[str] = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(text[start : match.end() if keepends else match.start()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


class SourceText:
    """The text of one input and its path: where every reader's positions are made and clamped.

    Both readers use it (the SPL reader with character offsets, the Sigma reader with PyYAML's
    marks), so a position means the same in both and one rule keeps it inside the text:

    * lines are cut at ``\\n``, ``\\r\\n`` and ``\\r`` (:func:`split_lines`: as editors number
      them; ``str.splitlines`` also cuts at ``\\x1c``-``\\x1e``, ``\\v``, ``\\f``...); an empty text
      is one empty line;
    * a position before the text is 1:1; a position past the text's last line, or an offset at
      or past its end, is just after the last line's last character; a column past its line's
      end (on the line break) is just after the line's last character.

    Character offsets become spans with :meth:`offset_span`, PyYAML marks and nodes with
    :meth:`span` (the Sigma reader's name for it since before this class). Errors made or
    clamped here carry ``source_line``, so :class:`RuleglotError` prints a caret.
    """

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.lines = split_lines(text) or [""]
        #: (line, column), 0-based, of the end of a text that does not end with a YAML line
        #: break, set while libyaml's marks are read (:meth:`position`); ``None`` otherwise
        self.eof: tuple[int, int] | None = None
        self._starts: list[int] | None = None

    # --- character offsets (the SPL reader) ---

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of the character offset ``offset``, clamped inside the text."""
        if self._starts is None:  # made on first use: most Sigma files never ask
            chunks = split_lines(self.text, keepends=True)
            self._starts = [0, *itertools.accumulate(map(len, chunks))]
        starts = self._starts
        index = bisect.bisect_right(starts, max(offset, 0)) - 1
        index = min(index, len(self.lines) - 1)
        end = starts[index] + len(self.lines[index])
        return index + 1, min(max(offset, 0), end) - starts[index] + 1

    def offset_span(self, start: int, end: int | None = None) -> Span:
        """The span of the offsets ``start`` (and ``end``)."""
        line, col = self.line_col(start)
        if end is None:
            return Span(line, col, self.path)
        end_line, end_col = self.line_col(end)
        return Span(line, col, self.path, end_line, end_col)

    # --- PyYAML marks (both readers' YAML) ---

    def position(self, mark: Any) -> tuple[int, int]:
        """A PyYAML mark's 1-based line and column, as PyYAML's pure-Python composer places it.

        libyaml (the C composer) differs in one case only: when the text does not end with a line
        break, it puts the end of the stream at the start of a line after the text, PyYAML at
        the end of the last line; with :attr:`eof` set, that mark is moved to where PyYAML puts
        it."""
        if self.eof is not None and mark.line > self.eof[0]:
            return self.eof[0] + 1, self.eof[1] + 1
        return mark.line + 1, mark.column + 1

    def span(self, mark: Any) -> Span:
        """A span from a PyYAML mark or node (its start and end marks)."""
        start, end = getattr(mark, "start_mark", mark), getattr(mark, "end_mark", None)
        line, col = self.position(start)
        if end is None:
            return Span(line, col, self.path)
        end_line, end_col = self.position(end)
        return Span(line, col, self.path, end_line, end_col)

    # --- errors ---

    def start(self) -> Span:
        return Span(1, 1, self.path)

    def error(
        self,
        message: str,
        category: str,
        span: Span | None = None,
        construct: str | None = None,
        notes: Sequence[str] = (),
    ) -> RuleglotError:
        """An error at ``span`` (the text's start if ``None``), clamped inside the text."""
        exc = RuleglotError(message, category=category, path=self.path, construct=construct)
        exc.notes.extend(notes)
        return self.clamp(exc.at(span or self.start()))

    def clamp(self, exc: RuleglotError) -> RuleglotError:
        """Move the error's position inside the text (the class's one rule) and set its caret
        line. A library may point past the text's end (PyYAML at the end of the stream, lark
        after the last token)."""
        exc.path = exc.path or self.path
        lines = self.lines
        if exc.line is None or exc.line < 1:
            line, col = 1, 1
        elif exc.line > len(lines):
            line = len(lines)
            col = len(lines[-1]) + 1
        else:
            line, col = exc.line, exc.col if exc.col is not None else 1
        text_line = lines[line - 1]
        exc.line, exc.col = line, min(max(col, 1), len(text_line) + 1)
        exc.source_line = text_line
        return exc


#: What a strict translation adds to a lossy warning it raises as its error: the warning says
#: what lossy mode writes ("written as a keyword"), and in strict mode nothing was written.
STRICT_NOTE = "(strict: --lossy writes it with this warning)"


def lossy_warning(construct: str, message: str, span: Span | None) -> dict[str, Any]:
    """A lossy translation's warning as reports carry it: the construct that could not be
    carried over with its meaning, why, and where the rule wrote it (every emitter's warnings
    have this shape, so a report never holds a warning without a construct or a position)."""
    return {
        "construct": construct,
        "message": message,
        "line": span.line if span else None,
        "col": span.col if span else None,
        "path": span.path if span else None,
    }


def unsupported(*, construct: str, message: str, span: Span | None = None) -> RuleglotError:
    """The error for a construct that cannot be translated or run with the same meaning
    ("lossless or loud"): category ``unsupported``, named by ``construct``, at ``span``.
    Keyword arguments only, so that no caller can swap construct and message."""
    return RuleglotError(message, category="unsupported", construct=construct).at(span)
