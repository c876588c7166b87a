"""IR <-> JSON: every node as an object tagged with ``"node"``; loading gives back an equal rule.

Spans are written (so ``ruleglot parse --to ir`` shows where things came from) and read back,
but take no part in equality. Tuples become JSON lists and come back as tuples; a
:class:`~ir.nodes.Wildcard` inside a pattern is ``{"wildcard": "*"}`` so that it can never be
confused with a literal ``*``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from typing import Any

from ir import nodes
from ir.errors import RuleglotError, Span
from ir.nodes import VALUE_TYPES, Kind, Pattern, Rule, Wildcard

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
        node = cls(**kwargs)
    except TypeError as exc:
        raise RuleglotError(f"bad IR node {tag}: {exc}", category="invalid") from exc
    for name, hint in _hints(cls).items():
        value = getattr(node, name, None)
        if name in kwargs and not _conforms(value, hint):
            raise RuleglotError(
                f"bad IR node {tag}: {name} is {type(value).__name__} {value!r:.60}, "
                f"not {hint}",
                category="invalid",
            )
    if isinstance(node, nodes.Predicate):
        allowed = VALUE_TYPES[node.kind]
        if type(node.value) not in allowed:
            raise RuleglotError(
                f"bad IR node Predicate: a {node.kind} predicate's value is "
                f"{type(node.value).__name__} {node.value!r:.60}, not "
                + " or ".join(a.__name__ for a in allowed),
                category="invalid",
            )
    return node


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of an IR dataclass (its annotations resolved)."""
    hints: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        try:  # each on its own: one annotation Python cannot evaluate leaves that field free
            hints[f.name] = eval(f.type, vars(nodes)) if isinstance(f.type, str) else f.type  # noqa: S307 - the IR's own annotations
        except Exception:  # noqa: BLE001, S112
            continue
    return hints


def _conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` (read from JSON) has the annotated type: a node whose fields have the
    wrong types would fail later, deep in a writer or the evaluator, as a Python exception."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if origin in (tuple, list):
        args = typing.get_args(hint)
        if not isinstance(value, (tuple, list)):
            return False
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            return not args or all(_conforms(v, args[0]) for v in value)
        return len(args) == len(value) and all(
            _conforms(v, a) for v, a in zip(value, args, strict=True)
        )
    if origin is not None or not isinstance(hint, type):
        return True  # mappings, callables: not read from JSON
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def dumps(rule: Rule, indent: int | None = 2) -> str:
    return json.dumps(to_data(rule), indent=indent, ensure_ascii=False)


#: The deepest JSON nesting IR JSON may have: rules from real corpora nest a few dozen levels;
#: the loader and the evaluator recurse once per level.
MAX_DEPTH = 200


def _depth(data: Any) -> int:
    """How deep ``data`` nests (iteratively: no recursion on hostile input)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def loads(text: str) -> Rule:
    """The rule IR JSON holds; malformed, too deep or ill-typed JSON is a positioned
    :class:`RuleglotError`, never a Python exception."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleglotError(exc.msg, category="syntax", line=exc.lineno, col=exc.colno) from exc
    except RecursionError:
        raise RuleglotError(
            f"IR JSON nests deeper than the limit of {MAX_DEPTH} levels (MAX_DEPTH)",
            category="syntax", line=1, col=1,
        ) from None
    if _depth(data) > MAX_DEPTH:
        raise RuleglotError(
            f"IR JSON nests deeper than the limit of {MAX_DEPTH} levels (MAX_DEPTH)",
            category="syntax", line=1, col=1,
        )
    try:
        rule = from_data(data)
    except RuleglotError as err:
        err.line, err.col = err.line or 1, err.col or 1
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise RuleglotError(f"bad IR JSON: {exc}", category="invalid", line=1, col=1) from None
    if not isinstance(rule, Rule):
        raise RuleglotError("IR JSON does not hold a Rule", category="invalid", line=1, col=1)
    return rule
