"""IR <-> JSON: every node as an object tagged with ``"node"``; loading gives back an equal rule.

Spans are written (so ``ruleglot parse --to ir`` shows where things came from) and read back,
but take no part in equality. Tuples become JSON lists and come back as tuples; a
:class:`~ir.nodes.Wildcard` inside a pattern is ``{"wildcard": "*"}`` so that it can never be
confused with a literal ``*``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ir import nodes
from ir.errors import RuleglotError, Span
from ir.nodes import Kind, Pattern, Rule, Wildcard

#: Node classes by their JSON tag: every dataclass the IR defines, plus spans.
NODE_TYPES: dict[str, type] = {
    name: cls
    for name, cls in vars(nodes).items()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls is not Pattern
}
NODE_TYPES["Span"] = Span


def to_data(obj: Any) -> Any:
    """A JSON-ready structure for any IR node or value."""
    if isinstance(obj, Pattern):
        return {
            "node": "Pattern",
            "parts": [{"wildcard": p.value} if isinstance(p, Wildcard) else p for p in obj.parts],
        }
    if isinstance(obj, Kind):
        return obj.value
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data: dict[str, Any] = {"node": type(obj).__name__}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue  # defaults are left out; required fields are always written
            data[f.name] = to_data(value)
        return data
    if isinstance(obj, (tuple, list)):
        return [to_data(x) for x in obj]
    return obj


def from_data(data: Any) -> Any:
    """The inverse of :func:`to_data`."""
    if isinstance(data, list):
        return tuple(from_data(x) for x in data)
    if not isinstance(data, dict):
        return data
    tag = data.get("node")
    if tag == "Pattern":
        return Pattern(
            tuple(Wildcard(p["wildcard"]) if isinstance(p, dict) else p for p in data["parts"])
        )
    cls = NODE_TYPES.get(str(tag))
    if cls is None:
        raise RuleglotError(f"unknown IR node {tag!r}", category="invalid")
    kwargs = {k: from_data(v) for k, v in data.items() if k != "node"}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RuleglotError(f"bad IR node {tag}: {exc}", category="invalid") from exc


def dumps(rule: Rule, indent: int | None = 2) -> str:
    return json.dumps(to_data(rule), indent=indent, ensure_ascii=False)


def loads(text: str) -> Rule:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleglotError(exc.msg, category="syntax", line=exc.lineno, col=exc.colno) from exc
    rule = from_data(data)
    if not isinstance(rule, Rule):
        raise RuleglotError("IR JSON does not hold a Rule", category="invalid")
    return rule
