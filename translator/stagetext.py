"""How a rule's stages read as text on a page.

* :func:`split_pipes`: an SPL search cut into its commands, as written.
* :func:`sigma_detection`: a Sigma rule's ``detection:`` block, as written.
* :func:`render_expr`: a filter's boolean tree on one line, in the IR's words
  (``field kind "value"``, AND/OR/NOT).
* :func:`stage_text`: a stage as one line of SPL when the search's own text cannot be cut per
  stage. A security_content search calls macros that expand into stages of their own, or into
  none (an undefined ``*_filter`` macro), so its text split at ``|`` does not always line up
  with its stages. The page then shows the search once as written, and each stage as ruleglot
  reads it: through the SPL emitter where it writes the stage, else with the small formatters
  here (``tstats``, ``convert``, ``lookup``, ``rex``...), which the emitter does not write.

What it must not do
    Be used to translate: this text is for reading, not a search guaranteed to run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import yaml

from backends.spl.emit import aggregation_text, options_text, write_eval, write_stage
from backends.yaml_loaders import SAFE_LOADER
from ir.errors import RuleglotError
from ir.nodes import (
    And,
    Command,
    Condition,
    Convert,
    Expr,
    Lookup,
    MultiValue,
    Not,
    Or,
    Predicate,
    Rex,
    Rule,
    Stage,
    Stats,
    Subsearch,
)
from translator.indicators import display_field


def _pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return [a if a == b else f"{a} as {b}" for a, b in pairs]


def stage_text(stage: Stage, render_where: Callable[[Expr], str] | None = None) -> str:
    """``stage`` as ``command arguments``; ``render_where`` renders a ``tstats`` where-tree
    (default: :func:`render_expr`)."""
    render_where = render_where or render_expr
    try:
        return write_stage(stage, [])
    except RuleglotError:
        pass
    if isinstance(stage, Stats):
        words = [stage.command, *options_text(stage.options)]
        words.append(" ".join(aggregation_text(a) for a in stage.aggregations))
        if stage.by:
            words.append("by " + " ".join(stage.by))
        return " ".join(w for w in words if w)
    if isinstance(stage, Convert):
        items = [
            f"{fn}({f})" + (f" as {alias}" if alias else "") for fn, f, alias in stage.conversions
        ]
        return " ".join(["convert", *options_text(stage.options), *items])
    if isinstance(stage, Lookup):
        words = [stage.command, *options_text(stage.options), stage.table, *_pairs(stage.inputs)]
        if stage.outputs:
            words += [stage.mode, *_pairs(stage.outputs)]
        return " ".join(words)
    if isinstance(stage, Rex):
        mode = [f"mode={stage.mode}"] if stage.mode else []
        return " ".join(["rex", f"field={stage.field}", *mode, f'"{stage.pattern}"'])
    if isinstance(stage, MultiValue):
        return " ".join([stage.command, *options_text(stage.options), stage.field])
    if isinstance(stage, Subsearch):
        inner = " | ".join(stage_text(s, render_where) for s in stage.stages)
        return " ".join([stage.command, *options_text(stage.options), *stage.fields, f"[{inner}]"])
    if isinstance(stage, Command):
        return f"{stage.name} {stage.args}".strip()
    return type(stage).__name__.lower()


def split_pipes(spl: str) -> list[str]:
    """The commands of an SPL search, split at ``|`` outside quotes, backticks and brackets."""
    out: list[str] = []
    depth, quote, start = 0, "", 0
    index = 0
    while index < len(spl):
        char = spl[index]
        if quote:
            if char == "\\" and quote == '"':
                index += 1
            elif char == quote:
                quote = ""
        elif char in '"`':
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth = max(depth - 1, 0)
        elif char == "|" and depth == 0:
            out.append(spl[start:index])
            start = index
        index += 1
    out.append(spl[start:])
    return [part.strip() for part in out if part.strip()]


def sigma_detection(rule: Rule, text: str) -> str:
    """The ``detection:`` block of the rule's YAML document (the one holding the rule's first
    line), as written."""
    try:
        nodes = list(yaml.compose_all(text, Loader=SAFE_LOADER))
    except yaml.YAMLError:
        return ""
    line = rule.span.line if rule.span else None
    for node in nodes:
        if not isinstance(node, yaml.MappingNode):
            continue
        if line is not None and not node.start_mark.line + 1 <= line <= node.end_mark.line + 1:
            continue
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "detection":
                return text[key.start_mark.index : value.end_mark.index].rstrip()
    return ""


def render_expr(expr: Expr) -> str:
    """A filter's tree on one line: ``field kind value``, AND/OR/NOT, parentheses where an
    operand is itself a different operator."""
    if isinstance(expr, Predicate):
        return f'{display_field(expr)} {expr.kind} "{expr.value_text()}"'
    if isinstance(expr, Condition):
        return f"eval({write_eval(expr.expr)})"
    if isinstance(expr, Not):
        inner = render_expr(expr.arg)
        return f"NOT {inner}" if isinstance(expr.arg, (Predicate, Condition)) else f"NOT ({inner})"
    op = " AND " if isinstance(expr, And) else " OR "
    parts = []
    for arg in expr.args:
        text = render_expr(arg)
        nested = isinstance(arg, (And, Or)) and type(arg) is not type(expr)
        parts.append(f"({text})" if nested else text)
    return op.join(parts)
