"""From the lark tree of an SPL pipeline (``spl.lark``) to ruleglot IR stages.

What this module owns: the meaning of what the grammar only recognises, command by command (a
table from the grammar's stage rule to its builder, as in sqlglot's pipe parsers), and the SPL
semantics listed in :mod:`backends.spl.reader`'s docstring: search precedence and value kinds,
where/eval expressions and which of them are predicates, every command's arguments.

Every node gets a :class:`~ir.errors.Span` in the input file through ``offsets`` (the file
offset of each character of the text the parser saw, macros expanded). Every problem is a
:class:`~ir.errors.RuleglotError` from :meth:`Builder.error`.

What it must not do: parse text (that is the grammar), expand macros, or evaluate anything.

The builder is split by command family, each module a class over the one before:
:mod:`backends.spl.buildcore` (positions, errors, generic arguments, shared helpers),
:mod:`backends.spl.buildsearch` (search terms and their precedence, where, eval, regex, rex),
:mod:`backends.spl.buildcommands` (field lists, stats/tstats/bin and the other modelled
commands) and, here, :class:`Builder` with the table from each stage rule to its method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from lark import Tree

from backends.spl.buildcommands import CommandBuilder
from backends.spl.buildcore import (
    PRECEDENCES,
    bounds,
    tree_child,
    tree_token,
)
from ir.errors import SourceText
from ir.nodes import Stage

__all__ = ["PRECEDENCES", "Builder"]


class Builder(CommandBuilder):
    """Builds IR stages from one parsed pipeline; see the module docstring."""

    def __init__(
        self, source: SourceText, offsets: Sequence[int], text: str, precedence: str
    ) -> None:
        super().__init__(source, offsets, text, precedence)
        self.stage_builders: dict[str, Callable[[Tree[Any]], list[Stage]]] = {
            "search_cmd": self.search_cmd,
            "where_cmd": self.where_cmd,
            "eval_cmd": self.eval_cmd,
            "regex_cmd": self.regex_cmd,
            "rex_cmd": self.rex_cmd,
            "rename_cmd": self.rename_cmd,
            "table_cmd": self.table_cmd,
            "fields_cmd": self.table_cmd,
            "stats_cmd": self.stats_cmd,
            "tstats_cmd": self.tstats_cmd,
            "bin_cmd": self.bin_cmd,
            "dedup_cmd": self.dedup_cmd,
            "sort_cmd": self.sort_cmd,
            "head_cmd": self.head_cmd,
            "lookup_cmd": self.lookup_cmd,
            "inputlookup_cmd": self.inputlookup_cmd,
            "fillnull_cmd": self.fillnull_cmd,
            "convert_cmd": self.convert_cmd,
            "multivalue_cmd": self.multivalue_cmd,
            "subsearch_cmd": self.subsearch_cmd,
            "appendpipe_cmd": self.appendpipe_cmd,
            "foreach_cmd": self.foreach_cmd,
            "generic_cmd": self.generic_cmd,
        }

    # --- pipeline

    def pipeline(self, tree: Tree[Any]) -> list[Stage]:
        stages: list[Stage] = []
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            if child.data == "first_stage":
                stages.extend(self.first_stage(child))
            else:
                stages.extend(self.stage(child))
        return stages

    def stage(self, tree: Tree[Any]) -> list[Stage]:
        build = self.stage_builders.get(str(tree.data))
        if build is None:  # pragma: no cover - the grammar has no other stage
            self.fail(f"unknown stage {tree.data}", "invalid", bounds(tree)[0])
        return build(tree)

    def first_stage(self, tree: Tree[Any]) -> list[Stage]:
        keyword = tree_token(tree, "SEARCH")
        items = tree_child(tree, "sitems")
        offset = keyword.start_pos if keyword is not None else bounds(items)[0]
        return self.search_filter(items, offset, "search")
