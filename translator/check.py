"""The equivalence harness: does a translation match the same events as its source?

For each rule: translate it (:func:`translator.api.emit_translation`), read the translation back
with the target language's reader, and run both on the same events — the user's events and
events generated from both rules (:mod:`ir.generate`: every branch and exclusion, and near
misses of each). The verdicts come from the one evaluator on both sides; nothing is assumed.
When they differ on some event, that event is shrunk to a minimal counterexample (fields
dropped, values shortened, lists cut down while the two verdicts still differ).

What is compared:

* a rule that only filters (every Sigma rule, SPL ``search``/``where``/``regex``): whether it
  matches each event;
* an SPL pipeline whose stages each keep or drop rows one at a time (``foreach``/``eval``/
  ``rex``/``rename``/``table``/...: how Sigma keywords are written in SPL): whether the event
  comes out as a row;
* a pipeline that aggregates (``stats``, ``dedup``, ``head``...): its leading filters, the part
  a Sigma rule (or a correlation's event rule) can carry; the report says so (``compared``);
* SPL to SPL (``--from spl --to spl``), a pipeline that runs: its result rows (``compared:
  rows``), the rows both pipelines return on all the given events and on each generated event,
  the same rows in the same order; a pipeline that cannot run (a ``Command``, a lookup) is
  compared on its leading filters and the report names why.

A lossy translation (``--lossy``; every warning names a construct and its position) is compared
on the part of the source it carries, the leading filters. Its status is ``lossy`` whatever the
comparison finds, since the loss was announced; a counterexample, when one is found, shows what
the named constructs cost (a dropped ``eventtype=`` disjunct of a source macro, a bare term).
Except when every warning says it only shapes the output (``effect: shaping``, the Sigma
writer's :mod:`backends.sigma.lossy_effects`): that claims the same events alert, so the source
is its whole pipeline, each event run alone (an event passes when it makes a result row; a
tstats search, its rows), and a counterexample refutes the claim: ``differs``. (A translation
that aggregates itself, a Sigma correlation, makes no row for one event alone: it is compared
on its event rule, the leading filters.) A Sigma rule collection (one rule per log source) is
compared as the union of its rules (:func:`collection_member`).

Statuses: ``equivalent``; ``lossy`` (see above); ``differs`` (a translation that claimed no loss
and does not match the same events: the silent mistranslation this harness exists for; with a
counterexample and the two verdicts); ``refused`` (strict translation impossible: the error names
the construct and its position); ``error`` (the translation did not read back, or could not be
evaluated: a ruleglot bug, always reported).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from backends.sigma import read_sigma
from backends.sigma.emit_datamodel import read_tstats
from backends.spl import read_spl
from backends.spl.emit import logsource_macro_definitions
from backends.spl.macros import MacroTable
from ir.datamodels import cim_windows
from ir.errors import RuleglotError
from ir.evaluator import CompiledRule, RuleSet, compile_expr
from ir.events import Event
from ir.generate import generate
from ir.logsources import SourceBranch
from ir.nodes import (
    Aggregation,
    And,
    Convert,
    DataModel,
    Eval,
    FillNull,
    Filter,
    ForEach,
    Lookup,
    Rename,
    Rex,
    Rule,
    Stage,
    Stats,
    Table,
    predicates,
)
from ir.pipeline import compile_pipeline, tstats_where
from ir.pushdown import group_filters, push_group_filters
from translator import api
from translator.parallel import chunk_bounds, fork_map

#: Stages that decide each row on its own, keeping it or not: a pipeline made only of these
#: returns a row for an event exactly when the event passes.
ROW_WISE = (Filter, ForEach, Eval, Rex, Rename, Table, FillNull, Convert, Lookup)



def reading(language: str, options: dict[str, Any], written: bool) -> tuple[str, str]:
    """How a rule of ``language`` reads events: (log-source profile, field profile).

    Sigma (and IR) rules select their events by log source (``logsources``, default
    ``windows``) and name Windows fields; SPL searches select their own events with ``source=``
    terms and name fields as Splunk extracts them, through ``fields`` (the profile the
    translation was written for: ``splunk_windows`` when writing SPL, the reader's default
    ``splunk_windows_xml`` when reading it).
    """
    if language == "spl":
        default = "splunk_windows" if written else api.DEFAULT_FIELDS["spl"]
        return "none", options.get("fields") or default
    return options.get("logsources") or "windows", "none"


@dataclass
class Counterexample:
    """The smallest event found on which source and translation disagree."""

    event: dict[str, Any]
    source: bool
    translation: bool
    origin: str


@dataclass
class CheckResult:
    """One rule's outcome; ``to_dict`` is the JSON report's entry."""

    path: str
    title: str
    rule_id: str | None
    status: str
    translation: str | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    compared: str = "rule"
    events: int = 0
    generated: int = 0
    counterexample: Counterexample | None = None
    error: dict[str, Any] | None = None
    #: rows compared (``compared: rows``): how many each side returned on the given events, and
    #: the first pair of rows that differ when they do
    rows: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: v for k, v in out.items() if v not in (None, [], "")}


class Decider:
    """A rule ready to decide events: ``matches(event)``; a pipeline also ``match_many``."""

    match_many: Callable[[Sequence[Event], int], set[int]]

    def __init__(
        self, rule: Rule, profile_name: str, fields: str | None, *, alone: bool = False
    ) -> None:
        """``alone``: decide an event by running the whole pipeline on it alone (a result row
        stands for it), aggregations included: how a translation whose every warning only
        shapes the output (``backends.sigma.lossy_effects``) is held to its claim."""
        rule = replace(rule, timerange=None)  # compared as IR first (_ranges_differ)
        self.rule = rule
        self.compared = "rule"
        if rule.stages and isinstance(rule.stages[0], DataModel):
            self._datamodel(rule)
            return
        if alone:
            self.compared = "each event alone makes a result row"
        elif not all(isinstance(s, ROW_WISE) for s in rule.stages):
            # the row-wise stages before the first that aggregates: the leading filters, and
            # the foreach/where a Sigma keyword is written as in SPL (else a keyword rule's
            # correlation would be compared on its source macro alone)
            prefix: list[Stage] = []
            for stage in rule.stages:
                if not isinstance(stage, ROW_WISE):
                    break
                prefix.append(stage)
            rule = Rule(rule.title, tuple(prefix), rule.logsource, language=rule.language)
            self.compared = "leading filters"
        self.view = rule
        self.profile = api.profile(profile_name)
        self.fields = api.fields_for(rule, fields)
        self.compiled: CompiledRule | None = None
        if api.is_filter_only(rule):
            self.compiled = api.compile_rules([rule], profile_name, fields)[0]
            self.matches: Callable[[Event], bool] = self.compiled.matches
            self.run = None
        else:
            self.run = api.compile_run(rule, fields)
            branches: list[tuple[Callable[[Event], bool], Run]] = [(_ANY_EVENT, self.run)]
            if self.profile.mappings and not rule.logsource.is_empty():
                # a pipeline with a log source: each branch's events, with its field aliases
                # (none for a log source the profile does not map, as for a filter rule)
                branches = [
                    (
                        compile_expr(b.condition),
                        api.compile_run(rule, fields, aliases=b.alias_map()),
                    )
                    for b in self.profile.resolve(rule.logsource) or ()
                ]
            self._pipeline(rule, branches)
            if alone:  # stats rows stand for no one event: each event is run on its own
                one = self.matches
                self.matches = lambda event: one(_timed(event))
                self.match_many = lambda events, offset: {
                    i for i, e in enumerate(events, start=offset) if one(_timed(e))
                }

    def _datamodel(self, rule: Rule) -> None:
        """A search starting with ``tstats``: an event passes when, run alone through the
        search's own pipeline (the data-model profile's rows, ``ir.datamodels``; the where
        clause; the stats with its by-fields and options; the renames and the filters on
        by-fields after it, :func:`ir.pushdown.group_filters`, run where they are), it makes a
        result row. What the stats computes is not compared (a Sigma match is an event, not a
        row of counts). Events for it are proposed from the same condition on event fields
        (:mod:`backends.sigma.emit_datamodel`): they only propose, the verdicts are the
        pipeline's."""
        head = rule.stages[0]
        assert isinstance(head, DataModel)
        datamodels = cim_windows()
        dataset = datamodels.dataset(head.name)
        at = next((i for i, s in enumerate(rule.stages) if isinstance(s, Stats)), 0)
        stats = rule.stages[at]
        if not isinstance(stats, Stats):
            raise RuleglotError("a data-model read must be followed by its tstats aggregation",
                                category="invalid", construct="tstats")
        assert isinstance(stats, Stats)
        found = group_filters(rule.stages, datamodels=datamodels)
        kept = {g.at for g in found if g.stats_at == at}
        last = max(kept, default=at)
        counted = Stats((Aggregation("count", None, _COUNT),), stats.by, "tstats", stats.options)
        after = [
            s for i, s in enumerate(rule.stages[at + 1 : last + 1], start=at + 1)
            if i in kept or isinstance(s, Rename)
        ]  # fmt: skip
        run = api.compile_run(Rule(rule.title, (*rule.stages[:at], counted, *after)), "none")

        where = rule.stages[1] if at > 1 else None
        clause = tstats_where(where, dataset) if isinstance(where, Filter) else None
        passes = compile_expr(clause.expr) if clause is not None else _ANY_EVENT

        def matches(event: Event) -> bool:
            fields = datamodels.row_fields(event, dataset)
            # a row the where clause drops makes no result row: the pipeline is not run for it
            if fields is None or not passes(Event.from_fields(fields)):
                return False
            return any((row.get(_COUNT) or 0) > 0 for row in run([event]))

        def match_many(events: Sequence[Event], offset: int) -> set[int]:
            return {i for i, e in enumerate(events, start=offset) if matches(e)}

        self.compared = f"tstats rows ({dataset.name}: each event alone makes a result row)"
        self.matches, self.match_many = matches, match_many
        self.compiled, self.run = None, None
        pushed = push_group_filters(rule.stages, datamodels=datamodels)
        read = read_tstats(pushed, datamodels, lambda *_: None)
        view: tuple[Filter, ...] = ()
        if read is not None and read.detection is not None:
            view = (Filter(read.detection),)
        self.view = Rule(rule.title, view, read.logsource if read else rule.logsource)
        self.profile = api.profile("windows")
        self.fields = None

    def _pipeline(self, rule: Rule, branches: list[tuple[Callable[[Event], bool], Run]]) -> None:
        """``matches``/``match_many`` of a pipeline: an event passes when, among the events a
        branch of its log source selects, the pipeline returns a row standing for it. The
        leading filters narrow the events first when no branch aliases a field."""
        chosen = self.fields
        leading = [f.expr for f in rule.leading_filters]
        plain = len(branches) == 1 and branches[0][0] is _ANY_EVENT
        narrow = compile_expr(And(tuple(leading))) if leading and plain else _ANY_EVENT

        def matches(event: Event) -> bool:
            seen = chosen.apply(event) if chosen is not None else event
            if not narrow(seen):
                return False
            return any(selects(event) and run([event]) for selects, run in branches)

        def match_many(events: Sequence[Event], offset: int) -> set[int]:
            # one pipeline run per branch over the events it selects; rows point at the event
            # they stand for (as the field profile extended it)
            found: set[int] = set()
            for selects, run in branches:
                position: dict[int, int] = {}
                selected: list[Event] = []
                for index, event in enumerate(events, start=offset):
                    seen = chosen.apply(event) if chosen is not None else event
                    if index not in found and selects(event) and narrow(seen):
                        selected.append(event)
                        position[id(seen)] = position[id(event)] = index
                rows = run(selected) if selected else []
                found |= {position[id(r.source)] for r in rows  # type: ignore[attr-defined]
                          if id(getattr(r, "source", None)) in position}
            return found

        self.matches = matches
        self.match_many = match_many


Run = Callable[[Iterable[Event]], list[Event]]


#: The count a tstats search is decided by in check (a name no search uses).
_COUNT = "_ruleglot_rows"


def _timed(event: Event) -> Event:
    """``event`` with a ``_time`` (0) when it has none: every Splunk event has one (Splunk
    docs, "Use default fields"), so a search's ``stats ... by _time`` never drops an event for
    lacking it; generated events may lack it."""
    if "_time" in event.fields:
        return event
    return Event({**event.fields, "_time": 0})


def _ANY_EVENT(event: Event) -> bool:  # noqa: N802 (a constant predicate)
    return True


def _macro_table(names: Iterable[str]) -> MacroTable | None:
    names = list(names)
    return MacroTable.from_dict(logsource_macro_definitions(names)) if names else None


def read_back(
    text: str, write: str, macros: Iterable[str] = (), path: str = "", everything: bool = False,
    profile_name: str = "windows",
) -> Rule:  # fmt: skip
    """The translation read by the target language's reader (one rule). The data-source
    macros an SPL translation calls for unmapped log sources select no event of the profile,
    or, with ``everything``, every event (to compare the detection logic alone). A Sigma
    collection of filter rules (one per log source: Windows and Linux Sysmon) matches the union
    of its rules' events; on the events of ``profile_name``, a rule whose log source the
    profile does not map selects none, so the union is the one rule it maps
    (:func:`collection_member`)."""
    if write == "spl":
        table = (
            MacroTable.from_dict({name: "" for name in macros}) if everything
            else _macro_table(macros)
        )
        (spl,) = read_spl(text, macros=table)  # plain SPL: one rule, its time range kept
        return Rule("translation", spl.stages, timerange=spl.timerange, language="spl")
    rules = read_sigma(text, path or None)
    if len(rules) != 1:  # a correlation and its event rules: the correlation decides
        decides = [r for r in rules if not api.is_filter_only(r)]
        if not decides:
            return collection_member(rules, profile_name)
        rules = decides
    return rules[-1]


def collection_member(rules: Sequence[Rule], profile_name: str) -> Rule:
    """The rule of a collection of filter rules that decides the union on the events of
    ``profile_name``: the only one whose log source the profile maps (the others select none
    of its events; the first when none is mapped, which check then reports as unmapped).
    Several mapped rules would need the union itself: refused by name, never one of them."""
    chosen = api.profile(profile_name)
    if not chosen.mappings:
        raise RuleglotError("a rule collection compared on every event (no log-source profile) "
                            "is not supported", category="unsupported", construct="collection")
    mapped = [r for r in rules if chosen.resolve(r.logsource) is not None]
    if len(mapped) > 1:
        raise RuleglotError(f"{len(mapped)} rules of the collection select events of profile "
                            f"{chosen.name}: their union is not compared", category="unsupported",
                            construct="collection")  # fmt: skip
    return mapped[0] if mapped else rules[0]


def _flat(event: Event) -> dict[str, Any]:
    return {k: v for k, v in event.fields.items() if k != "Event"}


def _as_event(fields: dict[str, Any]) -> Event:
    return Event.from_fields(fields)


def _smaller(value: Any) -> Iterator[Any]:
    """Smaller versions of one value, most aggressive first."""
    if isinstance(value, list):
        yield from value
        for i in range(len(value)):
            yield value[:i] + value[i + 1:]
    elif isinstance(value, str):
        size = len(value)
        chunk = size // 2
        while chunk >= 1:
            for start in range(0, size - chunk + 1, chunk):
                yield value[:start] + value[start + chunk:]
            chunk //= 2


def shrink(fields: dict[str, Any], differs: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Greedy delta debugging: drop fields, then shorten values, while ``differs`` holds."""
    current = dict(fields)
    changed = True
    while changed:
        changed = False
        for name in list(current):
            trial = {k: v for k, v in current.items() if k != name}
            if differs(trial):
                current, changed = trial, True
        for name in list(current):
            for smaller in _smaller(current[name]):
                trial = {**current, name: smaller}
                if differs(trial):
                    current, changed = trial, True
                    break
    return current


def counterexample(
    source: Decider, target: Decider, event: Event, origin: str
) -> Counterexample:
    """``event`` (on which the two differ) shrunk as far as the difference survives, and, for
    an event inside the log source both sides select, as far as it stays inside (a shrunk
    event without ``Channel`` would differ only because one side has a log source)."""
    flat = _flat(event)
    inside = _inside(source, target)
    keep_inside = inside(event)

    def differs(fields: dict[str, Any]) -> bool:
        candidate = _as_event(fields)
        if keep_inside and not inside(candidate):
            return False
        return source.matches(candidate) != target.matches(candidate)

    if differs(flat):
        flat = shrink(flat, differs)
        shown = _as_event(flat)
        return Counterexample(flat, source.matches(shown), target.matches(shown), origin)
    # the difference needs the event's own raw text (a term in _raw): report it whole
    return Counterexample(flat, source.matches(event), target.matches(event), origin)


@dataclass
class Pair:
    """A source rule, its translation read back, and how each side reads events."""

    path: str
    source: Rule
    result: CheckResult
    source_side: Decider | None = None
    target_side: Decider | None = None
    #: ``events -> rows`` of source and translation, when their rows are compared
    rows: tuple[Run, Run] | None = None
    #: a lossy translation claiming only output shaping, compared on whole-pipeline rows: a
    #: counterexample refutes the claim (status ``differs``)
    shaping: bool = False


def translate_pair(
    path: str, rule: Rule, read: str, write: str, *, lossy: bool, options: dict[str, Any]
) -> Pair:
    """Translate and read back one rule; the result's status is set when it cannot go on."""
    result = CheckResult(path, rule.title, rule.id, "equivalent")
    pair = Pair(path, rule, result)
    try:
        done = api.emit_translation(
            rule, write, lossy=lossy, warnings_are_errors=False, **options
        )
    except RuleglotError as err:
        err.path = err.path or path
        result.status, result.error = "refused", err.to_dict()
        return pair
    result.translation, result.warnings = done.text, list(done.warnings)
    try:
        back = read_back(done.text, write, done.macros, path, everything=bool(done.macros),
                         profile_name=reading(write, options, written=True)[0])  # fmt: skip
    except RuleglotError as err:
        result.status = "error"
        result.error = {**err.to_dict(), "message": f"translation does not read back: {err}"}
        return pair
    if _ranges_differ(rule, back, result):
        return pair
    source_reading = reading(read, options, written=False)
    # SPL rewritten as SPL reads the same data through the same field profile
    target_reading = source_reading if read == write else reading(write, options, written=True)
    if done.macros and write == "spl":
        # An unmapped log source: its macro is the user's to define, so the log source cannot
        # be compared; the detection logic can, on every event, on both sides.
        source_reading = ("none", source_reading[1])
        # ... and the field profile, which describes the profile's Windows events, is not theirs
        target_reading = (target_reading[0], "none")
        result.compared = f"detection only (log source left to macro {', '.join(done.macros)})"
    elif write == "sigma" and read != "sigma":
        chosen = api.profile(target_reading[0])
        ls = back.logsource
        if chosen.mappings and not ls.is_empty() and chosen.resolve(ls) is None:
            result.status = "unmapped"
            result.compared = (
                f"not compared: log source product={ls.product} category={ls.category} "
                f"service={ls.service} selects no event of profile {chosen.name}"
            )
            return pair
    source = rule
    tstats = bool(rule.stages) and isinstance(rule.stages[0], DataModel)
    # every warning only shapes the output (the Sigma writer says so): the same events must
    # make a result row, each alone, through the whole pipeline (a tstats search: its rows)
    # (when only the log source or predicates cost meaning, the rows are compared the same way:
    # the warnings' counterexample then shows that cost, not the dropped stages')
    shaping = bool(done.warnings) and all(w.get("effect") == "shaping" for w in done.warnings)
    stages_shaping = bool(done.warnings) and all(
        w.get("effect") == "shaping" or w.get("drops_stage") is False for w in done.warnings
    )
    # (a translation that aggregates itself, a Sigma correlation, makes no row for one event
    # alone: it is compared on its event rule, the leading filters, as a lossy one is)
    alone = (
        stages_shaping and rule.leading_filters != rule.stages and not tstats
        and api.is_filter_only(back)
    )  # fmt: skip
    if done.warnings and rule.leading_filters != rule.stages and not tstats and not alone:
        # compared on what it carries (a tstats search: its rows, see Decider)
        source = Rule(rule.title, rule.leading_filters, rule.logsource, language=rule.language)
        result.compared = "leading filters"
    try:
        try:
            pair.source_side = Decider(source, *source_reading, alone=alone)
        except RuleglotError:
            if not alone:
                raise
            # a stage that does not run here (a lookup, a parsed-only command): what it carries
            alone = False
            source = Rule(rule.title, rule.leading_filters, rule.logsource,
                          language=rule.language)  # fmt: skip
            result.compared = "leading filters"
            pair.source_side = Decider(source, *source_reading)
        pair.shaping = shaping and (alone or tstats)
        if alone:
            result.compared = pair.source_side.compared
        pair.target_side = Decider(back, *target_reading)
    except RuleglotError as err:
        result.status = "error"
        result.error = {**err.to_dict(), "message": f"cannot evaluate: {err}"}
        return pair
    if "leading filters" in (pair.source_side.compared, pair.target_side.compared):
        result.compared = "leading filters"
    for side in (pair.source_side, pair.target_side):
        if side.compared.startswith("tstats rows"):
            result.compared = side.compared
    if read == write == "spl" and not done.warnings and not api.is_filter_only(rule):
        try:
            pair.rows = (_rows_run(rule, source_reading[1]), _rows_run(back, target_reading[1]))
            result.compared = "rows"
        except RuleglotError as err:  # a stage the evaluator does not run
            result.compared = f"leading filters (the pipeline does not run: {err.construct})"
    return pair


def _ranges_differ(rule: Rule, back: Rule, result: CheckResult) -> bool:
    """Whether the translation reads a different time range (``ir.nodes.TimeRange``) than
    its source without a warning naming it: ``differs``, the ranges named. Ranges are
    compared as IR (each bound's text and parsed form); the events are then compared without
    them (generated events carry no time), so a range never makes both sides vacuously
    agree."""
    if rule.timerange == back.timerange:
        return False
    if any(w.get("construct") == "timerange" for w in result.warnings):
        return False  # announced (the Sigma writer drops it): lossy, compared without it

    def text(rule: Rule) -> str:
        return rule.timerange.text() if rule.timerange is not None else "none"

    result.status = "differs"
    result.compared = f"time range: source {text(rule)}, translation {text(back)}"
    return True


#: ``now()`` of every pipeline whose rows are compared: both sides' searches start together.
ROWS_NOW = 1_700_000_000.0


def _rows_run(rule: Rule, fields: str | None) -> Run:
    """``events -> rows`` of the whole pipeline (raises for what the evaluator cannot run)."""
    run_stages = compile_pipeline(rule.stages, now=ROWS_NOW)
    chosen = api.fields_for(rule, fields)
    if chosen is None:
        return run_stages
    return lambda events: run_stages(chosen.apply(e) for e in events)


def _rows_of(run: Run, events: Sequence[Event]) -> list[dict[str, Any]] | RuleglotError:
    try:
        return [api.row_dict(row) for row in run(events)]
    except RuleglotError as err:
        return err


def compare_rows(pair: Pair, events: Sequence[Event], generated: Sequence[Event]) -> None:
    """Fill in ``pair.result`` from the rows both sides return: on all ``events`` together,
    then on each generated event alone (its first difference is the counterexample)."""
    assert pair.rows is not None
    source_run, target_run = pair.rows
    result = pair.result
    source, target = _rows_of(source_run, events), _rows_of(target_run, events)
    if isinstance(source, RuleglotError) or isinstance(target, RuleglotError):
        err = source if isinstance(source, RuleglotError) else target
        assert isinstance(err, RuleglotError)
        result.status, result.error = "error", {**err.to_dict(), "message": f"cannot run: {err}"}
        return
    result.events = len(events)
    result.rows = {"source": len(source), "translation": len(target)}
    if source != target:
        first = next(
            (i for i, (a, b) in enumerate(zip(source, target, strict=False)) if a != b),
            min(len(source), len(target)),
        )
        result.rows["first_difference"] = {
            "row": first,
            "source": source[first] if first < len(source) else None,
            "translation": target[first] if first < len(target) else None,
        }
        result.status = "differs"
        return
    result.generated = len(generated)
    for event in generated:
        one, other = _rows_of(source_run, [event]), _rows_of(target_run, [event])
        if one != other:
            result.counterexample = Counterexample(
                _flat(event), bool(one) and not isinstance(one, RuleglotError),
                bool(other) and not isinstance(other, RuleglotError), "generated")
            result.status = "differs"
            return


def _selection(side: Decider) -> list[SourceBranch] | None:
    """The log-source branches ``side`` reads events from, or ``None``: every event (no log
    source, as an SPL search, or a profile that maps nothing)."""
    ls = side.view.logsource
    if not side.profile.mappings or ls.is_empty():
        return None
    return list(side.profile.resolve(ls) or ())


def _inside(*sides: Decider) -> Callable[[Event], bool]:
    """Whether an event is inside the log source of every one of ``sides`` that has one.

    The fields a log source is selected by (``Channel``, ``EventID``) must hold one value: a
    Windows event has one channel and one event ID, so a generated list naming two (both
    branches of ``process_creation`` at once) is an event no rule could see, and a verdict on
    it would be noise (issue 22: a ``differs`` names an event both rules could see)."""
    selections = [branches for branches in map(_selection, sides) if branches is not None]
    tests = [[compile_expr(b.condition) for b in branches] for branches in selections]
    keys = sorted(
        {p.field for branches in selections for b in branches for p in predicates(b.condition)
         if p.field is not None}
    )  # fmt: skip

    def inside(event: Event) -> bool:
        if any(isinstance(event.get(key), list) for key in keys):
            return False
        return all(any(t(event) for t in branch) for branch in tests)

    return inside


def _generated(pair: Pair, seed: int, limit: int) -> list[Event]:
    """Events generated from both sides, all inside the log source both sides select (issue
    22): a side without a log source (an SPL search) is generated within the other side's
    (its Channel/EventID conditions and field aliases added), and an event outside either
    side's log source (a near miss without ``Channel``) is left out, so that a ``differs``
    always names an event both rules could see."""
    assert pair.source_side is not None and pair.target_side is not None
    sides = (pair.source_side, pair.target_side)
    selections = [_selection(side) for side in sides]
    events: list[Event] = []
    for side, other, own in ((sides[0], sides[1], selections[0]),
                             (sides[1], sides[0], selections[1])):  # fmt: skip
        view, profile = side.view, side.profile
        if own is None and _selection(other):
            view, profile = replace(view, logsource=other.view.logsource), other.profile
        events.extend(
            g.event()
            for g in generate(view, profile=profile, fields=side.fields, seed=seed, limit=limit)
        )
    inside = _inside(*sides)
    return [e for e in events if inside(e)]


Hits = tuple[list[list[set[int]]], dict[int, RuleglotError]]


def _hits(live: Sequence[Pair], events: Sequence[Event], offset: int) -> Hits:
    """Per side, per pair: the indexes (from ``offset``) of ``events`` the side matches; and
    per pair (index in ``live``) the error that stopped a side (a regex past its budget)."""
    sides: list[list[set[int]]] = []
    failed: dict[int, RuleglotError] = {}
    for which in ("source_side", "target_side"):
        deciders = [getattr(p, which) for p in live]
        compiled = [(i, d.compiled) for i, d in enumerate(deciders) if d.compiled is not None]
        hits: list[set[int]] = [set() for _ in live]
        ruleset = RuleSet(c for _, c in compiled)
        for event_index, event in enumerate(events, start=offset):
            for k in ruleset.match(event):
                hits[compiled[k][0]].add(event_index)
        for k, err in ruleset.failures.items():
            failed.setdefault(compiled[k][0], err)
        for i, decider in enumerate(deciders):
            if decider.compiled is None:
                try:
                    hits[i] = decider.match_many(events, offset)
                except RuleglotError as err:
                    failed.setdefault(i, err)
        sides.append(hits)
    return sides, failed


def _fail(pair: Pair, err: RuleglotError) -> None:
    """``pair`` could not be decided: an ``error`` result naming why, positioned in its file."""
    err.path = err.path or pair.path
    pair.result.status = "error"
    pair.result.error = {**err.to_dict(), "message": f"cannot evaluate: {err.message}"}


def _on_given_events(pair: Pair) -> bool:
    """Whether ``pair`` is compared on the given events: not when its log source is left to a
    macro (detection only), since the given events are the profile's and none is of that log
    source; such a pair is compared on its generated events."""
    return (
        pair.source_side is not None and pair.target_side is not None
        and not pair.result.compared.startswith("detection only")
    )


def compare_on_events(
    pairs: Sequence[Pair], events: Sequence[Event], jobs: int = 1
) -> list[int | None]:
    """For each pair, the index of the first of ``events`` the two sides decide differently
    (``None``: none). Filter rules of each side run through one :class:`RuleSet`; with
    ``jobs`` > 1 the events are split over forked processes."""
    live = [p for p in pairs if _on_given_events(p)]
    if not events or not live:
        return [None for _ in pairs]
    if jobs > 1 and len(events) >= 2 * jobs:
        bounds = chunk_bounds(len(events), -(-len(events) // jobs))

        def hits_between(bounds: tuple[int, int]) -> Hits:
            start, stop = bounds
            return _hits(live, events[start:stop], start)

        parts = list(fork_map(hits_between, bounds, jobs))
        sides = [
            [set().union(*(part[0][side][i] for part in parts)) for i in range(len(live))]
            for side in (0, 1)
        ]
        failed: dict[int, RuleglotError] = {}
        for part in parts:
            for i, err in part[1].items():
                failed.setdefault(i, err)
    else:
        sides, failed = _hits(live, events, 0)
    for i, err in failed.items():
        _fail(live[i], err)
    first: dict[int, int] = {}
    for i, (a, b) in enumerate(zip(*sides, strict=True)):
        if i in failed:
            continue
        if a != b:
            first[id(live[i])] = min(a ^ b)
    return [first.get(id(p)) for p in pairs]


Generated = tuple[int, Counterexample | None, RuleglotError | None]


def _on_generated(pair: Pair, seed: int, limit: int) -> Generated:
    """How many events were generated for ``pair``, the first the sides decide differently,
    or the error that stopped a side (a regex past its budget)."""
    assert pair.source_side is not None and pair.target_side is not None
    made: list[Event] = []
    try:
        made = _generated(pair, seed, limit)
        for event in made:
            if pair.source_side.matches(event) != pair.target_side.matches(event):
                return len(made), counterexample(
                    pair.source_side, pair.target_side, event, "generated"), None
    except RuleglotError as err:
        return len(made), None, err
    return len(made), None, None


def check_pairs(
    pairs: Sequence[Pair],
    events: Sequence[Event],
    *,
    generated: bool = True,
    seed: int = 0,
    limit: int = 200,
    origins: Sequence[str] | None = None,
    jobs: int = 1,
    progress: Callable[[Iterable[Any]], Iterable[Any]] = lambda xs: xs,
) -> list[CheckResult]:
    """Decide every pair on ``events`` (and generated events), fill in each result; ``jobs``
    processes (forked: the compiled rules are inherited, results come back in order)."""
    by_rows = [i for i, p in enumerate(pairs) if p.rows is not None]

    def rows_of(index: int) -> CheckResult:
        pair = pairs[index]
        made = _generated(pair, seed, limit) if generated else []
        compare_rows(pair, events, made)
        return pair.result

    for index, result in zip(by_rows, progress(fork_map(rows_of, by_rows, jobs)), strict=True):
        pairs[index].result = result
    rest_indexes = [i for i, p in enumerate(pairs) if p.rows is None]
    rest = [pairs[i] for i in rest_indexes]
    firsts = compare_on_events(rest, events, jobs)
    todo: list[int] = []
    for index, first in zip(rest_indexes, firsts, strict=True):
        pair = pairs[index]
        if pair.source_side is None or pair.target_side is None:
            continue
        if pair.result.status == "error":  # a side failed on the given events
            continue
        pair.result.events = len(events) if _on_given_events(pair) else 0
        if first is not None:
            origin = origins[first] if origins else f"event {first}"
            pair.result.counterexample = counterexample(
                pair.source_side, pair.target_side, events[first], origin)
        elif generated:
            todo.append(index)

    def on_generated(index: int) -> Generated:
        return _on_generated(pairs[index], seed, limit)

    outcomes = list(progress(fork_map(on_generated, todo, jobs, chunksize=4)))
    for index, (count, example, error) in zip(todo, outcomes, strict=True):
        pairs[index].result.generated = count
        pairs[index].result.counterexample = example
        if error is not None:
            _fail(pairs[index], error)
    for pair in rest:
        result = pair.result
        if pair.source_side is None or pair.target_side is None or result.status == "error":
            continue
        if result.warnings and not (pair.shaping and result.counterexample is not None):
            # announced: a counterexample shows what the warnings cost
            result.status = "lossy"
        elif result.counterexample is not None:
            result.status = "differs"
    return [p.result for p in pairs]
