"""JSON eval functions (``spath``, ``json_extract``, ``json_valid``...).

Source: Splunk Search Reference, "JSON functions".
"""

from __future__ import annotations

import json
import re
from typing import Any

from ir.functions.table import register
from ir.functions.values import field_value, mv, to_text

# JSON functions

_PATH_STEP = re.compile(r"\{(\d*)\}|\[(\d*)\]|([^.{}\[\]]+)")


def _json_path(document: Any, path: str) -> list[Any]:
    current: list[Any] = [document]
    for step in _PATH_STEP.finditer(path):
        index_text = step.group(1) if step.group(1) is not None else step.group(2)
        nxt: list[Any] = []
        for node in current:
            if step.group(3) is not None:
                if isinstance(node, dict) and step.group(3) in node:
                    nxt.append(node[step.group(3)])
                elif isinstance(node, list):  # implicit iteration, as spath does
                    nxt.extend(
                        n[step.group(3)] for n in node if isinstance(n, dict) and step.group(3) in n
                    )
            elif isinstance(node, list):
                if index_text == "":
                    nxt.extend(node)
                elif index_text is not None and int(index_text) < len(node):
                    nxt.append(node[int(index_text)])
        current = nxt
    return current


def _json_value(node: Any) -> Any:
    if isinstance(node, (dict, list)):
        return json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    return field_value(node)


def _load_json(text: Any) -> Any:
    if text is None or isinstance(text, list):
        return None
    try:
        return json.loads(to_text(text) or "")
    except ValueError:
        return None


@register("spath", 2, 2)
def _spath(text: Any, path: Any) -> Any:
    """``spath(X, Y)`` (Text functions): the values at path ``Y`` (``a.b``, ``a{0}.b``,
    ``a{}.b``, ``a[0]``) of the JSON text ``X``; objects as JSON text; several values are a
    multivalue; null when absent or ``X`` is not JSON (XML is not supported)."""
    document = _load_json(text)
    if document is None or path is None:
        return None
    return mv(_json_value(node) for node in _json_path(document, to_text(path) or ""))


@register("json_extract", 1, None)
def _json_extract(text: Any, *paths: Any) -> Any:
    """``json_extract(JSON[, PATH...])`` (JSON functions): with no path the JSON itself; with
    one path the value there (as ``spath``); with several, a JSON array of the values."""
    document = _load_json(text)
    if document is None:
        return None
    if not paths:
        return _json_value(document)
    found = [_json_path(document, to_text(p) or "") for p in paths]
    if len(paths) == 1:
        nodes = found[0]
        if not nodes:
            return None
        return _json_value(nodes[0]) if len(nodes) == 1 else _json_value(nodes)
    return json.dumps(
        [f[0] if len(f) == 1 else (f or None) for f in found],
        ensure_ascii=False,
        separators=(",", ":"),
    )


@register("json_valid", 1, 1)
def _json_valid(text: Any) -> bool:
    """``json_valid(X)``: X is JSON text."""
    if text is None or isinstance(text, list):
        return False
    try:
        json.loads(to_text(text) or "")
    except ValueError:
        return False
    return True
