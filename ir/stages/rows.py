"""Pipeline rows and field access: what every stage module shares.

A :class:`Row` holds a plain ``fields`` dict and, while it still stands for one event, that
event (``source``): ``_raw`` is the event's ``_raw`` and ``_time`` its time unless a stage set
them. Stages never change a row in place: they build new rows.

The event-time rule (``_time``)
    Splunk gives every event ``_time``, in epoch seconds. ruleglot takes the event's own
    ``_time`` field when it has one (a number, or a timestamp text), else the first of
    ``TimeCreated_SystemTime`` (EVTX), ``@timestamp``, ``TimeCreated``, ``TimeGenerated``,
    ``UtcTime`` (Sysmon), ``EventTime`` (NXLog) that holds an ISO-8601 or ``YYYY-MM-DD
    HH:MM:SS(.fff)`` timestamp (no zone means UTC; ``EventTime`` is local time in NXLog exports
    and comes last for that reason); an event with none has no ``_time``. See
    :func:`event_time`.

Wildcard field lists
    ``*`` in a field name (``rename``, ``table``, ``fields``, ``stats values(*)``,
    ``convert``) is any run of characters; it does not match the internal fields ``_raw`` and
    ``_time`` unless the pattern itself starts with ``_`` (ruleglot's reading of SPL's rule that
    ``fields - *`` keeps internal fields): :func:`wild_match`.

This module imports no other stage module; each stage module adds its builders to the
pipeline's table through its ``STAGE_BUILDERS`` (:mod:`ir.pipeline`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from ir.errors import RuleglotError, Span, unsupported
from ir.events import MISSING, Event, walk_dotted
from ir.functions import (
    field_value,
    parse_timestamp,
    tidy_number,
    to_number,
    to_text,
    values_of,
)

TIME_FIELDS = (
    "TimeCreated_SystemTime",
    "@timestamp",
    "TimeCreated",
    "TimeGenerated",
    "UtcTime",
    "EventTime",
)

RowsFn = Callable[[list[Event]], list[Event]]
#: A stage's builder: the stage and the search's start time (``now()``) -> its ``RowsFn``.
StageBuilder = Callable[[Any, float], RowsFn]
#: Option values SPL reads as true.
TRUE_TEXTS = frozenset({"t", "true", "1", "yes"})


def put_field(fields: dict[str, Any], name: str, value: Any, absent: Any = None) -> None:
    """Set ``name`` to ``value``, or remove it when ``value`` is ``absent`` (``None``: a null
    result removes the field, as an eval assigning null does; ``MISSING``: only a value that is
    not there removes it, a null is kept): the one way stages write a result field."""
    if value is absent:
        fields.pop(name, None)
    else:
        fields[name] = value


def event_time(event: Event) -> float | None:
    """``_time`` of an event by the event-time rule (module docstring), in epoch seconds."""
    for name in ("_time", *TIME_FIELDS):
        value = event.fields.get(name, MISSING)
        if value is MISSING or value is None:
            continue
        stamp = parse_timestamp(value)
        if stamp is not None:
            return stamp
    return None


class Row(Event):
    """A pipeline row: a plain ``fields`` dict, and the event it stands for (``source``) while
    it stands for one. ``_raw`` and ``_time`` fall back to the source's (module docstring)."""

    __slots__ = ("source",)

    def __init__(
        self,
        fields: dict[str, Any],
        source: Event | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        self.fields = fields
        self.raw = fields if raw is None else raw
        self.source = source
        self._text = None
        self._raw_cache = None
        self._cache = {}

    @classmethod
    def of(cls, event: Event, aliases: Mapping[str, str] | None = None) -> Row:
        """The first row for an event (with field aliases applied, if any)."""
        if isinstance(event, Row) and not aliases:
            return event
        source = event.source if isinstance(event, Row) else event
        if not aliases:
            return cls(event.fields, source, event.raw)
        fields = dict(event.fields)
        for rule_name, event_name in aliases.items():
            if rule_name == event_name:
                continue
            value = event.get(event_name)
            put_field(fields, rule_name, value, MISSING)
        return cls(fields, source, event.raw)

    def derive(self, fields: dict[str, Any], keep_source: bool = True) -> Row:
        """A new row with these fields (and this row's event, unless told otherwise)."""
        return Row(fields, self.source if keep_source else None)

    def get(self, name: str) -> Any:
        value = self.fields.get(name, MISSING)
        if value is MISSING:
            if name == "_raw":
                return self.source.raw_text if self.source is not None else MISSING
            if name == "_time":
                if self.source is None:
                    return MISSING
                stamp = self._cache.get(("time", None), MISSING)
                if stamp is MISSING:
                    found = event_time(self.source)
                    stamp = MISSING if found is None else tidy_number(found)
                    self._cache[("time", None)] = stamp
                return stamp
            if "." in name:
                value = walk_dotted(self.fields, name)
        return value

    @property
    def raw_text(self) -> str:
        own = self.fields.get("_raw")
        if isinstance(own, str):
            return own
        return self.source.raw_text if self.source is not None else ""

    def names(self) -> list[str]:
        """The row's field names as wildcards see them: its keys (objects expanded to dotted
        leaves; an EVTX event's ``Event`` wrapper left out, its fields being hoisted)."""
        out: list[str] = []
        nested = self.source is not None and self.source.fields is not self.source.raw
        for key, value in self.fields.items():
            if isinstance(value, dict):
                if nested and key == "Event":
                    continue
                out.extend(_dotted_leaves(key, value))
            else:
                out.append(key)
        return out

    def __repr__(self) -> str:
        return f"Row({self.fields!r})"


def _dotted_leaves(prefix: str, obj: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, value in obj.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            out.extend(_dotted_leaves(name, value))
        else:
            out.append(name)
    return out


def row_value(row: Event, name: str) -> Any:
    """A field's eval value (``None`` when missing)."""
    raw = row.get(name)
    return None if raw is MISSING else field_value(raw)


def text_key(value: Any) -> tuple[str, ...]:
    """A hashable, text-based identity for a value (what SPL compares: field texts)."""
    return tuple(to_text(v) or "" for v in values_of(value))


def invalid(message: str, construct: str, span: Span | None) -> RuleglotError:
    return RuleglotError(message, construct=construct).at(span)


def refuse_options(
    command: str, options: Iterable[str], allowed: Collection[str], span: Span | None
) -> None:
    """An ``unsupported`` error (``<command>:<option>``) for the first of ``options`` (lower-cased
    names) not in ``allowed``: the one way every stage refuses an option it does not model."""
    for key in options:
        if key not in allowed:
            raise unsupported(
                construct=f"{command}:{key}",
                message=f"{command} option {key}= is not supported",
                span=span,
            )


# --- wildcard field names ----------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("(.*?)".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)


def wild_match(pattern: str, name: str) -> re.Match[str] | None:
    if name.startswith("_") and not pattern.startswith("_") and name in ("_raw", "_time"):
        return None
    return _wildcard(pattern).fullmatch(name)


def fill_wildcards(template: str, captures: Sequence[str]) -> str:
    """A rename/alias template with each `*` replaced by what the pattern's `*` captured."""
    pieces = template.split("*")
    out = [pieces[0]]
    for index, piece in enumerate(pieces[1:]):
        out.append(captures[index] if index < len(captures) else "")
        out.append(piece)
    return "".join(out)


def field_names(row: Event) -> list[str]:
    return row.names() if isinstance(row, Row) else list(row.fields)




def as_row(event: Event) -> Row:
    return event if isinstance(event, Row) else Row.of(event)


#: A value as :func:`compare_values` reads it: its number, its text, its IP address
#: ``(version, integer)`` and its text's number (``None`` where it has none).
SortForm = tuple[int | float | None, str, tuple[int, int] | None, int | float | None]


def sort_form(value: Any) -> SortForm:
    """What :func:`compare_values` reads of ``value``, computed once per value (a sort of
    ``n`` values compares each of them ``log n`` times; parsing an IP address is the cost)."""
    text = to_text(value) or ""
    try:
        address = ipaddress.ip_address(text)
        ip: tuple[int, int] | None = (address.version, int(address))
    except ValueError:
        ip = None
    return to_number(value), text, ip, to_number(text)


def compare_forms(x: SortForm, y: SortForm) -> int:
    """SPL's sort order for two values (:func:`compare_values`) from their :func:`sort_form`:
    numbers numerically, IP addresses (of one version) as addresses, otherwise texts
    lexicographically (:func:`ir.functions.order`), and numbers before text."""
    a, b = x[0], y[0]
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if a is not None:
        return -1
    if b is not None:
        return 1
    ia, ib = x[2], y[2]
    if ia is not None and ib is not None and ia[0] == ib[0]:
        return (ia[1] > ib[1]) - (ia[1] < ib[1])
    a, b = x[3], y[3]
    if a is not None and b is not None:
        return (a > b) - (a < b)
    ta, tb = x[1], y[1]
    return (ta > tb) - (ta < tb)


def compare_values(left: Any, right: Any) -> int:
    """SPL's sort order for two values: numbers numerically, IP addresses as addresses,
    otherwise texts lexicographically, and numbers before text."""
    return compare_forms(sort_form(left), sort_form(right))
