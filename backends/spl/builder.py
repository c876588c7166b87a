"""From the lark tree of an SPL pipeline (``spl.lark``) to ruleglot IR stages.

What this module owns: the meaning of what the grammar only recognises, command by command (a
table from the grammar's stage rule to its builder, as in sqlglot's pipe parsers), and the SPL
semantics listed in :mod:`backends.spl.reader`'s docstring: search precedence and value kinds,
where/eval expressions and which of them are predicates, every command's arguments.

Every node gets a :class:`~ir.errors.Span` in the input file through ``offsets`` (the file
offset of each character of the text the parser saw, macros expanded). Every problem is a
:class:`~ir.errors.RuleglotError` from :meth:`Builder.error`.

What it must not do: parse text (that is the grammar), expand macros, or evaluate anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, TypeAlias

from lark import Token, Tree

from backends.spl.values import network_of, search_network
from ir.errors import RuleglotError, SourceText, Span
from ir.functions import pcre_to_python
from ir.nodes import (
    EXCLUDE,
    Aggregation,
    And,
    Bin,
    BinOp,
    Call,
    Command,
    Condition,
    Convert,
    DataModel,
    Dedup,
    Eval,
    EvalExpr,
    Expr,
    FieldRef,
    FieldValue,
    FillNull,
    Filter,
    ForEach,
    Head,
    Kind,
    Literal,
    Lookup,
    MultiValue,
    Not,
    Or,
    Predicate,
    Regex,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    UnaryOp,
    Wildcard,
    all_of,
    any_of,
    string_kind,
)

__all__ = ["Builder", "unescape"]

PRECEDENCES = ("manual", "and-first")


# --- small value helpers ---------------------------------------------------------------------


def unescape(text: str) -> str:
    """SPL quoted-string escapes: ``\\\\`` is one backslash, ``\\"`` a quote; a backslash before
    any other character is kept with it (Search Manual, "Backslashes": only the backslash itself
    needs escaping; ``*`` cannot be escaped, so ``\\*`` is a backslash then a wildcard)."""
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text) and text[index + 1] in '\\"':
            out.append(text[index + 1])
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _dequote(text: str) -> str:
    """A token's text without its quotes: ``"x"`` unescaped, ``'x'`` as written."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return unescape(text[1:-1])
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return text


_PIECE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^"]+)', re.S)


def _joined(text: str) -> str:
    """One argument written as quoted and unquoted pieces (grammar ``MIXED``): the pieces
    joined, each quoted one without its quotes and unescaped, as Splunk's argument tokenizer
    reads ``(?<ioc>"(?i)\\S+")`` (``(?<ioc>(?i)\\S+)``)."""
    return "".join(
        unescape(m.group(1)) if m.group(1) is not None else m.group(2)
        for m in _PIECE.finditer(text)
    )


_INT = re.compile(r"-?(?:0|[1-9]\d*)")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _number(text: str) -> int | float | None:
    if _INT.fullmatch(text):
        return int(text)
    if _NUMBER.fullmatch(text):
        return float(text)
    return None


def _star_parts(text: str) -> list[str | Wildcard]:
    """Search-value text split at ``*`` (the only wildcard; ``?`` is a literal)."""
    parts: list[str | Wildcard] = []
    for index, piece in enumerate(text.split("*")):
        if index:
            parts.append(Wildcard.MANY)
        parts.append(piece)
    return parts


def _like_parts(text: str) -> list[str | Wildcard]:
    """``like`` pattern: ``%`` is any run of characters, ``_`` exactly one."""
    return [Wildcard.MANY if c == "%" else Wildcard.ONE if c == "_" else c for c in text]


_PCRE_NAMED = re.compile(r"\(\?<(?=[A-Za-z_])")


def python_regex(pattern: str) -> str | None:
    """A PCRE pattern (SPL's regex flavour) in Python ``re`` syntax, or ``None`` when Python
    cannot compile it. Only named groups differ in what content uses: ``(?<n>`` -> ``(?P<n>``."""
    converted = _PCRE_NAMED.sub("(?P<", pattern)
    try:
        re.compile(converted)
    except (re.error, OverflowError, RecursionError, ValueError):
        return None
    return converted


#: eval functions whose argument at this index is a PCRE pattern (SPL reference, "Text functions",
#: "Comparison and Conditional functions")
_REGEX_ARGUMENT = {"match": 1, "replace": 1}


# --- search items and precedence -------------------------------------------------------------


@dataclass(frozen=True)
class _SubLeaf:
    """A ``[subsearch]`` among search terms: allowed only as a top-level conjunct."""

    stage: Subsearch
    offset: int


@dataclass(frozen=True)
class _Op:
    name: str  # NOT, OR, AND
    offset: int


_Tree: TypeAlias = "Expr | _SubLeaf"
_Item: TypeAlias = "_Op | _Tree"

_MATCH_ALL = Predicate(None, Kind.TERM, "*")


@dataclass
class _Precedence:
    """Recursive descent over a flat list of terms and operators. ``or_first`` is the Search
    Manual's order (NOT, OR, AND); otherwise NOT, AND, OR."""

    items: list[_Item]
    or_first: bool
    builder: Builder
    end: int
    pos: int = 0

    def parse(self) -> _Tree | None:
        if not self.items:
            return None
        tree = self.level(0)
        if self.pos < len(self.items):  # only a stray operator can stop the loop early
            self.fail(self.items[self.pos])
        return tree

    def peek(self) -> _Item | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def level(self, depth: int) -> _Tree:
        """depth 0 is the loosest operator, 1 the tighter one, 2 a NOT-term."""
        if depth == 2:
            return self.unary()
        conj = (depth == 0) == self.or_first  # is this level AND (implicit or explicit)?
        args = [self.level(depth + 1)]
        while (item := self.peek()) is not None:
            if isinstance(item, _Op) and item.name != "NOT":
                if (item.name == "AND") != conj:
                    break
                self.pos += 1
                after = self.peek()
                if after is None or isinstance(after, _Op) and after.name != "NOT":
                    self.fail(item)
                args.append(self.level(depth + 1))
            elif conj:  # a term or NOT after a term: implied AND
                args.append(self.level(depth + 1))
            else:
                break
        if len(args) == 1:
            return args[0]
        return _combine(conj, args)

    def unary(self) -> _Tree:
        item = self.peek()
        if item is None:
            self.builder.fail("a search term is missing at the end", "syntax", self.end, "search")
        if isinstance(item, _Op):
            if item.name != "NOT":
                self.fail(item)
            self.pos += 1
            if self.peek() is None:
                self.fail(item)
            arg = self.unary()
            if isinstance(arg, _SubLeaf):
                if arg.stage.command != "search":
                    self.sub_error(arg)
                # `NOT [subsearch]`: the rows the subsearch's terms do not match (an exclusion
                # list, `NOT [| inputlookup allow.csv | fields hash]`)
                return _SubLeaf(replace(arg.stage, command=EXCLUDE), arg.offset)
            return Not(arg, span=self.builder.span(item.offset))
        self.pos += 1
        return item

    def fail(self, item: _Item) -> NoReturn:
        if isinstance(item, _Op):
            side = "after it" if item.name == "NOT" else "on each side"
            message = f"'{item.name}' needs a search term {side}"
            self.builder.fail(message, "syntax", item.offset, "search")
        self.builder.fail("unexpected search term", "syntax", self.end, "search")

    def sub_error(self, leaf: _SubLeaf) -> NoReturn:
        self.builder.fail(
            "a subsearch under NOT or OR is not supported (the IR holds a subsearch only as a"
            " filter of its own, ANDed with the rest)",
            "unsupported",
            leaf.offset,
            "subsearch",
        )


def _combine(conj: bool, args: list[_Tree]) -> _Tree:
    flat: list[Any] = []
    for arg in args:
        if conj and isinstance(arg, And) or not conj and isinstance(arg, Or):
            flat.extend(arg.args)
        else:
            flat.append(arg)
    return And(tuple(flat)) if conj else Or(tuple(flat))


def _nested_subsearch(tree: Any) -> _SubLeaf | None:
    """The first subsearch anywhere inside ``tree``."""
    if isinstance(tree, _SubLeaf):
        return tree
    if isinstance(tree, Not):
        return _nested_subsearch(tree.arg)
    if isinstance(tree, (And, Or)):
        for arg in tree.args:
            found = _nested_subsearch(arg)
            if found is not None:
                return found
    return None


# --- generic command arguments ---------------------------------------------------------------


@dataclass
class Arg:
    """One argument of a command read with the generic ``args`` rule."""

    kind: str  # option, word, quoted, call, comma
    text: str  # word (quotes removed), option key, function name
    offset: int
    value: str | None = None  # option value
    args: list[Arg] = field(default_factory=list)  # call arguments

    def is_word(self, *names: str) -> bool:
        return self.kind == "word" and self.text.lower() in names


# --- the builder -----------------------------------------------------------------------------


class Builder:
    """Builds IR stages from one parsed pipeline; see the module docstring."""

    def __init__(
        self, source: SourceText, offsets: Sequence[int], text: str, precedence: str
    ) -> None:
        self.source = source
        self.offsets = offsets
        self.text = text
        self.or_first = precedence == "manual"
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

    # --- positions and errors

    def file_offset(self, offset: int | None) -> int:
        if offset is None or not self.offsets:
            return self.offsets[-1] if self.offsets else 0
        return self.offsets[min(max(offset, 0), len(self.offsets) - 1)]

    def span(self, start: int | None, end: int | None = None) -> Span:
        if end is None:
            return self.source.span(self.file_offset(start))
        return self.source.span(self.file_offset(start), self.file_offset(end))

    def node_span(self, node: Tree[Any] | Token) -> Span:
        start, end = _bounds(node)
        return self.span(start, end)

    def error(
        self, message: str, category: str, offset: int | None, construct: str | None = None
    ) -> RuleglotError:
        return self.source.error(
            message, category, self.source.span(self.file_offset(offset)), construct
        )

    def fail(
        self, message: str, category: str, offset: int | None, construct: str | None = None
    ) -> NoReturn:
        raise self.error(message, category, offset, construct)

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
            self.fail(f"unknown stage {tree.data}", "invalid", _bounds(tree)[0])
        return build(tree)

    def first_stage(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _token(tree, "SEARCH")
        items = _child(tree, "sitems")
        offset = keyword.start_pos if keyword is not None else _bounds(items)[0]
        return self.search_filter(items, offset, "search")

    def search_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
        return self.search_filter(_child(tree, "sitems"), keyword.start_pos, "search")

    def search_filter(
        self, items: Tree[Any] | None, offset: int | None, command: str
    ) -> list[Stage]:
        """A search expression as a Filter stage (none when it matches everything) followed by
        the subsearches that are ANDed with it."""
        tree = self.search_expr(items, offset)
        if tree is None:
            return []
        conjuncts = list(tree.args) if isinstance(tree, And) else [tree]
        subs = [c.stage for c in conjuncts if isinstance(c, _SubLeaf)]
        rest = [c for c in conjuncts if not isinstance(c, _SubLeaf) and c != _MATCH_ALL]
        stages: list[Stage] = []
        if rest:
            expr = all_of(rest, span=tree.span if isinstance(tree, And) else None)
            stages.append(Filter(expr, command, span=self.span(offset)))
        stages.extend(subs)
        return stages

    def search_expr(self, items: Tree[Any] | None, offset: int | None) -> _Tree | None:
        if items is None:
            return None
        start, end = _bounds(items)
        flat = [self.search_item(child) for child in items.children if isinstance(child, Tree)]
        precedence = _Precedence(flat, self.or_first, self, end if end is not None else start or 0)
        tree = precedence.parse()
        for conjunct in tree.args if isinstance(tree, And) else (tree,):
            found = None if isinstance(conjunct, _SubLeaf) else _nested_subsearch(conjunct)
            if found is not None:
                precedence.sub_error(found)
        if isinstance(tree, (And, Or)) and start is not None:
            tree = type(tree)(tree.args, span=self.span(start, end))
        return tree

    def search_where(self, items: Tree[Any] | None, construct: str) -> Expr | None:
        """A search-semantics filter that cannot hold a subsearch (tstats/inputlookup where)."""
        tree = self.search_expr(items, None)
        if tree is None:
            return None
        for conjunct in tree.args if isinstance(tree, And) else (tree,):
            if isinstance(conjunct, _SubLeaf):
                self.fail(
                    f"a subsearch in the where clause of {construct} is not supported",
                    "unsupported",
                    conjunct.offset,
                    "subsearch",
                )
        return tree  # type: ignore[return-value]

    # --- search terms

    def search_item(self, tree: Tree[Any]) -> _Item:
        kind = tree.data
        first = tree.children[0] if tree.children else None
        if kind == "s_op":
            assert isinstance(first, Token)
            return _Op(str(first), first.start_pos or 0)
        if kind == "s_group":
            inner = _child(tree, "sitems")
            start = _bounds(tree)[0]
            expr = self.search_expr(inner, start)
            if expr is None:
                self.fail("empty parentheses in a search", "syntax", start, "search")
            return expr
        if kind == "s_subsearch":
            assert isinstance(first, Tree)
            stages = self.pipeline(_child(first, "pipeline"))
            start = _bounds(tree)[0] or 0
            sub = Subsearch("search", tuple(stages), span=self.span(start))
            return _SubLeaf(sub, start)
        assert isinstance(first, Token)
        span = self.node_span(tree)
        text = str(first)
        if kind == "s_word":
            return Predicate(None, Kind.TERM, unescape(text), span=span)
        if kind == "s_phrase":
            return Predicate(None, Kind.TERM, _dequote(text), span=span)
        if kind == "s_term":
            return Predicate(None, Kind.TERM, _dequote(text[5:-1]), span=span)
        if kind == "s_case":
            return Predicate(None, Kind.TERM, _dequote(text[5:-1]), cased=True, span=span)
        if kind == "s_compare":
            value = tree.children[1]
            assert isinstance(value, Tree) and isinstance(value.children[0], Token)
            return self.compare(text, value.children[0], span, first.start_pos or 0)
        if kind == "s_in":
            values = [
                c.children[0]
                for c in tree.children[2:]
                if isinstance(c, Tree) and c.children and isinstance(c.children[0], Token)
            ]
            if not values:
                self.fail("IN needs at least one value", "invalid", first.start_pos, "IN")
            name = _dequote(text) if first.type == "QUOTED" else text  # `"f" IN (...)`
            preds = [self.value_predicate(name, v, self.node_span(v)) for v in values]
            return any_of(preds, span=span)
        self.fail(
            f"unexpected search element {kind}", "invalid", first.start_pos
        )  # pragma: no cover

    def compare(self, head: str, value: Token, span: Span, offset: int) -> Expr:
        found = re.fullmatch(r"(.*?)\s*(!=|<=|>=|==|=|<|>)", head, re.S)
        assert found is not None
        name, op = found.group(1), found.group(2)
        if len(name) >= 2 and name[0] == name[-1] == '"':  # `"user.username"="x"`
            name = _dequote(name)
        if op in ("=", "=="):
            return self.value_predicate(name, value, span)
        if op == "!=":
            exists = Predicate(name, Kind.EXISTS, True, span=span)
            return And((exists, Not(self.value_predicate(name, value, span), span=span)), span=span)
        text = _dequote(str(value)) if value.type == "QUOTED" else str(value)
        number = _number(text)
        if number is None:
            self.fail(
                f"'{name}{op}{text}': a search comparison with a value that is not a number"
                " (compared as text by Splunk) is not supported",
                "unsupported",
                value.start_pos,
                "comparison",
            )
        kind = {"<": Kind.LT, "<=": Kind.LTE, ">": Kind.GT, ">=": Kind.GTE}[op]
        return Predicate(name, kind, number, span=span)

    def value_predicate(self, name: str, token: Token, span: Span) -> Expr:
        """``field=value`` in search: case-insensitive, ``*`` wildcard, CIDR, numbers."""
        raw = str(token)
        cased = False
        if token.type in ("CASE_FN", "TERM_FN"):
            cased = token.type == "CASE_FN"
            raw = raw[5:-1]
        quoted = raw.startswith('"')
        text = _dequote(raw) if quoted else unescape(raw)
        if text and set(text) == {"*"}:
            return Predicate(name, Kind.EXISTS, True, span=span)
        network = search_network(text)
        if network is not None:
            return Predicate(name, Kind.CIDR, network, span=span)
        if not quoted and not cased and _INT.fullmatch(text):
            return Predicate(name, Kind.EQ, int(text), span=span)
        kind, value = string_kind(_star_parts(text))
        return Predicate(name, kind, value, cased=cased, span=span)

    # --- where and eval

    def where_cmd(self, tree: Tree[Any]) -> list[Stage]:
        expr = self.eval_expr(tree.children[1])
        span = self.node_span(tree.children[0])
        return [Filter(self.where_predicate(expr), "where", span=span)]

    def eval_cmd(self, tree: Tree[Any]) -> list[Stage]:
        assignments: list[tuple[str, EvalExpr]] = []
        for child in tree.children[1:]:
            if isinstance(child, Tree) and child.data == "assignment":
                target, expr = child.children[0], child.children[1]
                assert isinstance(target, Tree) and isinstance(target.children[0], Token)
                assignments.append((_dequote(str(target.children[0])), self.eval_expr(expr)))
        return [Eval(tuple(assignments), span=self.node_span(tree.children[0]))]

    def eval_expr(self, node: Tree[Any] | Token) -> EvalExpr:
        if isinstance(node, Token):  # pragma: no cover - every atom has a rule
            return FieldValue(str(node), span=self.node_span(node))
        span = self.node_span(node)
        kind = node.data
        children = node.children
        if kind == "paren":  # the expression, its span taking in the parentheses
            return replace(self.eval_expr(children[1]), span=span)
        if kind == "number":
            text = str(children[0])
            number = _number(text)
            return Literal(number if number is not None else float(text), span=span)
        if kind == "string":
            return Literal(_dequote(str(children[0])), span=span)
        if kind == "field":
            token = _tok(children[0])
            if token.type == "FIELD" and str(token).lower() in ("true", "false"):
                return Literal(str(token).lower() == "true", span=span)
            return FieldValue(_dequote(str(token)), span=span)
        if kind == "call":
            name = str(children[0]).lower()
            trees = [c for c in children[1:] if isinstance(c, Tree)]
            args = tuple(self.eval_expr(c) for c in trees)
            if name in _REGEX_ARGUMENT and len(args) > _REGEX_ARGUMENT[name]:
                pattern = args[_REGEX_ARGUMENT[name]]
                if isinstance(pattern, Literal) and isinstance(pattern.value, str):
                    self.check_regex(pattern.value, _bounds(trees[_REGEX_ARGUMENT[name]])[0])
            if name in ("null", "true", "false") and not args:
                return Literal(None if name == "null" else name == "true", span=span)
            return Call(name, args, span=span)
        if kind == "binop":
            left, op, right = children
            return BinOp(_op(_tok(op)), self.eval_expr(left), self.eval_expr(right), span=span)
        if kind == "unop":
            op, arg = _tok(children[0]), children[1]
            inner = self.eval_expr(arg)
            if op.type == "MINUS" and isinstance(inner, Literal):
                value = inner.value
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    return Literal(-value, span=span)
            return UnaryOp("NOT" if op.type in ("ENOT", "EBANG") else "-", inner, span=span)
        if kind == "in_op":
            subject = self.eval_expr(children[0])
            negated = any(isinstance(c, Token) and c.type == "ENOT" for c in children)
            values = [c for c in children[1:] if isinstance(c, Tree) or c is None]
            args = (subject, *(self.eval_expr(c) for c in values if c is not None))
            call = Call("in", args, span=span)
            return UnaryOp("NOT", call, span=span) if negated else call
        self.fail(f"unexpected expression {kind}", "invalid", _bounds(node)[0])  # pragma: no cover

    def where_predicate(self, expr: EvalExpr) -> Expr:
        """A where expression as a filter tree: predicates wherever the meaning is one of the
        predicate kinds (so indicators stay visible), :class:`Condition` for the rest."""
        span = expr.span
        if isinstance(expr, BinOp) and expr.op in ("AND", "OR"):
            args = [self.where_predicate(expr.left), self.where_predicate(expr.right)]
            return all_of(args, span) if expr.op == "AND" else any_of(args, span)
        if isinstance(expr, UnaryOp) and expr.op == "NOT":
            return Not(self.where_predicate(expr.arg), span=span)
        found = _predicate_of(expr)
        return found if found is not None else Condition(expr, span=span)

    # --- regex and rex

    def regex_cmd(self, tree: Tree[Any]) -> list[Stage]:
        args = self.args(tree.children[1])
        span = self.node_span(tree.children[0])
        offset = _kw(tree).start_pos
        if len(args) != 1 or args[0].kind not in ("option", "quoted", "word"):
            self.fail(
                'regex takes one [field=|field!=]"regular expression"', "invalid", offset, "regex"
            )
        arg = args[0]
        name, negate = "_raw", False
        if arg.kind == "option":
            name, negate = arg.text.rstrip("!").rstrip(), arg.text.endswith("!")
            pattern = arg.value or ""
        else:
            pattern = arg.text
        self.check_regex(pattern, arg.offset)
        expr = _regex_leaf(name, pattern, self.span(arg.offset))
        if negate:
            expr = Not(expr, span=self.span(arg.offset))
        return [Filter(expr, "regex", span=span)]

    def rex_cmd(self, tree: Tree[Any]) -> list[Stage]:
        args = self.args(tree.children[1])
        offset = _kw(tree).start_pos
        options = self.options(args, ("field", "mode", "max_match", "offset_field"), "rex")
        patterns = [a for a in args if a.kind == "quoted"]
        others = [a for a in args if a.kind not in ("quoted", "option")]
        if len(patterns) != 1 or others:
            self.fail('rex takes one "regular expression" and options', "invalid", offset, "rex")
        if "offset_field" in options:
            self.fail("rex offset_field is not supported", "unsupported", offset, "rex")
        max_match = self.int_option(options, "max_match", 1, args, "rex")
        mode = options.get("mode")
        if mode != "sed":
            self.check_regex(patterns[0].text, patterns[0].offset)
        return [
            Rex(
                patterns[0].text,
                options.get("field", "_raw"),
                mode,
                max_match,
                span=self.node_span(tree.children[0]),
            )
        ]

    # --- field lists

    def rename_cmd(self, tree: Tree[Any]) -> list[Stage]:
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        offset = _kw(tree).start_pos
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
        keyword = _kw(tree)
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
        keyword = _kw(tree)
        aggs, options, by = self.stats_parts(tree.children[1:])
        return [Stats(aggs, by, str(keyword).lower(), options, span=self.node_span(keyword))]

    def tstats_cmd(self, tree: Tree[Any]) -> list[Stage]:
        """``tstats <opts> <aggs> from datamodel=D.S where W by F`` reads as three stages
        (``ir.nodes.DataModel``): the data set's rows, ``Filter(W, command="tstats")`` when
        there is a ``where``, and the aggregation. Without ``from datamodel=`` tstats reads
        index-time fields of events: no ``DataModel`` stage, and the pipeline refuses it."""
        keyword = _kw(tree)
        span = self.node_span(keyword)
        aggs, options, by = self.stats_parts(tree.children[1:])
        stages: list[Stage] = []
        where: Expr | None = None
        for child in tree.children[1:]:
            if isinstance(child, Tree) and child.data == "tstats_from":
                key, value = _tok(child.children[1]), child.children[2]
                if str(key)[:-1].strip().lower() != "datamodel":
                    self.fail(
                        "tstats takes 'from datamodel=<name>'", "invalid", key.start_pos, "tstats"
                    )
                stages.append(DataModel(self.argval(value), span=span))
            elif isinstance(child, Tree) and child.data == "tstats_where":
                where = self.search_where(_child(child, "sitems"), "tstats")
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
                        by.append(_dequote(str(first)))
        return tuple(aggs), tuple(options), tuple(by)

    def aggregation(self, tree: Tree[Any]) -> Aggregation:
        name = _tok(tree.children[0])
        args = [c for c in tree.children[1:] if isinstance(c, Tree) and c.data != "alias"]
        alias_tree = _child(tree, "alias")
        alias = _dequote(str(alias_tree.children[0])) if alias_tree is not None else None
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
                argument = _dequote(str(arg.children[0]))
        return Aggregation(str(name).lower(), argument, alias)

    def argval(self, node: Any) -> str:
        token = node.children[0] if isinstance(node, Tree) else node
        if isinstance(token, Token) and token.type == "MIXED":
            return _joined(str(token))
        return _dequote(str(token))

    def check_regex(self, pattern: str, offset: int | None) -> None:
        """Refuse, where it is read, a PCRE pattern that the evaluator cannot run with the same
        meaning: :func:`ir.functions.pcre_to_python` rewrites what has a Python equivalent
        (named groups, ``\\Q..\\E``, ``\\z``, inline options...); what Python's ``re`` then
        still cannot compile (``\\C``, one code unit; ``\\X``; ``(?R)`` recursion; ``\\p{..}``)
        has none (PCRE2 ``pcre2pattern``)."""
        try:
            re.compile(pcre_to_python(pattern))
        except (re.error, OverflowError, RecursionError, ValueError) as exc:
            self.fail(
                f"regex {pattern!r}: {exc}; a PCRE construct with no equivalent that ruleglot's "
                "evaluator can run with the same meaning",
                "unsupported",
                offset,
                "regex",
            )

    # --- other modelled commands

    def bin_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
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
        keyword = _kw(tree)
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
        keyword = _kw(tree)
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
        keyword = _kw(tree)
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
        keyword = _kw(tree)
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

    def field_pairs(self, args: list[Arg], construct: str) -> list[tuple[str, str]]:
        """``a [AS b] c [AS d]`` as (a, b) pairs (b defaults to a)."""
        pairs: list[tuple[str, str]] = []
        index = 0
        while index < len(args):
            arg = args[index]
            if arg.kind not in ("word", "quoted") or arg.is_word("as"):
                self.fail(f"{construct}: expected a field name", "invalid", arg.offset, construct)
            if index + 1 < len(args) and args[index + 1].is_word("as"):
                if index + 2 >= len(args):
                    self.fail(
                        f"{construct}: AS needs a name",
                        "invalid",
                        args[index + 1].offset,
                        construct,
                    )
                pairs.append((arg.text, args[index + 2].text))
                index += 3
            else:
                pairs.append((arg.text, arg.text))
                index += 1
        return pairs

    def inputlookup_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
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
        where_tree = _child(tree, "inputlookup_where")
        if where_tree is not None:
            expr = self.search_where(_child(where_tree, "sitems"), "inputlookup")
            if expr is not None:
                stages.append(Filter(expr, "search", span=self.node_span(where_tree.children[0])))
        return stages

    def fillnull_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
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
        keyword = _kw(tree)
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
        keyword = _kw(tree)
        command = str(keyword).lower()
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        names = [a for a in args if a.kind != "option"]
        if len(names) != 1 or names[0].kind not in ("word", "quoted"):
            where = names[1].offset if len(names) > 1 else keyword.start_pos
            self.fail(f"{command} takes one field", "invalid", where, command)
        return [MultiValue(names[0].text, command, options, span=self.node_span(keyword))]

    def subsearch_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
        command = str(keyword).lower()
        options, fields = self.options_and_fields(tree, command)
        sub = _child(tree, "subsearch")
        assert sub is not None
        stages = self.pipeline(_child(sub, "pipeline"))
        return [
            Subsearch(command, tuple(stages), tuple(fields), options, span=self.node_span(keyword))
        ]

    def appendpipe_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = _kw(tree)
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
        keyword = _kw(tree)
        options, fields = self.options_and_fields(tree, "foreach")
        if not fields:
            self.fail("foreach needs a field list", "invalid", keyword.start_pos, "foreach")
        stages = self.subpipe(tree)
        return [ForEach(tuple(fields), tuple(stages), options, span=self.node_span(keyword))]

    def options_and_fields(
        self, tree: Tree[Any], command: str
    ) -> tuple[tuple[tuple[str, str], ...], list[str]]:
        """A command's ``key=value`` options and its field words, in order."""
        args = [a for a in self.args(tree.children[1]) if a.kind != "comma"]
        options = tuple((a.text, a.value or "") for a in args if a.kind == "option")
        fields = []
        for arg in args:
            if arg.kind in ("word", "quoted"):
                fields.append(arg.text)
            elif arg.kind != "option":
                self.fail(f"{command} takes options and fields", "invalid", arg.offset, command)
        return options, fields

    def subpipe(self, tree: Tree[Any]) -> list[Stage]:
        """The stages of a command's bracketed subpipeline (appendpipe, foreach)."""
        sub = _child(tree, "subpipe")
        assert sub is not None
        stages: list[Stage] = []
        for child in sub.children:
            if isinstance(child, Tree):
                stages.extend(self.stage(child))
        return stages

    def generic_cmd(self, tree: Tree[Any]) -> list[Stage]:
        name = tree.children[0]
        args = str(tree.children[1]).strip() if len(tree.children) > 1 else ""
        return [Command(str(name).lower(), args, span=self.node_span(name))]

    # --- argument helpers

    def args(self, tree: Any) -> list[Arg]:
        out: list[Arg] = []
        if not isinstance(tree, Tree):
            return out
        for child in tree.children:
            if not isinstance(child, Tree):
                continue
            first = child.children[0] if child.children else None
            offset = _bounds(child)[0] or 0
            if child.data == "a_comma":
                out.append(Arg("comma", ",", offset))
            elif child.data == "a_option":
                assert isinstance(first, Token)
                key = str(first)[:-1].rstrip()
                out.append(Arg("option", key, offset, self.argval(child.children[1])))
            elif child.data == "a_word":
                out.append(Arg("word", _dequote(str(first)), offset))
            elif child.data == "a_quoted":
                out.append(Arg("quoted", _dequote(str(first)), offset))
            elif child.data == "a_mixed":
                out.append(Arg("quoted", _joined(str(first)), offset))
            elif child.data == "a_call":
                out.append(Arg("call", str(first), offset, args=self.args(child.children[1])))
        return out

    def options(self, args: list[Arg], known: Sequence[str], command: str) -> dict[str, str]:
        options: dict[str, str] = {}
        for arg in args:
            if arg.kind != "option":
                continue
            key = arg.text.lower()
            if key not in known:
                self.fail(
                    f"{command} option {arg.text!r} is not supported (known: {', '.join(known)})",
                    "unsupported",
                    arg.offset,
                    command,
                )
            options[key] = arg.value or ""
        return options

    def int_option(
        self,
        options: dict[str, str],
        key: str,
        default: int | None,
        args: list[Arg],
        command: str,
    ) -> Any:
        if key not in options:
            return default
        try:
            return int(options[key])
        except ValueError:
            offset = next((a.offset for a in args if a.kind == "option" and a.text == key), None)
            self.fail(f"{command} {key}= takes a whole number", "invalid", offset, command)


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


# --- where predicates ------------------------------------------------------------------------

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "==": "=="}
_COMPARE_KIND = {"<": Kind.LT, "<=": Kind.LTE, ">": Kind.GT, ">=": Kind.GTE}


def _is_str(expr: EvalExpr) -> bool:
    return isinstance(expr, Literal) and isinstance(expr.value, str)


def _is_num(expr: EvalExpr) -> bool:
    return (
        isinstance(expr, Literal)
        and isinstance(expr.value, (int, float))
        and not isinstance(expr.value, bool)
    )


def _predicate_of(expr: EvalExpr) -> Expr | None:
    """The predicate an eval expression is, when it is exactly one (see the reader docstring)."""
    span = expr.span
    if isinstance(expr, BinOp):
        left, right, op = expr.left, expr.right, expr.op
        if isinstance(right, FieldValue) and not isinstance(left, FieldValue) and op in _FLIP:
            left, right, op = right, left, _FLIP[op]
        if not isinstance(left, FieldValue):
            return None
        name = left.name
        if op in ("=", "==") and _is_str(right):
            assert isinstance(right, Literal)
            return Predicate(name, Kind.EQ, right.value, cased=True, span=span)
        if op in ("=", "==") and isinstance(right, FieldValue):
            return Predicate(name, Kind.FIELDREF, FieldRef(right.name), cased=True, span=span)
        if op in _COMPARE_KIND and _is_num(right):
            assert isinstance(right, Literal)
            return Predicate(name, _COMPARE_KIND[op], right.value, span=span)
        if op == "LIKE" and _is_str(right):
            assert isinstance(right, Literal) and isinstance(right.value, str)
            kind, value = string_kind(_like_parts(right.value))
            return Predicate(name, kind, value, cased=True, span=span)
        return None
    if not isinstance(expr, Call):
        return None
    args = expr.args
    name = expr.name
    if name in ("isnull", "isnotnull") and len(args) == 1 and isinstance(args[0], FieldValue):
        pred = Predicate(args[0].name, Kind.NULL, None, span=span)
        return pred if name == "isnull" else Not(pred, span=span)
    if name == "match" and len(args) == 2 and isinstance(args[0], FieldValue) and _is_str(args[1]):
        assert isinstance(args[1], Literal) and isinstance(args[1].value, str)
        pattern = python_regex(args[1].value)
        if pattern is None:
            return None
        return Predicate(args[0].name, Kind.REGEX, Regex(pattern), span=span)
    if name == "like" and len(args) == 2 and isinstance(args[0], FieldValue) and _is_str(args[1]):
        assert isinstance(args[1], Literal) and isinstance(args[1].value, str)
        kind, value = string_kind(_like_parts(args[1].value))
        return Predicate(args[0].name, kind, value, cased=True, span=span)
    if name == "cidrmatch" and len(args) == 2 and _is_str(args[0]):
        assert isinstance(args[0], Literal) and isinstance(args[0].value, str)
        network = network_of(args[0].value)
        if network is not None and isinstance(args[1], FieldValue):
            return Predicate(args[1].name, Kind.CIDR, network, span=span)
        return None
    if (
        name == "in"
        and len(args) >= 2
        and isinstance(args[0], FieldValue)
        and all(_is_str(a) for a in args[1:])
    ):
        field_name = args[0].name
        preds: list[Expr] = [
            Predicate(field_name, Kind.EQ, a.value, cased=True, span=a.span or span)  # type: ignore[union-attr]
            for a in args[1:]
        ]
        return any_of(preds, span)
    return None


def _regex_leaf(name: str, pattern: str, span: Span) -> Expr:
    converted = python_regex(pattern)
    if converted is None:  # not Python syntax: keep SPL's meaning as an eval expression
        call = Call("match", (FieldValue(name), Literal(pattern)), span=span)
        return Condition(call, span=span)
    return Predicate(name, Kind.REGEX, Regex(converted), span=span)


# --- tree helpers ----------------------------------------------------------------------------


def _op(token: Token) -> str:
    text = str(token)
    return text.upper() if token.type in ("EAND", "EOR", "EXOR", "ELIKE") else text


def _tok(node: Any) -> Token:
    """``node``, which the grammar makes a token."""
    assert isinstance(node, Token), node
    return node


def _kw(tree: Tree[Any]) -> Token:
    """The keyword token a command's rule starts with."""
    return _tok(tree.children[0])


def _child(tree: Tree[Any], name: str) -> Any:
    for child in tree.children:
        if isinstance(child, Tree) and child.data == name:
            return child
    return None


def _token(tree: Tree[Any], type_: str) -> Token | None:
    for child in tree.children:
        if isinstance(child, Token) and child.type == type_:
            return child
    return None


def _bounds(node: Any) -> tuple[int | None, int | None]:
    """Where a token or a subtree starts and ends in the expanded text: from its first and last
    token, found on demand (lark's ``propagate_positions`` would store them on every node, and
    that costs two fifths of the parse)."""
    if isinstance(node, Token):
        return node.start_pos, node.end_pos
    first = _edge_token(node.children, last=False)
    if first is None:
        return None, None
    last = _edge_token(node.children, last=True)
    assert last is not None
    return first.start_pos, last.end_pos


def _edge_token(children: list[Any], last: bool) -> Token | None:
    """The first (or ``last``) token under these children (``None`` placeholders and empty
    subtrees hold none)."""
    for child in reversed(children) if last else children:
        if isinstance(child, Token):
            return child
        if isinstance(child, Tree):
            found = _edge_token(child.children, last)
            if found is not None:
                return found
    return None
