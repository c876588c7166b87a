"""Commands the IR keeps as text (:class:`ir.nodes.Command`) that the default evaluator runs.

The SPL reader keeps a command it does not model as ``Command(name, args)`` with its
arguments as written, so it writes back unchanged and is refused by name wherever it has no
meaning. For the commands in :data:`COMMANDS` the meaning is documented and cheap, and
security_content's ``tstats`` detections use them after the aggregation: ``addtotals``,
``replace``, ``transaction``, ``outputlookup`` and ``timechart`` (:mod:`ir.stages.timechart`).
Their arguments are read here with SPL's generic argument syntax (space- or comma-separated
words, ``key=value`` options, double-quoted strings: :func:`command_args`, Python's
:mod:`shlex`); an option a command does not model is refused by name
(``<command>:<option>``). The Spark engine declares :class:`~ir.nodes.Command` unsupported as
a class, so it refuses these by name too: the two engines never disagree.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from ir.errors import Span, unsupported
from ir.events import Event
from ir.functions import mv, tidy_number, time_unit, to_number, to_text, values_of
from ir.nodes import Command, ForEach, Stage, Subsearch
from ir.stages.rows import (
    TRUE_TEXTS,
    Row,
    RowsFn,
    as_row,
    field_names,
    fill_wildcards,
    invalid,
    refuse_options,
    row_value,
    wild_match,
)


def command_args(command: Command) -> tuple[dict[str, str], list[str]]:
    """A command's ``key=value`` options (lower-cased keys) and its other words, in order.
    Quotes group words and are removed; commas separate words like spaces (SPL's field
    lists); a backslash is kept as it is (Windows paths)."""
    lexer = shlex.shlex(command.args, posix=True)
    lexer.whitespace_split = True
    lexer.whitespace += ","
    lexer.escape = ""
    try:
        tokens = list(lexer)
    except ValueError as err:
        raise invalid(f"{command.name}: {err} in {command.args!r}", command.name,
                      command.span) from None
    options: dict[str, str] = {}
    words: list[str] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and re.fullmatch(r"[A-Za-z_]\w*", key):
            options[key.lower()] = value
        else:
            words.append(token)
    return options, words


def is_true(value: str) -> bool:
    return value.strip().lower() in TRUE_TEXTS


def span_seconds(text: str, construct: str, span: Span | None) -> float:
    """A time span (``5m``, ``240m``, ``4h``, ``30``: seconds) in seconds; months and
    longer are refused (their length varies)."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([A-Za-z]*)", text.strip())
    unit = time_unit(found.group(2)) if found and found.group(2) else "s"
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if found is None or unit not in seconds:
        raise unsupported(
            construct=construct,
            message=f"{construct}={text} is not supported (a span in s, m, h, d or w)",
            span=span,
        )
    return float(found.group(1)) * seconds[unit]


# --- addtotals ---------------------------------------------------------------------------------


def _addtotals(command: Command, now: float) -> RowsFn:
    """``addtotals [row=B] [col=B] [labelfield=F] [label=S] [fieldname=F] [field-list]``
    (Search Reference, "addtotals"): with ``row=true`` (default) each row gets ``fieldname``
    (default ``Total``), the sum of its numeric values of the listed fields (wildcards allowed;
    no list: every field but the internal ones). A value that is not a number is not added; a
    row with no numeric value among them gets no total (ruleglot's reading: the page does not
    say). ``col=true`` appends one summary row holding each such field's sum over the rows
    (and ``labelfield`` set to ``label``, default ``Total``, when ``labelfield`` is given)."""
    options, fields = command_args(command)
    refuse_options(command.name, options, {"row", "col", "labelfield", "label", "fieldname"},
                   command.span)  # fmt: skip
    row_totals = is_true(options.get("row", "true"))
    col_totals = is_true(options.get("col", "false"))
    total_name = options.get("fieldname", "Total")
    label_field = options.get("labelfield")
    label = options.get("label", "Total")

    def chosen(row: Row) -> list[str]:
        names = field_names(row)
        if not fields:
            return [n for n in names if not n.startswith("_")]
        out: list[str] = []
        for pattern in fields:
            if "*" in pattern:
                out.extend(n for n in names if wild_match(pattern, n) and n not in out)
            elif pattern not in out:
                out.append(pattern)
        return out

    def numbers(row: Row, name: str) -> float | int | None:
        value = row_value(row, name)
        return None if value is None or isinstance(value, list) else to_number(value)

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        sums: dict[str, float] = {}
        for event in rows:
            row = as_row(event)
            found = [(n, numbers(row, n)) for n in chosen(row) if n != total_name]
            present = [(n, v) for n, v in found if v is not None]
            for name, value in present:
                sums[name] = sums.get(name, 0) + (value or 0)
            if row_totals and present:
                fields_ = dict(row.fields)
                fields_[total_name] = tidy_number(sum(v or 0 for _, v in present))
                row = row.derive(fields_)
            out.append(row)
        if col_totals:
            summary: dict[str, Any] = {n: tidy_number(v) for n, v in sums.items()}
            if label_field:
                summary[label_field] = label
            out.append(Row(summary))
        return out

    return run


# --- replace -----------------------------------------------------------------------------------


def _replace(command: Command, now: float) -> RowsFn:
    """``replace <wc-string> WITH <wc-string> [, ...] IN <field-list>`` (Search Reference,
    "replace"): a value of a listed field that the whole pattern matches (``*``: any run of
    characters, case-sensitive) becomes the replacement, each ``*`` of the replacement taking
    what the pattern's ``*`` matched in turn; the first pair whose pattern matches applies. A
    multivalue field is replaced value by value. Without ``IN`` (every field) it is refused
    by name (``replace:fields``): which internal fields it touches is not documented."""
    options, words = command_args(command)
    refuse_options(command.name, options, (), command.span)
    lowered = [w.lower() for w in words]
    if "in" not in lowered:
        raise unsupported(
            construct="replace:fields",
            message="replace without IN <fields> is not supported",
            span=command.span,
        )
    cut = len(lowered) - 1 - lowered[::-1].index("in")
    pairs_words, targets = words[:cut], words[cut + 1 :]
    if len(pairs_words) % 3 or not targets or not pairs_words:
        raise invalid("replace takes <pattern> WITH <replacement> [, ...] IN <fields>",
                      "replace", command.span)
    pairs: list[tuple[str, str]] = []
    for index in range(0, len(pairs_words), 3):
        old, keyword, new = pairs_words[index : index + 3]
        if keyword.lower() != "with":
            raise invalid(f"replace: expected WITH after {old!r}", "replace", command.span)
        pairs.append((old, new))

    patterns = [
        (re.compile("(.*?)".join(re.escape(p) for p in old.split("*")), re.DOTALL), new)
        for old, new in pairs
    ]

    def replaced(text: str) -> str:
        for pattern, new in patterns:
            match = pattern.fullmatch(text)
            if match is not None:
                return fill_wildcards(new, match.groups())
        return text

    def run(rows: list[Event]) -> list[Event]:
        out: list[Event] = []
        for event in rows:
            row = as_row(event)
            fields = dict(row.fields)
            changed = False
            for name in targets:
                value = row_value(row, name)
                if value is None:
                    continue
                new_value = mv(replaced(to_text(v) or "") for v in values_of(value))
                if new_value != value:
                    fields[name] = new_value
                    changed = True
            out.append(row.derive(fields) if changed else row)
        return out

    return run


# --- outputlookup ------------------------------------------------------------------------------


def _outputlookup(command: Command, now: float) -> RowsFn:
    """``outputlookup [options] <table>`` (Search Reference, "outputlookup") writes the rows to
    a lookup table and passes them on unchanged. ruleglot evaluates searches without side
    effects: the rows pass through and the table is not written (documented in
    ``docs/semantics.md``; a later ``inputlookup`` of the same table reads the table as it
    was). Its options only concern the write."""
    _, words = command_args(command)
    if len(words) != 1:
        raise invalid("outputlookup takes one table name", "outputlookup", command.span)
    return lambda rows: list(rows)


# --- transaction -------------------------------------------------------------------------------

#: Splunk's default ``maxevents`` (Search Reference, "transaction").
TRANSACTION_MAXEVENTS = 1000


def _transaction(command: Command, now: float) -> RowsFn:
    """``transaction <field> [maxspan=S] [maxpause=S] [maxevents=N] [connected=B]
    [mvlist=false]`` (Search Reference, "transaction"): rows with the same value of the field
    are grouped; Splunk reads them newest first, so a transaction opens at its newest row and
    an older row joins it while the transaction's span (newest - oldest ``_time``) stays
    within ``maxspan``, the gap to the transaction's oldest row within ``maxpause``, and it has
    fewer than ``maxevents`` (default 1000) rows; otherwise a new transaction opens. Each
    transaction is one row: ``_time`` of its earliest member, ``duration`` (latest - earliest
    ``_time``), ``eventcount``, and every other field as the union of the members' values
    (``mvlist=false``: distinct values in lexicographic order). Transactions come newest
    first. ``connected`` only matters with several fields; one field is the only form
    modelled (several fields, ``startswith``/``endswith`` and other options are refused by
    name). A row missing the field, or without a numeric ``_time`` (every event has one;
    only ``stats``/``fillnull`` output can lack it), joins no transaction and is dropped
    (ruleglot's reading: the page does not say)."""
    options, fields = command_args(command)
    refuse_options(command.name, options, {"maxspan", "maxpause", "maxevents", "connected",
                                           "mvlist"}, command.span)
    if len(fields) != 1:
        raise unsupported(
            construct="transaction:fields",
            message="transaction is supported with exactly one field",
            span=command.span,
        )
    if is_true(options.get("mvlist", "false")):
        raise unsupported(
            construct="transaction:mvlist",
            message="transaction mvlist=true is not supported",
            span=command.span,
        )
    field = fields[0]
    limit = {}
    for name in ("maxspan", "maxpause"):
        text = options.get(name, "-1").strip()
        limit[name] = None if text == "-1" else span_seconds(text, f"transaction:{name}",
                                                              command.span)
    try:
        maxevents = int(options.get("maxevents", str(TRANSACTION_MAXEVENTS)))
    except ValueError:
        raise invalid("transaction maxevents= takes a number", "transaction:maxevents",
                      command.span) from None
    if maxevents <= 0:
        maxevents = TRANSACTION_MAXEVENTS

    def run(rows: list[Event]) -> list[Event]:
        groups: dict[str, list[tuple[float, int, Row]]] = {}
        for index, event in enumerate(rows):
            row = as_row(event)
            value = row_value(row, field)
            stamp = to_number(row_value(row, "_time"))
            if value is None or stamp is None:
                continue
            key = "\n".join(to_text(v) or "" for v in values_of(value))
            groups.setdefault(key, []).append((float(stamp), index, row))
        found: list[list[tuple[float, int, Row]]] = []
        for members in groups.values():
            members.sort(key=lambda m: (-m[0], m[1]))
            current: list[tuple[float, int, Row]] = []
            for member in members:
                if current and not _joins(current, member[0], limit, maxevents):
                    found.append(current)
                    current = []
                current.append(member)
            if current:
                found.append(current)
        found.sort(key=lambda t: (-t[0][0], min(m[1] for m in t)))
        return [_merge(t) for t in found]

    return run


def _joins(
    current: Sequence[tuple[float, int, Row]],
    when: float,
    limit: dict[str, float | None],
    maxevents: int,
) -> bool:
    newest, oldest = current[0][0], current[-1][0]
    if len(current) >= maxevents:
        return False
    if limit["maxspan"] is not None and newest - when > limit["maxspan"]:
        return False
    return not (limit["maxpause"] is not None and oldest - when > limit["maxpause"])


def _merge(members: Sequence[tuple[float, int, Row]]) -> Row:
    values: dict[str, dict[str, Any]] = {}
    for _, _, row in sorted(members, key=lambda m: m[1]):
        for name in field_names(row):
            if name in ("_time", "_raw"):
                continue
            value = row_value(row, name)
            for item in values_of(value):
                values.setdefault(name, {}).setdefault(to_text(item) or "", item)
    fields: dict[str, Any] = {
        name: mv(found[k] for k in sorted(found)) for name, found in values.items()
    }
    times = [m[0] for m in members]
    fields["_time"] = tidy_number(min(times))
    fields["duration"] = tidy_number(max(times) - min(times))
    fields["eventcount"] = len(members)
    return Row(fields)


#: Command name -> builder of the commands the default evaluator runs from their text.
COMMAND_BUILDERS: dict[str, Callable[[Command, float], RowsFn]] = {
    "addtotals": _addtotals,
    "replace": _replace,
    "outputlookup": _outputlookup,
    "transaction": _transaction,
}


#: Commands whose effect outside the rows (a lookup table written) evaluation does not perform.
SUPPRESSED_WRITES = frozenset({"outputlookup"})


def suppressed_writes(stages: Sequence[Stage]) -> list[Command]:
    """The commands of ``stages`` (subsearches and ``foreach`` templates included) whose write
    evaluation suppresses, for the warning ``ruleglot eval`` gives."""
    found: list[Command] = []
    for stage in stages:
        if isinstance(stage, Command) and stage.name in SUPPRESSED_WRITES:
            found.append(stage)
        elif isinstance(stage, (Subsearch, ForEach)):
            found.extend(suppressed_writes(stage.stages))
    return found
