"""Subsearches that run: ``join``, ``append``, ``appendpipe``, ``search [...]`` and
``search NOT [...]``. The subsearch searches the same events as the outer search
(:data:`SUBSEARCHES` maps each command to its builder; :func:`ir.pipeline.compile_pipeline`
compiles the inner pipeline and hands it over as a :data:`Searcher`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ir.evaluator import compile_expr
from ir.events import Event
from ir.functions import (
    field_value,
    to_text,
    values_of,
)
from ir.nodes import (
    EXCLUDE,
    And,
    Expr,
    Kind,
    Or,
    Pattern,
    Predicate,
    Subsearch,
    Wildcard,
)
from ir.stages.rows import (
    TRUE_TEXTS,
    Row,
    RowsFn,
    as_row,
    field_names,
    invalid,
    refuse_options,
    row_value,
    text_key,
)

Searcher = Callable[[Iterable[Event]], list[Event]]


def _no_options(stage: Subsearch, allowed: frozenset[str] = frozenset()) -> dict[str, str]:
    options = {k.lower(): v for k, v in stage.options}
    refuse_options(stage.command, options, allowed, stage.span)
    return options


def _join(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``join [type=inner|left|outer] [max=N] [overwrite=B] <fields> [subsearch]`` (Search
    Reference, "join"): the subsearch runs on the same events; each row is combined with the
    first ``max`` subsearch rows (default 1; 0: all, in the subsearch's order) whose join
    fields all have the same values (text, case-sensitive; a row missing a join field joins
    nothing). ``type=inner`` (default) drops a row that joins nothing, ``left``/``outer``
    keeps it. Combined fields: the subsearch row's values replace the row's unless
    ``overwrite=false``. Without fields, the fields common to both result sets are used.
    Splunk truncates a subsearch at 50,000 rows (limits.conf ``subsearch_maxout``); ruleglot
    does not truncate (its corpus' subsearches stay far below). ``usetime``/``earlier`` and
    other options are refused by name."""
    options = _no_options(stage, frozenset({"type", "max", "overwrite"}))
    kind = options.get("type", "inner").lower()
    if kind not in ("inner", "left", "outer"):
        raise invalid(f"join type={kind} is not inner, left or outer", "join:type", stage.span)
    try:
        limit = int(options.get("max", "1"))
    except ValueError:
        raise invalid("join max= takes a number", "join:max", stage.span) from None
    overwrite = options.get("overwrite", "true").lower() in TRUE_TEXTS
    fields = [f for f in stage.fields if f != ","]

    def key_of(row: Row, names: Sequence[str]) -> tuple[tuple[str, ...], ...] | None:
        key = []
        for name in names:
            value = row_value(row, name)
            if value is None:
                return None
            key.append(text_key(value))
        return tuple(key)

    def run(rows: list[Event]) -> list[Event]:
        found = [as_row(r) for r in inner(searched[0])]
        mine = [as_row(r) for r in rows]
        names = fields or sorted(
            {n for r in mine for n in field_names(r)} & {n for r in found for n in field_names(r)}
        )
        index: dict[tuple[tuple[str, ...], ...], list[Row]] = {}
        for row in found:
            key = key_of(row, names)
            if key is not None:
                index.setdefault(key, []).append(row)
        out: list[Event] = []
        for row in mine:
            key = key_of(row, names)
            matches = index.get(key, []) if key is not None else []
            if limit > 0:
                matches = matches[:limit]
            if not matches:
                if kind != "inner":
                    out.append(row)
                continue
            for match in matches:
                combined = dict(row.fields)
                for name, value in match.fields.items():
                    if overwrite or name not in combined:
                        combined[name] = value
                out.append(row.derive(combined))
        return out

    return run


def _append(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``append [subsearch]`` (Search Reference, "append"): the subsearch's rows, run on the
    same events, after the current rows. Its options (``maxout``, ``maxtime``...) are
    refused by name."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        return [*rows, *inner(searched[0])]

    return run


def _appendpipe(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``appendpipe [subpipeline]`` (Search Reference, "appendpipe"): the subpipeline runs on
    the current rows and its rows are appended to them. ``run_in_preview`` only concerns
    previews: no effect."""
    _no_options(stage, frozenset({"run_in_preview"}))

    def run(rows: list[Event]) -> list[Event]:
        return [*rows, *inner(rows)]

    return run


def _search_terms(row: Row) -> Expr | None:
    """One subsearch result row as the search terms Splunk's implicit ``format`` writes for
    it: ``field="value"`` for each of its fields but the internal ones (``_time``...), ANDed;
    a multivalue field is an OR of its values; ``*`` in a value is a wildcard, as in any
    search term (Search Reference, "format"; Search Manual, "About subsearches")."""
    terms: list[Expr] = []
    for name, raw in row.fields.items():
        if name.startswith("_") or raw is None:
            continue
        alternatives: list[Expr] = []
        for value in values_of(field_value(raw)):
            text = to_text(value) or ""
            if "*" in text:
                parts = [p for chunk in text.split("*") for p in (chunk, Wildcard.MANY)][:-1]
                alternatives.append(Predicate(name, Kind.WILDCARD, Pattern(tuple(parts))))
            else:
                alternatives.append(Predicate(name, Kind.EQ, text))
        if alternatives:
            terms.append(alternatives[0] if len(alternatives) == 1 else Or(tuple(alternatives)))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else And(tuple(terms))


def _search_subsearch(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``search [subsearch]`` (a subsearch as a search term): the subsearch runs on the same
    events and its rows become an OR of one AND of ``field="value"`` terms per row
    (:func:`_search_terms`); the current rows that match are kept. No rows (or rows without
    fields) match nothing, as Splunk's ``NOT ()``. Splunk truncates the subsearch at 10,000
    rows (limits.conf ``[subsearch] maxout``); ruleglot does not."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        found = [_search_terms(as_row(r)) for r in inner(searched[0])]
        alternatives = tuple(f for f in found if f is not None)
        if not alternatives:
            return []
        matches = compile_expr(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
        return [row for row in rows if matches(row)]

    return run


def _exclude_subsearch(stage: Subsearch, inner: Searcher, searched: list[list[Event]]) -> RowsFn:
    """``search NOT [subsearch]``: the current rows that the subsearch's terms
    (:func:`_search_terms`) do not match, Splunk's ``NOT (...)`` over the implicit ``format``'s
    output. A subsearch with no rows is ``NOT ()`` under NOT, which excludes nothing: every row
    is kept (Search Reference, "format": no results give ``NOT ()``)."""
    _no_options(stage)

    def run(rows: list[Event]) -> list[Event]:
        found = [_search_terms(as_row(r)) for r in inner(searched[0])]
        alternatives = tuple(f for f in found if f is not None)
        if not alternatives:
            return list(rows)
        matches = compile_expr(alternatives[0] if len(alternatives) == 1 else Or(alternatives))
        return [row for row in rows if not matches(row)]

    return run


SUBSEARCHES: dict[str, Callable[[Subsearch, Searcher, list[list[Event]]], RowsFn]] = {
    "search": _search_subsearch,
    EXCLUDE: _exclude_subsearch,
    "join": _join,
    "append": _append,
    "appendpipe": _appendpipe,
}
