"""ruleglot's one error type, with a position inside the input.

Every reader raises :class:`RuleglotError` (never a library's own exception), so a batch run
can report ``path:line:col: category: message`` with a caret under the column and go on with the
next input. Categories are a small closed vocabulary so scripts can filter on them.
"""

from __future__ import annotations

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
            lines = source_text.splitlines()
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
            caret = " " * (max(self.col, 1) - 1) + "^"
            text += f"\n    {self.source_line}\n    {caret}"
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
