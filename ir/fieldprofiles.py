"""Field profiles: the fields a SIEM would extract at search time, computed from event fields.

A Splunk search names fields as Splunk's add-ons and the CIM extract them (``EventCode``,
``process_name``, ``Processes.process``); the shared events carry the Windows names (``EventID``,
``Image``). A :class:`FieldProfile` is the data that bridges them, the way Splunk's own
search-time extractions (``FIELDALIAS``/``EVAL`` in ``props.conf``) do: each
:class:`Extraction` adds one field, taken from the first source field the event has, through a
named transform. An extraction never overwrites a field the event already has.

The concrete profiles are data built in the backends (``backends/spl/field_profile.py``), each
extraction citing where its fact comes from. A field a rule uses that neither the events nor the
profile provide is reported by the caller, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ir.events import Event, text_of

_PATH_SEPARATOR = re.compile(r"[\\/]")


def _basename(value: Any) -> Any:
    return _PATH_SEPARATOR.split(text_of(value))[-1]


def _split(value: Any, separator: str) -> Any:
    """A multi-valued field from a joined text (Sysmon 22's ``QueryResults``: ``a;b;``):
    empty parts dropped, one value stays a single value."""
    texts = value if isinstance(value, list) else [value]
    parts = [p for t in texts for p in text_of(t).split(separator) if p]
    return parts[0] if len(parts) == 1 else parts


def _mapped(value: Any, table: str) -> Any:
    """``argument`` is ``from=to from=to ...``; a value not in the table is kept as it is."""
    pairs = dict(item.split("=", 1) for item in table.split())
    if isinstance(value, list):
        return [pairs.get(text_of(v), v) for v in value]
    return pairs.get(text_of(value), value)


def _first_part(value: Any) -> Any:
    return _PATH_SEPARATOR.split(text_of(value))[0]


#: Transforms by name; ``split`` makes a multi-valued field of a text joined by ``argument``;
#: ``map`` rewrites values by the ``from=to`` table in ``argument``; ``first_part`` is a path's
#: first component (a registry hive); ``prefix`` puts the extraction's ``argument`` before the
#: value;
#: ``constant`` gives the ``argument`` itself for every event that has a source field.
TRANSFORMS: dict[str, Callable[[Any, str], Any]] = {
    "copy": lambda value, _: value,
    "basename": lambda value, _: (
        [_basename(v) for v in value] if isinstance(value, list) else _basename(value)
    ),
    "prefix": lambda value, argument: (
        [argument + text_of(v) for v in value] if isinstance(value, list)
        else argument + text_of(value)
    ),
    "constant": lambda _, argument: argument,
    "split": lambda value, argument: _split(value, argument),
    "map": lambda value, argument: _mapped(value, argument),
    "first_part": lambda value, _: (
        [_first_part(v) for v in value] if isinstance(value, list) else _first_part(value)
    ),
}


@dataclass(frozen=True, slots=True)
class Extraction:
    """``target`` := transform(first present of ``sources``); ``cite`` says who says so."""

    target: str
    sources: tuple[str, ...]
    transform: str = "copy"
    argument: str = ""
    cite: str = ""

    def __post_init__(self) -> None:
        if self.transform not in TRANSFORMS:
            raise ValueError(f"unknown transform {self.transform!r}")


@dataclass(frozen=True)
class FieldProfile:
    """A named list of extractions applied to every event before a rule reads it."""

    name: str
    extractions: tuple[Extraction, ...]
    cite: str = ""

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(x.target for x in self.extractions)

    def sources_of(self, target: str) -> tuple[str, ...]:
        """Event fields an extraction of ``target`` reads (for rule pre-selection)."""
        return tuple(s for x in self.extractions if x.target == target for s in x.sources)

    def apply(self, event: Event) -> Event:
        """The event with every extraction it supports added (computed once per event)."""
        return event.memo(("profile", self.name), lambda: self._extract(event))

    def _extract(self, event: Event) -> Event:
        # Targets and sources are literal field names, so plain dict look-ups suffice here.
        fields = event.fields
        added: dict[str, Any] = {}
        for extraction in self.extractions:
            target = extraction.target
            if target in added or target in fields:
                continue
            for source in extraction.sources:
                value = fields.get(source)
                if value is not None:
                    transform = TRANSFORMS[extraction.transform]
                    added[target] = transform(value, extraction.argument)
                    break
        if not added:
            return event
        return Event.from_fields({**fields, **added}, event.raw_text)

    def unmapped(self, fields: Iterable[str], seen: set[str]) -> list[str]:
        """Of ``fields`` a rule uses, those neither extracted here nor ``seen`` in any event."""
        return sorted({f for f in fields if f not in self.targets and f not in seen})
