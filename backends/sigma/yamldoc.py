"""Sigma YAML documents with positions: the input text (:class:`SigmaSource`: positioned,
clamped errors and lenient-read warnings), each document's data with its location tree
(:class:`Doc`, :data:`Loc`) and the helpers that read spans out of it. Public, so that every
reader of a Sigma document (:mod:`backends.sigma.reader`, :mod:`backends.sigma.correlation`,
:mod:`backends.sigma.aggregation`, :mod:`backends.sigma.leniency`) shares one definition and
none imports another's private names (no import cycle between them)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml
from sigma.rule import SigmaRule

from ir.errors import RuleglotError, Span, lossy_warning

#: The kinds of reader warnings: ``deprecated`` (Sigma 1.x syntax read as its modern form),
#: ``collection`` (a rule of a Sigma 1.x ``action:`` collection, named by the positions of the
#: documents it was merged from), ``logsource`` (a log-source value in another spelling, or
#: several in one field), ``metadata`` (a key outside the schema, a value outside an
#: enumeration), ``duplicate-key`` (read as PyYAML does, with ``lenient``).
WARNING_KINDS = ("deprecated", "collection", "logsource", "metadata", "duplicate-key")


# --- the input and its errors -------------------------------------------------------------------


class SigmaSource:
    """The input text and path; makes positioned errors whose position lies inside the text."""

    def __init__(self, text: str, path: str | None, lenient: bool = False) -> None:
        self.text = text
        self.path = path
        self.lenient = lenient
        #: what was read leniently (:meth:`warn`)
        self.warnings: list[dict[str, Any]] = []
        self.lines = text.splitlines() or [""]
        #: (line, column), 0-based, of the end of a text that does not end with a YAML line
        #: break, for marks from the C composer (:meth:`position`); ``None`` otherwise
        self.eof: tuple[int, int] | None = None

    def span(self, mark: Any) -> Span:
        """A span from a PyYAML mark (0-based) or node (its start and end marks)."""
        start, end = getattr(mark, "start_mark", mark), getattr(mark, "end_mark", None)
        line, col = self.position(start)
        if end is None:
            return Span(line, col, self.path)
        end_line, end_col = self.position(end)
        return Span(line, col, self.path, end_line, end_col)

    def position(self, mark: Any) -> tuple[int, int]:
        """A mark's 1-based line and column, as PyYAML's pure-Python composer places it.

        libyaml (the C composer) differs in one case only: when the text does not end with a line
        break, it puts the end of the stream at the start of a line after the text, PyYAML at
        the end of the last line; that mark is moved to where PyYAML puts it."""
        if self.eof is not None and mark.line > self.eof[0]:
            return self.eof[0] + 1, self.eof[1] + 1
        return mark.line + 1, mark.column + 1

    def start(self) -> Span:
        return Span(1, 1, self.path)

    def warn(self, kind: str, construct: str, message: str, span: Span | None) -> None:
        """Record something read leniently (``kind``: one of :data:`WARNING_KINDS`)."""
        assert kind in WARNING_KINDS, kind
        self.warnings.append({"kind": kind, **lossy_warning(construct, message, span)})

    def error(
        self,
        message: str,
        category: str,
        span: Span | None,
        construct: str | None = None,
        notes: Sequence[str] = (),
    ) -> RuleglotError:
        exc = RuleglotError(message, category=category, path=self.path, construct=construct)
        exc.notes.extend(notes)
        return self.clamp(exc.at(span or self.start()))

    def clamp(self, exc: RuleglotError) -> RuleglotError:
        """Move the error's position inside the text (PyYAML may point just past its end)."""
        exc.path = exc.path or self.path
        line = min(max(exc.line or 1, 1), len(self.lines))
        text_line = self.lines[line - 1]
        col = exc.col if exc.line == line and exc.col is not None else len(text_line) + 1
        if exc.line is None or exc.line < 1:
            col = 1
        exc.line, exc.col = line, min(max(col, 1), len(text_line) + 1)
        exc.source_line = text_line
        return exc

    def offset_span(self, offset: int) -> Span:
        """The span of a character offset into the text (PyYAML's reader errors give offsets)."""
        before = self.text[:offset]
        lines = before.splitlines(keepends=True)
        if not lines:
            return self.start()
        last = lines[-1]
        if last.splitlines() != [last]:  # ends with a line break: the offset starts a new line
            return Span(len(lines) + 1, 1, self.path)
        return Span(len(lines), len(last) + 1, self.path)


# --- YAML with positions ------------------------------------------------------------------------


class Marker:
    """A dictionary key that can never collide with a YAML key."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


#: Key under which a mapping's location tree keeps the mapping's own span.
SELF = Marker("self")


#: First item of the keys under which a mapping's location tree keeps the span of its YAML keys.
KEY = Marker("key")


def key_of(key: Hashable) -> tuple[Marker, Hashable]:
    """The key under which a mapping's location tree keeps the span of the YAML key ``key`` (a
    tuple: YAML data never has tuple keys, and a tuple is cheaper to make than an object)."""
    return (KEY, key)


@dataclass
class SeqLoc:
    """The location tree of a YAML sequence: its own span and one tree per item."""

    span: Span
    items: list[Loc]


#: A location tree has the shape of the data it describes: a dict for a mapping (plus ``SELF``
#: and :func:`key_of` entries), a :class:`SeqLoc` for a sequence, a :class:`Span` for a scalar.
#: Same shape means pySigma's own ``deep_dict_update`` merges it like the data. Scalars and keys
#: (most of a rule, and most of it never asked for a position) keep their ``yaml.ScalarNode``
#: instead, made a span only when asked (:func:`span_of_loc`, :func:`span_of_key`).
Loc: TypeAlias = "Span | yaml.ScalarNode | SeqLoc | dict[Any, Any]"


@dataclass
class Doc:
    """One YAML document: its data (as ``yaml.safe_load`` builds it), locations and start."""

    data: Any
    loc: Loc
    span: Span




def node_span(node: yaml.ScalarNode, path: str | None) -> Span:
    """The span of a scalar node whose marks are where PyYAML's own composer puts them."""
    start, end = node.start_mark, node.end_mark
    return Span(start.line + 1, start.column + 1, path, end.line + 1, end.column + 1)


def span_of_loc(loc: Any, default: Span) -> Span:
    """The span a location tree starts at, else ``default`` (whose path it shares)."""
    if isinstance(loc, Span):
        return loc
    if isinstance(loc, yaml.ScalarNode):
        return node_span(loc, default.path)
    if isinstance(loc, SeqLoc):
        return loc.span
    if isinstance(loc, dict) and isinstance(loc.get(SELF), Span):
        return loc[SELF]
    return default


def child_loc(loc: Any, key: Hashable) -> Any:
    """The location tree of ``key`` in a mapping's tree, or ``None``."""
    try:
        return loc.get(key) if isinstance(loc, dict) else None
    except TypeError:  # unhashable key
        return None


def span_of_key(loc: Any, key: Hashable, default: Span) -> Span:
    found = child_loc(loc, key_of(key)) if isinstance(key, Hashable) else None
    if isinstance(found, yaml.ScalarNode):
        return node_span(found, default.path)
    return found if isinstance(found, Span) else default


def item_locs(loc: Any, count: int) -> list[Any]:
    """The item trees of a sequence's tree, padded with ``None`` to ``count``."""
    items = list(loc.items) if isinstance(loc, SeqLoc) else []
    return (items + [None] * count)[:count]




def drop_key(doc: Doc, key: str) -> None:
    doc.data.pop(key, None)
    if isinstance(doc.loc, dict):
        doc.loc.pop(key, None)
        doc.loc.pop(key_of(key), None)




def span_inside(span: Span, text: str, offset: int | None, source: SigmaSource) -> Span:
    """The span of ``text[offset]`` when ``text`` stands on one line at ``span`` as written."""
    if offset is None or not text or not 0 <= offset <= len(text):
        return span
    line = source.lines[span.line - 1] if 0 < span.line <= len(source.lines) else ""
    start = span.col - 1
    if line[start : start + 1] in ("'", '"'):
        start += 1
    if line[start : start + len(text)] != text:
        return span
    return Span(span.line, start + offset + 1, span.path)




def rule_metadata(rule: SigmaRule) -> dict[str, Any]:
    return {
        "id": text_or_none(rule.id),
        "description": text_or_none(rule.description),
        "status": text_or_none(rule.status),
        "level": text_or_none(rule.level),
        "author": text_or_none(rule.author),
        "date": date_text(rule.date),
        "modified": date_text(rule.modified),
        "references": texts_of(rule.references),
        "falsepositives": texts_of(rule.falsepositives),
        "tags": texts_of(rule.tags),
    }




def text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def texts_of(values: Sequence[object] | None) -> tuple[str, ...]:
    return tuple(str(v) for v in values or () if v is not None)


def date_text(value: object) -> str | None:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else text_or_none(value)
