"""How a rule's stages read as text on a page.

* :func:`split_pipes`: an SPL search cut into its commands, as written
  (:mod:`backends.spl.keepmacros`'s, which cuts a search the same way to keep its macros).
* :func:`sigma_detection`: a Sigma rule's ``detection:`` block, as written.
* :func:`render_expr`: a filter's boolean tree on one line, in the IR's words
  (``field kind "value"``, AND/OR/NOT).
* :func:`stage_text`: a stage as one line of SPL when the search's own text cannot be cut per
  stage. A security_content search calls macros that expand into stages of their own, or into
  none (an undefined ``*_filter`` macro), so its text split at ``|`` does not always line up
  with its stages. The page then shows the search once as written, and each stage as ruleglot
  reads it, written by the one SPL writer (:meth:`backends.spl.emit.SplWriter.display`).

What it must not do
    Write SPL itself (the writer does), or be used to translate: a ``tstats`` split over its
    stages is shown one part per stage, which is for reading, not a search that runs.
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from backends.spl.emit import SplWriter, write_eval
from backends.spl.keepmacros import split_pipes
from backends.yaml_loaders import SAFE_LOADER
from ir.errors import RuleglotError
from ir.nodes import And, Condition, Expr, Filter, Not, Or, Predicate, Rule, Stage, stage_command
from translator.indicators import display_field

__all__ = ["render_expr", "sigma_detection", "split_pipes", "stage_text"]


def stage_text(stage: Stage, render_where: Callable[[Expr], str] | None = None) -> str:
    """``stage`` as ``command arguments``, written by the SPL writer; a stage it refuses (a
    predicate SPL cannot say) is its command and, for a filter, its tree rendered by
    ``render_where`` (default: :func:`render_expr`), so the page still shows it."""
    try:
        return SplWriter().display(stage)
    except RuleglotError:
        if isinstance(stage, Filter):
            return f"{stage.command} {(render_where or render_expr)(stage.expr)}"
        return stage_command(stage)


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
