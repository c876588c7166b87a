"""What each lossy change of the Sigma writer costs: only output shaping, or which events alert.

The one place that decides it (:func:`annotate`, called by :mod:`backends.sigma.emit` on every
warning it made). Every warning gets ``effect`` (``shaping`` or ``meaning``) and ``why`` (the
rule below that decided it), so ``translate --report`` and ``TranslationResult`` say for each
translation whether the Sigma rule alerts on the same events as the SPL search.

The question asked of each dropped thing: can dropping it change the set of events that make
the search return a row (for a stats search: the events some result row stands for)? A Sigma
rule's result is the matching event itself; it has no result columns, no row order and no
aggregate rows, so dropping what only changes those is ``shaping``. Anything else, and
anything this module does not know, is ``meaning`` (never guessed towards shaping).

Dropped stages (the warning names the stage; what the rows hold so far is followed stage by
stage, starting from the fields every event has and the fields the detection requires)

* ``shaping``, the stage keeps every row it is given and adds, renames, reformats or removes
  only columns (Splunk Search Reference, each command's description): ``table``/``fields``,
  ``rename``, ``convert``, ``eval``, ``fillnull``, ``lookup`` (not ``inputlookup``), ``bin``,
  ``rex``, ``foreach``, ``makemv``, ``eventstats``/``streamstats`` (a column per row),
  ``sort 0``, and the commands in :data:`ROW_KEEPING_COMMANDS`;
* ``shaping``, ``stats``/``tstats`` whose by-fields every row has (the detection requires them,
  or ``_time``): each event that reaches it is counted in one result row, so a row exists for
  each group of matching events. An event missing a by-field makes no row (Splunk, "stats":
  "events that do not have a value in the by-field are not included"), which is why the writer
  requires the by-fields in the detection (``emit_datamodel.read_tstats`` for tstats; the
  ``stats`` of a raw search, :func:`required_by_fields`); without that it is ``meaning``;
* ``meaning``, ``stats`` without by-fields: it returns one row (``count=0``) when no event
  matches, so the search returns a row on every run (the property test found it);
* ``shaping``, ``dedup`` of fields every row has (or ``keepempty=true``): each group keeps a
  row; ``dedup`` of a field a row may lack drops that row (``keepempty`` defaults to false),
  ``meaning``;
* ``meaning``: ``search``/``where``/``regex`` (a filter decides which rows stay), ``head``/
  ``tail``, ``sort`` with a limit (``sort`` keeps 10,000 rows unless ``sort 0``),
  ``join``/``append``/``appendpipe`` and subsearches, ``mvexpand`` of a field a row may lack,
  and every other command (``transaction``, ``rare``, ``top``, ``apply``...).

Other constructs (:data:`CONSTRUCT_EFFECTS`; the writer's module docstrings say what each
warning does)

* ``shaping``: ``tstats:stats`` (by-fields required, above), a copy-only ``eval`` (later filters
  read the source field: exact), ``correlation:columns`` and ``correlation:alias`` (result
  columns beside the compared aggregate, and its name);
* ``meaning``: every log-source and search-setting change (``logsource``, ``sourcetype``,
  ``source``, ``index``, ``eventtype``, time modifiers: they select events), every predicate
  written approximately (``basename``, ``coalesce``, ``term``, ``_raw``, ``number``,
  ``fieldref``, ``keyword``, ``constant``, ``datamodel:*``) and every refused correlation
  (``correlation:timespan``...: the threshold that decided the alert is gone).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

from ir.nodes import (
    Bin,
    Command,
    Convert,
    Dedup,
    Eval,
    FillNull,
    ForEach,
    Lookup,
    MultiValue,
    Rename,
    Rex,
    Sort,
    Stage,
    Stats,
    Table,
)
from ir.nodes import Literal as EvalLiteral
from ir.pushdown import written_fields

__all__ = [
    "CONSTRUCT_EFFECTS",
    "DROPS_STAGE",
    "EVENT_FIELDS",
    "MEANING",
    "REASONS",
    "REASON_KEY",
    "ROW_KEEPING_COMMANDS",
    "SHAPING",
    "STAGE_KEY",
    "Effect",
    "annotate",
    "rule_effect",
    "stage_effects",
]

Effect = Literal["shaping", "meaning"]
SHAPING: Effect = "shaping"
MEANING: Effect = "meaning"

#: The key under which :func:`annotate` passes the dropped stage along with a warning.
STAGE_KEY = "_stage"

#: Set by :func:`annotate`: whether the warning drops a stage of the pipeline (else it changes
#: the log source or a predicate). ``check`` compares whole-pipeline rows when no dropped stage
#: costs meaning.
DROPS_STAGE = "drops_stage"

#: Fields Splunk gives every event (Splunk docs, "Use default fields"): present in every row.
EVENT_FIELDS = frozenset({"_time", "_raw", "host", "source", "sourcetype", "index"})

#: Parsed-only commands (:class:`ir.nodes.Command`) that keep every row and only add or
#: rewrite fields (Splunk Search Reference: spath, xmlkv, extract/kv, fromjson, replace,
#: iplocation, addtotals without ``col=t``, xpath).
ROW_KEEPING_COMMANDS = frozenset(
    {"spath", "xmlkv", "extract", "kv", "fromjson", "replace", "iplocation", "xpath"}
)

#: Warnings that name no stage, by construct: (effect, why).
CONSTRUCT_EFFECTS: dict[str, tuple[Effect, str]] = {
    "tstats:stats": (SHAPING, "tstats' aggregation, its by-fields required by the detection"),
    "correlation:columns": (SHAPING, "result columns beside the compared aggregate"),
    "correlation:alias": (SHAPING, "the name of the compared aggregate's result column"),
}

#: The key under which the writer names a warning of :data:`REASONS` (a construct whose
#: effect depends on what the writer did, not on the construct alone).
REASON_KEY = "_reason"

#: Warnings the writer names by reason: (effect, why).
REASONS: dict[str, tuple[Effect, str]] = {
    "copy-eval": (SHAPING, "a copy-only eval: the filters after it read the source field"),
    "table-columns": (SHAPING, "table chooses output columns; no later stage reads a dropped one"),
    "table-read": (MEANING, "table drops a field a later filter reads (Sigma reads the event)"),
}


def stage_effects(
    stages: Sequence[Stage], present: Iterable[str] = ()
) -> list[tuple[Effect, str]]:
    """The effect of dropping each of ``stages`` (a search's dropped tail, in order), with
    why; ``present`` are fields every row reaching the first has besides :data:`EVENT_FIELDS`
    (the by-fields the detection requires)."""
    have = set(EVENT_FIELDS) | set(present)
    out: list[tuple[Effect, str]] = []
    for stage in stages:
        out.append(_effect(stage, have))
        have = _present_after(stage, have)
    return out


def _effect(stage: Stage, have: set[str]) -> tuple[Effect, str]:
    if isinstance(stage, (Table, Rename, Convert, Eval, FillNull, Bin, Rex, ForEach)):
        return SHAPING, "keeps every row; changes only columns"
    if isinstance(stage, Lookup):
        if stage.command == "lookup":
            return SHAPING, "lookup keeps every row; adds columns"
        return MEANING, f"{stage.command} adds rows"
    if isinstance(stage, Stats):
        if stage.command in ("eventstats", "streamstats"):
            return SHAPING, f"{stage.command} keeps every row; adds columns"
        if not stage.by:
            return MEANING, "stats without by-fields returns a row even when no event matches"
        missing = [f for f in stage.by if f not in have]
        if not missing:
            return SHAPING, "every matching event is counted in a row (its by-fields present)"
        return MEANING, f"events without {', '.join(missing)} make no row of this stats"
    if isinstance(stage, Dedup):
        keepempty = dict(stage.options).get("keepempty", "false").lower() in ("true", "t", "1")
        missing = [f for f in stage.fields if f not in have]
        if keepempty or not missing:
            return SHAPING, "dedup keeps a row of each group"
        return MEANING, f"dedup drops rows without {', '.join(missing)} (keepempty=false)"
    if isinstance(stage, Sort):
        if stage.limit == 0:
            return SHAPING, "sort 0 keeps every row"
        return MEANING, "sort keeps only the first 10,000 rows (or its limit)"
    if isinstance(stage, MultiValue):
        if stage.command == "makemv" or stage.field in have:
            return SHAPING, f"{stage.command} keeps a row of each row"
        return MEANING, f"mvexpand drops rows without {stage.field}"
    if isinstance(stage, Command) and stage.name.lower() in ROW_KEEPING_COMMANDS:
        return SHAPING, f"{stage.name} keeps every row; adds fields"
    addtotals = isinstance(stage, Command) and stage.name.lower() == "addtotals"
    if addtotals and "col=t" not in stage.args.replace(" ", "").lower():  # type: ignore[union-attr]
        return SHAPING, "addtotals (row totals) keeps every row; adds a column"
    return MEANING, "decides which rows are returned"


def _present_after(stage: Stage, have: set[str]) -> set[str]:
    """The fields every row has after ``stage`` (a lower bound)."""
    if isinstance(stage, Stats) and stage.command in ("stats", "tstats"):
        out = set(stage.by) | ({"_time"} & have)
        for agg in stage.aggregations:
            name = agg.alias or (agg.function if agg.argument is None else None)
            always = agg.argument is None or agg.argument in have
            if name and always and agg.function.lower() in _ALWAYS_SET:
                out.add(name)
        return out
    if isinstance(stage, Rename):
        out = set(have)
        for old, new in stage.pairs:
            if old.endswith("*") and new.endswith("*"):
                moved = {f for f in out if f.startswith(old[:-1])}
                out = (out - moved) | {new[:-1] + f[len(old) - 1 :] for f in moved}
            elif old in out:
                out = (out - {old}) | {new}
            else:
                out.discard(new)
        return out
    if isinstance(stage, FillNull):
        return have | set(stage.fields)
    if isinstance(stage, Table):
        return {f for f in have if f in stage.fields}
    if isinstance(stage, Eval):
        out = set(have)
        for target, value in stage.assignments:  # in order: a later one sees the earlier
            # a literal that is not null gives every row the field (Search Reference, "eval")
            if isinstance(value, EvalLiteral) and value.value is not None and "{" not in target:
                out.add(target)
            elif "{" in target:
                return set()  # a name the row decides
            else:
                out.discard(target)
        return out
    if isinstance(stage, (Convert, Rex, Lookup, ForEach, Command, MultiValue)):
        written = _written(stage)
        return set() if "*" in written else have - set(written)
    return have


#: Aggregations that have a value in every group row whose argument every row has.
_ALWAYS_SET = frozenset({"count", "c", "min", "max", "earliest", "latest", "values", "dc"})


def _written(stage: Stage) -> list[str]:
    if isinstance(stage, Eval):
        return [name for name, _ in stage.assignments]
    if isinstance(stage, Convert):
        return [alias or name for _, name, alias in stage.conversions]
    if isinstance(stage, MultiValue):
        return [stage.field]
    if isinstance(stage, Lookup):
        return [field for _, field in stage.outputs] or ["*"]
    if isinstance(stage, Rex):  # its named groups (sed mode: the field it edits)
        return written_fields(stage) or ["*"]
    return ["*"]  # foreach, commands: any field may change


def annotate(
    warnings: list[dict[str, Any]], effects: dict[int, tuple[Effect, str]]
) -> None:
    """Give every warning its ``effect`` and ``why``: a dropped stage's from ``effects``
    (keyed by the stage's ``id``, from :func:`stage_effects`), others by construct."""
    for warning in warnings:
        stage = warning.pop(STAGE_KEY, None)
        reason = warning.pop(REASON_KEY, None)
        if stage is not None and id(stage) in effects:
            effect, why = effects[id(stage)]
        elif warning.get("construct") in CONSTRUCT_EFFECTS:
            effect, why = CONSTRUCT_EFFECTS[warning["construct"]]
        elif reason in REASONS:
            effect, why = REASONS[reason]
        else:
            effect, why = MEANING, "changes which events match (or not known to keep them)"
        warning["effect"] = effect
        warning["why"] = why
        warning[DROPS_STAGE] = stage is not None


def rule_effect(warnings: Iterable[dict[str, Any]]) -> Effect | None:
    """A translation's class: ``None`` (no warning), ``shaping`` when every warning only shapes
    the output, else ``meaning``."""
    effects = [w.get("effect", MEANING) for w in warnings]
    if not effects:
        return None
    return SHAPING if all(e == SHAPING for e in effects) else MEANING
