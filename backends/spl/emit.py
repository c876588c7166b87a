"""SPL emitter: an IR rule -> a Splunk search that means the same, read back by the SPL reader.

The contract (tested in ``tests/test_spl_emit.py``, measured by ``benchmarks/sigma_to_spl.py``):
``read_spl_search(emit_spl(rule))`` wrapped in a rule of language ``spl`` and evaluated through the
field profile ``fields`` selects the same events as ``rule`` evaluated with the log-source profile
``logsources``. The reading of SPL is :mod:`backends.spl.reader`'s (its module docstring); the
facts behind it are in ``../shared/docs/SEMANTICS.md``.

The one SPL writer
    :class:`SplWriter` writes every IR stage, one ``<node>_spl`` method per stage class looked
    up in ``SplWriter.TRANSFORMS`` (sqlglot's generator shape); translations, rule pages
    (``translator/stagetext.py``) and ``ruleglot check`` all write SPL through it. Whatever the
    SPL reader builds it writes back so that it reads to an equal IR (measured on
    security_content by ``benchmarks/spl_to_spl.py``; a property in
    ``tests/test_spl_writer.py``): arguments quoted where a bare word would read otherwise,
    strings escaped as the reader unescapes them, ``tstats`` from its ``DataModel``
    [+ ``Filter(command="tstats")``] + ``Stats(command="tstats")`` stages, a ``Command`` from
    its tokens. Macro calls are kept by :mod:`backends.spl.keepmacros`.

Log source
    The rule's log source is resolved with the profile; each branch's condition (``Channel``,
    ``EventID`` predicates) is written in Splunk's names: ``Channel`` X is
    ``source="WinEventLog:X"`` (the prefix the field profile extracts ``source`` with;
    ``XmlWinEventLog:`` for ``splunk_windows_xml``), ``EventID`` is ``EventCode``. The rule's own
    predicates are written with the branch's field aliases (``Image`` -> ``NewProcessName`` for
    Security 4688). Several branches whose aliased filters differ are
    ``(cond1 AND filter1) OR (cond2 AND filter2)``, ANDed with the plain ``cond1 OR cond2`` so that
    the search part always selects the log source.

    A log source the profile does not map (zeek, aws, linux...: the windows profile describes
    Windows event logs only) is written as a search macro named after it,
    :func:`logsource_macro` (``sigma_linux_process_creation``, ``sigma_aws_cloudtrail``): SPL's
    own way of binding a search to a data source (security_content starts every search with
    one), at the same level of abstraction as Sigma's log source, so nothing is lost; the user
    defines the macro for their data. :attr:`Emitted.macros` lists the macros a search needs.
    For running the emitted search with ruleglot, :func:`logsource_macro_definitions` defines
    them as the profile reads the log source: the events of no source (``NOT _raw=*``), since
    the profile selects none of its events for an unmapped log source.

Field names
    Kept as the rule writes them, except ``EventID`` -> ``EventCode`` (the Splunk field profiles
    only *add* fields, so every other event field is read as is). A log source left to a macro
    keeps even ``EventID``: the field profile describes the profile's Windows events, not the
    user's data. A field the rule names that the profile also *extracts from other fields*
    (Sigma ``process`` vs the add-on's ``process`` <- ``CommandLine``) is written as is, with a
    warning: on an event without it, Splunk reads the extraction.

search first, then one where
    The filter's top-level conjuncts that ``search`` can say exactly are written in the search;
    the others are ANDed into one ``| where`` (``A | where B`` is ``A AND B``). A conjunct goes to
    ``where`` when any of its leaves needs it: ``search`` has no ``?`` wildcard, cannot escape a
    literal ``*``, is case-insensitive only, has no regex, field reference or null test, and
    reads a value naming a network (``f="10.0.0.0/8"``) as CIDR matching.
    In ``where`` every string test is ``match(f, "...")``, which the reader lifts back into a
    ``regex`` predicate (so missing fields and multivalues behave exactly as the IR says):
    ``(?i)`` for case-insensitive kinds (Python's and PCRE's case folding agree with
    ``str.lower`` on everything but a few non-ASCII letters), ``^``/``$(?!\\n)`` anchors (``$``
    alone also matches before a final newline, in Python and in PCRE), ``(?s)`` when a
    ``*``/``?`` wildcard must also match newlines.

Keywords
    A field-less Sigma keyword means "this text in any value of the event". An SPL bare term is
    an indexed-term match of ``_raw``, and ``match(_raw, ...)`` sees the raw text, whose
    escaping (JSON, XML) and field names differ from the values, so neither keeps the meaning.
    What does is testing every field's values: one ``foreach * [eval _kw1=if(match('<<FIELD>>',
    "<regex>"), 1, _kw1), ...]`` before the ``where``, and ``_kw1=1`` in place of keyword 1.
    ``match`` on a multivalue field tests each value (``match`` in
    :mod:`ir.functions.conditional`), like the evaluator's keywords. The flags start unset
    (null), so they are not among the fields ``foreach *`` iterates when it starts; their ``_``
    prefix keeps them off the event's own names. Not covered by this form: values Splunk holds
    in ``_``-prefixed internal fields.
    Under a field profile the template skips the fields the profile *computes* from other
    values (``source`` = ``WinEventLog:`` + ``Channel``, ``sourcetype``, the ``*_name``
    basenames): ``NOT "<<FIELD>>" IN ("file_name", ...) AND match(...)``. They are not the
    event's values (the Sigma rule's event has no ``source``, and ``"WinEventLog:Security"``
    holds the keyword ``in``); the copies the profile makes (``process`` <- ``CommandLine``)
    hold the same values as their originals, so visiting them changes nothing. Left: an event
    carrying a field of its own under one of those names (not a Windows event's field) has
    that field skipped too.

Not expressible (``unsupported`` errors, by ``construct``)
    ``keyword`` of a kind ``match`` cannot say (a number compared as a number).
    ``fieldref`` other than equality (the other
    field's value would have to become a pattern). ``timepart``. ``term`` inside a ``where``.
    ``field``: a field name ``search`` cannot write when the predicate must be in search.

Approximations (reported in :attr:`Emitted.warnings`, never silent)
    ``exists`` inside a ``where`` is ``isnotnull(f)``/``isnull(f)``, which differ from the IR
    for a field holding JSON ``null`` (Splunk has no such value; ruleglot's events can).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeAlias

from backends.sigma.logsources import windows_profile
from backends.spl.field_profile import FIELD_PROFILES
from backends.spl.values import search_network
from ir.errors import RuleglotError, Span, lossy_warning, unsupported
from ir.evaluator import END_OF_TEXT, string_regex, with_flags
from ir.events import text_of
from ir.logsources import LogSourceProfile, SourceBranch
from ir.nodes import (
    FOREACH_FIELD,
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
    LogSource,
    Lookup,
    MultiValue,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rename,
    Rex,
    Rule,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    UnaryOp,
    Wildcard,
    all_of,
    any_of,
    conjuncts,
    map_eval,
    map_fields,
    predicates,
    stage_command,
)

__all__ = [
    "Emitted",
    "SplWriter",
    "emit_spl",
    "emit_spl_result",
    "logsource_macro",
    "logsource_macro_definitions",
]

FORMATS = ("plain", "savedsearches")

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
_ARG_WORD = re.compile(r'[^\s,()|\[\]"=\'\\]+')
#: A ``key=`` a command option or ``regex f=`` can be written with (spl.lark, ARG_KEY).
_OPTION_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.{}:@-]*")
#: An eval assignment's target written bare (spl.lark, EVAL_TARGET); others are quoted.
_EVAL_TARGET = re.compile(r"(?:[A-Za-z_{]|<<[A-Z]+>>)(?:[A-Za-z0-9_.:{}@-]|<<[A-Z]+>>)*")
_EVAL_KEYWORDS = {"and", "or", "not", "xor", "like", "in", "true", "false"}
_STRING_KINDS = (Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH, Kind.WILDCARD)
#: ``Stats.options`` keys the Sigma correlation reader records its reading in (not SPL options;
#: ``backends.sigma.correlation``).
CORRELATION_ANNOTATIONS = ("timespan", "approximation")


#: An emitter's warnings: :func:`ir.errors.lossy_warning` dicts (construct, message, position).
Warnings: TypeAlias = list[dict[str, Any]]


@dataclass
class Emitted:
    """An emitted search and what it could only approximate."""

    text: str
    #: :func:`ir.errors.lossy_warning` dicts: construct, message and where the rule wrote it
    warnings: Warnings = field(default_factory=list)
    #: the text of each command (the first one without a leading ``search``)
    commands: list[str] = field(default_factory=list)
    #: the log-source macros the search calls (see :func:`logsource_macro`)
    macros: list[str] = field(default_factory=list)


def quote(text: str) -> str:
    """A double-quoted SPL string: ``\\`` and ``"`` escaped (Search Manual, "Backslashes")."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- field names -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    """How IR field names become Splunk's for one field profile."""

    source_prefix: str | None  # Channel X -> source=<prefix>X
    renames: dict[str, str]
    #: fields the profile computes from other values rather than copies (``source``,
    #: ``process_name``...): a keyword's ``foreach *`` must not test them (module docstring)
    derived: tuple[str, ...] = ()

    @classmethod
    @functools.cache  # one per profile name: built for every rule it was a tenth of emitting
    def of(cls, fields: str | None) -> _Names:
        if fields in (None, "none"):
            return cls(None, {}, ())
        if fields not in FIELD_PROFILES:
            raise RuleglotError(
                f"unknown field profile {fields!r} (have: none, {', '.join(FIELD_PROFILES)})",
                category="invalid",
                construct="fields",
            )
        profile = FIELD_PROFILES[fields]()
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


def _rename_stage(stage: Stage, names: dict[str, str]) -> Stage:
    """A later stage with the fields it reads in Splunk's names (filters, eval expressions,
    stats group-by fields)."""
    if not names:
        return stage
    if isinstance(stage, Filter):
        return Filter(_rename(stage.expr, names), stage.command, span=stage.span)
    if isinstance(stage, Eval):
        return Eval(
            tuple((t, _rename_eval(e, names)) for t, e in stage.assignments), span=stage.span
        )
    if isinstance(stage, Stats):
        return replace(stage, by=tuple(names.get(f, f) for f in stage.by))
    return stage


def _rename(expr: Expr, names: dict[str, str]) -> Expr:
    """``expr`` with field names mapped (predicates, field references, eval expressions)."""
    return map_fields(expr, lambda name: names.get(name, name))


def _channel_has_value(expr: Not) -> bool:
    """``NOT Channel is null``: the windows profile's condition for ``product: windows``."""
    arg = expr.arg
    return isinstance(arg, Predicate) and arg.field == "Channel" and arg.kind is Kind.NULL


def _source_condition(expr: Expr, names: _Names) -> Expr:
    """A log-source branch condition in Splunk's names (``Channel`` -> ``source``)."""
    if isinstance(expr, Predicate) and expr.field == "Channel" and names.source_prefix is not None:
        if expr.kind is Kind.EQ and isinstance(expr.value, str):
            return Predicate("source", Kind.EQ, names.source_prefix + expr.value)
        return expr
    if isinstance(expr, Not) and _channel_has_value(expr) and names.source_prefix is not None:
        # the field profile extracts ``source`` only from a Channel that holds a value
        return Predicate("source", Kind.STARTSWITH, names.source_prefix)
    if isinstance(expr, Predicate):
        return _rename(expr, names.renames)
    if isinstance(expr, Condition):
        return _rename(expr, names.renames)
    if isinstance(expr, Not):
        return Not(_source_condition(expr.arg, names))
    args = tuple(_source_condition(a, names) for a in expr.args)
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
    if kind not in _STRING_KINDS:
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
    return _joined(expr.args, texts, isinstance(expr, And))


def _joined(args: Sequence[Expr], texts: Sequence[str], conjunction: bool) -> str:
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


def _eval_target(name: str) -> str:
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
    if kind in _STRING_KINDS:
        return _match(name, string_regex(pred))
    if kind is Kind.REGEX:
        assert isinstance(value, Regex)
        return _match(name, with_flags(value.flags, value.pattern))
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
    if not pred.cased or pred.kind not in _STRING_KINDS or pred.kind is Kind.EQ:
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


# --- the writer: one method per stage class -------------------------------------------------

#: Words a command's argument list reads as keywords (``AS``, ``OUTPUT``, ``sortby``,
#: ``+``/``-``): a field so named is quoted, as is a name made of digits only (``dedup
#: 3 f`` reads 3 as a count). A quoted word is never a keyword (``Arg.is_word``).
_ARG_KEYWORDS = {"as", "by", "output", "outputnew", "sortby", "+", "-"}
#: What ends a sort's key list as a direction (``sort a d``): a last key so named is quoted.
_SORT_DIRECTIONS = {"d", "desc"}
#: Options that belong after a ``by`` clause (``tstats ... by _time span=1h``); the reader
#: keeps every option in one list, in the order written.
_BY_OPTIONS = ("span",)


def _arg(name: str) -> str:
    """A field, table or option value as a command argument: bare when it reads back as this
    word, else double-quoted (the reader's ``_dequote`` undoes :func:`quote`)."""
    if _ARG_WORD.fullmatch(name) and name.lower() not in _ARG_KEYWORDS and not name.isdigit():
        return name
    return quote(name)


def _option_value(value: str) -> str:
    """An option's value after ``key=``: no keyword can stand there, so only what a bare word
    cannot hold is quoted."""
    return value if _ARG_WORD.fullmatch(value) else quote(value)


def options_text(options: Sequence[tuple[str, str]]) -> list[str]:
    """``key=value`` command options, values quoted where they must be."""
    for key, _ in options:
        if not _OPTION_KEY.fullmatch(key):
            raise unsupported(
                construct="option", message=f"option name {key!r} cannot be written in SPL"
            )
    return [f"{k}={_option_value(v)}" for k, v in options]


def aggregation_text(agg: Aggregation) -> str:
    """``function(argument) as alias`` as stats writes it."""
    if agg.argument is None:
        text = agg.function
    elif isinstance(agg.argument, str):
        text = f"{agg.function}({_arg(agg.argument)})"
    else:
        text = f"{agg.function}(eval({write_eval(agg.argument)}))"
    return f"{text} as {_arg(agg.alias)}" if agg.alias else text


def _pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """``a`` or ``a AS b`` per (lookup field, event field) pair."""
    return [_arg(a) if a == b else f"{_arg(a)} as {_arg(b)}" for a, b in pairs]


def _is_tstats(stage: Stage, cls: type) -> bool:
    return isinstance(stage, cls) and getattr(stage, "command", "tstats") == "tstats"


class SplWriter:
    """IR stages -> SPL commands: the one place that writes SPL text (sqlglot's generator
    shape: :attr:`TRANSFORMS` maps each stage class to its ``<node>_spl`` method).

    What the reader (:mod:`backends.spl.builder`) builds, this writes back so that it reads
    to an equal IR: arguments quoted where a bare word would not read as the same text
    (:func:`_arg`), strings escaped as the reader unescapes them (:func:`quote`), ``tstats``
    (``DataModel`` [+ ``Filter(command="tstats")``] + ``Stats(command="tstats")``) as one
    command, a ``Command`` from its tokens. What SPL cannot say with the same meaning is a
    positioned ``unsupported`` error; the few approximations go to ``warnings``.
    """

    #: stage class -> the method that writes it (a stage class without one fails
    #: ``tests/test_spl_writer.py``)
    TRANSFORMS: ClassVar[dict[type, Callable[[SplWriter, Any], str]]] = {}

    def __init__(self, warnings: Warnings | None = None) -> None:
        self.warnings: Warnings = warnings if warnings is not None else []

    # --- sequences

    def commands(self, stages: Sequence[Stage]) -> list[str]:
        """Each command's text (without the pipe); a ``tstats`` made of several stages is one
        command. Errors point at the stage."""
        out: list[str] = []
        index = 0
        while index < len(stages):
            taken = self._tstats_run(stages, index)
            if taken:
                run = stages[index : index + taken]
                try:
                    out.append(self.tstats_spl(run))
                except RuleglotError as err:
                    raise err.at(run[0].span) from None
                index += taken
                continue
            out.append(self.stage_spl(stages[index]))
            index += 1
        return out

    @staticmethod
    def _tstats_run(stages: Sequence[Stage], index: int) -> int:
        """How many stages from ``index`` make one ``tstats`` (0: none start there)."""
        end = index
        if isinstance(stages[end], DataModel):
            end += 1
        if end < len(stages) and _is_tstats(stages[end], Filter):
            end += 1
        if end < len(stages) and _is_tstats(stages[end], Stats):
            return end + 1 - index
        return 0

    def pipeline(self, stages: Sequence[Stage]) -> str:
        """A whole pipeline (a subsearch's): a leading search filter as bare terms."""
        first = ""
        rest = list(stages)
        if rest and isinstance(rest[0], Filter) and rest[0].command == "search":
            text = _search_text(rest[0].expr)
            if text is not None:
                first = text
                rest.pop(0)
        commands = [first, *self.commands(rest)]
        return " | ".join(commands).strip() if first else "| " + " | ".join(commands[1:])

    def display(self, stage: Stage) -> str:
        """One stage on its own, for a page that lists stages: as :meth:`stage_spl`, except
        that each part of a ``tstats`` shows as that part (``tstats summariesonly=true from
        datamodel=X``, ``where <terms>``, ``tstats count by f``), not a command that runs."""
        if isinstance(stage, DataModel):
            model = f"from datamodel={_option_value(stage.name)}"
            return " ".join(["tstats", *options_text(stage.options), model])
        return self.stage_spl(stage)

    def stage_spl(self, stage: Stage) -> str:
        """One stage as ``command arguments``, dispatched by class."""
        method = self.TRANSFORMS.get(type(stage))
        try:
            if method is None:
                name = stage_command(stage)
                raise unsupported(
                    construct=name, message=f"the {name} command is not written to SPL"
                )
            return method(self, stage)
        except RuleglotError as err:
            raise err.at(stage.span) from None

    # --- filters

    def filter_spl(self, stage: Filter) -> str:
        if stage.command == "regex":
            text = self._regex_command(stage.expr)
            if text is not None:
                return text
        if stage.command in ("search", "tstats"):
            text = _search_text(stage.expr)
            if text is not None:
                return f"{'search' if stage.command == 'search' else 'where'} {text}"
            if stage.command == "tstats":
                raise unsupported(
                    construct="tstats", message="a tstats where clause must be search terms"
                )
        return f"where {write_where(stage.expr, self.warnings)}"

    @staticmethod
    def _regex_command(expr: Expr) -> str | None:
        """``regex [f=|f!=]"pattern"``, as the reader builds it (``_regex_leaf``)."""
        negated = isinstance(expr, Not)
        leaf = expr.arg if isinstance(expr, Not) else expr
        if isinstance(leaf, Predicate) and leaf.kind is Kind.REGEX and leaf.field is not None:
            assert isinstance(leaf.value, Regex)
            name, pattern = leaf.field, with_flags(leaf.value.flags, leaf.value.pattern)
        elif (
            isinstance(leaf, Condition)
            and isinstance(leaf.expr, Call)
            and leaf.expr.name == "match"
            and len(leaf.expr.args) == 2
            and isinstance(leaf.expr.args[0], FieldValue)
            and isinstance(leaf.expr.args[1], Literal)
            and isinstance(leaf.expr.args[1].value, str)
        ):
            name, pattern = leaf.expr.args[0].name, leaf.expr.args[1].value
        else:
            return None
        if not _OPTION_KEY.fullmatch(name):
            return None
        if name == "_raw" and not negated:
            return f"regex {quote(pattern)}"
        return f"regex {name}{'!=' if negated else '='}{quote(pattern)}"

    # --- tstats

    def tstats_spl(self, run: Sequence[Stage]) -> str:
        """``tstats <options> <aggregations> [from datamodel=D] [where <terms>] [by F]`` from
        its stages (the agreed shape: ``ir.nodes.DataModel``)."""
        datamodel = run[0] if isinstance(run[0], DataModel) else None
        where = next((s for s in run if isinstance(s, Filter)), None)
        stats = run[-1]
        assert isinstance(stats, Stats)
        words = ["tstats"]
        if datamodel is not None:
            words += options_text(datamodel.options)
        words += self._stats_body(stats, datamodel, where)
        return " ".join(w for w in words if w)

    def datamodel_spl(self, stage: DataModel) -> str:
        raise unsupported(
            construct="tstats",
            message="a data model is written only as the 'from' of a tstats "
            "(followed by its tstats)",
        )

    # --- other stages

    def eval_spl(self, stage: Eval) -> str:
        return "eval " + ", ".join(
            f"{_eval_target(n)}={write_eval(e)}" for n, e in stage.assignments
        )

    def rex_spl(self, stage: Rex) -> str:
        words = ["rex"]
        if stage.field != "_raw":
            words.append(f"field={_option_value(stage.field)}")
        if stage.mode is not None:
            words.append(f"mode={_option_value(stage.mode)}")
        if stage.max_match != 1:
            words.append(f"max_match={stage.max_match}")
        return " ".join([*words, quote(stage.pattern)])

    def rename_spl(self, stage: Rename) -> str:
        return "rename " + ", ".join(f"{_arg(a)} as {_arg(b)}" for a, b in stage.pairs)

    def table_spl(self, stage: Table) -> str:
        if stage.command == "fields":
            sign = "- " if stage.remove else ""
            return "fields " + sign + " ".join(_arg(f) for f in stage.fields)
        return "table " + " ".join(_arg(f) for f in stage.fields)

    def stats_spl(self, stage: Stats) -> str:
        if stage.command == "tstats":
            return self.tstats_spl((stage,))
        return " ".join(w for w in [stage.command, *self._stats_body(stage)] if w)

    def _stats_body(
        self, stage: Stats, datamodel: DataModel | None = None, where: Filter | None = None
    ) -> list[str]:
        """Options, aggregations, [from, where,] by and the by clause's options."""
        options = stage.options
        if ("approximation", "bin") in options:  # a Sigma correlation's reading, not options
            timespan = dict(options).get("timespan")
            self.warnings.append(
                lossy_warning(
                    "correlation:timespan",
                    f"Sigma correlation timespan {timespan} is a sliding window; it is written "
                    "as bin buckets (the correlation reader's named approximation)",
                    stage.span,
                )
            )
            options = tuple(o for o in options if o[0] not in CORRELATION_ANNOTATIONS)
        after = [o for o in options if o[0] in _BY_OPTIONS] if stage.by else []
        before = [o for o in options if o not in after]
        words = [*options_text(before), ", ".join(aggregation_text(a) for a in stage.aggregations)]
        if datamodel is not None:
            words.append(f"from datamodel={_option_value(datamodel.name)}")
        if where is not None:
            text = _search_text(where.expr)
            if text is None:
                raise unsupported(
                    construct="tstats", message="a tstats where clause must be search terms"
                ).at(where.span)
            words.append(f"where {text}")
        if stage.by:
            words.append("by " + ", ".join(_arg(f) for f in stage.by))
        return [*words, *options_text(after)]

    def bin_spl(self, stage: Bin) -> str:
        words = ["bin", _arg(stage.field)]
        if stage.span_text is not None:
            words.append(f"span={_option_value(stage.span_text)}")
        if stage.bins is not None:
            words.append(f"bins={stage.bins}")
        if stage.alias:
            words.append(f"as {_arg(stage.alias)}")
        return " ".join(words)

    def dedup_spl(self, stage: Dedup) -> str:
        words = ["dedup"] + ([str(stage.count)] if stage.count != 1 else [])
        words += [_arg(f) for f in stage.fields]
        sortby = [v for k, v in stage.options if k == "sortby"]
        words += options_text([o for o in stage.options if o[0] != "sortby"])
        # the reader keeps sortby's arguments as their text, joined by spaces
        return " ".join(words + [f"sortby {v}" for v in sortby[-1:]])

    def sort_spl(self, stage: Sort) -> str:
        words = ["sort"] + ([str(stage.limit)] if stage.limit is not None else [])
        for name, desc in stage.keys:
            text = quote(name) if name.lower() in _SORT_DIRECTIONS else _arg(name)
            words.append(("-" if desc else "+") + text)
        return " ".join(words)

    def head_spl(self, stage: Head) -> str:
        return f"{stage.command} {stage.count}"

    def lookup_spl(self, stage: Lookup) -> str:
        words = [stage.command, *options_text(stage.options), _arg(stage.table)]
        if stage.command == "inputlookup":
            if stage.inputs or stage.outputs:
                raise unsupported(
                    construct="inputlookup", message="inputlookup takes no field lists"
                )
            return " ".join(words)
        words += _pairs(stage.inputs)
        if stage.outputs or stage.mode.upper() != "OUTPUT":  # `OUTPUTNEW` alone is read too
            words += [stage.mode.upper(), *_pairs(stage.outputs)]
        return " ".join(words)

    def fillnull_spl(self, stage: FillNull) -> str:
        return " ".join(["fillnull", f"value={quote(stage.value)}", *map(_arg, stage.fields)])

    def convert_spl(self, stage: Convert) -> str:
        items = [
            f"{fn}({_arg(f)})" + (f" as {_arg(alias)}" if alias else "")
            for fn, f, alias in stage.conversions
        ]
        return " ".join(["convert", *options_text(stage.options), *items])

    def multivalue_spl(self, stage: MultiValue) -> str:
        return " ".join([stage.command, *options_text(stage.options), _arg(stage.field)])

    def subsearch_spl(self, stage: Subsearch) -> str:
        words = [stage.command, *options_text(stage.options), *map(_arg, stage.fields)]
        if stage.command == "appendpipe":
            return " ".join([*words, f"[{' | '.join(self.commands(stage.stages))}]"])
        return " ".join([*words, f"[{self.pipeline(stage.stages)}]"])

    def foreach_spl(self, stage: ForEach) -> str:
        words = ["foreach", *options_text(stage.options), *map(_arg, stage.fields)]
        return " ".join([*words, f"[{' | '.join(self.commands(stage.stages))}]"])

    def command_spl(self, stage: Command) -> str:
        return f"{stage.name} {stage.args}".strip()


SplWriter.TRANSFORMS.update(
    {
        Filter: SplWriter.filter_spl,
        Eval: SplWriter.eval_spl,
        Rex: SplWriter.rex_spl,
        Rename: SplWriter.rename_spl,
        Table: SplWriter.table_spl,
        Stats: SplWriter.stats_spl,
        DataModel: SplWriter.datamodel_spl,
        Bin: SplWriter.bin_spl,
        Dedup: SplWriter.dedup_spl,
        Sort: SplWriter.sort_spl,
        Head: SplWriter.head_spl,
        Lookup: SplWriter.lookup_spl,
        FillNull: SplWriter.fillnull_spl,
        Convert: SplWriter.convert_spl,
        MultiValue: SplWriter.multivalue_spl,
        Subsearch: SplWriter.subsearch_spl,
        ForEach: SplWriter.foreach_spl,
        Command: SplWriter.command_spl,
    }
)


def write_stage(stage: Stage, warnings: Warnings) -> str:
    """A non-first stage as ``command args`` (without the pipe); errors point at the stage."""
    return SplWriter(warnings).stage_spl(stage)


# --- the rule --------------------------------------------------------------------------------


def _extraction_collisions(rule: Rule, fields: str | None) -> Warnings:
    """Warnings for the rule's fields that the field profile also extracts from other event
    fields (Sigma ``process`` vs the add-on's ``process`` <- ``CommandLine``): written as they
    are, Splunk reads the extraction on an event that lacks the field itself."""
    if fields in (None, "none") or fields not in FIELD_PROFILES:
        return []
    profile = FIELD_PROFILES[fields]()
    used: dict[str, Span | None] = {}  # field -> where the rule first names it
    for stage in rule.stages:
        if isinstance(stage, Filter):
            for p in predicates(stage.expr):
                if p.field is not None:
                    used.setdefault(p.field, p.span or stage.span or rule.span)
    out = []
    for name in sorted(used.keys() & profile.targets):
        sources = [s for s in profile.sources_of(name) if s != name]
        if sources:
            message = (
                f"field {name!r} is also the name the {fields} field profile extracts from "
                f"{', '.join(sources)}: on an event without {name!r}, Splunk reads that instead"
            )
            out.append(lossy_warning("field", message, used[name]))
    return out


def logsource_macro(logsource: LogSource) -> str:
    """The search macro standing for a log source the profile does not map: ``sigma_`` and
    its product, category and service (those it has), each reduced to letters, digits and
    ``_`` (``gcp.audit`` -> ``gcp_audit``)."""
    parts = (logsource.product, logsource.category, logsource.service)
    return "sigma_" + "_".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts if p)


#: What :func:`logsource_macro_definitions` defines an unmapped log source's macro as: no
#: event (``_raw`` is always there), which is what the profile selects for it.
NO_EVENTS = "NOT _raw=*"


def logsource_macro_definitions(macros: Sequence[str]) -> dict[str, str]:
    """Definitions of log-source macros for running emitted searches over the events a
    log-source profile describes: each unmapped log source selects none of them."""
    return {name: NO_EVENTS for name in macros}


def _branches(
    rule: Rule, logsources: LogSourceProfile | None
) -> tuple[SourceBranch, ...] | str | None:
    """The profile's branches for the rule's log source, its macro name when unmapped, or
    ``None`` when there is nothing to select (no profile, or no log source)."""
    if logsources is None or not logsources.mappings or rule.logsource.is_empty():
        return None
    resolved = logsources.resolve(rule.logsource)
    return logsource_macro(rule.logsource) if resolved is None else resolved


def _selection(body: Expr | None, branches: tuple[SourceBranch, ...], names: _Names) -> Expr:
    """The log-source conditions ANDed with the filter (aliased per branch)."""
    conds = [_source_condition(b.condition, names) for b in branches]
    if body is None:
        return any_of(conds)
    bodies = [_rename(body, {**names.renames, **_aliases(b, names)}) for b in branches]
    if all(b == bodies[0] for b in bodies):
        return all_of([any_of(conds), bodies[0]])
    per_branch = any_of([all_of([c, b]) for c, b in zip(conds, bodies, strict=True)])
    if all(search_expressible(b) for b in bodies):
        return per_branch
    return all_of([any_of(conds), per_branch])


def _aliases(branch: SourceBranch, names: _Names) -> dict[str, str]:
    return {k: names.renames.get(v, v) for k, v in branch.field_aliases}


def _keyword_regex(pred: Predicate) -> str:
    """The regex ``match`` needs to decide a keyword on one value, as the evaluator does."""
    if pred.kind is Kind.REGEX:
        assert isinstance(pred.value, Regex)
        return with_flags(pred.value.flags, pred.value.pattern)
    if pred.kind in _STRING_KINDS and isinstance(pred.value, (Pattern, str)):
        return string_regex(pred)
    raise unsupported(
        construct="keyword",
        message=f"a keyword of kind {pred.kind} with value {pred.value!r} has no exact SPL form",
    ).at(pred.span)


def _keyword_flags(expr: Expr, skipped: Sequence[str] = ()) -> tuple[Expr, str | None]:
    """``expr`` with each keyword (field-less predicate) replaced by the test of a flag field,
    and the one ``foreach`` command that sets the flags: ``_kwN`` becomes 1 when any field's
    value matches keyword N, fields named in ``skipped`` aside (see the module docstring)."""
    assignments: list[str] = []
    guard = ""
    if skipped:
        names = ", ".join(quote(name) for name in skipped)
        guard = f'NOT "{FOREACH_FIELD}" IN ({names}) AND '

    def replace(node: Expr) -> Expr:
        if isinstance(node, Predicate):
            if node.field is not None or node.kind is Kind.TERM:
                return node
            flag = f"_kw{len(assignments) + 1}"
            regex = quote(_keyword_regex(node))
            test = f"{guard}match('{FOREACH_FIELD}', {regex})"
            assignments.append(f"{flag}=if({test}, 1, {flag})")
            return Condition(BinOp("=", FieldValue(flag), Literal(1)))
        if isinstance(node, Not):
            return Not(replace(node.arg))
        if isinstance(node, (And, Or)):
            return type(node)(tuple(replace(a) for a in node.args))
        return node

    replaced = replace(expr)
    if not assignments:
        return expr, None
    return replaced, f"foreach * [eval {', '.join(assignments)}]"


def _first_stage(expr: Expr, warnings: Warnings, derived: Sequence[str] = ()) -> list[str]:
    """Search terms for the search-expressible conjuncts, one where for the rest (after the
    foreach that decides its keywords, if it has any; it skips the ``derived`` fields)."""
    whole = _search_text(expr)
    if whole is not None:
        return [whole]
    parts = [(c, _search_text(c)) for c in conjuncts(expr)]  # conjuncts are never ANDs
    in_search = [(c, t) for c, t in parts if t is not None]
    rest = all_of([c for c, t in parts if t is None])
    in_where, foreach = _keyword_flags(rest, derived)
    if len(in_search) == 1:  # what all_of(one conjunct) writes: the conjunct itself
        search = in_search[0][1]
    else:
        search = _joined([c for c, _ in in_search], [t for _, t in in_search], conjunction=True)
    return [search, *([foreach] if foreach else []), f"where {write_where(in_where, warnings)}"]


def emit_spl_result(
    rule: Rule,
    *,
    logsources: LogSourceProfile | None = windows_profile(),  # noqa: B008 (cached, immutable)
    fields: str = "splunk_windows",
) -> Emitted:
    """``rule`` as one SPL search line, with its warnings; see the module docstring."""
    try:
        return _emit(rule, logsources, fields)
    except RuleglotError as err:  # what has no position of its own points at the rule
        raise err.at(rule.span) from None


def _emit(rule: Rule, logsources: LogSourceProfile | None, fields: str) -> Emitted:
    warnings: Warnings = []
    branches = _branches(rule, logsources)
    macro = branches if isinstance(branches, str) else None
    # the field profile describes the profile's (Windows) events: a log source left to a
    # macro is the user's data, whose fields the rule names as they are
    names = _Names.of(None if macro is not None else fields)
    if isinstance(branches, tuple):
        warnings += _extraction_collisions(rule, fields)
    stages = list(rule.stages)
    first: Expr | None = None
    if stages and isinstance(stages[0], Filter) and stages[0].command == "search":
        first = stages.pop(0).expr  # type: ignore[union-attr]
    if isinstance(branches, tuple):
        first = _selection(first, branches, names)
    elif first is not None:
        first = _rename(first, names.renames)
    renamed: list[Stage] = []
    for stage in stages:
        renamed.append(_rename_stage(stage, names.renames))
    commands = _first_stage(first, warnings, names.derived) if first is not None else [""]
    if macro is not None:
        commands[0] = f"`{macro}` {commands[0]}".rstrip()
    commands += SplWriter(warnings).commands(renamed)
    if commands == [""]:
        commands = ["*"]
    return Emitted(" | ".join(commands).lstrip(), warnings, commands, [macro] if macro else [])


def emit_spl(
    rule: Rule,
    *,
    logsources: LogSourceProfile | None = windows_profile(),  # noqa: B008 (cached, immutable)
    fields: str = "splunk_windows",
    format: str = "plain",
) -> str:
    """``rule`` as an SPL search (``format="plain"``) or a ``savedsearches.conf`` stanza
    (``format="savedsearches"``). Raises :class:`RuleglotError` (``unsupported``) for what SPL
    cannot say with the same meaning; see the module docstring."""
    if format not in FORMATS:
        raise RuleglotError(
            f"format must be one of {', '.join(FORMATS)}, not {format!r}",
            category="invalid",
            construct="format",
        )
    emitted = emit_spl_result(rule, logsources=logsources, fields=fields)
    if format == "plain":
        return emitted.text
    return savedsearch(rule, emitted.commands)


_ATTACK_ID = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)


def _conf_value(text: str, what: str = "value") -> str:
    """A ``savedsearches.conf`` value: every line break in it is written as Splunk's line
    continuation, a backslash ending the line (Admin Manual, "Configuration file structure";
    ``savedsearches.conf.spec`` allows multi-line ``search`` strings), so no text of the value
    can start a line of its own and end the stanza or set another key. Only ``\\n``, ``\\r\\n``
    and ``\\r`` break lines in a .conf file; other characters Python calls line breaks stay.

    A value line that itself ends with a backslash would be read as a continuation and joined
    with what follows: refused (``unsupported``, construct ``savedsearches``), never written.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if any(line.endswith("\\") for line in lines):
        raise RuleglotError(
            f"the {what} has a line ending with a backslash, which savedsearches.conf reads as "
            "a line continuation",
            category="unsupported",
            construct="savedsearches",
        )
    return "\\\n".join(lines)


@dataclass(frozen=True)
class Deployment:
    """What a ``savedsearches.conf`` stanza needs beyond its search to run as an alert
    (``savedsearches.conf.spec``, Splunk Admin Manual): when it runs (``cron_schedule``, and
    ``enableSched``: off unless ``schedule`` is asked for, so that a file of translations is
    reviewed before anything runs), over which window (``dispatch.earliest_time`` /
    ``dispatch.latest_time``; the default window is the default schedule's interval, so each
    event is searched once), and what fires (``actions``, comma-separated, with
    ``action.<name> = 1`` each; ``counttype``/``relation``/``quantity``: more than 0 events)."""

    cron: str = "*/15 * * * *"
    earliest: str = "-15m"
    latest: str = "now"
    schedule: bool = False
    actions: tuple[str, ...] = ()
    name: str | None = None  # the stanza's name; default: the rule's title


_ACTION_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def stanza_name(title: str) -> str:
    """A stanza header Splunk reads back as the same name: no line break, no square bracket
    (the header ends at the first ``]``), no leading or trailing space (trimmed), one space
    between words."""
    return " ".join(re.sub(r"[\[\]\r\n\t]", " ", title).split()) or "ruleglot rule"


class StanzaNames:
    """One stanza per rule in one ``savedsearches.conf``: Splunk merges stanzas of the same
    name (the later keys win), so two rules titled alike would deploy as one search. The
    second ``[T]`` becomes ``[T (2)]``, the third ``[T (3)]`` (names compared as Splunk's
    stanza lookup does, exactly)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def unique(self, stanza: str) -> str:
        header, _, rest = stanza.partition("\n")
        name = header[1:-1]
        candidate, n = name, 1
        while candidate in self.used:
            n += 1
            candidate = f"{name} ({n})"
        self.used.add(candidate)
        return f"[{candidate}]\n{rest}"


def savedsearch(
    rule: Rule, commands: Sequence[str], deployment: Deployment | None = None
) -> str:
    """A ``savedsearches.conf`` stanza for the search made of ``commands`` (one per line,
    continued with a trailing backslash), its ATT&CK ids as Enterprise Security's
    ``action.correlationsearch.annotations`` and the ``deployment`` settings."""
    deploy = deployment or Deployment()
    for action in deploy.actions:
        if not _ACTION_NAME.match(action):
            raise RuleglotError(
                f"alert action {action!r} is not a Splunk alert action name (letters, digits, _)",
                category="invalid",
                construct="savedsearches",
            )
    title = stanza_name(deploy.name or rule.title)
    first, *rest = commands
    pieces = ([first] if first else []) + [f"| {c}" for c in rest]
    lines = [f"[{title}]", "search = " + " \\\n".join(_conf_value(p, "search") for p in pieces)]
    if rule.description:
        # a description line ending with a backslash gets a space: prose, not a continuation
        text = rule.description.strip().replace("\r\n", "\n").replace("\r", "\n")
        text = "\n".join(f"{line} " if line.endswith("\\") else line for line in text.split("\n"))
        lines.append("description = " + _conf_value(text, "description"))
    attack = [m.group(1).upper() for t in rule.tags if (m := _ATTACK_ID.match(t))]
    if attack:
        lines.append(
            'action.correlationsearch.annotations = {"mitre_attack": ['
            + ", ".join(f'"{a}"' for a in dict.fromkeys(attack))
            + "]}"
        )
    lines += [
        f"dispatch.earliest_time = {_conf_value(deploy.earliest, 'dispatch.earliest_time')}",
        f"dispatch.latest_time = {_conf_value(deploy.latest, 'dispatch.latest_time')}",
        f"cron_schedule = {_conf_value(deploy.cron, 'cron_schedule')}",
        f"enableSched = {1 if deploy.schedule else 0}",
    ]
    if deploy.actions:
        lines += [
            "counttype = number of events",
            "relation = greater than",
            "quantity = 0",
            "alert.track = 1",
            f"actions = {','.join(dict.fromkeys(deploy.actions))}",
            *(f"action.{a} = 1" for a in dict.fromkeys(deploy.actions)),
        ]
    lines.append("disabled = 0")
    return "\n".join(lines) + "\n"
