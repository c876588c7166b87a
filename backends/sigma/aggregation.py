"""Sigma 1.x aggregation conditions (``selection | count() by Host > 5``, ``a | near b``) read as
the Sigma correlation rule they mean, through :mod:`backends.sigma.correlation`'s builder (types and
operators from :mod:`backends.sigma.correlation_shape`, the one correlation shape).

The old specification (SigmaHQ sigma-specification, ``archives/wiki.md``, "Condition"; quoted in
``docs/semantics.md``) defines:

* ``search_expression | aggregation_expression``: "the result of *search_expression* is
  aggregated by *aggregation_expression* and possibly compared with a value";
* ``agg-function(agg-field) [ by group-field ] comparison-op value``: "The count aggregation
  counts all matching events if no field name is given. With field name it counts the distinct
  values in this field";
* ``near search-id-1 [ [ and search-id-2 | and not search-id-3 ] ... ]``: the primary event is
  recognised "if the given conditions are or are not in the temporal context of the primary
  event within the given time frame" (``detection: timeframe:``).

So, with ``timeframe: T``:

=========================================  ==============================================
1.x condition                              correlation (one shape, same IR stages)
=========================================  ==============================================
``S | count() [by G] op N``                ``event_count``, rules [S], group-by [G], op N
``S | count(F) [by G] op N``               ``value_count`` of F, group-by [G], op N
``S | sum(F)`` / ``avg(F)`` [by G] op N    ``value_sum`` / ``value_avg`` of F, same
``S | near A and B``                       ``temporal`` of [S, A, B] within T
=========================================  ==============================================

What has no defined meaning or no correlation equivalent is a positioned ``unsupported`` error:
an aggregation without ``timeframe`` (the old text gives no window; sigmac counted over whatever
time range the search ran on), ``near ... and not X`` (a correlation cannot require an absence),
``min``/``max`` (the correlation specification defines no value_min/value_max), and a pipe in
one of several conditions. Every rule read this way carries a ``deprecated`` warning naming the
construct and its position.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from backends.sigma.correlation_shape import LEGACY_FUNCTIONS, OPERATORS
from backends.sigma.yamldoc import (
    Doc,
    SeqLoc,
    SigmaSource,
    child_loc,
    key_of,
    span_inside,
    span_of_key,
    span_of_loc,
)
from ir.errors import Span

__all__ = ["LegacyAggregation", "drop_timeframe", "split_aggregation"]


_IDENT = r"[\w*.-]+"
_AGGREGATE = re.compile(
    rf"^\s*(?P<func>\w+)\s*\(\s*(?P<field>{_IDENT})?\s*\)"
    rf"(?:\s+by\s+(?P<group>{_IDENT}))?\s*(?P<op>>=|<=|==|!=|>|<|=)\s*(?P<value>-?\d+)\s*$",
    re.IGNORECASE,
)
_NEAR = re.compile(r"^\s*near\s+(?P<terms>.+?)\s*$", re.IGNORECASE)
_NEAR_TERM = re.compile(rf"^(?P<not>not\s+)?(?P<id>{_IDENT})$", re.IGNORECASE)


@dataclass
class LegacyAggregation:
    """A 1.x aggregation rule split into the detection documents it references and the
    correlation document that replaces it (both in the shape the reader reads)."""

    referenced: list[tuple[str, Doc]]
    correlation: Doc
    construct: str
    span: Span


def _pipe_offset(condition: str) -> int | None:
    """Where the pipe of a 1.x aggregation is (identifiers never contain ``|``)."""
    offset = condition.find("|")
    return offset if offset >= 0 else None


def split_aggregation(doc: Doc, source: SigmaSource) -> LegacyAggregation | None:
    """``None`` for a rule without a 1.x aggregation, else the documents it means (module
    docstring). Raises positioned ``unsupported`` errors for what has no defined meaning."""
    detection = doc.data.get("detection")
    if not isinstance(detection, Mapping):
        return None
    detection_loc = child_loc(doc.loc, "detection")
    condition = detection.get("condition")
    condition_loc = child_loc(detection_loc, "condition")
    span = span_of_loc(condition_loc, span_of_loc(detection_loc, doc.span))
    if isinstance(condition, list):
        items = condition_loc.items if isinstance(condition_loc, SeqLoc) else []
        for index, item in enumerate(condition):
            if isinstance(item, str) and _pipe_offset(item) is not None:
                where = span_of_loc(items[index] if index < len(items) else None, span)
                message = "a Sigma 1.x aggregation in one of several conditions has no single "
                message += "correlation equivalent"
                at = span_inside(where, item, _pipe_offset(item), source)
                raise source.error(message, "unsupported", at, "aggregation")
        return None
    if not isinstance(condition, str) or (pipe := _pipe_offset(condition)) is None:
        return None
    search, aggregation = condition[:pipe].strip(), condition[pipe + 1 :]
    agg_offset = pipe + 1 + (len(aggregation) - len(aggregation.lstrip()))
    agg_span = span_inside(span, condition, agg_offset, source)
    timeframe = detection.get("timeframe")
    timeframe_span = span_of_loc(child_loc(detection_loc, "timeframe"), agg_span)

    near = _NEAR.match(aggregation)
    found = _AGGREGATE.match(aggregation)
    construct = "near" if near else (found.group("func").lower() if found else "aggregation")
    if near is None and found is None:
        message = f"cannot read the Sigma 1.x aggregation {aggregation.strip()!r}"
        raise source.error(message, "invalid", agg_span, "aggregation")
    if timeframe is None:
        message = (
            f"Sigma 1.x '{construct}' aggregation without 'timeframe': the old specification "
            "gives it no time window, so it has no correlation equivalent"
        )
        raise source.error(message, "unsupported", agg_span, construct)

    def detection_doc(name: str, expression: str) -> tuple[str, Doc]:
        data = copy.deepcopy(doc.data)
        data["detection"].pop("timeframe", None)
        data["detection"]["condition"] = expression
        data.pop("name", None)
        data["name"] = name
        return name, type(doc)(data, doc.loc, doc.span)

    referenced = [detection_doc("legacy_search", search)]
    correlation: dict[str, Any] = {"timespan": str(timeframe), "rules": []}
    if near is not None:
        for term in re.split(r"\s+and\s+", near.group("terms"), flags=re.IGNORECASE):
            parsed = _NEAR_TERM.match(term.strip())
            if parsed is None or parsed.group("not"):
                what = "'and not' (an absence)" if parsed else f"term {term.strip()!r}"
                message = f"Sigma 1.x 'near' with {what} has no correlation equivalent"
                raise source.error(message, "unsupported", agg_span, "near")
            referenced.append(detection_doc(f"legacy_near_{parsed.group('id')}", parsed["id"]))
        correlation["type"] = "temporal"
    else:
        assert found is not None
        func, field, value = construct, found.group("field"), int(found.group("value"))
        operator = OPERATORS[found.group("op")]
        if func not in LEGACY_FUNCTIONS or (func != "count" and not field):
            message = (
                f"Sigma 1.x '{func}({field or ''})' aggregation has no correlation equivalent "
                "(supported: count(), count(field), sum(field), avg(field))"
            )
            raise source.error(message, "unsupported", agg_span, func)
        condition_map: dict[str, Any] = {operator: value}
        if field:
            condition_map["field"] = field
        correlation["type"] = LEGACY_FUNCTIONS[func] if field else "event_count"
        correlation["condition"] = condition_map
        if found.group("group"):
            correlation["group-by"] = [found.group("group")]
    correlation["rules"] = [name for name, _ in referenced]

    meta = {k: copy.deepcopy(v) for k, v in doc.data.items() if k not in _NOT_METADATA}
    meta["correlation"] = correlation
    loc: dict[Any, Any] = {
        key_of("correlation"): agg_span,
        "correlation": {
            "type": agg_span,
            "rules": span,
            "timespan": timeframe_span,
            "group-by": agg_span,
            "condition": agg_span,
        },
    }
    return LegacyAggregation(referenced, type(doc)(meta, loc, doc.span), construct, agg_span)


#: keys of a detection rule that a correlation rule does not have
_NOT_METADATA = frozenset({"detection", "logsource", "fields", "name", "action"})


def drop_timeframe(doc: Doc, source: SigmaSource) -> None:
    """A ``detection: timeframe:`` in a rule without an aggregation: the 1.x specification
    gives it a meaning only for aggregations, so it is dropped with a ``deprecated`` warning.
    pySigma knows no ``timeframe`` and would read it as a search identifier with a keyword
    (``5m``), which ``1 of them``/``all of them`` would then select."""
    detection = doc.data.get("detection")
    if not isinstance(detection, dict) or "timeframe" not in detection:
        return
    detection_loc = child_loc(doc.loc, "detection")
    span = span_of_key(detection_loc, "timeframe", doc.span)
    message = (
        "'timeframe' without an aggregation in the condition has no meaning (Sigma 1.x scopes "
        "aggregations with it): ignored"
    )
    source.warn("deprecated", "timeframe", message, span)
    del detection["timeframe"]
