"""The ruleglot IR: one definition of what a detection rule means, for every language.

This docstring is the specification. Readers (``backends/*/reader.py``) build these nodes, the
evaluator (:mod:`ir.evaluator`) gives them meaning on events, emitters write them out. No other
module may define predicate semantics.

Rule
    Metadata (id, title, description, status, level, author, references, falsepositives, tags,
    date, modified), the :class:`LogSource` it reads (never dropped), its :class:`TimeRange`
    (SPL; ``None`` otherwise), and a tuple of :class:`Stage`. A Sigma rule is one
    :class:`Filter` stage.

Filter stage
    A boolean tree of :class:`And`, :class:`Or`, :class:`Not` over :class:`Predicate` leaves (and
    :class:`Condition` leaves: an SPL eval expression that no predicate kind expresses).
    ``Filter.exclusions`` are its top-level ``Not(...)`` conjuncts; ``Rule.indicators`` is the flat
    list of predicates outside exclusions.

Other stages (SPL)
    :class:`Eval`, :class:`Rex`, :class:`Rename`, :class:`Table`, :class:`Stats` (also
    eventstats, streamstats, tstats), :class:`DataModel` (tstats' row source), :class:`Bin`,
    :class:`Dedup`, :class:`Sort`, :class:`Head`,
    :class:`Lookup`, :class:`FillNull`, :class:`Convert`, :class:`MultiValue`, :class:`Subsearch`,
    :class:`ForEach` and :class:`Command` (parsed, not modelled). A stage maps a list of rows
    to a list of rows; the first rows are the events.

Predicate = (field, kind, value, cased)
    ``field`` is an event field name (dotted names address nested objects), or ``None`` for a
    field-less predicate (a Sigma keyword), which holds when it holds for *any* value of the event.
    Multi-valued fields (JSON lists) hold when *any* element does. Unless a kind says otherwise,
    a predicate on a missing field or a JSON ``null`` value is false. Strings are compared as they
    are: never trimmed, whitespace never collapsed. Numbers and booleans in events are compared
    through their JSON text (``4688``, ``true``) for string kinds. ``cased=False`` (the default,
    Sigma's rule) compares case-insensitively, which everywhere in ruleglot means both sides
    lower-cased with ``str.lower``; ``cased=True`` compares exactly.

    ====================  ==========================================================================
    kind                  value and exact meaning
    ====================  ==========================================================================
    eq                    str | int | float | bool. Equal. Numbers also equal an event string
                          holding the same number text (``"4688"`` = 4688).
    contains              str. The value occurs in the event string.
    startswith            str. The event string starts with the value.
    endswith              str. The event string ends with the value.
    wildcard              :class:`Pattern`. The whole event string matches; ``*`` is any run of
                          characters (also none), ``?`` exactly one. Literal text never holds a
                          wildcard: escapes are structural, as in pySigma's ``SigmaString``.
    regex                 :class:`Regex`. Unanchored search (Sigma issue #1562: partial match, as
                          SigmaHQ tooling does), Python ``re`` syntax; case-sensitive unless flag
                          ``i``; ``m``/``s`` as in ``re``. ``cased`` is ignored.
    cidr                  str network (IPv4 or IPv6). The event value is an address inside it.
    exists                bool. ``True``: the field is present (even if null or empty);
                          ``False``: it is absent.
    null                  ``None``. The field is absent or JSON ``null`` (the reading of
                          pySigma-backend-splunk's ``NOT f=*``); an empty string is not null.
    lt, lte, gt, gte      int | float. Numeric comparison; an event value that is not a number
                          (nor a string holding one) never matches.
    fieldref              :class:`FieldRef`. The event value equals (or contains, starts or ends
                          with) the value of another field of the same event, with the case rule.
    timepart              :class:`TimePart`. The field, read as an ISO-8601 timestamp, has that
                          minute/hour/day/week/month/year; unparsable values never match.
    term                  str. SPL bare term: the text, lower-cased, occurs in ``_raw`` with a
                          breaker or an edge on both sides (``*`` in it is a wildcard). Not a
                          Sigma keyword: see ``docs/semantics.md``.
    ====================  ==========================================================================

Search settings (SPL)
    Splunk gives every event the default fields ``index``, ``sourcetype``, ``source``,
    ``splunk_server`` and ``eventtype``, and reads ``earliest``/``latest``/``_index_earliest``/
    ``_index_latest`` in a search as its time range, not as fields (Search Reference, "Time
    modifiers"; Knowledge Manager Manual, "Use default fields"). Predicates on the names in
    :data:`SEARCH_SETTINGS` in an SPL rule's search are therefore its *data source*: which
    events Splunk reads, the SPL counterpart of Sigma's ``logsource``. They stay in the search
    filter (the evaluator reads ``source``/``sourcetype`` through a field profile, which is how
    they select Windows channels), and a writer for a language without Splunk's default fields
    maps them to that language's log source or reports them (``backends/sigma/emit.py``:
    ``logsource`` through :mod:`backends.sigma.splunk_sources`, never a detection field). A time
    modifier (:data:`TIME_MODIFIERS`) is the search's time range, not a predicate: the SPL
    reader takes the base search's top-level ``earliest=``/``latest=``/``_index_earliest=``/
    ``_index_latest=`` into ``Rule.timerange`` (:class:`TimeRange`, each bound a
    :class:`TimeBound`: the text and its parsed form, :mod:`ir.timerange`). What a range
    means when run is :mod:`ir.timerange` (``docs/semantics.md``, "Time ranges"); the SPL
    writer writes it back, the Sigma writer reports it (Sigma leaves the window to the
    scheduler).

Immutability and equality
    Every node is a frozen dataclass, hashable, compared by structure. ``span`` (where the node was
    read) is excluded from equality, hashing and ``repr``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import TypeAlias

from ir.errors import Span

#: Splunk's default fields and time modifiers: an SPL search's data source, not event fields
#: (module docstring, "Search settings").
SEARCH_SETTINGS = frozenset(
    {"index", "sourcetype", "source", "eventtype", "splunk_server"}
)  # fmt: skip
#: The time modifiers of a search (Search Reference, "Time modifiers").
TIME_MODIFIERS = frozenset({"earliest", "latest", "_index_earliest", "_index_latest"})


class Kind(enum.StrEnum):
    """Predicate kinds; their meaning is in the module docstring."""

    EQ = "eq"
    CONTAINS = "contains"
    STARTSWITH = "startswith"
    ENDSWITH = "endswith"
    WILDCARD = "wildcard"
    REGEX = "regex"
    CIDR = "cidr"
    EXISTS = "exists"
    NULL = "null"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    FIELDREF = "fieldref"
    TIMEPART = "timepart"
    TERM = "term"

    def __str__(self) -> str:
        return self.value


class Wildcard(enum.Enum):
    """A wildcard inside a :class:`Pattern`: ``MANY`` is ``*``, ``ONE`` is ``?``.

    A plain enum, not a ``str`` one, so a wildcard never compares equal to a literal ``"*"``.
    """

    MANY = "*"
    ONE = "?"


PatternPart: TypeAlias = "str | Wildcard"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A string with structural wildcards: literal text and :class:`Wildcard` parts.

    Adjacent literal parts are merged and empty ones dropped, and a run of ``*`` is one ``*``
    (it means the same), so equal patterns have equal parts.
    """

    parts: tuple[str | Wildcard, ...]

    def __post_init__(self) -> None:
        merged: list[str | Wildcard] = []
        for part in self.parts:
            if isinstance(part, Wildcard):
                if not (part is Wildcard.MANY and merged and merged[-1] is Wildcard.MANY):
                    merged.append(part)
            elif part:
                if merged and not isinstance(merged[-1], Wildcard):
                    merged[-1] = merged[-1] + part
                else:
                    merged.append(part)
        object.__setattr__(self, "parts", tuple(merged))

    def has_wildcards(self) -> bool:
        return any(isinstance(p, Wildcard) for p in self.parts)

    def __str__(self) -> str:
        """Sigma's notation: ``*``/``?`` are wildcards; a literal ``*``, ``?`` or a backslash
        before a special character is escaped with a backslash (Sigma specification, "Escaping";
        pySigma reads a backslash before any other character as itself)."""
        chars: list[str | Wildcard] = []
        for part in self.parts:
            chars.extend([part] if isinstance(part, Wildcard) else list(part))
        out: list[str] = []
        for index, char in enumerate(chars):
            if isinstance(char, Wildcard):
                out.append(char.value)
            elif char in "*?":
                out.append("\\" + char)
            elif char == "\\":
                nxt = chars[index + 1] if index + 1 < len(chars) else None
                out.append(
                    "\\\\"
                    if nxt is not None and (isinstance(nxt, Wildcard) or nxt in "*?\\")
                    else "\\"
                )
            else:
                out.append(char)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Regex:
    """A regular expression in Python ``re`` syntax, with Sigma's flags (``i``, ``m``, ``s``)."""

    pattern: str
    flags: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "flags", "".join(sorted(set(self.flags))))

    def __str__(self) -> str:
        return f"/{self.pattern}/{self.flags}"


@dataclass(frozen=True, slots=True)
class FieldRef:
    """Another field of the same event; ``match`` is eq, contains, startswith or endswith."""

    field: str
    match: str = "eq"

    def __str__(self) -> str:
        return self.field if self.match == "eq" else f"{self.match}({self.field})"


@dataclass(frozen=True, slots=True)
class TimePart:
    """A part of a timestamp: ``unit`` is minute, hour, day, week, month or year."""

    unit: str
    number: int

    def __str__(self) -> str:
        return f"{self.unit}={self.number}"


Value: TypeAlias = "str | int | float | bool | None | Pattern | Regex | FieldRef | TimePart"

_SCALAR = (str, int, float, bool)
#: The value types each predicate kind takes (module docstring, "Predicates"): what the readers
#: build, the evaluator and the writers assume, and the IR JSON loader checks, so that a
#: ``contains`` holding a pattern is an input error there, not a crash in a writer.
VALUE_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.EQ: (*_SCALAR, type(None)),
    Kind.CONTAINS: _SCALAR,
    Kind.STARTSWITH: _SCALAR,
    Kind.ENDSWITH: _SCALAR,
    Kind.WILDCARD: (Pattern,),
    Kind.REGEX: (Regex,),
    Kind.CIDR: (str,),
    Kind.EXISTS: (bool,),
    Kind.NULL: (type(None),),
    Kind.LT: (int, float, str),
    Kind.LTE: (int, float, str),
    Kind.GT: (int, float, str),
    Kind.GTE: (int, float, str),
    Kind.FIELDREF: (FieldRef,),
    Kind.TIMEPART: (TimePart,),
    Kind.TERM: (str,),
}


@dataclass(frozen=True, slots=True)
class LogSource:
    """Sigma's log source triple (plus its free-text definition); SPL reads fill what they know."""

    product: str | None = None
    category: str | None = None
    service: str | None = None
    definition: str | None = None

    def is_empty(self) -> bool:
        return not (self.product or self.category or self.service)


@dataclass(frozen=True, slots=True)
class TimeBound:
    """One time modifier's value (Search Reference, "Time modifiers"): ``text`` as written and
    its parsed form, made only by :func:`ir.timerange.parse_bound`. Absolute (``epoch``: epoch
    seconds, from ``0``, ``1700000000`` or ``%m/%d/%Y:%H:%M:%S``) or relative to the search's
    ``now`` (``steps`` applied in order: ``("shift", -24, "h")``, ``("snap", 0, "h")``, and
    ``("snap", 1, "w")`` for ``@w1``; ``now`` has no steps)."""

    text: str
    epoch: float | None = None
    steps: tuple[tuple[str, int, str], ...] = ()

    @property
    def relative(self) -> bool:
        return self.epoch is None


@dataclass(frozen=True, slots=True)
class TimeRange:
    """An SPL search's time range (module docstring, "Search settings"): ``earliest``
    inclusive, ``latest`` exclusive on ``_time``; ``index_earliest``/``index_latest`` on the
    index time. ``None``: not given."""

    earliest: TimeBound | None = None
    latest: TimeBound | None = None
    index_earliest: TimeBound | None = None
    index_latest: TimeBound | None = None
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)

    def bounds(self) -> tuple[tuple[str, TimeBound], ...]:
        """``(modifier, bound)`` for each given bound, as SPL names them."""
        named = (
            ("earliest", self.earliest), ("latest", self.latest),
            ("_index_earliest", self.index_earliest), ("_index_latest", self.index_latest),
        )  # fmt: skip
        return tuple((name, bound) for name, bound in named if bound is not None)

    def text(self) -> str:
        """The range as SPL modifiers (``earliest=-24h@h latest=now``)."""
        return " ".join(f"{name}={bound.text}" for name, bound in self.bounds())


# --- boolean trees ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Predicate:
    """A ``field / kind / value`` triple with its case rule; see the module docstring."""

    field: str | None
    kind: Kind
    value: Value
    cased: bool = False
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kind, Kind):
            object.__setattr__(self, "kind", Kind(self.kind))

    def value_text(self) -> str:
        """The value as a person reads it in a catalog row."""
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return str(self.value)


@dataclass(frozen=True, slots=True)
class And:
    args: tuple[Expr, ...]
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Or:
    args: tuple[Expr, ...]
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Not:
    arg: Expr
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


# --- eval expressions (SPL eval/where) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldValue:
    """A field's value inside an eval expression (SPL: an unquoted name or ``'single quoted'``)."""

    name: str
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: string, number, boolean, or ``None`` for SPL's ``null()``."""

    value: str | int | float | bool | None
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Call:
    """A function call, name lower-cased (``match``, ``if``, ``coalesce``...)."""

    name: str
    args: tuple[EvalExpr, ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class BinOp:
    """``op`` is one of ``+ - * / % .`` (arithmetic, concatenation), ``= == != < <= > >=``,
    ``AND OR XOR``, ``LIKE``."""

    op: str
    left: EvalExpr
    right: EvalExpr
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class UnaryOp:
    """``op`` is ``NOT`` or ``-``."""

    op: str
    arg: EvalExpr
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


EvalExpr: TypeAlias = "FieldValue | Literal | Call | BinOp | UnaryOp"

#: Every :attr:`BinOp.op` and :attr:`UnaryOp.op` (upper-cased): the operators an engine lowers.
BINARY_OPERATORS = frozenset(
    {"+", "-", "*", "/", "%", ".", "=", "==", "!=", "<", "<=", ">", ">=", "AND", "OR", "XOR",
     "LIKE"}
)
UNARY_OPERATORS = frozenset({"NOT", "-", "+"})


def map_eval(
    expr: EvalExpr,
    field: Callable[[str], str],
    literal: Callable[[str], str] | None = None,
) -> EvalExpr:
    """``expr`` with every field name passed through ``field`` (and every string literal
    through ``literal``, if given); spans kept. For renaming fields (a profile's names) and
    filling templates (``foreach``'s ``<<FIELD>>``)."""
    if isinstance(expr, FieldValue):
        return FieldValue(field(expr.name), expr.span)
    if isinstance(expr, Literal):
        if literal is not None and isinstance(expr.value, str):
            return Literal(literal(expr.value), expr.span)
        return expr
    if isinstance(expr, Call):
        return Call(expr.name, tuple(map_eval(a, field, literal) for a in expr.args), expr.span)
    if isinstance(expr, BinOp):
        left, right = map_eval(expr.left, field, literal), map_eval(expr.right, field, literal)
        return BinOp(expr.op, left, right, expr.span)
    if isinstance(expr, UnaryOp):
        return UnaryOp(expr.op, map_eval(expr.arg, field, literal), expr.span)
    raise TypeError(f"not an eval expression: {expr!r}")


@dataclass(frozen=True, slots=True)
class Condition:
    """A filter leaf that is an eval expression: holds when it evaluates to true (SPL
    ``where``). Readers build :class:`Predicate` s instead wherever the meaning is one of the
    predicate kinds (``match(f, re)`` is a regex predicate), so that indicators stay visible."""

    expr: EvalExpr
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


Expr: TypeAlias = "Predicate | Condition | And | Or | Not"


def map_fields(expr: Expr, field: Callable[[str], str]) -> Expr:
    """The filter tree ``expr`` with every field name passed through ``field``: predicate
    fields, field references and the fields of eval conditions; spans kept (errors point at
    them). For a profile's names, a log-source branch's aliases, a field profile undone."""
    if isinstance(expr, Predicate):
        value = expr.value
        if isinstance(value, FieldRef):
            value = FieldRef(field(value.field), value.match)
        name = field(expr.field) if expr.field is not None else None
        return Predicate(name, expr.kind, value, expr.cased, expr.span)
    if isinstance(expr, Condition):
        return Condition(map_eval(expr.expr, field), expr.span)
    if isinstance(expr, Not):
        return Not(map_fields(expr.arg, field), expr.span)
    if isinstance(expr, And):
        return And(tuple(map_fields(a, field) for a in expr.args), expr.span)
    if isinstance(expr, Or):
        return Or(tuple(map_fields(a, field) for a in expr.args), expr.span)
    raise TypeError(f"not a filter expression: {expr!r}")


def all_of(args: Sequence[Expr], span: Span | None = None) -> Expr:
    """The conjunction of ``args``, nested ANDs flattened; a single operand is itself."""
    flat: list[Expr] = []
    for arg in args:
        flat.extend(arg.args if isinstance(arg, And) else (arg,))
    return flat[0] if len(flat) == 1 else And(tuple(flat), span=span)


def any_of(args: Sequence[Expr], span: Span | None = None) -> Expr:
    """The disjunction of ``args``, nested ORs flattened; a single operand is itself."""
    flat: list[Expr] = []
    for arg in args:
        flat.extend(arg.args if isinstance(arg, Or) else (arg,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat), span=span)


def string_kind(parts: Sequence[str | Wildcard]) -> tuple[Kind, str | Pattern]:
    """The narrowest kind saying what a string with wildcards says, so that the same indicator
    written two ways (Sigma ``|contains: x`` or ``*x*``; SPL ``f=*x*``) is one predicate: no
    wildcard is ``eq``; ``*x*`` contains, ``x*`` startswith, ``*x`` endswith; else a pattern."""
    parts = Pattern(tuple(parts)).parts
    many = Wildcard.MANY
    if all(isinstance(p, str) for p in parts):
        return Kind.EQ, "".join(p for p in parts if isinstance(p, str))
    if len(parts) == 3 and parts[0] is many and parts[2] is many and isinstance(parts[1], str):
        return Kind.CONTAINS, parts[1]
    if len(parts) == 2 and isinstance(parts[0], str) and parts[1] is many:
        return Kind.STARTSWITH, parts[0]
    if len(parts) == 2 and parts[0] is many and isinstance(parts[1], str):
        return Kind.ENDSWITH, parts[1]
    return Kind.WILDCARD, Pattern(tuple(parts))


def signed_predicates(expr: Expr, negated: bool = False) -> Iterator[tuple[Predicate, bool]]:
    """Every predicate of a tree, left to right, with whether an odd number of NOTs is above
    it (the tree holds where such a predicate does not)."""
    if isinstance(expr, Predicate):
        yield expr, negated
    elif isinstance(expr, Not):
        yield from signed_predicates(expr.arg, not negated)
    elif isinstance(expr, (And, Or)):
        for arg in expr.args:
            yield from signed_predicates(arg, negated)


def predicates(expr: Expr) -> Iterator[Predicate]:
    """Every predicate of a tree, left to right."""
    if isinstance(expr, Predicate):
        yield expr
    elif isinstance(expr, Condition):
        return
    elif isinstance(expr, Not):
        yield from predicates(expr.arg)
    else:
        for arg in expr.args:
            yield from predicates(arg)


def conjuncts(expr: Expr) -> tuple[Expr, ...]:
    """The top-level AND operands of a tree (nested ANDs flattened); the tree itself otherwise."""
    if isinstance(expr, And):
        out: list[Expr] = []
        for arg in expr.args:
            out.extend(conjuncts(arg))
        return tuple(out)
    return (expr,)


# --- stages ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    """Keep the rows for which ``expr`` holds (Sigma's detection; SPL's ``search``, ``where``,
    ``regex``: ``command`` names which, for display and emission)."""

    expr: Expr
    command: str = "search"
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)

    @property
    def exclusions(self) -> tuple[Expr, ...]:
        """The top-level ``NOT(...)`` conjuncts, unwrapped: what the filter actively suppresses."""
        return tuple(c.arg for c in conjuncts(self.expr) if isinstance(c, Not))

    @property
    def inclusions(self) -> tuple[Expr, ...]:
        """The top-level conjuncts that are not exclusions."""
        return tuple(c for c in conjuncts(self.expr) if not isinstance(c, Not))


# SPL's other commands. Each stage transforms a list of rows into another; the exact semantics
# of each live in ir/stages/ (stages) and ir/evalexpr.py / ir/functions/ (eval
# expressions), each with its Splunk reference cited. Field-name arguments keep
# SPL's wildcards (``values(*) as *``, ``rename *_x as *``).


@dataclass(frozen=True, slots=True)
class Eval:
    """``eval f1=expr1, f2=expr2``: assignments in order, each seeing the previous ones."""

    assignments: tuple[tuple[str, EvalExpr], ...]
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Rex:
    """``rex field=f "(?<name>...)"``: named groups become fields (``mode=sed`` rewrites)."""

    pattern: str
    field: str = "_raw"
    mode: str | None = None
    max_match: int = 1
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Rename:
    pairs: tuple[tuple[str, str], ...]
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Table:
    """``table`` (keep these fields, in this order) or ``fields [+|-]``."""

    fields: tuple[str, ...]
    command: str = "table"
    remove: bool = False
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Aggregation:
    """``function(argument) as alias``; ``argument`` is a field name (wildcards allowed), an eval
    expression (``count(eval(x>1))``), or ``None`` (``count``)."""

    function: str
    argument: str | EvalExpr | None = None
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Stats:
    """``stats``/``eventstats``/``streamstats``/``tstats`` (``command``). A ``tstats`` reads
    as :class:`DataModel` (its data set and options), an optional ``Filter(command="tstats")``
    (its ``where``) and this stage, which aggregates the rows the two before it give."""

    aggregations: tuple[Aggregation, ...]
    by: tuple[str, ...] = ()
    command: str = "stats"
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class DataModel:
    """``tstats ... from datamodel=<name>``: the rows of a CIM data set instead of the events.

    ``tstats`` reads as three stages: ``DataModel(name, options)``, then
    ``Filter(where, command="tstats")`` when it has a ``where``, then
    ``Stats(..., command="tstats")``; the SPL writer writes the three back as one ``tstats``
    command. ``name`` is as written (``Endpoint.Processes``, or a data model alone such as
    ``Web``); ``options`` are the command's own options as written (``summariesonly``,
    ``allow_old_summaries``, ``fillnull_value``, ``nodename``, ``prestats``, ``append``...).
    How an event becomes a row of a data set is data: the data-model profile in ``ir/``."""

    name: str
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Bin:
    """``bin``/``bucket [field] span=10s`` (``field`` defaults to ``_time``)."""

    field: str = "_time"
    span_text: str | None = None
    bins: int | None = None
    alias: str | None = None
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Dedup:
    fields: tuple[str, ...]
    count: int = 1
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Sort:
    """``sort [limit] [+|-]f ...``: ``keys`` are (field, descending). ``limit=None``: not given
    (Splunk's default, 10,000 rows); ``0``: all rows."""

    keys: tuple[tuple[str, bool], ...]
    limit: int | None = None
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Head:
    """``head N`` (``command='head'``) or ``tail N``."""

    count: int = 10
    command: str = "head"
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Lookup:
    """``lookup table in [as f] ... OUTPUT|OUTPUTNEW out [as f] ...`` (pairs are (lookup
    field, event field)); ``inputlookup`` is ``command='inputlookup'`` with only ``table``."""

    table: str
    inputs: tuple[tuple[str, str], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    mode: str = "OUTPUT"
    command: str = "lookup"
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class FillNull:
    value: str = "0"
    fields: tuple[str, ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Convert:
    """``convert [timeformat=...] ctime(f) [as g] ...``: (function, field, alias)."""

    conversions: tuple[tuple[str, str, str | None], ...]
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class MultiValue:
    """``makemv [delim=...] f`` (``command='makemv'``) or ``mvexpand f``."""

    field: str
    command: str = "makemv"
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class Subsearch:
    """``join``/``append``/``appendpipe`` with a bracketed subsearch (its own stages); also a
    subsearch among search terms: ``command="search"`` keeps the rows its result rows' terms
    match, ``command=EXCLUDE`` (``search NOT [...]``) the rows they do not match.
    ``timerange``: the subsearch's own time modifiers (a base search's range does not apply to
    its subsearches, nor theirs to it: Search Reference, "Time modifiers")."""

    command: str
    stages: tuple[Stage, ...]
    fields: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    timerange: TimeRange | None = None
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


@dataclass(frozen=True, slots=True)
class ForEach:
    """``foreach <wildcard fields> [template]`` (multifield mode): the template's stages run
    once per field of the row whose name matches a pattern (as ``table``'s wildcards do), with
    ``<<FIELD>>`` in field names and strings replaced by that field's name. Only the template
    token ``<<FIELD>>`` is modelled (SPL reference, "foreach")."""

    fields: tuple[str, ...]
    stages: tuple[Stage, ...]
    options: tuple[tuple[str, str], ...] = ()
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


#: The :class:`Subsearch` command of ``NOT [subsearch]`` among search terms (an exclusion).
EXCLUDE = "search NOT"


#: The template token of :class:`ForEach` that stands for the field's name.
FOREACH_FIELD = "<<FIELD>>"


@dataclass(frozen=True, slots=True)
class Command:
    """A command the reader parses but does not model (its arguments kept as written). It is
    part of the IR so the rule can be shown and counted; translating it is a named
    ``unsupported`` error (cf. sqlglot's ``exp.Command``), and so is running it, except the
    few commands the evaluator reads from their text (``ir.pipeline.COMMANDS``)."""

    name: str
    args: str = ""
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)


Stage: TypeAlias = (
    "Filter | Eval | Rex | Rename | Table | Stats | DataModel | Bin | Dedup | Sort | Head | Lookup"
    " | FillNull | Convert | MultiValue | Subsearch | ForEach | Command"
)
#: The classes of :data:`Stage`, for the engines' tables of what each stage lowers to.
STAGE_TYPES: tuple[type, ...] = (
    Filter, Eval, Rex, Rename, Table, Stats, DataModel, Bin, Dedup, Sort, Head, Lookup,
    FillNull, Convert, MultiValue, Subsearch, ForEach, Command,
)  # fmt: skip


def stage_command(stage: Stage) -> str:
    """The SPL command a stage is (``stats``, ``eval``, ``transaction``...): the name errors
    and warnings give a stage."""
    if isinstance(stage, (Stats, Table, Head, MultiValue, Lookup, Subsearch, Filter)):
        return stage.command
    if isinstance(stage, Command):
        return stage.name
    names: dict[type, str] = {
        Eval: "eval", Rex: "rex", Rename: "rename", Bin: "bin", Dedup: "dedup", Sort: "sort",
        FillNull: "fillnull", Convert: "convert", ForEach: "foreach", DataModel: "tstats",
    }  # fmt: skip
    return names.get(type(stage), type(stage).__name__.lower())


@dataclass(frozen=True, slots=True)
class Rule:
    """A detection rule: metadata, log source and stages. See the module docstring."""

    title: str
    stages: tuple[Stage, ...]
    logsource: LogSource = LogSource()
    id: str | None = None
    description: str | None = None
    status: str | None = None
    level: str | None = None
    author: str | None = None
    date: str | None = None
    modified: str | None = None
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None
    #: metadata outside the rule schema, as ``(key, JSON text)`` pairs (Sigma custom keys)
    custom: tuple[tuple[str, str], ...] = ()
    #: the search's time range (SPL time modifiers), ``None`` when it names none
    timerange: TimeRange | None = None
    source_text: str | None = _field(default=None, compare=False, hash=False, repr=False)
    span: Span | None = _field(default=None, compare=False, hash=False, repr=False)

    @property
    def filters(self) -> tuple[Filter, ...]:
        return tuple(s for s in self.stages if isinstance(s, Filter))

    @property
    def leading_filters(self) -> tuple[Filter, ...]:
        """The filter stages before the first other stage: the events a pipeline starts from
        (what a Sigma rule can carry of an SPL search, a correlation's event filter)."""
        out: list[Filter] = []
        for stage in self.stages:
            if not isinstance(stage, Filter):
                break
            out.append(stage)
        return tuple(out)

    @property
    def exclusions(self) -> tuple[Expr, ...]:
        """Top-level ``NOT(...)`` conjuncts of every filter stage."""
        return tuple(e for f in self.filters for e in f.exclusions)

    @property
    def indicators(self) -> tuple[Predicate, ...]:
        """Every predicate outside the exclusions, in rule order, each once."""
        seen: dict[Predicate, None] = {}
        for f in self.filters:
            for inclusion in f.inclusions:
                for p in predicates(inclusion):
                    seen.setdefault(p, None)
        return tuple(seen)

    @property
    def exclusion_predicates(self) -> tuple[Predicate, ...]:
        seen: dict[Predicate, None] = {}
        for e in self.exclusions:
            for p in predicates(e):
                seen.setdefault(p, None)
        return tuple(seen)
