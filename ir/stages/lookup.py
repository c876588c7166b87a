"""``lookup`` and ``inputlookup`` against the tables of an
:class:`ir.lookups.LookupProvider` (matching rules: :mod:`ir.lookups`).
"""

from __future__ import annotations

from ir.errors import RuleglotError, unsupported
from ir.events import Event
from ir.functions import (
    mv,
    to_text,
    values_of,
)
from ir.lookups import LookupProvider, LookupTable
from ir.nodes import (
    Lookup,
)
from ir.stages.rows import (
    Row,
    RowsFn,
    as_row,
    invalid,
    put_field,
    row_value,
)


def lookup_stage(stage: Lookup, lookups: LookupProvider | None, now: float) -> RowsFn:
    """``lookup`` (Search Reference, "lookup") against a :class:`ir.lookups.LookupProvider`
    table, with its matching rules (:mod:`ir.lookups`). Each input pair is (table column, row
    field); a row missing an input field is left as it is. A multivalue input looks up each
    value. ``OUTPUT`` sets the output fields from the matching rows (no ``OUTPUT`` list: every
    column that is not an input), replacing existing values; ``OUTPUTNEW`` only sets fields the
    row does not have. No match leaves the row unchanged, unless the table's ``min_matches``
    asks for ``default_match`` values. ``inputlookup`` (Search Reference, "inputlookup")
    replaces the rows by the table's rows (``append=true``: adds them)."""
    if lookups is None:
        raise RuleglotError(
            f"{stage.command} {stage.table} needs lookup tables (a LookupProvider)",
            category="io", construct=f"lookup:{stage.table}",
        ).at(stage.span)
    try:
        table = lookups.table(stage.table)
    except RuleglotError as err:
        raise err.at(stage.span) from None
    options = {k.lower(): str(v).lower() for k, v in stage.options}
    if stage.command == "inputlookup":
        append = options.get("append") in ("true", "t", "1")
        table_rows = [Row(dict(r)) for r in table.rows]
        return lambda rows: (list(rows) + list(table_rows)) if append else list(table_rows)
    if stage.command != "lookup":
        raise unsupported(
            construct=stage.command,
            message=f"{stage.command} is not supported",
            span=stage.span,
        )
    inputs = list(stage.inputs)
    for column, _ in inputs:
        if column not in table.columns:
            raise invalid(f"lookup {stage.table} has no column {column!r}", "lookup",
                           stage.span)
    input_columns = {c for c, _ in inputs}
    outputs = list(stage.outputs) or [(c, c) for c in table.columns if c not in input_columns]
    new_only = stage.mode.upper() == "OUTPUTNEW"
    return lambda rows: [_lookup_row(as_row(r), table, inputs, outputs, new_only) for r in rows]


def _lookup_row(
    row: Row,
    table: LookupTable,
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
    new_only: bool,
) -> Event:
    choices: list[dict[str, str]] = [{}]
    for column, name in inputs:
        value = row_value(row, name)
        if value is None:
            return row
        choices = [{**c, column: to_text(v) or ""} for c in choices for v in values_of(value)]
    matches: list[dict[str, str]] = []
    for choice in choices:
        matches.extend(table.match(choice))
    fields = dict(row.fields)
    changed = False
    for column, name in outputs:
        if new_only and row_value(row, name) is not None:
            continue
        found = [m[column] for m in matches if column in m]
        if len(matches) < table.min_matches:
            found += [table.default_match] * (table.min_matches - len(matches))
        if not matches and len(found) == 0:
            continue
        result = mv(found)
        put_field(fields, name, result)
        changed = True
    return row.derive(fields) if changed else row
