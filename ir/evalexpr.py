"""SPL eval expressions: compile an :data:`ir.nodes.EvalExpr` once into ``row -> value``.

A row is anything with ``get(name)`` answering :data:`ir.events.MISSING` for an absent field:
an :class:`ir.events.Event` or a pipeline row. Values are those of :mod:`ir.functions` (null is
``None``, a multivalue a list). Sources: Splunk Search Reference, "eval" (operators,
"Usage"), "where", and the "Evaluation functions" pages cited in :mod:`ir.functions`.

Operators
    ``+``
        Two numbers add; two strings concatenate (the reference: "+ accepts two numbers for
        addition, or two strings for concatenation"). Field values that read as numbers are
        numbers; a quoted literal on either side makes the operation a concatenation (``"1" +
        "2"`` is ``12``). A number and a non-numeric string give null (ruleglot's choice).
    ``- * / %``
        Numbers only, else null; division or modulo by zero is null (reference: "Division
        by zero results in a null field"). Integer results stay exact.
    ``.``
        Concatenation of the texts of two single values; null if either is null (which is why
        SPL searches ``fillnull`` before concatenating).
    ``= == != < <= > >=``
        Numeric when both sides are numbers (or strings that read as numbers), otherwise the
        texts compared case-sensitively by code point (SPL reference, "where": comparisons are
        case-sensitive). A multivalue side holds when any of its values does; ``!=`` is the
        negation of ``=``. A null side makes every comparison false, ``!=`` included (as the
        Search Manual documents for ``search``: ``f!=v`` only returns events that have ``f``).
    ``LIKE``
        As ``like()``.
    ``AND OR XOR NOT``
        Booleans only: a null (or non-boolean) operand counts as false in ``AND``, ``OR`` and
        ``XOR``, and ``NOT`` of it is null, which is false again wherever a truth value is
        used. Tests on a null subject (comparisons, ``match``, ``like``, ``cidrmatch``, ``in``)
        are false rather than null, so ``NOT x>5`` holds for a row without ``x``: the same
        reading as a filter tree ``Not(Predicate(x > 5))``, which is how readers lift a
        ``where`` into predicates. (Splunk's reference does not define null in boolean
        operators; ruleglot keeps one meaning for both forms of the same ``where``.)
        A ``where`` (a :class:`ir.nodes.Condition`) keeps a row only when its expression is
        exactly true.

Functions that need unevaluated arguments are compiled here: ``if``, ``case``, ``validate``,
``coalesce`` (lazy), ``mvfilter(X)`` (``X`` over the one field it names, bound to each value in
turn), ``mvmap(F, X)``, ``now()`` (the search's start time, fixed per compilation) and
``time()`` (the wall clock). Everything else is :data:`ir.functions.FUNCTIONS`; an unknown
function is an ``unsupported`` error naming ``eval:<name>``, raised at compile time.
"""

from __future__ import annotations

import operator
import time as _time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ir.errors import RuleglotError, Span
from ir.events import MISSING
from ir.functions import (
    FUNCTIONS,
    UNSUPPORTED,
    check_arity,
    compile_regex,
    equal,
    field_value,
    like_regex,
    mv,
    order,
    tidy_number,
    to_number,
    to_text,
    values_of,
)
from ir.nodes import BinOp, Call, Condition, EvalExpr, FieldValue, Literal, UnaryOp
from ir.regexrun import RegexBudgetError

Compiled = Callable[[Any], Any]


def holds(value: Any) -> bool:
    """A ``where`` keeps a row when its expression is exactly true (not null, not a string)."""
    return value is True



def _positioned(impl: Callable[..., Any], span: Span | None) -> Callable[..., Any]:
    """``impl`` whose regex budget overruns (:mod:`ir.regexrun`) point at the call."""

    def run(*args: Any) -> Any:
        try:
            return impl(*args)
        except RegexBudgetError as err:
            raise err.at(span) from None

    return run

class _Bound:
    """A row with one field bound to one value (``mvfilter``/``mvmap``)."""

    __slots__ = ("row", "name", "value")

    def __init__(self, row: Any, name: str, value: Any) -> None:
        self.row, self.name, self.value = row, name, value

    def get(self, name: str) -> Any:
        return self.value if name == self.name else self.row.get(name)


def field_names(expr: EvalExpr) -> Iterator[str]:
    """The field names an expression reads, left to right."""
    if isinstance(expr, FieldValue):
        yield expr.name
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from field_names(arg)
    elif isinstance(expr, BinOp):
        yield from field_names(expr.left)
        yield from field_names(expr.right)
    elif isinstance(expr, UnaryOp):
        yield from field_names(expr.arg)


def _arith(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(left: Any, right: Any) -> Any:
        a, b = to_number(left), to_number(right)
        if a is None or b is None or isinstance(left, list) or isinstance(right, list):
            return None
        try:
            return op(a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None

    return run


def _divide(a: int | float, b: int | float) -> int | float:
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return a / b


def _modulo(a: int | float, b: int | float) -> int | float:
    if b == 0:
        raise ZeroDivisionError
    return a % b


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "-": _arith(operator.sub),
    "*": _arith(operator.mul),
    "/": _arith(_divide),
    "%": _arith(_modulo),
}

_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _compare(op: str, left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    lefts, rights = values_of(left), values_of(right)
    if op in ("=", "=="):
        return any(equal(a, b) for a in lefts for b in rights)
    if op == "!=":
        return not any(equal(a, b) for a in lefts for b in rights)
    test = _ORDER[op]
    return any(test(order(a, b)) for a in lefts for b in rights)


def _plus(string_literal: bool) -> Callable[[Any, Any], Any]:
    def run(left: Any, right: Any) -> Any:
        if left is None or right is None or isinstance(left, list) or isinstance(right, list):
            return None
        a, b = to_number(left), to_number(right)
        if not string_literal and a is not None and b is not None:
            try:
                return a + b
            except OverflowError:
                return None
        if isinstance(left, bool) or isinstance(right, bool):
            return None
        if (isinstance(left, str) or string_literal) and (isinstance(right, str) or string_literal):
            return f"{to_text(left)}{to_text(right)}"
        return None

    return run


def _concat(left: Any, right: Any) -> Any:
    if left is None or right is None or isinstance(left, list) or isinstance(right, list):
        return None
    return f"{to_text(left)}{to_text(right)}"


def _like(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return False
    rx = like_regex(to_text(right) or "")
    return any(rx.fullmatch(to_text(v) or "") is not None for v in values_of(left))


class _Compiler:
    def __init__(self, aliases: Mapping[str, str], now: float) -> None:
        self.aliases = aliases
        self.now = now

    def name(self, field: str) -> str:
        return self.aliases.get(field, field)

    def compile(self, expr: EvalExpr) -> Compiled:
        try:
            return self._compile(expr)
        except RuleglotError as err:
            raise err.at(getattr(expr, "span", None)) from None

    def _compile(self, expr: EvalExpr) -> Compiled:
        if isinstance(expr, Literal):
            value = expr.value
            return lambda row: value
        if isinstance(expr, FieldValue):
            name = self.name(expr.name)

            def read(row: Any) -> Any:
                raw = row.get(name)
                return None if raw is MISSING else field_value(raw)

            return read
        if isinstance(expr, UnaryOp):
            return self._unary(expr)
        if isinstance(expr, BinOp):
            return self._binary(expr)
        if isinstance(expr, Call):
            return self._call(expr)
        raise TypeError(f"not an eval expression: {expr!r}")

    def _unary(self, expr: UnaryOp) -> Compiled:
        arg = self.compile(expr.arg)
        op = expr.op.upper()
        if op == "NOT":

            def negate(row: Any) -> Any:
                value = arg(row)
                return not value if isinstance(value, bool) else None

            return negate
        if op == "-":

            def minus(row: Any) -> Any:
                value = arg(row)
                number = None if isinstance(value, list) else to_number(value)
                return None if number is None else -number

            return minus
        if op == "+":
            return arg
        raise RuleglotError(f"unknown unary operator {expr.op!r}", construct=f"eval:{expr.op}")

    def _binary(self, expr: BinOp) -> Compiled:
        op = expr.op.upper()
        left, right = self.compile(expr.left), self.compile(expr.right)
        if op == "AND":
            return lambda row: left(row) is True and right(row) is True
        if op == "OR":
            return lambda row: left(row) is True or right(row) is True
        if op == "XOR":
            return lambda row: (left(row) is True) != (right(row) is True)
        if op in ("=", "==", "!=", "<", "<=", ">", ">="):
            return lambda row: _compare(op, left(row), right(row))
        if op == "LIKE":
            return lambda row: _like(left(row), right(row))
        if op == ".":
            return lambda row: _concat(left(row), right(row))
        if op == "+":
            literal = any(
                isinstance(side, Literal) and isinstance(side.value, str)
                for side in (expr.left, expr.right)
            )
            plus = _plus(literal)
            return lambda row: plus(left(row), right(row))
        if op in _ARITH:
            arith = _ARITH[op]
            return lambda row: arith(left(row), right(row))
        raise RuleglotError(f"unknown operator {expr.op!r}", construct=f"eval:{expr.op}")

    def _call(self, expr: Call) -> Compiled:
        name = expr.name.lower()
        special = getattr(self, f"_fn_{name}", None)
        if special is not None:
            # arity from the one table (ir.functions.SPECIAL_ARITY); case/validate's pairs are
            # checked by their compilers
            check_arity(name, len(expr.args), shown=expr.name)
            result: Compiled = special(expr)
            return result
        if name in UNSUPPORTED or name not in FUNCTIONS:
            raise RuleglotError(
                f"eval function {name}() is not supported", category="unsupported",
                construct=f"eval:{name}",
            )
        function = FUNCTIONS[name]
        check_arity(name, len(expr.args), shown=expr.name)
        for index in function.regex_args:
            if index < len(expr.args):
                arg = expr.args[index]
                if isinstance(arg, Literal) and isinstance(arg.value, str):
                    compile_regex(arg.value)
        args = tuple(self.compile(a) for a in expr.args)
        impl = function.impl
        if function.regex_args:
            impl = _positioned(impl, expr.span)
        if len(args) == 1:
            (only,) = args
            return lambda row: impl(only(row))
        if len(args) == 2:
            first, second = args
            return lambda row: impl(first(row), second(row))
        return lambda row: impl(*(a(row) for a in args))

    # --- special forms ---------------------------------------------------------------------

    def _fn_if(self, expr: Call) -> Compiled:
        """``if(X, Y, Z)``: Y when X is true, else Z (null or false X gives Z)."""
        test, yes, no = (self.compile(a) for a in expr.args)
        return lambda row: yes(row) if test(row) is True else no(row)

    def _fn_case(self, expr: Call) -> Compiled:
        """``case(X1, Y1, X2, Y2, ...)``: the Y of the first true X; null if none is."""
        if not expr.args or len(expr.args) % 2:
            raise RuleglotError("case() takes pairs of condition and value",
                                construct="eval:case")
        parts = [self.compile(a) for a in expr.args]
        pairs = list(zip(parts[::2], parts[1::2], strict=True))

        def run(row: Any) -> Any:
            for test, value in pairs:
                if test(row) is True:
                    return value(row)
            return None

        return run

    def _fn_validate(self, expr: Call) -> Compiled:
        """``validate(X1, Y1, ...)``: the Y of the first X that is not true; null if all are."""
        if not expr.args or len(expr.args) % 2:
            raise RuleglotError("validate() takes pairs of condition and value",
                                construct="eval:validate")
        parts = [self.compile(a) for a in expr.args]
        pairs = list(zip(parts[::2], parts[1::2], strict=True))

        def run(row: Any) -> Any:
            for test, value in pairs:
                if test(row) is not True:
                    return value(row)
            return None

        return run

    def _fn_coalesce(self, expr: Call) -> Compiled:
        """``coalesce(X, ...)``: the first argument that is not null (an empty string is not
        null)."""
        args = [self.compile(a) for a in expr.args]

        def run(row: Any) -> Any:
            for arg in args:
                value = arg(row)
                if value is not None:
                    return value
            return None

        return run

    def _bind_target(self, expr: EvalExpr, function: str) -> str:
        names = list(dict.fromkeys(field_names(expr)))
        if len(names) != 1:
            raise RuleglotError(
                f"{function}() needs an expression over exactly one field, not {names}",
                construct=f"eval:{function}",
            )
        return self.name(names[0])

    def _fn_mvfilter(self, expr: Call) -> Compiled:
        """``mvfilter(X)``: the values of the one field X names for which X is true."""
        body = expr.args[0]
        target = self._bind_target(body, "mvfilter")
        test = self.compile(body)

        def run(row: Any) -> Any:
            raw = row.get(target)
            values = [] if raw is MISSING else values_of(field_value(raw))
            return mv(v for v in values if test(_Bound(row, target, v)) is True)

        return run

    def _fn_mvmap(self, expr: Call) -> Compiled:
        """``mvmap(X, Y)``: Y computed for each value of the field X (Y names X)."""
        field, body = expr.args
        if not isinstance(field, FieldValue):
            raise RuleglotError("mvmap() needs a field as its first argument",
                                construct="eval:mvmap")
        target = self.name(field.name)
        each = self.compile(body)

        def run(row: Any) -> Any:
            raw = row.get(target)
            values = [] if raw is MISSING else values_of(field_value(raw))
            out: list[Any] = []
            for v in values:
                out.extend(values_of(each(_Bound(row, target, v))))
            return mv(out)

        return run

    def _fn_now(self, expr: Call) -> Compiled:
        """``now()``: the time the search started (fixed for one compilation)."""
        stamp = tidy_number(self.now)
        return lambda row: stamp

    def _fn_time(self, expr: Call) -> Compiled:
        """``time()``: the wall-clock time when the function runs, with microseconds."""
        return lambda row: _time.time()


def compile_eval(
    expr: EvalExpr, *, aliases: Mapping[str, str] | None = None, now: float | None = None
) -> Compiled:
    """``expr`` compiled once into ``row -> value``; ``aliases`` renames the fields it reads
    (as for predicates); ``now`` is ``now()``'s value (default: the time of this call).
    Raises :class:`RuleglotError` for unknown functions and wrong arities."""
    return _Compiler(aliases or {}, _time.time() if now is None else now).compile(expr)


def compile_condition(
    condition: Condition, aliases: Mapping[str, str] | None = None, now: float | None = None
) -> Callable[[Any], bool]:
    """A filter leaf: holds when its expression is exactly true (SPL ``where``)."""
    try:
        compiled = compile_eval(condition.expr, aliases=aliases, now=now)
    except RuleglotError as err:
        raise err.at(condition.span) from None
    return lambda row: compiled(row) is True


def evaluate(expr: EvalExpr, row: Any, **options: Any) -> Any:
    """Compile and run once (for tests and one-off use)."""
    return compile_eval(expr, **options)(row)


__all__ = ["Compiled", "compile_condition", "compile_eval", "evaluate", "field_names", "holds"]
