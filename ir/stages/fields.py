"""Stages that filter rows or choose, compute and rename their fields: ``search``/``where``
(:class:`~ir.nodes.Filter`), ``eval``, ``foreach``, ``rename``, ``table``/``fields`` and
``fillnull``. Filters run through the one evaluator (:func:`ir.evaluator.compile_expr`) and
eval expressions through :mod:`ir.evalexpr`; each stage's Splunk source is in its docstring.
"""

from __future__ import annotations

from typing import Any

from ir.errors import unsupported
from ir.evalexpr import compile_eval
from ir.evaluator import compile_expr
from ir.events import MISSING, Event
from ir.nodes import (
    FOREACH_FIELD,
    Eval,
    EvalExpr,
    FillNull,
    Filter,
    ForEach,
    Rename,
    Table,
    map_eval,
)
from ir.stages.rows import (
    Row,
    RowsFn,
    StageBuilder,
    as_row,
    field_names,
    fill_wildcards,
    invalid,
    put_field,
    row_value,
    wild_match,
)


def _filter(stage: Filter, now: float) -> RowsFn:
    """``search``/``where``/``regex`` (Search Reference, "search", "where", "regex"): keep the
    rows for which the filter holds, by :func:`ir.evaluator.compile_expr`."""
    matcher = compile_expr(stage.expr, now=now)
    return lambda rows: [r for r in rows if matcher(r)]


def _eval(stage: Eval, now: float) -> RowsFn:
    """``eval`` (Search Reference, "eval"): the assignments in order, each seeing the previous
    ones; a null result removes the field. A boolean result is stored as is (Splunk refuses
    to assign one; ruleglot keeps it and reads it back as ``true``/``false``)."""
    assignments = [(name, compile_eval(expr, now=now)) for name, expr in stage.assignments]

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            current = as_row(row).derive(dict(row.fields))
            for name, compute in assignments:
                value = compute(current)
                put_field(current.fields, name, value)
            out.append(current)
        return out

    return run


def _rename(stage: Rename, now: float) -> RowsFn:
    """``rename X AS Y, ...`` (Search Reference, "rename"): pairs in order; ``*`` in both names
    carries the matched text (``rename *_ip AS ip_*``). The new name replaces an existing field
    of that name; when the old field is missing, an existing field with the new name is
    removed (as OpenSearch PPL, which follows SPL, documents; the Splunk page is silent)."""
    pairs = list(stage.pairs)
    for old, new in pairs:
        if old.count("*") != new.count("*") and new.count("*"):
            raise invalid(f"rename {old} AS {new}: the wildcards must correspond", "rename",
                           stage.span)

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            current = as_row(row)
            fields = dict(current.fields)
            for old, new in pairs:
                if "*" in old:
                    for name in list(field_names(Row(fields, current.source))):
                        match = wild_match(old, name)
                        if match is None:
                            continue
                        value = Row(fields, current.source).get(name)
                        fields.pop(name, None)
                        fields[fill_wildcards(new, match.groups())] = value
                    continue
                value = Row(fields, current.source).get(old)
                fields.pop(old, None)
                put_field(fields, new, value, MISSING)
            out.append(current.derive(fields))
        return out

    return run


def _table(stage: Table, now: float) -> RowsFn:
    """``table`` (Search Reference, "table"): only the listed fields, in the listed order
    (a wildcard lists the matching fields in name order); ``_raw`` and ``_time`` only if
    listed. ``fields f ...`` keeps the listed fields and the internal ``_raw`` and ``_time``;
    ``fields - f ...`` removes the listed ones (Search Reference, "fields")."""
    patterns = list(stage.fields)
    keep_internal = stage.command == "fields"

    def pick(row: Row) -> dict[str, Any]:
        chosen: dict[str, Any] = {}
        names = field_names(row)
        for pattern in patterns:
            if "*" in pattern:
                for name in sorted(n for n in names if wild_match(pattern, n)):
                    chosen.setdefault(name, row.get(name))
                if pattern.startswith("_"):
                    for internal in ("_raw", "_time"):
                        if wild_match(pattern, internal) and row.get(internal) is not MISSING:
                            chosen.setdefault(internal, row.get(internal))
            else:
                value = row.get(pattern)
                if value is not MISSING:
                    chosen.setdefault(pattern, value)
        return chosen

    def run_table(rows: list[Event]) -> list[Event]:
        return [Row(pick(as_row(r))) for r in rows]

    def run_fields(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = as_row(event)
            chosen = pick(row)
            if stage.remove:
                fields = {k: v for k, v in row.fields.items() if k not in chosen}
                drop_internal = [n for n in ("_raw", "_time") if n in chosen]
                if not drop_internal:
                    out.append(row.derive(fields))
                    continue
                for internal in ("_raw", "_time"):
                    if internal not in chosen and row.get(internal) is not MISSING:
                        fields[internal] = row.get(internal)
                out.append(Row(fields))
                continue
            out.append(row.derive(chosen) if keep_internal else Row(chosen))
        return out

    return run_fields if stage.command == "fields" else run_table


def _fillnull(stage: FillNull, now: float) -> RowsFn:
    """``fillnull [value=V] [fields]`` (Search Reference, "fillnull"): the value (default
    ``0``) put into the listed fields where a row lacks them or holds null; with no list, into
    every field that some row has (the internal ``_raw``/``_time`` excepted)."""
    listed = list(stage.fields)

    def run(rows: list[Event]) -> list[Event]:
        as_rows = [as_row(r) for r in rows]
        names = listed
        if not names:
            seen: dict[str, None] = {}
            for row in as_rows:
                for name in field_names(row):
                    if name not in ("_raw", "_time"):
                        seen.setdefault(name, None)
            names = list(seen)
        out: list[Event] = []
        for row in as_rows:
            missing = [n for n in names if row_value(row, n) is None]
            if not missing:
                out.append(row)
                continue
            fields = dict(row.fields)
            for name in missing:
                fields[name] = stage.value
            out.append(row.derive(fields))
        return out

    return run


def _templated(expr: EvalExpr, name: str) -> EvalExpr:
    """``expr`` with the ``<<FIELD>>`` token replaced by ``name`` in field names and strings
    (the template is text in Splunk: the token is replaced wherever it appears)."""

    def fill(text: str) -> str:
        return text.replace(FOREACH_FIELD, name)

    return map_eval(expr, fill, fill)


def _foreach(stage: ForEach, now: float) -> RowsFn:
    """``foreach`` in multifield mode: the template (eval stages) runs once per field whose
    name matches one of the wildcard patterns, in the row's field order, each time with
    ``<<FIELD>>`` standing for that field (SPL reference, "foreach"). The field list is
    taken before the template runs, so fields it creates are not iterated."""
    if stage.options:
        raise unsupported(
            construct="foreach",
            message="foreach is supported in its default multifield mode only",
            span=stage.span,
        )
    for inner in stage.stages:
        if not isinstance(inner, Eval):
            raise unsupported(
                construct="foreach",
                message="a foreach template is supported with eval commands only",
                span=inner.span,
            )
    templates = [s for s in stage.stages if isinstance(s, Eval)]
    compiled: dict[str, list[RowsFn]] = {}

    def for_field(name: str) -> list[RowsFn]:
        found = compiled.get(name)
        if found is None:
            found = [
                _eval(
                    Eval(
                        tuple(
                            (target.replace(FOREACH_FIELD, name), _templated(expr, name))
                            for target, expr in t.assignments
                        ),
                        t.span,
                    ),
                    now,
                )
                for t in templates
            ]
            compiled[name] = found
        return found

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for row in rows:
            names = [n for n in field_names(row) if any(wild_match(p, n) for p in stage.fields)]
            current = [row]
            for name in names:
                for step in for_field(name):
                    current = step(current)
            out.extend(current)
        return out

    return run


#: The stages of this module, for the pipeline's table (:mod:`ir.pipeline`).
STAGE_BUILDERS: dict[type, StageBuilder] = {
    Filter: _filter,
    Eval: _eval,
    Rename: _rename,
    Table: _table,
    FillNull: _fillnull,
    ForEach: _foreach,
}
