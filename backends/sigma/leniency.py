"""Loose Sigma read leniently, each leniency a reader warning (never silent).

Applied to a rule document before pySigma sees it (:func:`loosen`), because pySigma refuses
what it does not know although the detection itself is sound:

Log sources (warning kind ``logsource``)
    * Several values in one field, as a YAML list (``category: [process_creation, ps_script]``)
      or one string naming several (``service: security, system``), mean *any of them*. The IR
      keeps them in the one field joined by :data:`ir.logsources.ALTERNATIVE` (``|``), and the
      log-source profile resolves each alternative and ORs their branches
      (:meth:`ir.logsources.LogSourceProfile.resolve`).
    * Other spellings: a value that differs from a name the windows profile knows only by case
      (``Process_Creation``), and the names SigmaHQ renamed (:data:`RENAMED`, with sources),
      are mapped to the current name.

Metadata (warning kind ``metadata``)
    * Keys outside the rule schema (the Sigma 1.x specification allowed "[arbitrary custom
      fields]", archives/wiki.md, "Structure"; pySigma keeps them as ``custom_attributes``):
      kept as the IR rule's ``custom`` metadata (JSON text), with a warning. A free-text
      ``correlation:`` in a detection rule is such a note, not a correlation rule. SigmaHQ's
      own convention keys (:data:`CONVENTION_KEYS`) are not warned about.
    * Keys in a known other spelling (:data:`MISSPELLED_KEYS`, with sources) are read as the
      schema's key.
    * ``status``/``level`` outside their enumerations (``status: production``) and tags without
      a ``namespace.`` are kept as written (pySigma would refuse the rule), with a warning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from backends.sigma.logsources import windows_profile
from backends.sigma.yamldoc import (
    Doc,
    SigmaSource,
    child_loc,
    drop_key,
    item_locs,
    span_of_key,
    span_of_loc,
)
from ir.errors import Span
from ir.logsources import ALTERNATIVE

__all__ = ["CONVENTION_KEYS", "MISSPELLED_KEYS", "RENAMED", "Loosened", "loosen"]

#: Log-source names SigmaHQ renamed, old -> current, with the source of each.
RENAMED: dict[str, tuple[str, str]] = {
    "file_creation": (
        "file_event",
        "SigmaHQ/sigmahq.github.io#61 and #92 ('Linux File Create was changed to Linux File "
        "Event', per the taxonomy specification)",
    ),
    "image_loaded": (
        "image_load",
        "pySigma's sysmon table names Sysmon EventID 7 'image_load' "
        "(sigma.pipelines.sysmon.sysmon_generic_logsource_eventid_mapping)",
    ),
}

#: Rule keys written in another spelling, -> the schema's key, with the source of each.
MISSPELLED_KEYS: dict[str, tuple[str, str]] = {
    "reference": (
        "references",
        "the Sigma 1.x specification names the attribute 'reference' in its text ('References "
        "(optional) **Attribute**: reference') and 'references' in its schema and structure "
        "(sigma-specification archives/wiki.md)",
    ),
}

#: Top-level keys of a Sigma rule (Sigma rules specification 2.x; collections' ``action``;
#: correlation rules' keys).
SCHEMA_KEYS = frozenset(
    {
        "title", "id", "name", "related", "taxonomy", "status", "description", "license",
        "author", "references", "date", "modified", "logsource", "detection", "fields",
        "falsepositives", "level", "tags", "scope", "action", "correlation", "generate",
    }
)  # fmt: skip
#: Keys SigmaHQ's own rules use by convention (``regression_tests_path``:
#: sigma-specification ``sigmahq/sigmahq-regression-convention.md``; ``simulation``: 65 rules
#: of ``../shared/corpus/sigma/rules*`` name Atomic Red Team tests with it).
CONVENTION_KEYS = frozenset({"regression_tests_path", "simulation"})

_STATUS = ("stable", "test", "experimental", "deprecated", "unsupported")
_LEVEL = ("informational", "low", "medium", "high", "critical")


@dataclass
class Loosened:
    """What was taken out of a document for pySigma and goes back into the IR rule."""

    custom: list[tuple[str, str]] = field(default_factory=list)
    status: str | None = None
    level: str | None = None
    #: the tags as written, when some had to be hidden from pySigma
    tags: tuple[str, ...] | None = None

    def apply(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """The IR rule's metadata with what pySigma was not shown put back."""
        out = dict(metadata)
        if self.status is not None:
            out["status"] = self.status
        if self.level is not None:
            out["level"] = self.level
        if self.tags is not None:
            out["tags"] = self.tags
        if self.custom:
            out["custom"] = tuple(self.custom)
        return out


@cache
def _known_names() -> dict[str, frozenset[str]]:
    """The log-source names the windows profile maps, by field (for case-only differences)."""
    names: dict[str, set[str]] = {"product": set(), "category": set(), "service": set()}
    for mapping in windows_profile().mappings:
        for key in names:
            value = getattr(mapping, key)
            if value:
                names[key].add(value)
    return {key: frozenset(values) for key, values in names.items()}


def loosen(doc: Doc, source: SigmaSource) -> Loosened:
    """Change ``doc`` (a detection rule document) so that pySigma reads it, warning for each
    change (module docstring); what pySigma must not see is returned to be put back."""
    kept = Loosened()
    if not isinstance(doc.data, dict):
        return kept
    _loosen_logsource(doc, source)
    _loosen_metadata(doc, source, kept)
    return kept


def _spans(doc: Doc, key: str) -> tuple[Any, Span]:
    loc = child_loc(doc.loc, key)
    return loc, span_of_loc(loc, span_of_key(doc.loc, key, doc.span))


def _loosen_logsource(doc: Doc, source: SigmaSource) -> None:
    logsource = doc.data.get("logsource")
    if not isinstance(logsource, dict):
        return
    loc, span = _spans(doc, "logsource")
    for key in ("product", "category", "service"):
        value = logsource.get(key)
        at = span_of_loc(child_loc(loc, key), span)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            names = list(value)
            spans = [span_of_loc(item, at) for item in item_locs(child_loc(loc, key), len(names))]
            source.warn(
                "logsource",
                key,
                f"logsource {key} lists {len(names)} values: read as any of them",
                at,
            )
        elif isinstance(value, str) and "," in value:
            names = [part.strip() for part in value.split(",") if part.strip()]
            spans = [at] * len(names)
            source.warn(
                "logsource",
                key,
                f"logsource {key} {value!r} names several values (Sigma writes one value "
                "a field): read as any of them",
                at,
            )
        elif isinstance(value, str):
            names, spans = [value], [at]
        else:
            continue
        spelled = [
            _spelling(key, name, where, source) for name, where in zip(names, spans, strict=True)
        ]
        logsource[key] = ALTERNATIVE.join(dict.fromkeys(spelled))


def _spelling(key: str, name: str, span: Span, source: SigmaSource) -> str:
    """``name`` as the current Sigma name, with a warning when it was spelled otherwise."""
    lowered = name.lower()
    known = _known_names()[key]
    if lowered in RENAMED and key == "category":
        current, cited = RENAMED[lowered]
        source.warn(
            "logsource", key, f"logsource {key} {name!r} read as {current!r} ({cited})", span
        )
        return current
    if lowered != name and lowered in known:
        message = f"logsource {key} {name!r} read as {lowered!r} (Sigma names are lower case)"
        source.warn("logsource", key, message, span)
        return lowered
    return name


def _loosen_metadata(doc: Doc, source: SigmaSource, kept: Loosened) -> None:
    data = doc.data
    for key, (current, cited) in MISSPELLED_KEYS.items():
        if key in data and current not in data:
            span = span_of_key(doc.loc, key, doc.span)
            source.warn("metadata", key, f"key {key!r} read as {current!r} ({cited})", span)
            data[current] = data.pop(key)
    if isinstance(data.get("correlation"), (str, int, float, list)) and "detection" in data:
        _custom(doc, "correlation", source, kept, "a note, not a correlation rule")
    for key in [k for k in data if k not in SCHEMA_KEYS and k not in CONVENTION_KEYS]:
        _custom(doc, key, source, kept, "kept as custom metadata")
    for key, allowed in (("status", _STATUS), ("level", _LEVEL)):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or value.lower() not in allowed):
            _, span = _spans(doc, key)
            source.warn(
                "metadata",
                key,
                f"{key} {value!r} is not one of Sigma's ({', '.join(allowed)}): kept as written",
                span,
            )
            setattr(kept, key, str(value))
            drop_key(doc, key)
        elif isinstance(value, str) and value != value.lower():
            data[key] = value.lower()
    tags = data.get("tags")
    if isinstance(tags, list):
        loc, span = _spans(doc, "tags")
        bad = [
            (tag, span_of_loc(item, span))
            for tag, item in zip(tags, item_locs(loc, len(tags)), strict=True)
            if not _is_tag(tag)
        ]
        for tag, where in bad:
            message = f"tag {tag!r} has no 'namespace.' (Sigma tags do): kept as written"
            source.warn("metadata", "tags", message, where)
        if bad:
            kept.tags = tuple(str(t) for t in tags if t is not None)
            data["tags"] = [t for t in tags if _is_tag(t)]


def _is_tag(tag: object) -> bool:
    """What pySigma's ``SigmaRuleTag.from_str`` accepts: a string with a ``namespace.``."""
    return isinstance(tag, str) and "." in tag


def _custom(doc: Doc, key: Any, source: SigmaSource, kept: Loosened, why: str) -> None:
    _, span = _spans(doc, key)
    value = doc.data.get(key)
    source.warn("metadata", str(key), f"key {key!r} is not in the Sigma rule schema: {why}", span)
    kept.custom.append((str(key), orjson.dumps(value, default=str).decode()))
    drop_key(doc, key)


def names(value: str | None) -> Iterable[str]:
    """The alternatives a log-source field names."""
    return value.split(ALTERNATIVE) if value else ()
