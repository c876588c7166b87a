"""The SPL builder's search-expression family: ``search`` terms with SPL's precedence, the
``where`` and ``eval`` expressions (and which of them are predicates), ``regex`` and ``rex``.

Sources: Splunk Search Reference, "search", "where", "eval", "regex", "rex"; the precedence of
AND and OR is the reader's option (:data:`backends.spl.buildcore.PRECEDENCES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, NoReturn, TypeAlias

from lark import Token, Tree

from backends.spl.buildcore import (
    INT,
    REGEX_ARGUMENT,
    BuilderBase,
    bounds,
    dequote,
    kw,
    like_parts,
    number_value,
    op_text,
    python_regex,
    star_parts,
    tok,
    tree_child,
    unescape,
)
from backends.spl.values import network_of, search_network
from ir.errors import Span
from ir.nodes import (
    EXCLUDE,
    And,
    BinOp,
    Call,
    Condition,
    Eval,
    EvalExpr,
    Expr,
    FieldRef,
    FieldValue,
    Filter,
    Kind,
    Literal,
    Not,
    Or,
    Predicate,
    Regex,
    Rex,
    Stage,
    Subsearch,
    UnaryOp,
    all_of,
    any_of,
    string_kind,
)

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
    builder: BuilderBase
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
            kind, value = string_kind(like_parts(right.value))
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
        kind, value = string_kind(like_parts(args[1].value))
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


def where_tree(expr: EvalExpr) -> Expr:
    """A where expression as a filter tree: predicates wherever the meaning is one of the
    predicate kinds (so indicators stay visible), :class:`Condition` for the rest. The one
    reading of an eval boolean as a filter (``ir.hoist`` reads ``if``/``case`` tests by it)."""
    span = expr.span
    if isinstance(expr, BinOp) and expr.op in ("AND", "OR"):
        args = [where_tree(expr.left), where_tree(expr.right)]
        return all_of(args, span) if expr.op == "AND" else any_of(args, span)
    if isinstance(expr, UnaryOp) and expr.op == "NOT":
        return Not(where_tree(expr.arg), span=span)
    found = _predicate_of(expr)
    return found if found is not None else Condition(expr, span=span)


def _regex_leaf(name: str, pattern: str, span: Span) -> Expr:
    converted = python_regex(pattern)
    if converted is None:  # not Python syntax: keep SPL's meaning as an eval expression
        call = Call("match", (FieldValue(name), Literal(pattern)), span=span)
        return Condition(call, span=span)
    return Predicate(name, Kind.REGEX, Regex(converted), span=span)




class SearchBuilder(BuilderBase):
    """Search terms, where/eval expressions, regex and rex."""

    def search_cmd(self, tree: Tree[Any]) -> list[Stage]:
        keyword = kw(tree)
        return self.search_filter(tree_child(tree, "sitems"), keyword.start_pos, "search")

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
        start, end = bounds(items)
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
            inner = tree_child(tree, "sitems")
            start = bounds(tree)[0]
            expr = self.search_expr(inner, start)
            if expr is None:
                self.fail("empty parentheses in a search", "syntax", start, "search")
            return expr
        if kind == "s_subsearch":
            assert isinstance(first, Tree)
            stages = self.pipeline(tree_child(first, "pipeline"))
            start = bounds(tree)[0] or 0
            sub = Subsearch("search", tuple(stages), span=self.span(start))
            return _SubLeaf(sub, start)
        assert isinstance(first, Token)
        span = self.node_span(tree)
        text = str(first)
        if kind == "s_word":
            return Predicate(None, Kind.TERM, unescape(text), span=span)
        if kind == "s_phrase":
            return Predicate(None, Kind.TERM, dequote(text), span=span)
        if kind == "s_term":
            return Predicate(None, Kind.TERM, dequote(text[5:-1]), span=span)
        if kind == "s_case":
            return Predicate(None, Kind.TERM, dequote(text[5:-1]), cased=True, span=span)
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
            name = dequote(text) if first.type == "QUOTED" else text  # `"f" IN (...)`
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
            name = dequote(name)
        if op in ("=", "=="):
            return self.value_predicate(name, value, span)
        if op == "!=":
            exists = Predicate(name, Kind.EXISTS, True, span=span)
            return And((exists, Not(self.value_predicate(name, value, span), span=span)), span=span)
        text = dequote(str(value)) if value.type == "QUOTED" else str(value)
        number = number_value(text)
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
        text = dequote(raw) if quoted else unescape(raw)
        if text and set(text) == {"*"}:
            return Predicate(name, Kind.EXISTS, True, span=span)
        network = search_network(text)
        if network is not None:
            return Predicate(name, Kind.CIDR, network, span=span)
        if not quoted and not cased and INT.fullmatch(text):
            return Predicate(name, Kind.EQ, int(text), span=span)
        kind, value = string_kind(star_parts(text))
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
                assignments.append((dequote(str(target.children[0])), self.eval_expr(expr)))
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
            number = number_value(text)
            return Literal(number if number is not None else float(text), span=span)
        if kind == "string":
            return Literal(dequote(str(children[0])), span=span)
        if kind == "field":
            token = tok(children[0])
            if token.type == "FIELD" and str(token).lower() in ("true", "false"):
                return Literal(str(token).lower() == "true", span=span)
            return FieldValue(dequote(str(token)), span=span)
        if kind == "call":
            name = str(children[0]).lower()
            trees = [c for c in children[1:] if isinstance(c, Tree)]
            args = tuple(self.eval_expr(c) for c in trees)
            if name in REGEX_ARGUMENT and len(args) > REGEX_ARGUMENT[name]:
                pattern = args[REGEX_ARGUMENT[name]]
                if isinstance(pattern, Literal) and isinstance(pattern.value, str):
                    self.check_regex(pattern.value, bounds(trees[REGEX_ARGUMENT[name]])[0])
            if name in ("null", "true", "false") and not args:
                return Literal(None if name == "null" else name == "true", span=span)
            return Call(name, args, span=span)
        if kind == "binop":
            left, op, right = children
            return BinOp(op_text(tok(op)), self.eval_expr(left), self.eval_expr(right), span=span)
        if kind == "unop":
            op, arg = tok(children[0]), children[1]
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
        self.fail(f"unexpected expression {kind}", "invalid", bounds(node)[0])  # pragma: no cover

    def where_predicate(self, expr: EvalExpr) -> Expr:
        """A where expression as a filter tree (:func:`where_tree`)."""
        return where_tree(expr)

    # --- regex and rex

    def regex_cmd(self, tree: Tree[Any]) -> list[Stage]:
        args = self.args(tree.children[1])
        span = self.node_span(tree.children[0])
        offset = kw(tree).start_pos
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
        offset = kw(tree).start_pos
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
