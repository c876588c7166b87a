"""The SPL builder's command families: field lists (``rename``, ``table``/``fields``),
``stats``/``tstats``/``bin``, and the other modelled commands (``dedup``, ``sort``, ``head``,
``lookup``, ``inputlookup``, ``fillnull``, ``convert``, multivalue commands, subsearches,
``appendpipe``, ``foreach``, generic commands).

Sources: Splunk Search Reference, each command's page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lark import Token, Tree

from backends.spl.buildcore import Arg, dequote, kw, tok, tree_child
from backends.spl.buildsearch import SearchBuilder
from ir.nodes import (
    Aggregation,
    Bin,
    Command,
    Convert,
    DataModel,
    Dedup,
    EvalExpr,
    Expr,
    FillNull,
    Filter,
    ForEach,
    Head,
    Lookup,
    MultiValue,
    Rename,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
)


def _output_groups(args: list[Arg]) -> list[list[Arg]]:
    """Lookup field lists: commas are optional separators; OUTPUT starts a new group."""
    groups: list[list[Arg]] = [[]]
    for arg in args:
        if arg.kind == "comma":
            continue
        if arg.is_word("output", "outputnew"):
            groups.append([arg])
        else:
            groups[-1].append(arg)
    return [g for g in groups if g]


def _arg_text(arg: Arg) -> str:
    if arg.kind == "option":
        return f"{arg.text}={arg.value}"
    if arg.kind == "call":
        return f"{arg.text}({','.join(_arg_text(a) for a in arg.args)})"
    return arg.text



class CommandBuilder(SearchBuilder):
    """Field lists, stats and tstats, and the other modelled commands."""

    # --- field lists

    def rename_cmd(self, tree: Tree[Any]) -> list[Stage]:
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        offset = kw(tree).start_pos
        pairs: list[tuple[str, str]] = []
        index = 0
        while index < len(args):
            chunk = args[index : index + 3]
            if (
                len(chunk) < 3
                or not chunk[1].is_word("as")
                or any(a.kind not in ("word", "quoted") for a in chunk)
            ):
                where = chunk[min(len(chunk) - 1, 1)].offset if chunk else offset
                self.fail("rename takes pairs 'old AS new'", "invalid", where, "rename")
            pairs.append((chunk[0].text, chunk[2].text))
            index += 3
        if not pairs:
            self.fail("rename needs 'old AS new'", "invalid", offset, "rename")
        return [Rename(tuple(pairs), span=self.node_span(tree.children[0]))]

    def table_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        command = str(keyword).lower()
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        remove = False
        if command == "fields" and args and args[0].kind == "word" and args[0].text in "+-":
            remove = args[0].text == "-"
            args = args[1:]
        for arg in args:
            if arg.kind not in ("word", "quoted", "call"):
                self.fail(f"{command} takes field names", "invalid", arg.offset, command)
        fields = tuple(_arg_text(a) for a in args)  # a call is a field name: `predicted(x)`
        return [Table(fields, command, remove, span=self.node_span(keyword))]

    # --- stats

    def stats_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        aggs, options, by = self.stats_parts(tree.children[1:])
        return [Stats(aggs, by, str(keyword).lower(), options, span=self.node_span(keyword))]

    def tstats_cmd(self, tree: Tree[Any]) -> list[Stage]:
        """``tstats <opts> <aggs> from datamodel=D.S where W by F`` reads as three stages
        (``ir.nodes.DataModel``): the data set's rows, ``Filter(W, command="tstats")`` when
        there is a ``where``, and the aggregation. Without ``from datamodel=`` tstats reads
        index-time fields of events: no ``DataModel`` stage, and the pipeline refuses it."""
        keyword = kw(tree)
        span = self.node_span(keyword)
        aggs, options, by = self.stats_parts(tree.children[1:])
        stages: list[Stage] = []
        where: Expr | None = None
        for child in tree.children[1:]:
            if isinstance(child, Tree) and child.data == "tstats_from":
                key, value = tok(child.children[1]), child.children[2]
                if str(key)[:-1].strip().lower() != "datamodel":
                    self.fail(
                        "tstats takes 'from datamodel=<name>'", "invalid", key.start_pos, "tstats"
                    )
                stages.append(DataModel(self.argval(value), span=span))
            elif isinstance(child, Tree) and child.data == "tstats_where":
                where = self.search_where(tree_child(child, "sitems"), "tstats")
        if where is not None:
            stages.append(Filter(where, "tstats", span=span))
        if stages and isinstance(stages[0], DataModel):
            # the command's options belong to the data-model read; ``span`` (of ``by _time``)
            # to the aggregation
            stages[0] = DataModel(
                stages[0].name, tuple(o for o in options if o[0] != "span"), span=span
            )
            options = tuple(o for o in options if o[0] == "span")
        stages.append(Stats(aggs, by, "tstats", options, span=span))
        return stages

    def stats_parts(
        self, children: Sequence[Any]
    ) -> tuple[tuple[Aggregation, ...], tuple[tuple[str, str], ...], tuple[str, ...]]:
        aggs: list[Aggregation] = []
        options: list[tuple[str, str]] = []
        by: list[str] = []
        for child in children:
            if not isinstance(child, Tree):
                continue
            if child.data == "st_option":
                key = str(child.children[0])[:-1].rstrip()
                options.append((key, self.argval(child.children[1])))
            elif child.data == "aggregation":
                aggs.append(self.aggregation(child))
            elif child.data == "by_clause":
                for item in child.children[1:]:
                    if not isinstance(item, Tree) or not item.children:
                        continue
                    first = item.children[0]
                    if isinstance(first, Token) and first.type == "ARG_KEY":
                        key = str(first)[:-1].rstrip()
                        options.append((key, self.argval(item.children[1])))
                    elif isinstance(first, Token) and first.type != "COMMA":
                        by.append(dequote(str(first)))
        return tuple(aggs), tuple(options), tuple(by)

    def aggregation(self, tree: Tree[Any]) -> Aggregation:
        name = tok(tree.children[0])
        args = [c for c in tree.children[1:] if isinstance(c, Tree) and c.data != "alias"]
        alias_tree = tree_child(tree, "alias")
        alias = dequote(str(alias_tree.children[0])) if alias_tree is not None else None
        argument: str | EvalExpr | None = None
        if len(args) > 1:
            self.fail(
                f"{name}(...) with several arguments is not supported",
                "unsupported",
                name.start_pos,
                "aggregation",
            )
        if args:
            arg = args[0]
            if arg.data == "agg_eval":
                argument = self.eval_expr(arg.children[1])
            else:
                argument = dequote(str(arg.children[0]))
        return Aggregation(str(name).lower(), argument, alias)

    # --- other modelled commands

    def bin_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = self.options(args, ("span", "bins"), "bin")
        words = [a for a in args if a.kind != "option"]
        name, alias = "_time", None
        if words:
            name = words[0].text
            if len(words) == 3 and words[1].is_word("as"):
                alias = words[2].text
            elif len(words) != 1:
                self.fail(
                    "bin takes [field] [AS alias] and options", "invalid", words[-1].offset, "bin"
                )
        bins = self.int_option(options, "bins", None, args, "bin") if "bins" in options else None
        return [Bin(name, options.get("span"), bins, alias, span=self.node_span(keyword))]

    def dedup_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        count = 1
        if args and args[0].kind == "word" and args[0].text.isdigit():
            count = int(args[0].text)
            args = args[1:]
        fields: list[str] = []
        options: list[tuple[str, str]] = []
        for index, arg in enumerate(args):
            if arg.is_word("sortby"):
                options.append(("sortby", " ".join(_arg_text(a) for a in args[index + 1 :])))
                break
            if arg.kind == "option":
                options.append((arg.text, arg.value or ""))
            elif arg.kind in ("word", "quoted"):
                fields.append(arg.text)
            else:
                self.fail("dedup takes field names", "invalid", arg.offset, "dedup")
        if not fields:
            self.fail("dedup needs a field", "invalid", keyword.start_pos, "dedup")
        return [Dedup(tuple(fields), count, tuple(options), span=self.node_span(keyword))]

    def sort_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        limit: int | None = None
        if args and args[0].kind == "word" and args[0].text.isdigit():
            limit = int(args[0].text)
            args = args[1:]
        options = self.options(args, ("limit",), "sort")
        if "limit" in options:
            limit = self.int_option(options, "limit", None, args, "sort")
        keys: list[tuple[str, bool]] = []
        sign: str | None = None
        reverse = False
        words = [a for a in args if a.kind != "option"]
        for index, arg in enumerate(words):
            if arg.kind == "word" and arg.text in ("+", "-"):
                sign = arg.text
                continue
            if arg.is_word("d", "desc") and keys and index == len(words) - 1:
                reverse = True
                continue
            if arg.kind == "call" and len(arg.args) == 1:  # num(x), str(x), ip(x), auto(x)
                text = arg.args[0].text
            elif arg.kind in ("word", "quoted"):
                text = arg.text
            else:
                self.fail("sort takes [+|-]field ...", "invalid", arg.offset, "sort")
            if sign is None and arg.kind == "word" and text[:1] in "+-" and len(text) > 1:
                sign, text = text[0], text[1:]
            keys.append((text, sign == "-"))
            sign = None
        if sign is not None or not keys:
            self.fail("sort needs a field after + or -", "invalid", keyword.start_pos, "sort")
        if reverse:
            keys = [(name, not desc) for name, desc in keys]
        return [Sort(tuple(keys), limit, span=self.node_span(keyword))]

    def head_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        command = str(keyword).lower()
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = self.options(args, ("limit",), command)
        count = 10
        words = [a for a in args if a.kind != "option"]
        if "limit" in options:
            count = self.int_option(options, "limit", 10, args, command)
        if words:
            if len(words) > 1 or not words[0].text.isdigit():
                self.fail(f"{command} takes a number", "unsupported", words[0].offset, command)
            count = int(words[0].text)
        return [Head(count, command, span=self.node_span(keyword))]

    def lookup_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = self.args(tree.children[1])
        options: list[tuple[str, str]] = []
        while args and args[0].kind == "option":
            options.append((args[0].text, args[0].value or ""))
            args = args[1:]
        if not args or args[0].kind not in ("word", "quoted"):
            self.fail("lookup needs a lookup table name", "invalid", keyword.start_pos, "lookup")
        table = args[0].text
        inputs: list[tuple[str, str]] = []
        outputs: list[tuple[str, str]] = []
        mode = "OUTPUT"
        target = inputs
        for group in _output_groups(args[1:]):
            if group[0].is_word("output", "outputnew"):
                if target is outputs:
                    self.fail("lookup has one OUTPUT list", "invalid", group[0].offset, "lookup")
                mode = group[0].text.upper()
                target = outputs
                group = group[1:]
            target.extend(self.field_pairs(group, "lookup"))
        if not inputs:
            self.fail("lookup needs an input field", "invalid", keyword.start_pos, "lookup")
        return [
            Lookup(
                table,
                tuple(inputs),
                tuple(outputs),
                mode,
                "lookup",
                tuple(options),
                span=self.node_span(keyword),
            )
        ]

    def inputlookup_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        names = [a for a in args if a.kind != "option"]
        if len(names) != 1 or names[0].kind not in ("word", "quoted"):
            where = names[1].offset if len(names) > 1 else keyword.start_pos
            self.fail("inputlookup takes one lookup table name", "invalid", where, "inputlookup")
        stages: list[Stage] = [
            Lookup(
                names[0].text, command="inputlookup", options=options, span=self.node_span(keyword)
            )
        ]
        where_tree = tree_child(tree, "inputlookup_where")
        if where_tree is not None:
            expr = self.search_where(tree_child(where_tree, "sitems"), "inputlookup")
            if expr is not None:
                stages.append(Filter(expr, "search", span=self.node_span(where_tree.children[0])))
        return stages

    def fillnull_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = self.options(args, ("value",), "fillnull")
        fields = []
        for arg in args:
            if arg.kind in ("word", "quoted"):
                fields.append(arg.text)
            elif arg.kind != "option":
                self.fail("fillnull takes field names", "invalid", arg.offset, "fillnull")
        return [FillNull(options.get("value", "0"), tuple(fields), span=self.node_span(keyword))]

    def convert_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = [(a.text, a.value or "") for a in args if a.kind == "option"]
        rest = [a for a in args if a.kind != "option"]
        conversions: list[tuple[str, str, str | None]] = []
        index = 0
        while index < len(rest):
            arg = rest[index]
            if arg.kind != "call" or len(arg.args) != 1:
                self.fail(
                    "convert takes function(field) [AS name]", "invalid", arg.offset, "convert"
                )
            alias = None
            if index + 1 < len(rest) and rest[index + 1].is_word("as"):
                if index + 2 >= len(rest):
                    self.fail(
                        "convert: AS needs a name", "invalid", rest[index + 1].offset, "convert"
                    )
                alias = rest[index + 2].text
                index += 2
            conversions.append((arg.text.lower(), arg.args[0].text, alias))
            index += 1
        if not conversions:
            self.fail("convert needs function(field)", "invalid", keyword.start_pos, "convert")
        return [Convert(tuple(conversions), tuple(options), span=self.node_span(keyword))]

    def multivalue_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        command = str(keyword).lower()
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        names = [a for a in args if a.kind != "option"]
        if len(names) != 1 or names[0].kind not in ("word", "quoted"):
            where = names[1].offset if len(names) > 1 else keyword.start_pos
            self.fail(f"{command} takes one field", "invalid", where, command)
        return [MultiValue(names[0].text, command, options, span=self.node_span(keyword))]

    def subsearch_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        command = str(keyword).lower()
        options, fields = self.options_and_fields(tree, command)
        sub = tree_child(tree, "subsearch")
        assert sub is not None
        stages = self.pipeline(tree_child(sub, "pipeline"))
        return [
            Subsearch(command, tuple(stages), tuple(fields), options, span=self.node_span(keyword))
        ]

    def appendpipe_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        for arg in args:
            if arg.kind != "option":
                self.fail("appendpipe takes options", "invalid", arg.offset, "appendpipe")
        stages = self.subpipe(tree)
        return [Subsearch("appendpipe", tuple(stages), (), options, span=self.node_span(keyword))]

    def foreach_cmd(self, tree: Tree[Any]) -> list[Stage]:
        """``foreach`` in multifield mode with an eval/where template; other modes are kept
        as options and refused when run."""
        keyword = kw(tree)
        options, fields = self.options_and_fields(tree, "foreach")
        if not fields:
            self.fail("foreach needs a field list", "invalid", keyword.start_pos, "foreach")
        stages = self.subpipe(tree)
        return [ForEach(tuple(fields), tuple(stages), options, span=self.node_span(keyword))]

    def generic_cmd(self, tree: Tree[Any]) -> list[Stage]:
        name = tree.children[0]
        args = str(tree.children[1]).strip() if len(tree.children) > 1 else ""
        return [Command(str(name).lower(), args, span=self.node_span(name))]
