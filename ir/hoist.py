"""Filters after column-shaping stages, moved before them with the same rows.

``... | rename a as b | eval x=if(match(f, "r"), "y", "n") | where b=1 AND x="y"`` keeps the
same rows as ``... | where a=1 AND match(f, "r") | rename a as b | eval ...``: the stages
between only write columns, row by row, and the filter, rewritten to read what those columns
were made from, decides each row as before. Writers for languages whose rule is one filter
on the event (Sigma) then keep the test in the detection instead of dropping it with the
stage it followed. :func:`hoist_filters` moves each ``search``/``where``/``regex`` filter left,
one stage at a time, as far as it can; ``docs/semantics.md`` ("Filters through column-shaping
stages") states the rules with their sources. Its sibling :mod:`ir.pushdown` moves filters
on group keys before an aggregation.

What a filter passes, and how it reads before (each the evaluator's meaning of the stage,
``ir.stages``; anything else stops it):

* ``rename a AS b`` (``ir.stages.fields``: the new name takes the old field's value, or is
  removed when the old one is missing; the old name is gone): a test on ``b`` becomes the
  same test on ``a``. A test on the old name ``a`` (a missing field after it), a wildcard pair
  whose patterns could name a field the filter reads, and ``_raw``/``_time`` (which a row
  reads from its event when absent) stop it.
* ``table``/``fields``: when every field the filter reads is kept (``_raw``/``_time`` and a
  bare term, which reads ``_raw``, stop it: their fallback to the event is the row's business).
* ``sort 0``: reorders only (a ``sort`` with a limit keeps the first rows: stops).
* ``eval``/``convert``/``rex``/``fillnull <fields>``/``lookup ... OUTPUT``/``bin <field>
  span=...`` of fields the filter does not read: the values it reads are unchanged.
  ``fillnull`` without a field list fills any field (Search Reference, "fillnull": fields
  present in some other row), ``bin`` without ``span`` picks buckets from all rows' range, a
  ``lookup`` without ``OUTPUT`` writes every table column, an ``eval {f}=...`` a name read
  from the row: each stops a filter.
* ``eval x=<expr>`` where the filter reads ``x``, assignments taken last to first:
  ``x=f`` (a copy: the same value, multivalue included) reads ``f``; ``x=if(C, A, B)`` and
  ``x=case(C1, V1, ..., Cn, Vn)`` with literal results read, per predicate ``p`` on ``x``, the
  OR of the branch conditions whose value ``p`` holds on (a ``case`` with no true condition
  makes ``x`` null, i.e. missing: ``p`` decided on a missing field). ``p`` on a literal is
  decided by the one evaluator. Branch ``i`` is chosen when ``Ci`` is exactly true and no
  earlier one is (``ir.evalexpr``: ``if``/``case`` test ``is True``), the rule a ``where``
  keeps a row by, so each ``Ci`` becomes the filter tree a ``where Ci`` reads as
  (``conditions``, the SPL reader's): only when every ``Ci`` is predicates (an eval
  :class:`~ir.nodes.Condition` has no writer this serves), else the filter stays.

A filter holding an eval :class:`~ir.nodes.Condition` is not moved (what it reads would have
to be traced through the expression), nor a ``tstats`` where clause. Filters do not pass one
another (each is row-wise; their order is kept).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ir.evaluator import compile_predicate
from ir.events import Event
from ir.extractions import Tree, simplify, simplify_and, simplify_or
from ir.nodes import (
    And,
    Bin,
    Call,
    Convert,
    Eval,
    EvalExpr,
    Expr,
    FieldRef,
    FieldValue,
    FillNull,
    Filter,
    Kind,
    Literal,
    Lookup,
    Not,
    Or,
    Predicate,
    Rename,
    Rex,
    Sort,
    Stage,
    Table,
)
from ir.pushdown import written_fields
from ir.stages.rows import wild_match

__all__ = ["Conditions", "hoist_filters"]

#: An eval boolean expression as the filter tree ``where <expr>`` reads as (``None``: no
#: filter tree says it; the SPL reader's ``where_tree``).
Conditions = Callable[[EvalExpr], "Expr | None"]

#: Filter commands that may move (a ``tstats`` where clause belongs to its data-model read).
_MOVABLE = ("search", "where", "regex")
#: Fields a row reads from the event it stands for when absent (``ir.stages.rows.Row``).
_FALLBACK = frozenset({"_raw", "_time"})


def _no_conditions(_expr: EvalExpr) -> Expr | None:
    return None


def hoist_filters(
    stages: Sequence[Stage], conditions: Conditions = _no_conditions
) -> tuple[Stage, ...]:
    """``stages`` with each movable filter moved left past the column-shaping stages it can
    pass (module docstring), repeated until none moves. The result gives the same rows."""
    current = list(stages)
    moved = True
    while moved:
        moved = False
        for at in range(1, len(current)):
            stage, before = current[at], current[at - 1]
            if not isinstance(stage, Filter) or stage.command not in _MOVABLE:
                continue
            expr = through(before, stage.expr, conditions)
            if expr is None or expr is False:
                continue  # (a filter that keeps no row is left to say so where it is)
            if expr is True:  # it keeps every row: it has nothing left to decide
                del current[at]
            else:
                current[at - 1] = Filter(expr, stage.command, span=stage.span)
                current[at] = before
            moved = True
            break
    return tuple(current)


class _Stuck(Exception):
    """A test that cannot be said before the stage."""


def through(stage: Stage, expr: Expr, conditions: Conditions = _no_conditions) -> Tree | None:
    """``expr`` as it reads on the rows entering ``stage`` (the same rows pass it; ``True``:
    every row), or ``None`` when it cannot be moved past ``stage``."""
    try:
        return _through(stage, expr, conditions)
    except _Stuck:
        return None


def _through(stage: Stage, expr: Expr, conditions: Conditions) -> Tree | None:
    read = _reads(expr)
    if read is None:
        return None
    if isinstance(stage, Rename):
        return _renamed(stage, expr, read)
    if isinstance(stage, Table):
        return expr if not read & _FALLBACK and all(_kept(stage, f) for f in read) else None
    if isinstance(stage, Sort):
        return expr if stage.limit == 0 else None
    if isinstance(stage, Eval):
        return _evaluated(stage, expr, conditions)
    if isinstance(stage, Bin) and (stage.span_text is None or stage.bins is not None):
        return None
    if isinstance(stage, Lookup) and not (stage.command == "lookup" and stage.outputs):
        return None
    if isinstance(stage, (Bin, Convert, Rex, FillNull, Lookup)):
        written = written_fields(stage)
        if written is None or any(wild_match(w, f) or w == f for w in written for f in read):
            return None
        return expr
    return None


def _reads(expr: Expr) -> set[str] | None:
    """The fields a filter tree reads (a bare term: ``_raw``), or ``None`` when it holds an
    eval condition."""
    if isinstance(expr, Predicate):
        out = {expr.field if expr.field is not None and expr.kind is not Kind.TERM else "_raw"}
        if isinstance(expr.value, FieldRef):
            out.add(expr.value.field)
        return out
    if isinstance(expr, Not):
        return _reads(expr.arg)
    if isinstance(expr, (And, Or)):
        found: set[str] = set()
        for arg in expr.args:
            part = _reads(arg)
            if part is None:
                return None
            found |= part
        return found
    return None  # Condition


def _renamed(stage: Rename, expr: Expr, read: set[str]) -> Tree | None:
    """A test after ``rename`` as it reads before: each name traced back through the pairs,
    last to first."""
    back: dict[str, str] = {}
    for name in read:
        if name in _FALLBACK and name != "_raw":
            return None
        original: str | None = name
        for old, new in reversed(stage.pairs):
            if original is None:
                break
            if {old, new} & _FALLBACK:
                return None
            if "*" in old or "*" in new:
                if wild_match(old, original) or wild_match(new, original):
                    return None
            elif original == new and old != new:
                original = old
            elif original == old and old != new:
                original = None  # gone after the rename: a missing field
        if original is None:
            return None
        back[name] = original
    if all(k == v for k, v in back.items()):
        return expr
    return simplify(expr, lambda p: _retarget(p, back))


def _retarget(p: Predicate, names: dict[str, str]) -> Predicate:
    field = names.get(p.field, p.field) if p.field is not None else None
    value = p.value
    if isinstance(value, FieldRef):
        value = FieldRef(names.get(value.field, value.field), value.match)
    return Predicate(field, p.kind, value, p.cased, span=p.span)


def _kept(stage: Table, name: str) -> bool:
    """Whether ``table``/``fields`` keeps a field (``ir.stages.fields``)."""
    return any(wild_match(p, name) for p in stage.fields) != stage.remove


def _evaluated(stage: Eval, expr: Expr, conditions: Conditions) -> Tree | None:
    """A test after ``eval`` as it reads before: the assignments taken last to first."""
    current: Tree = expr
    for target, value in reversed(stage.assignments):
        if isinstance(current, bool):
            return current
        if "{" in target or "*" in target:
            return None  # a name the row decides, or a pattern
        read = _reads(current)
        if read is None:
            return None
        if target not in read:
            continue
        if target in _FALLBACK:
            return None
        current = _substituted(current, target, value, conditions)
    return current


def _substituted(expr: Expr, target: str, value: EvalExpr, conditions: Conditions) -> Tree:
    """``expr`` with its tests on ``target`` replaced by what ``eval target=value`` makes
    them read (module docstring); :class:`_Stuck` when they cannot be."""
    if isinstance(value, FieldValue):
        if value.name in _FALLBACK:
            raise _Stuck
        return simplify(expr, lambda p: _retarget(p, {target: value.name}))
    branches = _branches(value, conditions)
    if branches is None:
        raise _Stuck

    def leaf(p: Predicate) -> Tree:
        if isinstance(p.value, FieldRef) and target in (p.field, p.value.field):
            raise _Stuck
        if p.field != target:
            return p
        return simplify_or([when for when, result in branches if _holds(p, result)])

    return simplify(expr, leaf)


#: A branch of ``if``/``case``: when it is chosen (a filter tree, or always) and its value
#: (``None``: null, the field missing).
Branch = tuple[Tree, "str | int | float | bool | None"]


def _branches(value: EvalExpr, conditions: Conditions) -> list[Branch] | None:
    """The values ``if(...)``/``case(...)`` with literal results gives, each with when."""
    if not isinstance(value, Call) or value.name not in ("if", "case"):
        return None
    args = value.args
    if value.name == "if":
        if len(args) != 3:
            return None
        pairs = [(args[0], args[1])]
        otherwise: EvalExpr | None = args[2]
    else:
        if not args or len(args) % 2:
            return None
        pairs = list(zip(args[::2], args[1::2], strict=True))
        otherwise = None  # no true condition: null
    out: list[Branch] = []
    earlier: list[Expr] = []
    for test, result in pairs:
        if not isinstance(result, Literal) or result.value is None:
            return None
        if isinstance(test, Literal) and test.value is True:  # case's true() default
            out.append((simplify_and([Not(e) for e in earlier]), result.value))
            return out
        tree = conditions(test)
        if tree is None or _reads(tree) is None:
            return None
        out.append((simplify_and([*(Not(e) for e in earlier), tree]), result.value))
        earlier.append(tree)
    literal = isinstance(otherwise, Literal) and otherwise.value is not None
    if otherwise is not None and not literal:
        return None
    rest = simplify_and([Not(e) for e in earlier])
    out.append((rest, otherwise.value if isinstance(otherwise, Literal) else None))
    return out


def _holds(p: Predicate, value: str | int | float | bool | None) -> bool:
    """``p`` on a field holding the literal ``value`` (``None``: on a missing field), by the
    one evaluator."""
    probe = Predicate("v", p.kind, p.value, p.cased)
    return compile_predicate(probe, {})(Event.from_fields({} if value is None else {"v": value}))
