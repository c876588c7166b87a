"""Indicators as a catalog counts them: one normal key per predicate, whatever its spelling.

What this module owns
    :func:`indicator_key`: the ``(field, kind, value)`` under which a catalog counts how many
    rules look for the same thing. The IR already gives one spelling per meaning inside a
    language (``|contains: x`` and ``*x*`` are both ``contains``, see ``ir.nodes.string_kind``);
    this key adds what a count needs on top:

    * case: a case-insensitive value (``cased=False``, the default) is lower-cased; so is every
      field name (Windows field names are case-insensitive in Splunk, and Sigma's are written
      inconsistently);
    * numbers: ``4688`` and ``"4688"`` are one ``eq`` value (the IR says they match alike);
    * regex: a leading ``(?i)`` is the flag ``i``;
    * across languages: an SPL field name is turned into the Windows field it is extracted from,
      through the ``splunk_windows`` field profile (``EventCode`` -> ``EventID``,
      ``Relative_Target_Name`` -> ``RelativeTargetName``, ``process`` -> ``CommandLine``);
      ``process_name = x`` (the file name of ``Image``) is ``Image endswith \\x``, which is
      how Sigma says it; a data model field (``Processes.process_name``) not in the profile's
      CIM tables is read as the add-on field it names (``process_name``).

What it must not do
    Decide whether a predicate holds (``ir.evaluator`` does); the key only groups.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache

from backends.spl.field_profile import splunk_windows_profile
from ir.nodes import Expr, Filter, Kind, Not, Pattern, Predicate, Regex, Rule, conjuncts
from ir.nodes import predicates as tree_predicates

_STRING_KINDS = frozenset({Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH})


@dataclass(frozen=True, slots=True, order=True)
class IndicatorKey:
    """A normalised indicator; ``field`` is ``""`` for a field-less predicate."""

    field: str
    kind: str
    value: str

    @property
    def slug(self) -> str:
        """A short stable file name for the indicator's page."""
        digest = hashlib.sha1(f"{self.field}\x1f{self.kind}\x1f{self.value}".encode()).hexdigest()
        return digest[:16]


def _filter_trees(rule: Rule) -> list[Expr]:
    """The boolean trees that filter the rule's rows: each ``Filter`` stage, among them the
    ``where`` of a ``tstats`` (``Filter(command="tstats")``, on the data set's rows)."""
    return [stage.expr for stage in rule.stages if isinstance(stage, Filter)]


def rule_indicators(rule: Rule) -> tuple[Predicate, ...]:
    """``Rule.indicators``, with the predicates of ``tstats ... where`` too: every predicate
    outside a top-level ``NOT``, in rule order, each once."""
    seen: dict[Predicate, None] = {}
    for tree in _filter_trees(rule):
        for conjunct in conjuncts(tree):
            if not isinstance(conjunct, Not):
                seen.update(dict.fromkeys(tree_predicates(conjunct)))
    return tuple(seen)


def rule_exclusions(rule: Rule) -> tuple[Predicate, ...]:
    """The predicates under top-level ``NOT`` conjuncts (``Rule.exclusions``, with tstats')."""
    seen: dict[Predicate, None] = {}
    for tree in _filter_trees(rule):
        for conjunct in conjuncts(tree):
            if isinstance(conjunct, Not):
                seen.update(dict.fromkeys(tree_predicates(conjunct.arg)))
    return tuple(seen)


def display_field(predicate: Predicate) -> str:
    """The field column of a row: a term reads ``_raw``; a Sigma keyword any field."""
    if predicate.field is not None:
        return predicate.field
    return "_raw" if predicate.kind is Kind.TERM else "(any field)"


@cache
def _spl_fields() -> dict[str, tuple[str, str]]:
    """Splunk field -> (Windows field, transform) for one-to-one extractions."""
    out: dict[str, tuple[str, str]] = {}
    for extraction in splunk_windows_profile().extractions:
        if extraction.transform in ("copy", "basename") and extraction.sources:
            out.setdefault(extraction.target.lower(), (extraction.sources[0], extraction.transform))
    return out


def _value_text(predicate: Predicate) -> str:
    value = predicate.value
    if isinstance(value, bool) or value is None:
        return predicate.value_text()
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, Regex):
        pattern, flags = value.pattern, set(value.flags)
        if pattern.startswith("(?i)"):
            pattern, flags = pattern[4:], flags | {"i"}
        return str(Regex(pattern, "".join(flags)))
    if isinstance(value, str) and predicate.kind is Kind.EQ and value.isdigit():
        return str(int(value))
    text = str(value) if isinstance(value, Pattern) else predicate.value_text()
    if predicate.kind is Kind.REGEX or predicate.cased:
        return text
    return text.lower()


def indicator_key(predicate: Predicate, language: str | None = None) -> IndicatorKey:
    """The key under which ``predicate`` is counted; ``language`` is the rule's (``spl``
    rules' field names go through the Splunk field profile)."""
    field = predicate.field or ""
    kind = predicate.kind
    value = _value_text(predicate)
    if language == "spl" and field:
        names = _spl_fields()
        mapped = names.get(field.lower())
        if mapped is None and "." in field:  # a data model field: Processes.process_name
            mapped = names.get(field.split(".", 1)[1].lower())
        if mapped is not None:
            source, transform = mapped
            if transform == "copy":
                field = source
            elif kind is Kind.EQ and isinstance(predicate.value, str):
                field, kind, value = source, Kind.ENDSWITH, "\\" + value
    return IndicatorKey(field.lower(), str(kind), value)
