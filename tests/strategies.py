"""Hypothesis strategies for the IR and for events: one place, one strategy per node type.

Fields and values are drawn from small alphabets so that random events and random rules meet
often (a predicate on a field no event has tests nothing).
"""

from __future__ import annotations

import re
from typing import Any, TypeAlias

import yaml
from hypothesis import strategies as st

from ir.functions import pcre_to_python
from ir.nodes import (
    And,
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Not,
    Or,
    Pattern,
    Predicate,
    Regex,
    Rule,
    TimePart,
    Wildcard,
)

FIELDS = ("Image", "CommandLine", "User", "Port")
texts = st.text(alphabet="aAbB\\*? .-", min_size=0, max_size=6)
field_names = st.sampled_from(FIELDS)

patterns = st.lists(
    st.one_of(texts, st.sampled_from([Wildcard.MANY, Wildcard.ONE])), min_size=1, max_size=4
).map(lambda parts: Pattern(tuple(parts)))
regexes = st.builds(
    Regex,
    st.sampled_from(["a+b", "^a", "b$", "a.b", r"\\", "(a|b)b"]),
    st.sampled_from(["", "i", "m", "s", "im"]),
)
numbers = st.integers(min_value=-3, max_value=10)


def _value_predicates(field: st.SearchStrategy[str | None]) -> st.SearchStrategy[Predicate]:
    cased = st.booleans()
    return st.one_of(
        st.builds(Predicate, field, st.just(Kind.EQ), st.one_of(texts, numbers), cased),
        st.builds(Predicate, field,
                  st.sampled_from([Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH]), texts, cased),
        st.builds(Predicate, field, st.just(Kind.WILDCARD), patterns, cased),
        st.builds(Predicate, field, st.just(Kind.REGEX), regexes),
    )


predicates_strategy: st.SearchStrategy[Predicate] = st.one_of(
    _value_predicates(field_names),
    _value_predicates(st.none()),
    st.builds(Predicate, field_names, st.just(Kind.CIDR),
              st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "fe80::/10"])),
    st.builds(Predicate, field_names, st.just(Kind.EXISTS), st.booleans()),
    st.builds(Predicate, field_names, st.just(Kind.NULL), st.none()),
    st.builds(Predicate, field_names, st.sampled_from([Kind.LT, Kind.LTE, Kind.GT, Kind.GTE]),
              numbers),
    st.builds(Predicate, field_names, st.just(Kind.FIELDREF),
              st.builds(FieldRef, field_names,
                        st.sampled_from(["eq", "startswith", "endswith", "contains"])),
              st.booleans()),
    st.builds(Predicate, st.just("Time"), st.just(Kind.TIMEPART),
              st.builds(TimePart, st.sampled_from(["hour", "month"]), st.integers(1, 12))),
    st.builds(Predicate, st.none(), st.just(Kind.TERM), st.sampled_from(["a", "evil", "b*"])),
)

exprs: st.SearchStrategy[Expr] = st.recursive(
    predicates_strategy,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        children.map(Not),
    ),
    max_leaves=8,
)

rules = st.builds(
    Rule,
    title=st.text(min_size=1, max_size=10),
    stages=st.tuples(st.builds(Filter, exprs)),
    logsource=st.builds(LogSource, st.sampled_from([None, "windows"]),
                        st.sampled_from([None, "process_creation"])),
    id=st.none() | st.uuids().map(str),
    tags=st.lists(st.sampled_from(["attack.t1059", "attack.execution"]), max_size=2).map(tuple),
)

scalar_values: st.SearchStrategy[Any] = st.one_of(
    texts, numbers, st.none(), st.booleans(),
    st.sampled_from(["10.1.2.3", "192.168.1.7", "fe80::1", "2019-04-30T07:26:34Z"]),
)
event_values = st.one_of(scalar_values, st.lists(scalar_values, max_size=3))
events = st.dictionaries(st.sampled_from((*FIELDS, "Time", "_raw")), event_values, max_size=5)


# --- translation properties (tests/test_translation_properties.py) -------------------------------
#
# Values with the escaping hazards of both languages: Sigma's ``*``/``?``/``\`` escapes, SPL's
# quotes, backslashes, operators that ``search`` reads as words (OR, NOT, =, parentheses), a
# trailing backslash, non-ASCII letters, numbers as strings, paths with both slashes. Rules and
# events draw from the same small pieces, and events also from a rule's own literals
# (:func:`events_for`), so that matches happen.

HAZARD_PIECES = (
    "a", "A", "b", "\\", "*", "?", '"', "'", "|", "=", "(", ")", " ", "é", "É", "/", "1", "-",
    "OR", "NOT", "AND", "C:\\Win\\", "a/b\\c", "42", "-1", "\\*", "\\\\", "%x%", "\n",
    "\\*", "\\?", "\\", "*",
    # wider: brackets, backtick (SPL macro quote), tab, ß (``str.lower`` and ``(?i)`` agree on
    # it), and the other words SPL's grammars treat specially (IN, TERM(...), CASE(...),
    # commands, eval's like/xor/true). Not ``İ`` (nor ``ſ``, Kelvin ``K``): ``(?i)`` folds it
    # to ``i`` where ``str.lower`` does not, the limit documented in backends/spl/emit.py
    # (module docstring, "search first, then one where") and backends/sigma/correlation.py.
    "[", "]", "`", "\t", "ß", "IN", "TERM", "CASE", "search", "where", "TERM(a)",
    "CASE(b)", "like", "xor", "true", "\\\\*", "a\\", "`m`", "[a]", ",", "$",
    # text that names a network: ``search`` reads ``f="10.0.0.0/8"`` as cidr
    "10.0.0.0/8", "fe80::/10",
)  # fmt: skip
hazard_texts: st.SearchStrategy[str] = st.lists(
    st.sampled_from(HAZARD_PIECES), max_size=3
).map("".join)
nonempty_hazard_texts = st.lists(st.sampled_from(HAZARD_PIECES), min_size=1, max_size=3).map(
    "".join
)
#: Field names: the common ones, and names with hazards of their own (a space, an operator
#: word of ``search`` or of ``where``, a minus, a leading digit, a quote).
ODD_FIELDS = (
    "Process Name", "OR", "NOT", "IN", "like", "a-b", "1x", "a'b", "a.b", "a:b", "1", "2.5",
    "AND", "TERM", "CASE", "search", "where", "x-1", "é", "true", "a_b", "a!b", "a[0]", "a*b",
    "a\\b", "a\\\\b",
)  # fmt: skip
TRANSLATION_FIELDS = ("Image", "CommandLine", "User", "Port", *ODD_FIELDS)
translation_field_names = st.one_of(
    st.sampled_from(TRANSLATION_FIELDS[:4]), st.sampled_from(TRANSLATION_FIELDS[:4]),
    st.sampled_from(ODD_FIELDS),
)  # fmt: skip
hazard_patterns = st.lists(
    st.one_of(hazard_texts, st.sampled_from([Wildcard.MANY, Wildcard.ONE])), min_size=1, max_size=4
).map(lambda parts: Pattern(tuple(parts)))
hazard_regexes = st.builds(
    Regex,
    st.sampled_from([
        "a+b", "^a", "b$", "a.b", r"\\", "(a|b)b", '"', "'", r"a\"b", "^$", r"\d+", "é", "a\\*",
        "^A", r"\(", "[|=]",
    ]),
    st.sampled_from(["", "i", "m", "s", "im", "is"]),
)  # fmt: skip
translation_numbers = st.one_of(st.integers(-3, 50), st.sampled_from([1.5, 0.0]))


def _translation_value_predicates(
    field: st.SearchStrategy[str | None],
) -> st.SearchStrategy[Predicate]:
    cased = st.booleans()
    return st.one_of(
        st.builds(Predicate, field, st.just(Kind.EQ),
                  st.one_of(hazard_texts, hazard_texts, translation_numbers, st.booleans()),
                  cased),
        st.builds(Predicate, field,
                  st.sampled_from([Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH]),
                  hazard_texts, cased),
        st.builds(Predicate, field, st.just(Kind.WILDCARD), hazard_patterns, cased),
        st.builds(Predicate, field, st.just(Kind.REGEX), hazard_regexes),
    )  # fmt: skip


#: Keywords (field-less): mostly the shapes a Sigma keyword has (contains, ``*x*``, regex),
#: sometimes any other.
#: Keywords (field-less) of the shapes a Sigma keyword has: contains, ``*x*``, regex.
_sigma_keywords = st.one_of(
    st.builds(Predicate, st.none(), st.just(Kind.CONTAINS), nonempty_hazard_texts,
              st.booleans()),
    st.builds(Predicate, st.none(), st.just(Kind.WILDCARD),
              hazard_patterns.map(lambda p: Pattern((Wildcard.MANY, *p.parts, Wildcard.MANY))),
              st.booleans()),
    st.builds(Predicate, st.none(), st.just(Kind.REGEX), hazard_regexes),
)  # fmt: skip


def _field_predicates(fieldref_cased: st.SearchStrategy[bool]) -> st.SearchStrategy[Predicate]:
    return st.one_of(
        _translation_value_predicates(translation_field_names),
        st.builds(Predicate, translation_field_names, st.just(Kind.CIDR),
                  st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "fe80::/10"])),
        st.builds(Predicate, translation_field_names, st.just(Kind.EXISTS), st.booleans()),
        st.builds(Predicate, translation_field_names, st.just(Kind.NULL), st.none()),
        st.builds(Predicate, translation_field_names,
                  st.sampled_from([Kind.LT, Kind.LTE, Kind.GT, Kind.GTE]), translation_numbers),
        st.builds(Predicate, translation_field_names, st.just(Kind.FIELDREF),
                  st.builds(FieldRef, translation_field_names,
                            st.sampled_from(["eq", "eq", "startswith", "endswith", "contains"])),
                  fieldref_cased),
    )  # fmt: skip


#: Every kind, hazardous values, keywords (field ``None``: mostly the Sigma shapes, sometimes
#: any other kind) and bare terms.
translation_predicates: st.SearchStrategy[Predicate] = st.one_of(
    _field_predicates(st.booleans()),
    _sigma_keywords,
    _translation_value_predicates(st.none()),
    st.builds(Predicate, st.none(), st.just(Kind.TERM),
              st.sampled_from(["a", "evil", "b*", "a b", "OR", 'a"b', "x=y", "(a)", "TERM(a)",
                               "CASE(a)", "NOT", "IN", "[a]", "`a`", "a\\", "a|b", "é"])),
)  # fmt: skip
#: What Sigma has words for: no bare SPL terms, keywords of the keyword shapes only, field
#: references uncased.
sigma_predicates: st.SearchStrategy[Predicate] = st.one_of(
    _field_predicates(st.just(False)), _field_predicates(st.just(False)), _sigma_keywords
)


def _trees(leaves: st.SearchStrategy[Predicate]) -> st.SearchStrategy[Expr]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
            children.map(Not),
        ),
        max_leaves=6,
    )


def _with_exclusions(expr: Expr, excluded: list[Expr]) -> Expr:
    return And((expr, *(Not(x) for x in excluded))) if excluded else expr


def _filters(trees: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.builds(_with_exclusions, trees, st.lists(trees, max_size=2))


#: Predicates ``search`` writes (uncased text without ``*``, numbers, exists, cidr, terms), so
#: that whole and/or/not trees go to ``search``, where its own precedence applies.
search_predicates: st.SearchStrategy[Predicate] = st.one_of(
    st.builds(Predicate, translation_field_names,
              st.sampled_from([Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH]),
              nonempty_hazard_texts.filter(lambda t: "*" not in t)),
    st.builds(Predicate, translation_field_names, st.just(Kind.EQ), st.integers(-3, 50)),
    st.builds(Predicate, translation_field_names, st.just(Kind.EXISTS), st.booleans()),
    st.builds(Predicate, translation_field_names, st.just(Kind.CIDR),
              st.sampled_from(["10.0.0.0/8", "192.168.1.0/24"])),
    st.builds(Predicate, st.none(), st.just(Kind.TERM),
              st.sampled_from(["a", "evil", "a b", "OR", 'a"b', "x=y", "(a)", "a\\", "TERM(a)",
                               "CASE(a)", "NOT", "AND", "IN", "[a]", "`a`", "a|b", "search"])),
)  # fmt: skip
translation_exprs: st.SearchStrategy[Expr] = _trees(translation_predicates)
#: A filter's tree: inclusions and top-level ``NOT`` conjuncts (exclusions), nested and/or/not;
#: half of them made only of what ``search`` writes.
#: ORs of ANDs of search terms: written without parentheses they would read as ANDs of ORs
#: (``search`` binds OR tighter than AND).
search_dnf: st.SearchStrategy[Expr] = st.lists(
    st.lists(search_predicates, min_size=2, max_size=3, unique_by=lambda p: p.field)
    .map(lambda xs: And(tuple(xs))),
    min_size=2, max_size=3,
).map(lambda xs: Or(tuple(xs)))  # fmt: skip
#: Deeper trees mixing what ``search`` writes with what only ``where`` can (a regex, a cased or
#: ``?`` test, a field reference, null): NOT over OR/AND inside ``search`` and inside ``where``,
#: and conjuncts of both kinds side by side.
mixed_predicates: st.SearchStrategy[Predicate] = st.one_of(
    search_predicates, search_predicates, _field_predicates(st.booleans())
)
deep_exprs: st.SearchStrategy[Expr] = st.recursive(
    mixed_predicates,
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        children.map(Not),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Not(Or(tuple(xs)))),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: Not(And(tuple(xs)))),
    ),
    max_leaves=10,
)
filter_exprs: st.SearchStrategy[Expr] = st.one_of(
    _filters(translation_exprs), _filters(translation_exprs), _filters(_trees(search_predicates)),
    _filters(search_dnf), _filters(deep_exprs),
)  # fmt: skip
#: Escaping corners alone: one string predicate (or two, ANDed/ORed) whose value is made of
#: backslashes, wildcard characters and quotes (``\\*``, ``a\\``, ``\\\\?``...).
escape_texts = st.lists(
    st.sampled_from(["\\*", "\\?", "\\\\", "\\", "*", "?", '"', "'", "a", " OR ", "\t", "\n",
                     "[", "]", "`", "|", "=", "(", ")", "ß", "é", " ", "TERM(", "\\\\*"]),
    min_size=1, max_size=3,
).map("".join)  # fmt: skip
_escape_fields = st.sampled_from(["Image", "CommandLine", "Image", "a.b", "OR", "Process Name"])
escaping_exprs: st.SearchStrategy[Expr] = st.one_of(
    st.builds(Predicate, _escape_fields,
              st.sampled_from([Kind.EQ, Kind.CONTAINS, Kind.STARTSWITH, Kind.ENDSWITH]),
              escape_texts, st.booleans()),
    st.builds(Predicate, _escape_fields, st.just(Kind.WILDCARD),
              hazard_patterns, st.booleans()),
    _sigma_keywords,
)  # fmt: skip
escaping_exprs = st.one_of(
    escaping_exprs,
    st.lists(escaping_exprs, min_size=2, max_size=2).map(lambda xs: Or(tuple(xs))),
    st.lists(escaping_exprs, min_size=2, max_size=2).map(lambda xs: And(tuple(xs))),
)
#: Filters of what Sigma has words for, so that most examples emit.
sigma_filter_exprs: st.SearchStrategy[Expr] = _filters(_trees(sigma_predicates))

translation_scalars: st.SearchStrategy[Any] = st.one_of(
    hazard_texts, translation_numbers, st.none(), st.booleans(),
    st.sampled_from(["10.1.2.3", "192.168.1.7", "fe80::1", "2019-04-30T07:26:34Z", "", "OR",
                     "C:\\Win\\x.exe", "c:/win/x.exe"]),
)  # fmt: skip
#: Events: hazardous scalars and multi-valued fields (lists of values).
translation_events: st.SearchStrategy[dict[str, Any]] = st.dictionaries(
    st.sampled_from((*TRANSLATION_FIELDS, "_raw")),
    st.one_of(translation_scalars, st.lists(translation_scalars, min_size=1, max_size=3)),
    max_size=5,
)


def literals(preds: list[Predicate]) -> list[Any]:
    """Values an event could hold to meet (or nearly meet) ``preds``: each literal as
    written, case-flipped, with text around it, wildcards filled in."""
    out: list[Any] = []
    for pred in preds:
        value = pred.value
        texts_: list[str] = []
        if pred.kind is Kind.CIDR:
            out += ["10.1.2.3", "192.168.1.7", "fe80::1", "11.0.0.1"]
            continue
        if isinstance(value, Pattern):
            for fill in ("", "z", "\\"):
                texts_.append("".join(fill if isinstance(p, Wildcard) else p for p in value.parts))
        elif isinstance(value, Regex):
            texts_ += ["ab", "aab", "xa", "b", "a\nb", "a.b", "12", '"', "'", "\\", "A", "|"]
        elif isinstance(value, FieldRef):
            continue
        elif isinstance(value, bool):
            out += [value, "true" if value else "false", "TRUE"]
            continue
        elif isinstance(value, (int, float)):
            out += [value, str(value), value + 1, value - 1, f"{value}x"]
            continue
        elif isinstance(value, str):
            texts_.append(value)
            # near misses for a wrong escaping: wildcard characters read as wildcards,
            # backslashes dropped or doubled
            texts_ += [value.replace("*", "").replace("?", "z"), value.replace("\\", "")]
            texts_ += [value.replace("\\", "\\\\"), value.replace("\\\\", "\\")]
        for text in texts_:
            out += [text, text.upper(), text.lower(), f"x{text}", f"{text}y", f" {text} "]
    return out


def _predicates(expr: Expr) -> list[Predicate]:
    if isinstance(expr, Predicate):
        return [expr]
    if isinstance(expr, Not):
        return _predicates(expr.arg)
    if isinstance(expr, (And, Or)):
        return [p for a in expr.args for p in _predicates(a)]
    return []


def _witness_value(pred: Predicate) -> Any:
    """A value that meets ``pred`` (``MISSING_VALUE``: leave the field out; ``None``: no
    simple witness)."""
    value, kind = pred.value, pred.kind
    if kind is Kind.EXISTS:
        return "w" if value else MISSING_VALUE
    if kind is Kind.NULL:
        return MISSING_VALUE
    if kind is Kind.CIDR:
        addresses = {"10.0.0.0/8": "10.1.2.3", "192.168.1.0/24": "192.168.1.7"}
        return addresses.get(str(value), "fe80::1")
    if kind in (Kind.LT, Kind.LTE, Kind.GT, Kind.GTE) and isinstance(value, (int, float)):
        return value - 1 if kind in (Kind.LT, Kind.LTE) else value + 1
    if isinstance(value, Pattern):
        return "".join("w" if isinstance(p, Wildcard) else p for p in value.parts)
    if isinstance(value, (bool, int, float)) or kind is Kind.EQ:
        return value
    if isinstance(value, str):
        return {Kind.CONTAINS: f"x{value}y", Kind.STARTSWITH: f"{value}y",
                Kind.ENDSWITH: f"x{value}", Kind.TERM: value}.get(kind)  # fmt: skip
    return None


MISSING_VALUE = object()


@st.composite
def witness_events(draw: st.DrawFn, expr: Expr) -> dict[str, Any]:
    """An event built to meet ``expr``: one branch of each OR, every operand of each AND, a
    witness value per predicate (NOT and field-less predicates left to chance)."""
    fields: dict[str, Any] = {}

    def meet(node: Expr) -> None:
        if isinstance(node, Or):
            meet(draw(st.sampled_from(node.args)))
        elif isinstance(node, And):
            for arg in node.args:
                meet(arg)
        elif isinstance(node, Predicate):
            name = "_raw" if node.kind is Kind.TERM else node.field
            witness = _witness_value(node)
            if name is None or witness is None:
                return
            if witness is MISSING_VALUE:
                fields.pop(name, None)
            else:
                fields[name] = witness

    meet(expr)
    return fields


def events_for(expr: Expr) -> st.SearchStrategy[dict[str, Any]]:
    """Events that meet ``expr`` often: each field the rule reads (also through a field
    reference) is present or not, holding values from that field's own literals (and the
    keywords'), or a general hazardous value; single- or multi-valued."""
    preds = _predicates(expr)
    keywords = [p for p in preds if p.field is None]
    names = {p.field for p in preds if p.field is not None}
    names |= {p.value.field for p in preds if isinstance(p.value, FieldRef)}
    names |= {"_raw"} if any(p.kind is Kind.TERM for p in preds) else set()

    def values(name: str) -> st.SearchStrategy[Any]:
        pool = literals([p for p in preds if p.field == name] + keywords)
        scalar = st.one_of(st.sampled_from(pool), st.sampled_from(pool), translation_scalars) if (
            pool
        ) else translation_scalars  # fmt: skip
        return st.one_of(scalar, scalar, st.lists(scalar, min_size=1, max_size=3))

    return st.one_of(
        st.fixed_dictionaries({}, optional={n: values(n) for n in sorted(names | {"User"})}),
        witness_events(expr),
    )


# --- Sigma detections as YAML text ---------------------------------------------------------------

SIGMA_FIELDS = (
    "Image", "CommandLine", "User", "Port", "Process Name", "a-b", "OR", "a.b", "a:b", "1x",
    "NOT", "where",
)  # fmt: skip
_sigma_strings = st.one_of(
    hazard_texts,
    st.sampled_from(
        ["*", "a*", "*b", "a?b", "\\*", "a\\", "C:\\Win\\*", "\\\\srv\\*", "-enc", "/c"]
    ),
)
_sigma_scalars = st.one_of(_sigma_strings, st.integers(-2, 50), st.booleans())


def _one_or_list(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.lists(values, min_size=1, max_size=3))


@st.composite
def sigma_items(draw: st.DrawFn) -> tuple[str, Any]:
    """One ``field|modifiers: value`` item of a selection map."""
    field = draw(st.sampled_from(SIGMA_FIELDS))
    shape = draw(st.sampled_from(
        ["plain", "plain", "string", "string", "re", "cidr", "exists", "compare", "null",
         "fieldref", "windash", "base64"]
    ))  # fmt: skip
    if shape == "plain":
        return field, draw(_one_or_list(st.one_of(_sigma_scalars, st.none())))
    if shape == "string":
        mods = [draw(st.sampled_from(["contains", "startswith", "endswith"]))]
        value = draw(_one_or_list(_sigma_strings))
        if isinstance(value, list) and len(value) > 1 and draw(st.booleans()):
            mods.append("all")
        if draw(st.booleans()):
            mods.append("cased")
        return "|".join([field, *mods]), value
    if shape == "re":
        flags = draw(st.lists(st.sampled_from(["i", "m", "s"]), unique=True, max_size=2))
        pattern = draw(st.sampled_from(
            ["a+b", "^a", "b$", "a.b", r"\\", "(a|b)b", '"', "'", r"\d", "^A", r"\*", "é"]
        ))  # fmt: skip
        return "|".join([field, "re", *flags]), pattern
    if shape == "cidr":
        return f"{field}|cidr", draw(_one_or_list(st.sampled_from(
            ["10.0.0.0/8", "192.168.1.0/24", "fe80::/10"])))  # fmt: skip
    if shape == "exists":
        return f"{field}|exists", draw(st.booleans())
    if shape == "compare":
        return f"{field}|{draw(st.sampled_from(['lt', 'lte', 'gt', 'gte', 'neq']))}", draw(
            st.integers(-2, 50)
        )
    if shape == "null":
        return field, None
    if shape == "fieldref":
        return f"{field}|fieldref", draw(st.sampled_from(SIGMA_FIELDS))
    if shape == "windash":
        return f"{field}|windash|contains", draw(_one_or_list(st.sampled_from(
            ["-enc", "/c", "-a-b", " -x "])))  # fmt: skip
    return f"{field}|base64offset|contains", draw(st.sampled_from(["ab", "evil", "a\\b"]))


@st.composite
def sigma_selections(draw: st.DrawFn) -> Any:
    """A selection: a map (AND of items), a list of maps (OR of maps), or keywords."""
    shape = draw(st.sampled_from(["map", "map", "maps", "keywords"]))
    if shape == "keywords":
        return draw(st.lists(st.one_of(_sigma_strings.filter(bool), st.integers(0, 50)),
                             min_size=1, max_size=3))  # fmt: skip
    maps = [
        dict(draw(st.lists(sigma_items(), min_size=1, max_size=3, unique_by=lambda kv: kv[0])))
        for _ in range(draw(st.integers(2, 3)) if shape == "maps" else 1)
    ]
    return maps if shape == "maps" else maps[0]


#: A condition tree over selection names: ("id", name), ("of", "1"|"all", pattern),
#: ("not", x), ("and", [xs]), ("or", [xs]).
Cond: TypeAlias = tuple[Any, ...]
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "id": 4, "of": 4}


def render_condition(node: Cond, extra_parens: bool = False, need: int = 0) -> str:
    """Sigma condition text with the parentheses precedence (``not`` > ``and`` > ``or``)
    requires, and only those unless ``extra_parens``."""
    kind = node[0]
    if kind == "id":
        text = node[1]
    elif kind == "of":
        text = f"{node[1]} of {node[2]}"
    elif kind == "not":
        text = "not " + render_condition(node[1], extra_parens, 4)
    else:
        text = f" {kind} ".join(
            render_condition(a, extra_parens, _PRECEDENCE[kind] + 1) for a in node[1]
        )
    if _PRECEDENCE[kind] < need or (extra_parens and kind in ("and", "or") and need):
        return f"({text})"
    return text


@st.composite
def sigma_conditions(draw: st.DrawFn, names: list[str], depth: int = 2) -> Cond:
    """Conditions over ``names``: identifiers, ``1 of``/``all of`` a prefix that matches some
    name or ``them``, and not/and/or nested up to ``depth``."""
    shape = draw(st.sampled_from(["leaf", "leaf", "not", "and", "or"] if depth else ["leaf"]))
    if shape == "not":
        return ("not", draw(sigma_conditions(names, depth - 1)))
    if shape in ("and", "or"):
        size = draw(st.integers(2, 3))
        return (shape, [draw(sigma_conditions(names, depth - 1)) for _ in range(size)])
    prefixes = [p for p in ("sel*", "filter*") if any(n.startswith(p[:-1]) for n in names)]
    if draw(st.integers(0, 3)) == 0:
        quantity = draw(st.sampled_from(["1", "all"]))
        return ("of", quantity, draw(st.sampled_from([*prefixes, "them"])))
    return ("id", draw(st.sampled_from(names)))


@st.composite
def sigma_detections(draw: st.DrawFn) -> tuple[dict[str, Any], Cond, bool]:
    """A detection (its selections, no condition), a condition tree over them, and whether
    the rendered condition carries redundant parentheses."""
    names = draw(st.lists(st.sampled_from(["sel1", "sel2", "filter1", "filter2", "keywords"]),
                          min_size=1, max_size=4, unique=True))  # fmt: skip
    detection = {name: draw(sigma_selections()) for name in sorted(names)}
    cond = draw(sigma_conditions(sorted(names)))
    return detection, cond, draw(st.booleans())


def sigma_rule_text(
    detection: dict[str, Any], condition: str, logsource: dict[str, str] | None = None
) -> str:
    """A whole Sigma rule around ``detection``."""
    return yaml.safe_dump(
        {
            "title": "property",
            "logsource": logsource or {"category": "test"},
            "detection": {**detection, "condition": condition},
        },
        sort_keys=False,
        allow_unicode=True,
    )


#: Windows log sources the ``windows`` profile maps (process_creation has two branches, the
#: Security one with field aliases), and the envelopes of events they select or not.
WINDOWS_LOGSOURCES = (
    {"product": "windows", "category": "process_creation"},
    {"product": "windows", "service": "security"},
)
windows_envelopes = st.sampled_from([
    ("Microsoft-Windows-Sysmon/Operational", 1), ("Security", 4688), ("Security", "4688"),
    ("Security", 4624), ("System", 1), ("Microsoft-Windows-Sysmon/Operational", 3),
]).map(lambda pair: {"Channel": pair[0], "EventID": pair[1]})  # fmt: skip
#: Sysmon's field names and the Security 4688 names they alias.
SECURITY_ALIASES = {"Image": "NewProcessName", "ParentImage": "ParentProcessName"}


def in_envelope(fields: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
    """``fields`` in a Windows event: Security events use the 4688 field names."""
    if envelope["Channel"] == "Security":
        fields = {SECURITY_ALIASES.get(k, k): v for k, v in fields.items()}
    return {**fields, **envelope}


# --- SPL pipelines as the SPL reader builds them (the writer's round-trip property) ---------
# Each strategy draws only IR the reader can produce, in the reader's normal form (nested ANDs
# and ORs flattened, `*`-only wildcards in search, case-sensitive where predicates), so that
# SPL -> IR -> SPL -> IR can be asked to be an identity on it.

from backends.spl.values import search_network  # noqa: E402
from ir.nodes import (  # noqa: E402
    Aggregation,
    Bin,
    BinOp,
    Call,
    Command,
    Condition,
    Convert,
    Dedup,
    Eval,
    EvalExpr,
    FieldValue,
    FillNull,
    ForEach,
    Head,
    Literal,
    Lookup,
    MultiValue,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Subsearch,
    Table,
    UnaryOp,
    string_kind,
)

#: names with the characters SPL quoting must handle: space, dot, quote, backslash, = and |
spl_names = st.sampled_from(["a", "b_c", "d.e", "f g", 'h"i', "j\\k", "l=m", "n|o", "_time"])
spl_texts = st.text(alphabet='aB \\"=|.()[]', min_size=1, max_size=5)
_plain_names = st.sampled_from(["a", "b_c", "x1", "_time"])


def _runnable_rex(stage: Rex) -> bool:
    """The reader refuses a rex pattern the evaluator cannot run (builder.check_regex)."""
    if stage.mode == "sed":
        return True
    try:
        re.compile(pcre_to_python(stage.pattern))
    except (re.error, ValueError):
        return False
    return True


def _search_value(text: str) -> bool:
    return "*" not in text and search_network(text) is None


@st.composite
def spl_search_leaves(draw: st.DrawFn) -> Expr:
    name = draw(spl_names)
    cased = draw(st.booleans())
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return Predicate(name, Kind.EQ, draw(st.integers(0, 99)))
    if choice == 1:
        return Predicate(name, Kind.EXISTS, True)
    if choice == 2:
        kind = draw(st.sampled_from([Kind.LT, Kind.LTE, Kind.GT, Kind.GTE]))
        return Predicate(name, kind, draw(st.one_of(numbers, st.sampled_from([1.5, -0.25]))))
    if choice == 3:
        return Predicate(None, Kind.TERM, draw(spl_texts.filter(_search_value)), cased)
    parts = draw(st.lists(st.one_of(spl_texts, st.just(Wildcard.MANY)), min_size=1, max_size=3))
    text = "".join("*" if p is Wildcard.MANY else p for p in parts)
    if set(text) <= {"*"} or search_network(text) is not None:
        return Predicate(name, Kind.EXISTS, True)
    kind, value = string_kind(parts)
    return Predicate(name, kind, value, cased)


def _flat_trees(leaves: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        return st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: all_of_flat(xs, And)),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: all_of_flat(xs, Or)),
        )

    return st.recursive(leaves, extend, max_leaves=5)


def all_of_flat(args: list[Expr], kind: type) -> Expr:
    """``kind(args)`` with operands of the same kind flattened, as the readers build it."""
    flat: list[Expr] = []
    for arg in args:
        flat.extend(arg.args if isinstance(arg, kind) else (arg,))  # type: ignore[attr-defined]
    return kind(tuple(flat))  # type: ignore[no-any-return]


spl_eval_exprs: st.SearchStrategy[EvalExpr] = st.recursive(
    st.one_of(
        spl_names.filter(lambda n: "'" not in n).map(FieldValue),
        st.one_of(spl_texts, st.integers(-5, 99), st.sampled_from([1.5, True, None])).map(
            Literal
        ),
    ),
    lambda children: st.one_of(
        st.builds(BinOp, st.sampled_from(["+", "-", "*", ".", "=", "!=", "<", "AND", "OR"]),
                  children, children),
        st.builds(Call, st.sampled_from(["lower", "len", "coalesce", "if", "now"]),
                  st.lists(children, max_size=3).map(tuple)),
        st.builds(UnaryOp, st.just("NOT"), children),
    ),
    max_leaves=4,
)


@st.composite
def spl_where_leaves(draw: st.DrawFn) -> Expr:
    name = draw(spl_names)
    choice = draw(st.integers(0, 5))
    if choice == 0:
        return Predicate(name, Kind.EQ, draw(spl_texts), cased=True)
    if choice == 1:
        return Predicate(name, Kind.NULL, None)
    if choice == 2:
        return Predicate(name, Kind.REGEX, draw(st.sampled_from([Regex("^a\\d"), Regex("b|c")])))
    if choice == 3:
        return Predicate(name, Kind.FIELDREF, FieldRef(draw(_plain_names)), cased=True)
    if choice == 4:
        kind = draw(st.sampled_from([Kind.STARTSWITH, Kind.CONTAINS, Kind.ENDSWITH]))
        return Predicate(name, kind, draw(st.text(alphabet="aB \\\".", min_size=1, max_size=4)),
                         cased=True)
    return Condition(BinOp(">", Call("len", (FieldValue(name),)), Literal(3)))


spl_filters = st.one_of(
    st.builds(Filter, _flat_trees(spl_search_leaves()), st.just("search")),
    st.builds(Filter, _flat_trees(spl_where_leaves()), st.just("where")),
)
_options = st.lists(st.tuples(st.sampled_from(["x", "local", "max"]), spl_texts), max_size=2).map(
    tuple
)
_aggregations = st.builds(
    Aggregation,
    st.sampled_from(["count", "dc", "values", "max"]),
    st.one_of(st.none(), spl_names, spl_eval_exprs),
    st.one_of(st.none(), spl_names),
)


def _row_stages(inner: st.SearchStrategy[Stage]) -> st.SearchStrategy[Stage]:
    names = st.lists(spl_names, min_size=1, max_size=3).map(tuple)
    pairs = st.lists(st.tuples(spl_names, spl_names), min_size=1, max_size=2).map(tuple)
    return st.one_of(
        spl_filters,
        st.builds(Eval, st.lists(st.tuples(spl_names, spl_eval_exprs), min_size=1,
                                 max_size=2).map(tuple)),
        st.builds(Rex, spl_texts, spl_names, st.sampled_from([None, "sed"]), st.integers(0, 3))
        .filter(_runnable_rex),
        st.builds(Rename, pairs),
        st.builds(Table, names, st.sampled_from(["table", "fields"])),
        st.builds(Table, names, st.just("fields"), st.just(True)),
        st.builds(Stats, st.lists(_aggregations, min_size=1, max_size=2).map(tuple), names,
                  st.sampled_from(["stats", "eventstats", "streamstats"])),
        st.builds(Bin, spl_names, st.sampled_from([None, "1h"]), st.sampled_from([None, 10]),
                  st.one_of(st.none(), spl_names)),
        st.builds(Dedup, names, st.integers(1, 3), st.sampled_from([(), (("sortby", "-a"),)])),
        st.builds(Sort, st.lists(st.tuples(spl_names, st.booleans()), min_size=1,
                                 max_size=2).map(tuple), st.sampled_from([None, 0, 5])),
        st.builds(Head, st.integers(0, 20), st.sampled_from(["head", "tail"])),
        st.builds(Lookup, spl_names, pairs, st.one_of(st.just(()), pairs),
                  st.sampled_from(["OUTPUT", "OUTPUTNEW"]), st.just("lookup"), _options),
        st.builds(Lookup, spl_names, command=st.just("inputlookup")),
        st.builds(FillNull, spl_texts, st.lists(spl_names, max_size=2).map(tuple)),
        st.builds(Convert, st.lists(st.tuples(st.sampled_from(["ctime", "dur2sec"]), spl_names,
                                              st.one_of(st.none(), spl_names)),
                                    min_size=1, max_size=2).map(tuple), _options),
        st.builds(MultiValue, spl_names, st.sampled_from(["makemv", "mvexpand"]), _options),
        st.builds(Command, st.sampled_from(["spath", "transaction", "xmlkv"]),
                  st.sampled_from(["", "host maxspan=5m", 'path="a.b{}" output=c', "x [y]"])),
        st.builds(ForEach, st.lists(st.sampled_from(["*", "a*"]), min_size=1, max_size=2)
                  .map(tuple), st.lists(inner, min_size=1, max_size=2).map(tuple), _options),
        st.builds(Subsearch, st.sampled_from(["join", "append", "search"]),
                  st.lists(inner, min_size=1, max_size=2).map(tuple)),
        st.builds(Subsearch, st.just("appendpipe"), st.lists(inner, min_size=1, max_size=2)
                  .map(tuple)),
    )


_foreach_templates = st.one_of(
    st.builds(Eval, st.tuples(st.tuples(st.just("<<FIELD>>"), spl_eval_exprs))),
    st.builds(Filter, _flat_trees(spl_where_leaves()), st.just("where")),
)
spl_stages: st.SearchStrategy[Stage] = st.deferred(lambda: _row_stages(_foreach_templates))
#: pipelines as the SPL reader builds them
spl_pipelines = st.lists(spl_stages, min_size=1, max_size=4).map(tuple)
