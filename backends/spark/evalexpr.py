"""Eval expressions (:mod:`ir.evalexpr`) lowered to Spark SQL over :data:`VALUE` columns,
driven by tables: :data:`FUNCTION_LOWERINGS` and :data:`CONDITION_LOWERINGS` map each IR eval
function to the method that writes it, arity is :func:`ir.functions.check_arity`'s (read from
:data:`ir.functions.FUNCTIONS`), and what the tables lack is :data:`UNSUPPORTED_FUNCTIONS`.
The meaning of each function is the evaluator's (:mod:`ir.functions`, with its Splunk
references); what differs is listed in :mod:`backends.spark.pipeline`'s module docstring."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from backends.spark.predicates import sql_string
from backends.spark.regex import to_java
from backends.spark.values import (
    SQL_EMPTY,
    SQL_NULL,
    State,
    as_multivalue,
    bool_value,
    int_or_float,
    is_int,
    let_in,
    new_var,
    number_scalar,
    per_value,
    read_value,
    sql_literal,
    string_scalar,
)
from ir.errors import RuleglotError, unsupported
from ir.functions import (
    FUNCTIONS,
    SPECIAL_FORMS,
    check_arity,
    like_regex,
    pcre_to_python,
    tidy_number,
    to_number,
)
from ir.nodes import BinOp, Call, EvalExpr, FieldValue, Literal, UnaryOp


class EvalCompiler:
    """:mod:`ir.evalexpr` as Spark SQL over :data:`VALUE` columns: :meth:`value` gives the
    value, :meth:`cond` a never-null boolean "the value is exactly true"."""

    def __init__(self, state: State, now: float) -> None:
        self.state = state
        self.now = now

    def value(self, expr: EvalExpr) -> str:
        try:
            return self._value(expr)
        except RuleglotError as err:
            raise err.at(getattr(expr, "span", None)) from None

    def cond(self, expr: EvalExpr) -> str:
        try:
            direct = self._cond(expr)
        except RuleglotError as err:
            raise err.at(getattr(expr, "span", None)) from None
        if direct is not None:
            return direct
        v = self.value(expr)
        return let_in(
            v, lambda a: f"coalesce(size({a}) = 1 AND {a}[0].k = 'b' AND {a}[0].t = 'true', false)"
        )

    # booleans computed directly (None: through the value)
    def _cond(self, expr: EvalExpr) -> str | None:
        if isinstance(expr, BinOp):
            op = expr.op.upper()
            if op == "AND":
                return f"({self.cond(expr.left)} AND {self.cond(expr.right)})"
            if op == "OR":
                return f"({self.cond(expr.left)} OR {self.cond(expr.right)})"
            if op == "XOR":
                return f"({self.cond(expr.left)} <> {self.cond(expr.right)})"
            if op in ("=", "==", "!=", "<", "<=", ">", ">="):
                return self._compare(op, self.value(expr.left), self.value(expr.right))
            if op == "LIKE":
                return self._like(expr.left, expr.right)
        if isinstance(expr, UnaryOp) and expr.op.upper() == "NOT":
            v = self.value(expr.arg)
            return let_in(
                v,
                lambda a: (
                    f"coalesce(size({a}) = 1 AND {a}[0].k = 'b' AND {a}[0].t = 'false', false)"
                ),
            )
        if isinstance(expr, Call):
            lower = CONDITION_LOWERINGS.get(expr.name.lower())
            if lower is not None:
                check_arity(expr.name.lower(), len(expr.args))
                return lower(self, expr)
        if isinstance(expr, Literal) and isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        return None

    # boolean functions (CONDITION_LOWERINGS)
    def _fn_isnull(self, expr: Call) -> str:
        return f"({self.value(expr.args[0])} IS NULL)"

    def _fn_isnotnull(self, expr: Call) -> str:
        return f"({self.value(expr.args[0])} IS NOT NULL)"

    def _fn_match(self, expr: Call) -> str:
        java = self._regex(expr.args[1], "match")
        return self._any(self.value(expr.args[0]), lambda s: f"{s}.t RLIKE {sql_string(java)}")

    def _fn_like(self, expr: Call) -> str:
        return self._like(expr.args[0], expr.args[1])

    def _fn_in(self, expr: Call) -> str:
        subject = self.value(expr.args[0])
        tests = []
        for arg in expr.args[1:]:
            c = self.value(arg)
            tests.append(
                lambda s, c=c: let_in(
                    c, lambda b: f"({b} IS NOT NULL AND {self._equal(s, f'{b}[0]')})"
                )
            )
        if not tests:
            return "false"
        return self._any(subject, lambda s: " OR ".join(t(s) for t in tests))

    def _fn_true(self, expr: Call) -> str:
        return "true"

    def _fn_false(self, expr: Call) -> str:
        return "false"

    @staticmethod
    def _any(value: str, test: Callable[[str], str]) -> str:
        var = new_var()
        return f"coalesce(exists({value}, {var} -> {test(var)}), false)"

    @staticmethod
    def _equal(a: str, b: str) -> str:
        return (
            f"(CASE WHEN {a}.n IS NOT NULL AND {b}.n IS NOT NULL THEN {a}.n = {b}.n "
            f"ELSE {a}.t = {b}.t END)"
        )

    def _compare(self, op: str, left: str, right: str) -> str:
        x, y = new_var(), new_var()
        if op in ("=", "==", "!="):
            pair = self._equal(x, y)
        else:
            sign = op
            pair = (
                f"(CASE WHEN {x}.n IS NOT NULL AND {y}.n IS NOT NULL THEN {x}.n {sign} {y}.n "
                f"ELSE {x}.t {sign} {y}.t END)"
            )
        some = f"exists({left}, {x} -> exists({right}, {y} -> {pair}))"
        both = f"{left} IS NOT NULL AND {right} IS NOT NULL"
        if op == "!=":
            return f"coalesce({both} AND NOT {some}, false)"
        return f"coalesce({both} AND {some}, false)"

    def _like(self, subject: EvalExpr, pattern: EvalExpr) -> str:
        if not (isinstance(pattern, Literal) and isinstance(pattern.value, str)):
            raise unsupported(
                construct="eval:like",
                message="like() with a pattern that is not a string literal "
                "is not compiled to Spark",
                span=getattr(pattern, "span", None),
            )
        body = like_regex(pattern.value).pattern
        java = to_java(r"\A(?:" + body + r")\Z", "s")
        return self._any(self.value(subject), lambda s: f"{s}.t RLIKE {sql_string(java)}")

    def _regex(self, arg: EvalExpr, function: str) -> str:
        if not (isinstance(arg, Literal) and isinstance(arg.value, str)):
            raise unsupported(
                construct=f"eval:{function}",
                message=f"{function}() with a regex that is not a string literal "
                "is not compiled to Spark",
                span=getattr(arg, "span", None),
            )
        return to_java(pcre_to_python(arg.value), "")

    def _value(self, expr: EvalExpr) -> str:
        direct = self._cond(expr)
        if direct is not None:
            return bool_value(direct)
        if isinstance(expr, Literal):
            return sql_literal(expr.value)
        if isinstance(expr, FieldValue):
            return read_value(self.state.column(expr.name))
        if isinstance(expr, UnaryOp):
            op = expr.op.upper()
            if op == "+":
                return self.value(expr.arg)
            if op == "-":
                v = self.value(expr.arg)
                return let_in(
                    v,
                    lambda a: (
                        f"IF(size({a}) = 1 AND {a}[0].n IS NOT NULL, array("
                        f"{number_scalar('-' + a + '[0].n', int_or_float(a + '[0]'))}), {SQL_NULL})"
                    ),
                )
            raise RuleglotError(f"unknown unary operator {expr.op!r}", construct=f"eval:{expr.op}")
        if isinstance(expr, BinOp):
            return self._binary(expr)
        if isinstance(expr, Call):
            return self._call(expr)
        raise TypeError(f"not an eval expression: {expr!r}")

    def _binary(self, expr: BinOp) -> str:
        op = expr.op.upper()
        left, right = self.value(expr.left), self.value(expr.right)
        if op == ".":
            return let_in(
                left,
                lambda a: let_in(
                    right,
                    lambda b: (
                        f"IF(size({a}) = 1 AND size({b}) = 1, array({string_scalar(f'concat({a}[0].t, {b}[0].t)')}), {SQL_NULL})"  # noqa: E501
                    ),
                ),
            )
        if op == "+":
            literal = any(
                isinstance(s, Literal) and isinstance(s.value, str) for s in (expr.left, expr.right)
            )
            return let_in(left, lambda a: let_in(right, lambda b: self._plus(a, b, literal)))
        if op in ("-", "*", "/", "%"):
            return let_in(left, lambda a: let_in(right, lambda b: self._arith(op, a, b)))
        raise RuleglotError(f"unknown operator {expr.op!r}", construct=f"eval:{expr.op}")

    @staticmethod
    def _arith(op: str, a: str, b: str) -> str:
        x, y = f"{a}[0]", f"{b}[0]"
        ints = f"({is_int(x)} AND {is_int(y)})"
        if op == "-":
            n, k = f"({x}.n - {y}.n)", f"IF({ints}, 'i', 'f')"
        elif op == "*":
            n, k = f"({x}.n * {y}.n)", f"IF({ints}, 'i', 'f')"
        elif op == "/":
            n = f"({x}.n / {y}.n)"
            k = f"IF({ints} AND {x}.n - {y}.n * floor({x}.n / {y}.n) = 0, 'i', 'f')"
        else:
            n, k = f"({x}.n - {y}.n * floor({x}.n / {y}.n))", f"IF({ints}, 'i', 'f')"
        guard = f"size({a}) = 1 AND size({b}) = 1 AND {x}.n IS NOT NULL AND {y}.n IS NOT NULL"
        if op in ("/", "%"):
            guard += f" AND {y}.n <> 0"
        return f"IF({guard}, array({number_scalar(n, k)}), {SQL_NULL})"

    @staticmethod
    def _plus(a: str, b: str, literal: bool) -> str:
        x, y = f"{a}[0]", f"{b}[0]"
        single = f"size({a}) = 1 AND size({b}) = 1"
        concat = f"array({string_scalar(f'concat({x}.t, {y}.t)')})"
        if literal:
            return f"IF({single} AND {x}.k <> 'b' AND {y}.k <> 'b', {concat}, {SQL_NULL})"
        ints = f"({is_int(x)} AND {is_int(y)})"
        kind = f"IF({ints}, 'i', 'f')"
        number = f"array({number_scalar(f'({x}.n + {y}.n)', kind)})"
        return (
            f"CASE WHEN NOT ({single}) THEN {SQL_NULL} "
            f"WHEN {x}.n IS NOT NULL AND {y}.n IS NOT NULL THEN {number} "
            f"WHEN {x}.k = 's' AND {y}.k = 's' THEN {concat} ELSE {SQL_NULL} END"
        )

    def _call(self, expr: Call) -> str:
        name = expr.name.lower()
        lower = FUNCTION_LOWERINGS.get(name)
        if lower is None:
            raise unsupported(
                construct=f"eval:{name}",
                message=f"eval function {name}() is not compiled to Spark",
                span=expr.span,
            )
        if name != "case":  # case() checks its pairs itself
            check_arity(name, len(expr.args))
        return lower(self, expr)

    def _literal_arg(self, expr: Call, index: int, kind: type | tuple[type, ...]) -> Any:
        arg = expr.args[index]
        if not (
            isinstance(arg, Literal)
            and isinstance(arg.value, kind)
            and not (kind is not bool and isinstance(arg.value, bool))
        ):
            raise unsupported(
                construct=f"eval:{expr.name.lower()}",
                message=f"{expr.name}() is compiled to Spark with constant arguments only",
                span=getattr(arg, "span", expr.span),
            )
        return arg.value

    def _fn_if(self, expr: Call) -> str:
        test, yes, no = expr.args
        return f"CASE WHEN {self.cond(test)} THEN {self.value(yes)} ELSE {self.value(no)} END"

    def _fn_case(self, expr: Call) -> str:
        if not expr.args or len(expr.args) % 2:
            raise RuleglotError("case() takes pairs of condition and value", construct="eval:case")
        parts = [
            f"WHEN {self.cond(t)} THEN {self.value(v)}"
            for t, v in zip(expr.args[::2], expr.args[1::2], strict=True)
        ]
        return f"CASE {' '.join(parts)} ELSE {SQL_NULL} END"

    def _fn_coalesce(self, expr: Call) -> str:
        return f"coalesce({', '.join(self.value(a) for a in expr.args)})"

    def _fn_null(self, expr: Call) -> str:
        return SQL_NULL

    def _fn_now(self, expr: Call) -> str:
        return sql_literal(tidy_number(self.now))

    def _text_fn(self, expr: Call, each: Callable[[str], str]) -> str:
        return per_value(self.value(expr.args[0]), lambda s: string_scalar(each(f"{s}.t")))

    def _fn_lower(self, expr: Call) -> str:
        return self._text_fn(expr, lambda t: f"lower({t})")

    def _fn_upper(self, expr: Call) -> str:
        return self._text_fn(expr, lambda t: f"upper({t})")

    def _strip(self, expr: Call, side: str) -> str:
        chars = " \t" if len(expr.args) == 1 else self._literal_arg(expr, 1, str)
        if chars == "":
            return self._text_fn(expr, lambda t: t)
        return self._text_fn(expr, lambda t: f"trim({side} {sql_string(chars)} FROM {t})")

    def _fn_trim(self, expr: Call) -> str:
        return self._strip(expr, "BOTH")

    def _fn_ltrim(self, expr: Call) -> str:
        return self._strip(expr, "LEADING")

    def _fn_rtrim(self, expr: Call) -> str:
        return self._strip(expr, "TRAILING")

    def _fn_len(self, expr: Call) -> str:
        return per_value(
            self.value(expr.args[0]),
            lambda s: number_scalar(f"CAST(char_length({s}.t) AS DOUBLE)", "'i'"),
        )

    def _fn_replace(self, expr: Call) -> str:
        python = pcre_to_python(str(self._literal_arg(expr, 1, str)))
        java = to_java(python, "")
        groups = re.compile(python).groups
        template = self._literal_arg(expr, 2, str)
        out: list[str] = []
        i = 0
        while i < len(template):
            char = template[i]
            if char == "\\" and i + 1 < len(template):
                digits = re.match(r"\d{1,2}", template[i + 1 :])
                if digits:
                    number = int(digits.group(0))
                    following = template[
                        i + 1 + len(digits.group(0)) : i + 2 + len(digits.group(0))
                    ]
                    if number > groups or following.isdigit():
                        raise unsupported(
                            construct="eval:replace",
                            message="replace() with a group reference "
                            "Java reads differently is not compiled to Spark",
                            span=expr.span,
                        )
                    out.append(f"${number}")
                    i += 1 + len(digits.group(0))
                    continue
                literal = template[i + 1] if template[i + 1] == "\\" else template[i : i + 2]
                out.extend("\\" + c if c in "\\$" else c for c in literal)
                i += 2
                continue
            out.append("\\" + char if char in "\\$" else char)
            i += 1
        replacement = "".join(out)
        return self._text_fn(
            expr, lambda t: f"regexp_replace({t}, {sql_string(java)}, {sql_string(replacement)})"
        )

    def _fn_substr(self, expr: Call) -> str:
        start = to_number(self._literal_arg(expr, 1, (int, float, str)))
        length = None
        if len(expr.args) == 3:
            length = to_number(self._literal_arg(expr, 2, (int, float, str)))
            if length is None or length < 0:
                return SQL_NULL
        if start is None:
            return SQL_NULL
        first = int(start)

        def each(t: str) -> str:
            begin = (
                f"{first - 1}"
                if first > 0
                else f"greatest(char_length({t}) + ({first}), 0)"
                if first < 0
                else "0"
            )
            if length is None:
                return f"substring({t}, {begin} + 1)"
            return f"substring({t}, {begin} + 1, {int(length)})"

        return self._text_fn(expr, each)

    def _fn_split(self, expr: Call) -> str:
        delimiter = self._literal_arg(expr, 1, str)
        if delimiter == "":
            raise unsupported(
                construct="eval:split",
                message="split() with an empty delimiter is not compiled to Spark",
                span=expr.span,
            )
        java = sql_string(re.escape(delimiter))
        value = self.value(expr.args[0])
        var, piece = new_var(), new_var()
        return as_multivalue(
            f"flatten(transform(coalesce({value}, {SQL_EMPTY}), {var} -> transform(split({var}.t, "
            f"{java}, -1), {piece} -> {string_scalar(piece)})))"
        )

    def _fn_mvcount(self, expr: Call) -> str:
        return let_in(
            self.value(expr.args[0]),
            lambda a: (
                f"IF({a} IS NULL, {SQL_NULL}, array({number_scalar(f'CAST(size({a}) AS DOUBLE)', repr('i'))}))"  # noqa: E501
            ),
        )

    def _fn_mvindex(self, expr: Call) -> str:

        def number(arg: EvalExpr) -> str:
            """``int(to_number(X))`` of a single value (null otherwise)."""
            return let_in(
                self.value(arg),
                lambda v: f"IF(size({v}) = 1 AND {v}[0].k <> 'b', CAST({v}[0].n AS BIGINT), NULL)",
            )

        start = number(expr.args[1])
        end = number(expr.args[2]) if len(expr.args) == 3 else None

        def body(a: str, first: str, last: str | None) -> str:
            lo = f"IF({first} < 0, {first} + size({a}), {first})"
            valid = f"{a} IS NOT NULL AND {first} IS NOT NULL AND {lo} >= 0 AND {lo} < size({a})"
            if last is None:
                return f"IF({valid}, array(element_at({a}, CAST({lo} + 1 AS INT))), {SQL_NULL})"
            hi = f"least(IF({last} < 0, {last} + size({a}), {last}), size({a}) - 1)"
            return (
                f"IF({valid} AND {last} IS NOT NULL AND {hi} >= {lo}, "
                f"slice({a}, CAST({lo} + 1 AS INT), CAST({hi} - {lo} + 1 AS INT)), {SQL_NULL})"
            )

        if end is None:
            return let_in(
                self.value(expr.args[0]), lambda a: let_in(start, lambda f: body(a, f, None))
            )
        stop = end
        return let_in(
            self.value(expr.args[0]),
            lambda a: let_in(start, lambda f: let_in(stop, lambda t: body(a, f, t))),
        )

    def _fn_mvjoin(self, expr: Call) -> str:
        delimiter = self._literal_arg(expr, 1, str)
        return let_in(
            self.value(expr.args[0]),
            lambda a: (
                f"IF({a} IS NULL, {SQL_NULL}, array({string_scalar(f'array_join(transform({a}, s -> s.t), {sql_string(delimiter)})')}))"  # noqa: E501
            ),
        )

    def _fn_mvfind(self, expr: Call) -> str:
        java = self._regex(expr.args[1], "mvfind")
        return let_in(
            self.value(expr.args[0]),
            lambda a: let_in(
                f"array_position(transform(coalesce({a}, {SQL_EMPTY}), s -> coalesce(s.t RLIKE "
                f"{sql_string(java)}, false)), true)",
                lambda p: (
                    f"IF({p} > 0, array({number_scalar(f'CAST({p} - 1 AS DOUBLE)', repr('i'))}), {SQL_NULL})"  # noqa: E501
                ),
            ),
        )

    def _fn_mvappend(self, expr: Call) -> str:
        parts = ", ".join(f"coalesce({self.value(a)}, {SQL_EMPTY})" for a in expr.args)
        return as_multivalue(f"flatten(array({parts}))")

    def _fn_abs(self, expr: Call) -> str:
        return per_value(
            self.value(expr.args[0]),
            lambda s: f"IF({s}.n IS NULL, NULL, {number_scalar(f'abs({s}.n)', int_or_float(s))})",
        )

    def _fn_round(self, expr: Call) -> str:
        places = 0
        if len(expr.args) == 2:
            number = to_number(self._literal_arg(expr, 1, (int, float, str)))
            if number is None:
                return SQL_NULL
            places = int(number)
        kind = "'i'" if places <= 0 else "'f'"
        return per_value(
            self.value(expr.args[0]),
            lambda s: f"IF({s}.n IS NULL, NULL, {number_scalar(f'round({s}.n, {places})', kind)})",
        )

    def _fn_tostring(self, expr: Call) -> str:
        """``tostring(X[, "hex"])`` as :func:`ir.functions.FUNCTIONS` ``tostring``: a boolean
        is ``True``/``False`` whatever the format; ``hex`` writes a number's integer part
        (``int``: towards zero) as ``0xFF``/``-0xFF``, a non-number keeps its text. The
        ``commas``/``duration`` formats (Python's rounding and formatting) are not lowered."""
        text = lambda s: string_scalar(f"{s}.t")  # noqa: E731
        if len(expr.args) == 2:
            fmt = self._literal_arg(expr, 1, str)
            if fmt == "hex":
                whole = lambda s: f"CAST({s}.n AS BIGINT)"  # noqa: E731
                hexed = lambda s: string_scalar(  # noqa: E731
                    f"concat(IF({whole(s)} < 0, '-0x', '0x'), upper(hex(abs({whole(s)}))))"
                )
                text = lambda s: f"IF({s}.n IS NULL, {string_scalar(f'{s}.t')}, {hexed(s)})"  # noqa: E731
            elif fmt in ("commas", "duration"):
                raise unsupported(
                    construct="eval:tostring",
                    message=f'tostring(X, "{fmt}") is not compiled to Spark',
                    span=getattr(expr.args[1], "span", expr.span),
                )
        return per_value(
            self.value(expr.args[0]),
            lambda s: f"IF({s}.k = 'b', {string_scalar(_capitalised(s))}, {text(s)})",
        )


def _capitalised(s: str) -> str:
    return f"IF({s}.t = 'true', 'True', 'False')"


Lowering = Callable[[EvalCompiler, Call], str]

#: The IR's boolean eval functions (:data:`ir.functions.FUNCTIONS`) lowered to a never-null
#: Spark SQL condition, each by the method that writes it.
CONDITION_LOWERINGS: dict[str, Lowering] = {
    "isnull": EvalCompiler._fn_isnull, "isnotnull": EvalCompiler._fn_isnotnull,
    "match": EvalCompiler._fn_match, "like": EvalCompiler._fn_like, "in": EvalCompiler._fn_in,
    "true": EvalCompiler._fn_true, "false": EvalCompiler._fn_false,
}  # fmt: skip

#: The IR's other eval functions and special forms lowered to a Spark SQL :data:`VALUE`.
#: Arity is never checked here: :func:`ir.functions.check_arity` reads the IR's own table.
FUNCTION_LOWERINGS: dict[str, Lowering] = {
    "if": EvalCompiler._fn_if, "case": EvalCompiler._fn_case,
    "coalesce": EvalCompiler._fn_coalesce, "null": EvalCompiler._fn_null,
    "now": EvalCompiler._fn_now, "lower": EvalCompiler._fn_lower,
    "upper": EvalCompiler._fn_upper, "trim": EvalCompiler._fn_trim,
    "ltrim": EvalCompiler._fn_ltrim, "rtrim": EvalCompiler._fn_rtrim,
    "len": EvalCompiler._fn_len, "replace": EvalCompiler._fn_replace,
    "substr": EvalCompiler._fn_substr, "split": EvalCompiler._fn_split,
    "mvcount": EvalCompiler._fn_mvcount, "mvindex": EvalCompiler._fn_mvindex,
    "mvjoin": EvalCompiler._fn_mvjoin, "mvfind": EvalCompiler._fn_mvfind,
    "mvappend": EvalCompiler._fn_mvappend, "abs": EvalCompiler._fn_abs,
    "round": EvalCompiler._fn_round, "tostring": EvalCompiler._fn_tostring,
}  # fmt: skip

#: Every IR eval function the Spark engine does not lower: derived, never kept by hand
#: (what compiling one raises is ``unsupported``, construct ``eval:<name>``).
UNSUPPORTED_FUNCTIONS = frozenset(
    (set(FUNCTIONS) | SPECIAL_FORMS) - set(FUNCTION_LOWERINGS) - set(CONDITION_LOWERINGS)
)

#: The eval operators lowered (:meth:`EvalCompiler._cond`, ``_binary``, ``_value``): every
#: one of :data:`ir.nodes.BINARY_OPERATORS` and :data:`ir.nodes.UNARY_OPERATORS`.
LOWERED_BINARY_OPERATORS = frozenset(
    {
        "AND",
        "OR",
        "XOR",
        "=",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "LIKE",
        ".",
        "+",
        "-",
        "*",
        "/",
        "%",
    }
)
LOWERED_UNARY_OPERATORS = frozenset({"NOT", "+", "-"})
