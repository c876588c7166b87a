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

from ir.errors import SourceText, Span, lossy_warning

#: The kinds of reader warnings: ``deprecated`` (Sigma 1.x syntax read as its modern form),
#: ``collection`` (a rule of a Sigma 1.x ``action:`` collection, named by the positions of the
#: documents it was merged from), ``logsource`` (a log-source value in another spelling, or
#: several in one field), ``metadata`` (a key outside the schema, a value outside an
#: enumeration), ``duplicate-key`` (read as PyYAML does, with ``lenient``).
WARNING_KINDS = ("deprecated", "collection", "logsource", "metadata", "duplicate-key")


# --- the input and its errors -------------------------------------------------------------------


class SigmaSource(SourceText):
    """The input text (:class:`~ir.errors.SourceText`: positions from PyYAML's marks, clamped
    errors) and what a lenient read of it kept (:meth:`warn`)."""

    def __init__(self, text: str, path: str | None, lenient: bool = False) -> None:
        super().__init__(text, path)
        self.lenient = lenient
        #: what was read leniently (:meth:`warn`)
        self.warnings: list[dict[str, Any]] = []

    def warn(self, kind: str, construct: str, message: str, span: Span | None) -> None:
        """Record something read leniently (``kind``: one of :data:`WARNING_KINDS`)."""
        assert kind in WARNING_KINDS, kind
        self.warnings.append({"kind": kind, **lossy_warning(construct, message, span)})


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
