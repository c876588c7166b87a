"""Pipeline values as Spark SQL: the :data:`VALUE` column type, its encoding from and decoding
to the evaluator's Python values, SQL builders over it, and what the compiler knows of the rows
(:class:`State`). The meaning of a value is :mod:`backends.spark.pipeline`'s module docstring
("Values", "Rows"); this module only writes it, for :mod:`backends.spark.evalexpr` and the
stages of :mod:`backends.spark.pipeline`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from backends.spark.events import quoted
from backends.spark.predicates import sql_string
from ir.events import MISSING
from ir.functions import field_value, format_number, to_number
from ir.pipeline import Row

#: The Spark type of a pipeline value (module docstring).
VALUE = "array<struct<k:string,t:string,n:double,j:string>>"
SQL_NULL = f"CAST(NULL AS {VALUE})"
SQL_EMPTY = f"CAST(array() AS {VALUE})"
NO_JSON = "CAST(NULL AS STRING)"
NUMERIC_TEXT = "'^-?[0-9]+(\\\\.[0-9]+)?$'"



# --- encoding (Python side) ---------------------------------------------------------------


def _scalar(v: Any) -> tuple[str, str, float | None]:
    if isinstance(v, bool):
        return ("b", "true" if v else "false", None)
    if isinstance(v, int):
        return ("i", str(v), float(v))
    if isinstance(v, float):
        return ("f", format_number(v), v)
    text = str(v)
    number = to_number(text)
    return ("s", text, None if number is None else float(number))


def encode(value: Any) -> list[tuple[str, str, float | None]] | None:
    """An eval value (:mod:`ir.functions`) as a :data:`VALUE` cell."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_scalar(v) for v in value] or None
    return [_scalar(value)]


def encode_raw(raw: Any) -> list[tuple[str, str, float | None, str | None]] | None:
    """A field's raw value (``Row.get``; ``MISSING``: absent) as a :data:`VALUE` cell: its
    eval value (``field_value``), with the raw JSON (``j``) where the raw value is not that
    (booleans, objects, nested lists, nulls: stages that copy fields keep the raw value)."""
    if raw is MISSING:
        return None
    value = field_value(raw)
    plain = (isinstance(raw, (str, int, float)) and not isinstance(raw, bool)) or (
        isinstance(raw, list)
        and len(raw) >= 2
        and all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in raw)
    )
    try:
        j = None if plain else orjson.dumps(raw).decode()
    except TypeError:
        j = None
    if value is None:
        return [("z", "", None, j)]
    cell: list[tuple[str, str, float | None, str | None]] = [
        (*scalar, None) for scalar in encode(value) or []
    ]
    if cell and j is not None:
        cell[0] = (*cell[0][:3], j)
    return cell


def decode_scalar(s: Any) -> Any:
    k, t, n = s["k"], s["t"], s["n"]
    if k == "s":
        return t
    if k == "b":
        return t == "true"
    if k == "i":
        return int(n) if n is not None and abs(n) < 2**53 else int(t)
    return float(n)


def decode(cell: Any) -> Any:
    """A :data:`VALUE` cell as the evaluator's value (``None``: missing)."""
    if cell is None:
        return MISSING
    if not cell:
        return None
    if cell[0]["j"] is not None:
        return orjson.loads(cell[0]["j"])
    values = [decode_scalar(s) for s in cell]
    return values[0] if len(values) == 1 else values


# --- SQL helpers ---------------------------------------------------------------------------

_counter = itertools.count()


def new_var() -> str:
    return f"x{next(_counter)}"


def num_text(n: str, k: str) -> str:
    """:func:`ir.functions.format_number` of a double ``n`` of kind ``k`` (``'i'``/``'f'``)."""
    return (
        f"CASE WHEN {k} = 'i' THEN CAST(CAST({n} AS BIGINT) AS STRING) "
        f"WHEN isnan({n}) THEN 'nan' WHEN {n} = double('inf') THEN 'inf' "
        f"WHEN {n} = double('-inf') THEN '-inf' "
        f"WHEN {n} = floor({n}) AND abs({n}) < 1e16 THEN CAST(CAST({n} AS BIGINT) AS STRING) "
        f"ELSE CAST({n} AS STRING) END"
    )


def number_scalar(n: str, k: str) -> str:
    return f"named_struct('k', {k}, 't', {num_text(n, k)}, 'n', {n}, 'j', {NO_JSON})"


def string_scalar(t: str) -> str:
    return (
        f"named_struct('k', 's', 't', {t}, 'n', "
        f"CASE WHEN {t} RLIKE {NUMERIC_TEXT} THEN CAST({t} AS DOUBLE) END, 'j', {NO_JSON})"
    )


def bool_value(cond: str) -> str:
    return (
        f"array(named_struct('k', 'b', 't', IF({cond}, 'true', 'false'), "
        f"'n', CAST(NULL AS DOUBLE), 'j', {NO_JSON}))"
    )


def let_in(value: str, body: Callable[[str], str]) -> str:
    """``body`` over ``value`` computed once (a lambda binding keeps the SQL linear)."""
    var = new_var()
    return f"element_at(transform(array({value}), {var} -> {body(var)}), 1)"


def as_multivalue(array: str) -> str:
    """``mv``: an empty array is null."""
    return let_in(array, lambda a: f"IF(size({a}) > 0, {a}, {SQL_NULL})")


def per_value(value: str, each: Callable[[str], str]) -> str:
    """A function of single values over each value (``per_value``): ``each`` gives one
    scalar (or null, dropped) for a scalar."""
    var = new_var()
    return as_multivalue(f"filter(transform({value}, {var} -> {each(var)}), y -> y IS NOT NULL)")


def single_value(value: str) -> str:
    """The value's scalar when it is exactly one value, else null."""
    return f"IF(size({value}) = 1, {value}[0], NULL)"


def is_int(s: str) -> str:
    return f"({s}.k = 'i' OR ({s}.k = 's' AND NOT contains({s}.t, '.')))"


def int_or_float(s: str) -> str:
    return f"IF({is_int(s)}, 'i', 'f')"


def sql_literal(value: Any) -> str:
    cell = encode(value)
    if cell is None:
        return SQL_NULL
    parts = []
    for k, t, n in cell:
        number = "CAST(NULL AS DOUBLE)" if n is None else sql_double(n)
        parts.append(
            f"named_struct('k', '{k}', 't', {sql_string(t)}, 'n', {number}, 'j', {NO_JSON})"
        )
    return f"array({', '.join(parts)})"


def sql_double(n: float) -> str:
    if math.isnan(n):
        return "double('NaN')"
    if math.isinf(n):
        return "double('Infinity')" if n > 0 else "double('-Infinity')"
    return f"CAST({sql_string(repr(float(n)))} AS DOUBLE)"


# --- rows' state ---------------------------------------------------------------------------


@dataclass
class State:
    """What the compiler knows of the rows at a point of the pipeline."""

    open: bool = True  # rows stand for events: untouched fields are the event's
    cols: dict[str, str] = field(default_factory=dict)  # field -> column, fields stages set
    order: list[str] = field(default_factory=list)  # closed rows: their fields, in order
    loads: set[str] = field(default_factory=set)  # event fields read (ingested columns)
    times: set[str] = field(default_factory=set)  # event fields bin reads (their bin number)
    sources: set[str] = field(default_factory=set)  # _raw/_time read after a stage set them
    ordered: bool = False  # a sort/head made the row order part of the result
    fallback: dict[str, str] = field(default_factory=dict)  # closed rows' event _raw/_time

    def column(self, name: str) -> str:
        if name in self.cols:
            if self.open and name in INTERNAL:
                # a stage removed it: the row reads its event's again (``Row.get``)
                self.sources.add(name)
                return f"coalesce({quoted(self.cols[name])}, {quoted(source_column(name))})"
            return quoted(self.cols[name])
        if not self.open:
            return quoted(self.fallback[name]) if name in self.fallback else SQL_NULL
        self.loads.add(name)
        return quoted(load_column(name))


def load_column(name: str) -> str:
    return f"_p:{name}"


#: The fields an open row reads from its event when no stage left it one (``Row.get``).
INTERNAL = ("_raw", "_time")


def source_column(name: str) -> str:
    """The ingested column of an internal field's value from the event itself (``_raw``: its
    text, ``_time``: :func:`ir.pipeline.event_time`)."""
    return f"_e:{name}"


def source_value(row: Row, name: str) -> Any:
    """What ``Row.get`` reads for an internal field once no stage left the row one."""
    probe = Row({}, row.source)
    return probe.get(name)


def time_column(name: str) -> str:
    """The ingested column of the number ``bin`` reads in an event field (:func:`bin_number`)."""
    return f"_b:{name}"


def read_value(column: str) -> str:
    """A field's value as eval reads it (``field_value``): a present null is null, a stored
    boolean reads as its text, the raw JSON (``j``) is dropped."""
    return (
        f"IF(exists({column}, s -> s.k = 'z'), {SQL_NULL}, transform({column}, s -> named_struct("
        f"'k', IF(s.k = 'b', 's', s.k), 't', s.t, 'n', IF(s.k = 'b', CAST(NULL AS DOUBLE), s.n), "
        f"'j', {NO_JSON})))"
    )
