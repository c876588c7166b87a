"""What the Spark stage lowerings share: filters over pipeline rows, the aggregation tables
and their SQL finishers, the evaluator's own UDFs (``bin``'s number, Python-exact
aggregations), wildcard field names and Java time formats.

Each piece has the meaning of :mod:`ir.pipeline` (cited there); :mod:`backends.spark.pipeline`
documents the whole lowering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from backends.spark.evalexpr import (
    EvalCompiler,
)
from backends.spark.predicates import FieldView, PredicateCompiler, Reads
from backends.spark.values import (
    SQL_NULL,
    VALUE,
    State,
    as_multivalue,
    decode,
    decode_scalar,
    encode,
    let_in,
    number_scalar,
)
from ir.errors import RuleglotError, Span, unsupported
from ir.events import MISSING
from ir.functions import (
    field_value,
)
from ir.nodes import (
    Aggregation,
    Condition,
    Expr,
)
from ir.pipeline import (
    PERCENTILE,
    bin_time_number,
)
from ir.pipeline import aggregate as evaluator_aggregate

#: The number ``bin`` floors in a ``_time`` value: the evaluator's own reading.

bin_number = bin_time_number


def cell_bin_number(cell: Any) -> float | None:
    """:func:`bin_number` of a :data:`VALUE` cell (a Python UDF: values stages computed)."""
    value = decode(cell)
    return bin_number(None if value is MISSING else field_value(value))


def _cell_aggregate(function: str, cells: Any) -> Any:
    """The evaluator's own aggregation (``ir.pipeline.aggregate``) of the values of a group
    (a Python UDF, one call per group: its arithmetic is Python's, exactly)."""
    values = [decode_scalar(s) for s in cells or ()]
    result = evaluator_aggregate(function, values, [], len(values))
    cell = encode(result)
    return None if cell is None else [(*scalar, None) for scalar in cell]


# --- filters over pipeline rows ----------------------------------------------------------------


class RowFields(FieldView):
    """Predicates over pipeline values: a field's struct (``isnull``, ``vals``) as the
    evaluator's event model sees a row's value (``text_of``, ``str.lower``, ``number_of``)."""

    def __init__(self, state: State) -> None:
        super().__init__({}, None, Reads())
        self.state = state

    def column(self, name: str) -> str:
        v = self.state.column(name)
        text = "IF(s.k = 'f' AND s.j IS NULL, CAST(s.n AS STRING), s.t)"
        kind = "CASE s.k WHEN 'i' THEN 'n' WHEN 'f' THEN 'n' ELSE s.k END"
        number = "IF(s.k = 'b', CAST(NULL AS DOUBLE), s.n)"
        return (
            f"IF({v} IS NULL, NULL, named_struct('isnull', exists({v}, s -> s.k = 'z' AND s.j = "
            f"'null'), 'vals', transform(filter({v}, s -> s.k <> 'z'), s -> "
            f"named_struct('t', {text}, 'l', lower({text}), 'k', {kind}, 'n', {number}))))"
        )

    def all_values(self) -> str:
        raise RuleglotError(
            "a field-less predicate after a pipeline stage is not compiled to Spark",
            category="unsupported",
            construct="field-less predicate",
        )


class Predicates(PredicateCompiler):
    """Filters with :class:`~ir.nodes.Condition` leaves compiled by :class:`EvalCompiler`."""

    def __init__(self, view: FieldView, evals: EvalCompiler) -> None:
        super().__init__(view)
        self.evals = evals

    def _expr(self, expr: Expr) -> str:
        if isinstance(expr, Condition):
            try:
                return self.evals.cond(expr.expr)
            except RuleglotError as err:
                raise err.at(expr.span) from None
        return super()._expr(expr)


# --- stages --------------------------------------------------------------------------------------

Step = Callable[[DataFrame], DataFrame]
STATS = {
    "count",
    "c",
    "dc",
    "distinct_count",
    "estdc",
    "values",
    "list",
    "min",
    "max",
    "sum",
    "avg",
    "mean",
    "earliest",
    "latest",
    "first",
    "last",
    "range",
}


#: Aggregations computed by the evaluator's own code on each group's collected values (a
#: Python UDF): their float arithmetic (``statistics``' exact variance, interpolation) is
#: Python's, which Spark's SQL would only approximate.
_PYTHON_STATS = {"stdev", "stdevp", "var", "varp", "median", "mode", "sumsq"}
#: ``Stats.options`` that are notes, not options (a Sigma correlation's, see
#: :mod:`backends.sigma.correlation`): the evaluator's ``stats`` reads none of them.
NOTE_OPTIONS = {"timespan", "approximation"}


def python_aggregation(function: str) -> bool:
    return function in _PYTHON_STATS or PERCENTILE.fullmatch(function) is not None


def finisher(agg: Aggregation, column: str) -> Any:
    """The column of an aggregation's value from its collected ``(o, m, v)`` structs."""
    function = agg.function.lower()
    if python_aggregation(function):
        udf = F.udf(_cell_aggregate, VALUE)
        values = F.expr(f"flatten(transform(array_sort(`{column}`), r -> r.v))")
        return udf(F.lit(function), values).alias(column)
    return F.expr(_finish(function, column, agg.argument is None)).alias(column)




def wildcard_matches(pattern: str, name: str) -> bool:
    if name in ("_raw", "_time") and not pattern.startswith("_"):
        return False
    rx = re.compile("(.*?)".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)
    return rx.fullmatch(name) is not None


_TIME_VARS = {
    "Y": "yyyy",
    "m": "MM",
    "d": "dd",
    "H": "HH",
    "M": "mm",
    "S": "ss",
    "T": "HH:mm:ss",
    "F": "yyyy-MM-dd",
}


def java_time_format(fmt: str, span: Span | None) -> str:
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(f"'{text}'")
            literal.clear()

    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            var = fmt[i + 1]
            if var == "%":
                literal.append("%")
            elif var in _TIME_VARS:
                flush()
                out.append(_TIME_VARS[var])
            else:
                raise unsupported(
                    construct="convert:timeformat",
                    message=f"time format variable %{var} is not compiled to Spark",
                    span=span,
                )
            i += 2
            continue
        literal.append(fmt[i])
        i += 1
    flush()
    return "".join(out)


def value_keys(scalar: str) -> list[Any]:
    """Sort keys of SPL's order for one scalar: numbers first (numerically), then IPv4
    addresses (as addresses), then texts (by code point)."""
    ipv4 = "'^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$'"  # noqa: E501
    ipnum = (
        f"IF({scalar}.t RLIKE {ipv4}, aggregate(split({scalar}.t, '\\\\.'), 0L, "
        f"(acc, o) -> acc * 256 + CAST(o AS BIGINT)), NULL)"
    )
    return [
        F.expr(f"IF({scalar}.n IS NOT NULL AND {scalar}.k <> 'b', 0, 1)"),
        F.expr(f"IF({scalar}.k <> 'b', {scalar}.n, NULL)"),
        F.expr(ipnum),
        F.expr(f"{scalar}.t"),
    ]


def _finish(function: str, column: str, no_argument: bool) -> str:
    """The aggregation's value from the collected ``(o: row order, m: _time, v: values)``."""
    c = f"`{column}`"
    if no_argument:
        return f"array({number_scalar(f'{c}', repr('i'))})"
    values = f"flatten(transform(array_sort({c}), r -> r.v))"
    timed = (
        f"flatten(transform(array_sort({c}), r -> transform(r.v, v -> "
        f"named_struct('m', r.m, 'v', v))))"
    )
    nums = "filter(__L__, x -> x.n IS NOT NULL AND x.k <> 'b')"
    strs = "filter(__L__, x -> NOT (x.n IS NOT NULL AND x.k <> 'b'))"

    def over(body: str, source: str = values) -> str:
        return let_in(source, lambda a: body.replace("__L__", a))

    def first_by(array: str, better: str) -> str:
        return f"aggregate({array}, {array}[0], (acc, x) -> IF({better}, x, acc))"

    def total(array: str) -> str:
        return f"aggregate({array}, 0D, (acc, x) -> acc + x.n)"

    def tidy(n: str) -> str:
        kind = f"IF({n} = floor({n}) AND abs({n}) < 9007199254740992D, 'i', 'f')"
        return f"array({number_scalar(n, kind)})"

    if function in ("count", "c"):
        return over(f"array({number_scalar('CAST(size(__L__) AS DOUBLE)', repr('i'))})")
    if function in ("dc", "distinct_count", "estdc"):
        return over(
            f"array({number_scalar('CAST(size(array_distinct(transform(__L__, x -> x.t))) AS DOUBLE)', repr('i'))})"  # noqa: E501
        )
    if function == "values":
        indexed = "transform(__L__, (x, i) -> named_struct('t', x.t, 'i', i, 'x', x))"
        return over(
            let_in(
                f"array_sort({indexed})",
                lambda s: as_multivalue(
                    f"transform(filter({s}, (y, j) -> j = 0 OR {s}[j - 1].t <> y.t), y -> y.x)"
                ),
            )
        )
    if function == "list":
        return over(as_multivalue("slice(__L__, 1, 100)"))
    if function in ("first", "last"):
        return over(
            f"IF(size(__L__) = 0, {SQL_NULL}, array(element_at(__L__, {1 if function == 'first' else -1})))"  # noqa: E501
        )
    if function in ("min", "max"):
        if function == "max":
            body = (
                f"CASE WHEN size({strs}) > 0 THEN array({first_by(strs, 'x.t > acc.t')}) "
                f"WHEN size({nums}) > 0 THEN array({first_by(nums, 'x.n > acc.n')}) "
                f"ELSE {SQL_NULL} END"
            )
        else:
            body = (
                f"CASE WHEN size({nums}) > 0 THEN array({first_by(nums, 'x.n < acc.n')}) "
                f"WHEN size({strs}) > 0 THEN array({first_by(strs, 'x.t < acc.t')}) "
                f"ELSE {SQL_NULL} END"
            )
        return over(body)
    if function in ("earliest", "latest"):
        sign = "<" if function == "earliest" else ">"
        pick = first_by("filter(__L__, x -> x.m IS NOT NULL)", f"x.m {sign} acc.m")
        timed_value = f"IF(exists(__L__, x -> x.m IS NOT NULL), array(({pick}).v), {SQL_NULL})"
        return over(timed_value, timed)
    if function == "sum":
        return over(f"IF(size({nums}) > 0, {let_in(total(nums), tidy)}, {SQL_NULL})")
    if function in ("avg", "mean"):
        mean = let_in(f"{total(nums)} / size({nums})", tidy)
        return over(f"IF(size({nums}) > 0, {mean}, {SQL_NULL})")
    if function == "range":
        return over(
            f"IF(size({nums}) > 0, {let_in(f'array_max(transform({nums}, x -> x.n)) - array_min(transform({nums}, x -> x.n))', tidy)}, {SQL_NULL})"  # noqa: E501
        )
    raise AssertionError(function)


