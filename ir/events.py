"""The event model the evaluator runs on: what a field name means for a JSON event.

Two shapes occur in real data (``../shared/corpus/events/``), and both are read here, once per
event, never per rule:

Nested EVTX JSON (``{"Event": {"System": ..., "EventData": ...}}``, as pyevtx-rs writes it)
    * ``System`` children become top-level fields: ``EventID``, ``Channel``, ``Computer``...; an
      element with attributes gives ``<Element>_<Attribute>`` (``Provider_Name``,
      ``TimeCreated_SystemTime``, the Sigma/Hayabusa convention) and its ``#text`` the element's
      own value (``EventID`` with ``Qualifiers`` is still ``EventID``).
    * ``EventData`` children become top-level fields; a key with spaces is also reachable with the
      spaces removed (``"Threat Name"`` -> ``ThreatName``). ``UserData``'s single child element's
      children are hoisted the same way (event 1102 ``LogFileCleared.SubjectUserName``).
    * Values are never trimmed: some end in a space and rules may depend on it.

Flat JSON (Security-Datasets and most SIEM exports)
    Top-level keys are fields as they are.

Both shapes: a dotted name (``User.Name.First``, ``Event.System.Channel``) that is not itself a
key walks nested objects, where each step may also be a literal key containing dots
(sigma-rust's vectors: ``Mobile.phone`` is one key). A list value is multi-valued: a predicate
holds when any element does. Field names are case-sensitive, as in Sigma and Splunk.

``_raw`` is the event's own ``_raw`` field when it has one (a Splunk export), else the JSON text
of the event as it was read (its line in the JSON Lines file); ``Event.get("_raw")`` always
answers. Its indexed terms (for SPL bare terms, kind ``term``) are the runs between Splunk's
major and minor breakers (``ir.evaluator``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

#: Returned by :meth:`Event.get` for a field that is not in the event at all (``None`` means
#: the field is present with a JSON ``null``).
MISSING: Any = object()


def _text_of(element: Any) -> Any:
    """An EVTX element's own value: its ``#text`` when it also has attributes."""
    if isinstance(element, dict) and "#text" in element:
        return element["#text"]
    return element


def _hoist(target: dict[str, Any], children: dict[str, Any]) -> None:
    for key, value in children.items():
        if key == "#attributes":
            continue
        value = _text_of(value)
        target.setdefault(key, value)
        if " " in key:
            target.setdefault(key.replace(" ", ""), value)


def _flatten_system(system: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in system.items():
        if isinstance(value, dict):
            for attr, attr_value in (value.get("#attributes") or {}).items():
                fields[f"{key}_{attr}"] = attr_value
            if "#text" in value:
                fields[key] = value["#text"]
            elif "#attributes" not in value:
                fields[key] = value
        else:
            fields[key] = value
    return fields


def normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """The top-level field view of an event of either shape (see the module docstring)."""
    wrapper = raw.get("Event")
    if not (isinstance(wrapper, dict) and isinstance(wrapper.get("System"), dict)):
        return raw
    fields = _flatten_system(wrapper["System"])
    event_data = wrapper.get("EventData")
    if isinstance(event_data, dict):
        _hoist(fields, event_data)
    user_data = wrapper.get("UserData")
    if isinstance(user_data, dict):
        for child in user_data.values():
            if isinstance(child, dict):
                _hoist(fields, child)
    # The original nesting stays reachable by dotted path (``Event.System.Channel``).
    fields.setdefault("Event", wrapper)
    return fields


def walk_dotted(obj: Any, name: str) -> Any:
    """Resolve ``name`` in nested dicts, each step a key that may itself contain dots."""
    if isinstance(obj, list):
        found = [walk_dotted(item, name) for item in obj]
        values = [v for v in found if v is not MISSING]
        return values if values else MISSING
    if not isinstance(obj, dict):
        return MISSING
    if name in obj:
        return obj[name]
    dot = name.find(".")
    while dot != -1:
        head = name[:dot]
        if head in obj:
            found = walk_dotted(obj[head], name[dot + 1 :])
            if found is not MISSING:
                return found
        dot = name.find(".", dot + 1)
    return MISSING


def _scalar_leaves(obj: Any) -> tuple[Any, ...]:
    """The non-null scalars in a JSON value, depth first in document order, with a stack
    instead of nested generators (every field-less rule reads them: issue 24)."""
    out: list[Any] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(item.values()))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif item is not None:
            out.append(item)
    return tuple(out)


def text_of(value: Any) -> str:
    """How a value reads as text for string predicates: JSON's spelling for non-strings
    (``4688``, ``true``), compact JSON for an object."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def scalars(value: Any) -> tuple[Any, ...]:
    """A field's non-null values, nested lists flattened (a multi-valued field)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        return (value,)
    flat: list[Any] = []
    stack = list(reversed(value))
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif item is not None:
            flat.append(item)
    return tuple(flat)


#: Joins all of an event's lower-cased texts for field-less substring search; a needle holding
#: it is searched value by value instead.
TEXT_SEPARATOR = "\x00"


class Event:
    """One event, normalised once; rules read it through :meth:`get` and the cached views.

    The views (:meth:`values`, :meth:`texts`, :meth:`all_texts`) are computed on first use and
    kept, so a thousand rules reading ``CommandLine`` lower-case it once.
    """

    __slots__ = ("raw", "fields", "_text", "_raw_cache", "_cache")

    def __init__(self, raw: dict[str, Any], text: str | None = None) -> None:
        self.raw = raw
        self.fields = normalize(raw)
        self._text = text
        self._raw_cache: str | None = None
        self._cache: dict[tuple[str, str | None], Any] = {}

    @classmethod
    def from_fields(cls, fields: dict[str, Any], raw_text: str | None = None) -> Event:
        """A row whose fields are already normalised (a pipeline stage's output, an event with
        search-time extractions added): no shape detection, ``_raw`` carried over."""
        row = cls.__new__(cls)
        row.raw = fields
        row.fields = fields
        row._text = None
        row._raw_cache = raw_text
        row._cache = {}
        return row

    def memo(self, key: tuple[str, str | None], compute: Callable[[], Any]) -> Any:
        """``compute()``, once per event and key (derived views such as a field profile's)."""
        found = self._cache.get(key, MISSING)
        if found is MISSING:
            found = self._cache[key] = compute()
        return found

    def get(self, name: str) -> Any:
        """The field's value, or :data:`MISSING`; ``_raw`` is always there (see
        :attr:`raw_text`)."""
        value = self.fields.get(name, MISSING)
        if value is MISSING:
            if name == "_raw":
                return self.raw_text
            if "." in name:
                value = walk_dotted(self.fields, name)
        return value

    def has(self, name: str) -> bool:
        return self.get(name) is not MISSING

    def values(self, name: str) -> Any:
        """The field's non-null scalar values (lists flattened), or :data:`MISSING`."""
        key = ("values", name)
        found = self._cache.get(key, MISSING)
        if found is MISSING:
            value = self.get(name)
            found = MISSING if value is MISSING else scalars(value)
            self._cache[key] = found
        return found

    def texts(self, name: str, lower: bool) -> Any:
        """:meth:`values` as text (see :func:`text_of`), lower-cased if asked, or MISSING."""
        key = ("lower" if lower else "texts", name)
        found = self._cache.get(key, MISSING)
        if found is MISSING:
            values = self.values(name)
            if values is MISSING:
                found = MISSING
            else:
                found = tuple(text_of(v).lower() if lower else text_of(v) for v in values)
            self._cache[key] = found
        return found

    def all_texts(self, lower: bool) -> tuple[str, ...]:
        """The text of every non-null scalar in the event (for field-less predicates)."""
        key = ("all-lower" if lower else "all", None)
        found = self._cache.get(key)
        if found is None:
            leaves = (text_of(v) for v in self.all_values())
            found = tuple(t.lower() for t in leaves) if lower else tuple(leaves)
            self._cache[key] = found
        return found

    def all_values(self) -> tuple[Any, ...]:
        """Every non-null scalar in the event."""
        key = ("all-values", None)
        found = self._cache.get(key)
        if found is None:
            found = _scalar_leaves(self.raw)
            self._cache[key] = found
        return found

    def joined_texts(self, lower: bool) -> str:
        """:meth:`all_texts` joined by :data:`TEXT_SEPARATOR`, for one substring search."""
        key = ("joined-lower" if lower else "joined", None)
        found = self._cache.get(key)
        if found is None:
            found = TEXT_SEPARATOR.join(self.all_texts(lower))
            self._cache[key] = found
        return found

    @property
    def raw_text(self) -> str:
        """``_raw``: the event's own field, else its JSON text as read."""
        if self._raw_cache is None:
            own = self.raw.get("_raw")
            if isinstance(own, str):
                self._raw_cache = own
            elif self._text is not None:
                self._raw_cache = self._text.rstrip("\r\n")
            else:
                self._raw_cache = json.dumps(self.raw, ensure_ascii=False, separators=(",", ":"))
        return self._raw_cache
