"""The text of SPL expressions: field names, search terms, ``where`` predicates and ``eval``
expressions, quoted and escaped as the grammar (``spl.lark``) reads them back.

Part of the SPL writer (:mod:`backends.spl.emit` writes a rule, :mod:`backends.spl.writer`
each stage with these); the sources of each rule are cited where it is written.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeAlias

from backends.spl.field_profile import field_profile
from backends.spl.values import search_network
from ir.errors import RuleglotError, lossy_warning, unsupported
from ir.evaluator import END_OF_TEXT, string_regex, with_flags
from ir.events import text_of
from ir.functions import python_to_pcre
from ir.nodes import (
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
    Pattern,
    Predicate,
    Regex,
    Stage,
    Stats,
    UnaryOp,
    Wildcard,
    map_eval,
    map_fields,
)

#: What the search grammar accepts as the field of ``field=value`` (spl.lark, SEARCH_CMP).
_SEARCH_FIELD = re.compile(r'[^\s()"=<>!|\[\]\\*]+')
#: A bare field name in an eval expression; others are ``'single quoted'``. ruleglot's grammar
#: also reads ``a.b`` bare as one field (spl.lark, FIELD), but in eval ``.`` is the
#: concatenation operator and Splunk's documentation asks for quotes around any name with a
#: character other than letters, digits and ``_`` (Search Reference, "eval": field names;
#: SPL2 Search Manual, "Quotation marks"), so names with ``.`` or ``:`` are always quoted:
#: ``'a.b'`` means the field under every reading.
_EVAL_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A plain word for command arguments (rename, table, by ...): spl.lark's ARG and SFIELD,
#: less ``'`` (a word in single quotes reads as the name inside) and ``\\`` (kept quoted,
#: where its escaping is the reader's).
ARG_WORD = re.compile(r'[^\s,()|\[\]"=\'\\]+')
#: A ``key=`` a command option or ``regex f=`` can be written with (spl.lark, ARG_KEY).
OPTION_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.{}:@-]*")
#: An eval assignment's target written bare (spl.lark, EVAL_TARGET); others are quoted.
_EVAL_TARGET = re.compile(r"(?:[A-Za-z_{]|<<[A-Z]+>>)(?:[A-Za-z0-9_.:{}@-]|<<[A-Z]+>>)*")
_EVAL_KEYWORDS = {"and", "or", "not", "xor", "like", "in", "true", "false"}
STRING_KINDS = (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH, Kind.WILDCARD)
#: ``Stats.options`` keys the Sigma correlation reader records its reading in (not SPL options;
#: ``backends.sigma.correlation``).
CORRELATION_ANNOTATIONS = ("timespan", "approximation")


#: An emitter's warnings: :func:`ir.errors.lossy_warning` dicts (construct, message, position).
Warnings: TypeAlias = list[dict[str, Any]]
def quote(text: str) -> str:
    """A double-quoted SPL string: ``\\`` and ``"`` escaped (Search Manual, "Backslashes")."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- field names -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """How IR field names become Splunk's for one field profile."""

    source_prefix: str | None  # Channel X -> source=<prefix>X
    renames: dict[str, str]
    #: fields the profile computes from other values rather than copies (``source``,
    #: ``process_name``...): a keyword's ``foreach *`` must not test them (module docstring)
    derived: tuple[str, ...] = ()

    @classmethod
    @functools.cache  # one per profile name: built for every rule it was a tenth of emitting
    def of(cls, fields: str | None) -> Names:
        profile = field_profile(fields, construct="fields")
        if profile is None:
            return cls(None, {}, ())
        prefix = None
        renames: dict[str, str] = {}
        for x in profile.extractions:
            if x.target == "source" and x.sources == ("Channel",) and x.transform == "prefix":
                prefix = x.argument
            if x.target == "EventCode" and x.sources == ("EventID",) and x.transform == "copy":
                renames["EventID"] = "EventCode"
        derived = sorted({x.target for x in profile.extractions if x.transform != "copy"})
        return cls(prefix, renames, tuple(derived))


def _rename_eval(expr: EvalExpr, names: dict[str, str]) -> EvalExpr:
    return map_eval(expr, lambda name: names.get(name, name))


def rename_stage(stage: Stage, names: dict[str, str]) -> Stage:
    """A later stage with the fields it reads in Splunk's names (filters, eval expressions,
    stats group-by fields)."""
    if not names:
        return stage
    if isinstance(stage, Filter):
        return Filter(rename(stage.expr, names), stage.command, span=stage.span)
    if isinstance(stage, Eval):
        return Eval(
            tuple((t, _rename_eval(e, names)) for t, e in stage.assignments), span=stage.span
        )
    if isinstance(stage, Stats):
        return replace(stage, by=tuple(names.get(f, f) for f in stage.by))
    return stage


def rename(expr: Expr, names: dict[str, str]) -> Expr:
    """``expr`` with field names mapped (predicates, field references, eval expressions)."""
    return map_fields(expr, lambda name: names.get(name, name))


def _channel_has_value(expr: Not) -> bool:
    """``NOT Channel is null``: the windows profile's condition for ``product: windows``."""
    arg = expr.arg
    return isinstance(arg, Predicate) and arg.field == "Channel" and arg.kind is Kind.NULL


def source_condition(expr: Expr, names: Names) -> Expr:
    """A log-source branch condition in Splunk's names (``Channel`` -> ``source``)."""
    if isinstance(expr, Predicate) and expr.field == "Channel" and names.source_prefix is not None:
        if expr.kind is Kind.EQ and isinstance(expr.value, str):
            return Predicate("source", Kind.EQ, names.source_prefix + expr.value)
        return expr
    if isinstance(expr, Not) and _channel_has_value(expr) and names.source_prefix is not None:
        # the field profile extracts ``source`` only from a Channel that holds a value
        return Predicate("source", Kind.STARTSWITH, names.source_prefix)
    if isinstance(expr, Predicate):
        return rename(expr, names.renames)
    if isinstance(expr, Condition):
        return rename(expr, names.renames)
    if isinstance(expr, Not):
        return Not(source_condition(expr.arg, names))
    args = tuple(source_condition(a, names) for a in expr.args)
    return And(args) if isinstance(expr, And) else Or(args)


# --- search ----------------------------------------------------------------------------------


def _reads_as_network(text: str) -> bool:
    """Whether ``search`` reads ``f="text"`` as CIDR matching (the reader's own test)."""
    return search_network(text) is not None


def _search_name(name: str) -> str | None:
    """A field name as ``search`` writes it before ``=``: bare, or double-quoted when it holds
    a character a bare name cannot (``"user name"="x"``, spl.lark SEARCH_CMP); ``None`` for a
    name with ``*`` (a wildcard field name) or a line break."""
    if _SEARCH_FIELD.fullmatch(name):
        return name
    if "*" in name or "\n" in name or not name:
        return None
    return quote(name)


def _search_value(text: str, cased: bool) -> str:
    """A value after ``field=``: quoted; ``CASE("...")`` when it compares case-sensitively
    (Search Manual, "Use CASE() and TERM() to match phrases": "case-sensitive matches for
    terms and field values", wildcards allowed, ``host=CASE(LOCALHOST)``; the reader's
    ``value_predicate``)."""
    return f"CASE({quote(text)})" if cased else quote(text)


def _search_leaf(pred: Predicate) -> str | None:
    """``pred`` as a search term with exactly its meaning, or ``None`` when search cannot."""
    kind, value = pred.kind, pred.value
    if pred.field is None:
        if kind is Kind.TERM and isinstance(value, str) and value:
            return _search_value(value, pred.cased)
        return None
    name = _search_name(pred.field)
    if name is None:
        return None
    if kind is Kind.EXISTS:
        return f"{name}=*" if value else f"NOT {name}=*"
    if kind in (Kind.LT, Kind.LTE, Kind.GT, Kind.GTE):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value):
            return None
        op = {Kind.LT: "<", Kind.LTE: "<=", Kind.GT: ">", Kind.GTE: ">="}[kind]
        return f"{name}{op}{value!r}"
    if kind is Kind.CIDR and isinstance(value, str):
        return f"{name}={quote(value)}"
    if kind is Kind.EQ and isinstance(value, int) and not isinstance(value, bool):
        return f"{name}={value}"
    if kind is Kind.EQ and isinstance(value, bool):
        return f"{name}={quote('true' if value else 'false')}"
    if kind not in STRING_KINDS:
        return None
    if kind is Kind.WILDCARD:
        assert isinstance(value, Pattern)
        text = ""
        for part in value.parts:
            if part is Wildcard.ONE or (isinstance(part, str) and "*" in part):
                return None
            text += "*" if part is Wildcard.MANY else str(part)
        if set(text) <= {"*"} or _reads_as_network(text):
            # `f=*` reads as exists, true on JSON null (the pattern is not); a network as cidr
            return None
        return f"{name}={_search_value(text, pred.cased)}"
    if not isinstance(value, str) or "*" in value or (kind is Kind.EQ and _reads_as_network(value)):
        return None  # `f="10.0.0.0/8"` reads as cidr, not as equal text
    if kind is not Kind.EQ and not value:
        return None  # "**" would read as exists
    stars = {
        Kind.EQ: "{}",
        Kind.CONTAINS: "*{}*",
        Kind.STARTSWITH: "{}*",
        Kind.ENDSWITH: "*{}",
    }[kind]
    return f"{name}={_search_value(stars.format(value), pred.cased)}"


def _search_text(expr: Expr) -> str | None:
    """``expr`` as search terms, or ``None`` when search cannot express a part of it. Every
    compound operand is parenthesised, so the text reads the same under either AND/OR
    precedence. (One walk decides and writes: the emitter used to walk each tree twice.)"""
    if isinstance(expr, Predicate):
        return _search_leaf(expr)
    if isinstance(expr, Condition):
        return None
    if isinstance(expr, Not):
        inner = expr.arg
        text = _search_text(inner)
        if text is None:
            return None
        if isinstance(inner, Predicate) and not (inner.kind is Kind.EXISTS and not inner.value):
            return f"NOT {text}"
        return f"NOT ({text})"
    texts: list[str] = []
    for arg in expr.args:
        text = _search_text(arg)
        if text is None:
            return None
        texts.append(text)
    return joined(expr.args, texts, isinstance(expr, And))


def joined(args: Sequence[Expr], texts: Sequence[str], conjunction: bool) -> str:
    """The search texts of ``args`` ANDed (or ORed), each compound operand parenthesised."""
    parts = [f"({t})" if isinstance(a, (And, Or)) else t for a, t in zip(args, texts, strict=True)]
    return " ".join(parts) if conjunction else " OR ".join(parts)


def search_text(expr: Expr) -> str | None:
    """``expr`` as the terms of a ``search`` (``None``: search cannot say all of it)."""
    return _search_text(expr)


def search_expressible(expr: Expr) -> bool:
    return _search_text(expr) is not None


# --- where -----------------------------------------------------------------------------------


def _field(name: str) -> str:
    """A field in an eval expression: bare when it reads as a field, else ``'quoted'``."""
    if _EVAL_FIELD.fullmatch(name) and name.lower() not in _EVAL_KEYWORDS:
        return name
    if "'" in name:
        raise unsupported(
            construct="field", message=f"field name {name!r} cannot be written in SPL eval"
        )
    return f"'{name}'"


def eval_target(name: str) -> str:
    """An eval assignment's target: bare when the grammar reads it as one name, else
    double-quoted (a target may be ``"quoted"``, spl.lark ``target``)."""
    if _EVAL_TARGET.fullmatch(name) and name.lower() not in _EVAL_KEYWORDS:
        return name
    return quote(name)


def _match(name: str, pattern: str) -> str:
    return f"match({_field(name)}, {quote(pattern)})"


def _where_leaf(pred: Predicate, warnings: Warnings) -> str:
    """A predicate in ``where`` syntax; an error points at the predicate's source."""
    try:
        return _where_leaf_text(pred, warnings)
    except RuleglotError as err:
        raise err.at(pred.span) from None


def pcre_text(value: Regex) -> str:
    """The PCRE text SPL is given for an IR regex (``match``, ``regex``): its flags, and its
    Python ``re`` syntax rewritten where PCRE reads the same text otherwise
    (:func:`ir.functions.python_to_pcre`: ``\\Z``, ``[[:digit:]]``, ``\\v``...)."""
    return with_flags(value.flags, python_to_pcre(value.pattern))


def _where_leaf_text(pred: Predicate, warnings: Warnings) -> str:
    name, kind, value = pred.field, pred.kind, pred.value
    if name is None:
        if kind is Kind.TERM:
            raise unsupported(
                construct="term", message="a bare search term cannot be written in where"
            )
        raise unsupported(
            construct="keyword",
            message="a field-less keyword (anywhere in the event) has no exact SPL form",
        )
    if kind is Kind.EQ and isinstance(value, (int, float)):
        if isinstance(value, bool):
            return _match(name, f"(?i)^{'true' if value else 'false'}{END_OF_TEXT}")
        return _match(name, f"^{re.escape(text_of(value))}{END_OF_TEXT}")
    if kind is Kind.EQ and pred.cased and isinstance(value, str):
        return f"{_field(name)}={quote(value)}"
    like = _like_pattern(pred)
    if like is not None:
        return f"like({_field(name)}, {quote(like)})"
    if kind in STRING_KINDS:
        return _match(name, string_regex(pred))
    if kind is Kind.REGEX:
        assert isinstance(value, Regex)
        return _match(name, pcre_text(value))
    if kind is Kind.CIDR:
        return f"cidrmatch({quote(str(value))}, {_field(name)})"
    if kind is Kind.NULL:
        return f"isnull({_field(name)})"
    if kind is Kind.EXISTS:
        warnings.append(
            lossy_warning(
                "exists",
                f"exists on {name!r} written in where as isnull/isnotnull: differs for JSON null",
                pred.span,
            )
        )
        return f"isnotnull({_field(name)})" if value else f"isnull({_field(name)})"
    if kind in (Kind.LT, Kind.LTE, Kind.GT, Kind.GTE):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise unsupported(construct=str(kind), message=f"{kind} needs a number, not {value!r}")
        op = {Kind.LT: "<", Kind.LTE: "<=", Kind.GT: ">", Kind.GTE: ">="}[kind]
        return f"{_field(name)}{op}{value!r}"
    if kind is Kind.FIELDREF:
        assert isinstance(value, FieldRef)
        if value.match != "eq":
            raise unsupported(
                construct="fieldref",
                message=f"a field reference with {value.match} has no exact SPL form",
            )
        if pred.cased:
            return f"{_field(name)}={_field(value.field)}"
        return f"lower({_field(name)})=lower({_field(value.field)})"
    if kind is Kind.TIMEPART:
        raise unsupported(
            construct="timepart", message="timestamp-part predicates are not written to SPL"
        )
    raise unsupported(construct=str(kind), message=f"predicate kind {kind} is not written to SPL")


def _like_pattern(pred: Predicate) -> str | None:
    """A case-sensitive string test as ``like``'s pattern (``%`` any run, ``_`` one
    character: Search Reference, "like"), the form the reader reads ``like`` as; ``None``
    when the value holds ``%`` or ``_``, which ``like`` cannot escape."""
    if not pred.cased or pred.kind not in STRING_KINDS or pred.kind is Kind.EQ:
        return None
    value = pred.value
    if isinstance(value, Pattern):
        parts = value.parts
    elif isinstance(value, str):
        parts = {
            Kind.CONTAINS: (Wildcard.MANY, value, Wildcard.MANY),
            Kind.STARTSWITH: (value, Wildcard.MANY),
            Kind.ENDSWITH: (Wildcard.MANY, value),
        }[pred.kind]
    else:
        return None
    text = ""
    for part in parts:
        if isinstance(part, str):
            if "%" in part or "_" in part:
                return None
            text += part
        else:
            text += "%" if part is Wildcard.MANY else "_"
    return text


def write_where(expr: Expr, warnings: Warnings) -> str:
    """Any filter tree as a where expression (where's precedence: NOT, AND, OR; compound
    operands are parenthesised anyway)."""
    if isinstance(expr, Predicate):
        return _where_leaf(expr, warnings)
    if isinstance(expr, Condition):
        return write_eval(expr.expr)
    if isinstance(expr, Not):
        return f"NOT ({write_where(expr.arg, warnings)})"
    parts = [
        f"({write_where(a, warnings)})" if isinstance(a, (And, Or)) else write_where(a, warnings)
        for a in expr.args
    ]
    return (" AND " if isinstance(expr, And) else " OR ").join(parts)


# --- eval expressions ------------------------------------------------------------------------


def _literal(value: str | int | float | bool | None) -> str:
    if value is None:
        return "null()"
    if isinstance(value, bool):
        return "true()" if value else "false()"
    if isinstance(value, (int, float)):
        if value < 0:
            return f"({value!r})"
        return repr(value)
    return quote(value)


def write_eval(expr: EvalExpr) -> str:
    """An eval expression; every operation is parenthesised so precedence never matters."""
    if isinstance(expr, FieldValue):
        return _field(expr.name)
    if isinstance(expr, Literal):
        return _literal(expr.value)
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(write_eval(a) for a in expr.args)})"
    if isinstance(expr, UnaryOp):
        if expr.op == "NOT":  # parenthesised: `a + NOT (b)` would read NOT( as a call
            return f"(NOT ({write_eval(expr.arg)}))"
        return f"-({write_eval(expr.arg)})"
    if isinstance(expr, BinOp):
        return f"({write_eval(expr.left)} {expr.op} {write_eval(expr.right)})"
    raise unsupported(construct="eval", message=f"not an eval expression: {expr!r}")


