"""The library's verbs: ``parse`` a rule, ``emit`` the IR, ``evaluate`` and ``run`` rules on events.

Like sqlglot's ``parse_one``/``transpile``, languages are named by ``read=``/``write=``. Readers and
emitters live in ``backends/``; this module only dispatches, so adding a language is adding a
table entry here.

Two ways to run a rule, because SPL searches are pipelines:

* :func:`evaluate` for rules that only filter (every Sigma rule, and SPL searches made of
  ``search``/``where``/``regex`` stages): which events match.
* :func:`run` for any rule: the rows its last stage returns (a ``stats`` search's result rows).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.processing.pipeline import ProcessingPipeline

from backends.sigma import read_sigma
from backends.sigma.emit import emit_sigma
from backends.sigma.logsources import PROFILES
from backends.spark import require_pyspark, spark_session
from backends.spl import MacroTable, read_spl
from backends.spl import prepare as _prepare_spl
from backends.spl.emit import Deployment, emit_spl_result, savedsearch
from backends.spl.field_profile import field_profile as profile_by_name
from backends.spl.keepmacros import split_pipes, write_keeping_macros
from backends.spl.to_datamodel import to_datamodel
from ir import serialize
from ir.datamodels import DATA_MODEL_PROFILES, DataModelProfile
from ir.errors import STRICT_NOTE, RuleglotError
from ir.evaluator import CompiledRule, RuleSet, SharedPredicates, compile_expr, compile_rule
from ir.events import Event
from ir.fieldprofiles import FieldProfile
from ir.logsources import NO_PROFILE, LogSourceProfile
from ir.lookups import LookupProvider
from ir.nodes import DataModel, Filter, Rule, Subsearch
from ir.pipeline import Row, compile_pipeline
from ir.timerange import Window, restrict, window


def _read_ir(text: str, path: str | None = None, **_: Any) -> list[Rule]:
    try:
        return [serialize.loads(text)]
    except RuleglotError as err:
        err.path = err.path or path
        raise


def _read_sigma(
    text: str,
    path: str | None = None,
    pipeline: ProcessingPipeline | None = None,
    *,
    warnings: list[dict[str, Any]] | None = None,
    lenient: bool = False,
    **_: Any,
) -> list[Rule]:
    """Sigma: ``warnings`` collects what was read leniently (dicts with a ``kind``),
    ``lenient`` reads duplicate YAML keys as PyYAML does (see :func:`read_sigma`)."""
    return read_sigma(text, path, pipeline, warnings=warnings, lenient=lenient)


def pipeline(names: Iterable[str]) -> ProcessingPipeline | None:
    """pySigma processing pipelines by name (installed plugins: ``splunk_windows``, ``sysmon``,
    ``windows-audit``...) or YAML file, combined in order (pySigma sorts by priority)."""
    chosen: ProcessingPipeline | None = None
    available = None
    for name in names:
        if Path(name).is_file():
            try:
                found = ProcessingPipeline.from_yaml(Path(name).read_text(encoding="utf-8"))
            except Exception as exc:  # pySigma's own errors for a bad pipeline file
                raise RuleglotError(
                    f"bad processing pipeline: {exc}",
                    category="invalid",
                    path=name,
                    construct="pipeline",
                ) from None
        else:
            if available is None:
                # imported here: plugin discovery loads every backend (and requests), which
                # reading and translating rules never need
                from sigma.plugins import InstalledSigmaPlugins

                available = InstalledSigmaPlugins.autodiscover().pipelines
            if name not in available:
                raise RuleglotError(
                    f"unknown processing pipeline {name!r} (have: {', '.join(sorted(available))})",
                    category="invalid",
                    construct="pipeline",
                )
            found = available[name]()
        chosen = found if chosen is None else chosen + found
    return chosen


READERS: dict[str, Callable[..., list[Rule]]] = {
    "sigma": _read_sigma,
    "spl": read_spl,
    "ir": _read_ir,
}


@dataclass
class Translation:
    """One rule written in another language, and what only a lossy translation changed."""

    text: str
    warnings: list[dict[str, Any]] = field(default_factory=list)
    #: search macros the output calls that the user must define (SPL: unmapped log sources)
    macros: list[str] = field(default_factory=list)
    #: the ids of the rules written, when the text holds several (a Sigma rule collection or
    #: correlation), so that a report names each one
    rule_ids: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "lossy" if self.warnings else "ok"


def _write_ir(rule: Rule, **_: Any) -> Translation:
    return Translation(serialize.dumps(rule))


def _write_sigma(
    rule: Rule, *, lossy: bool = False, fields: str | None = None, **_: Any
) -> Translation:
    result = emit_sigma(rule, fields=fields, lossy=lossy)
    ids = result.ids if len(result.ids) > 1 else []
    return Translation(result.yaml, list(result.warnings), rule_ids=ids)


def _write_spl(
    rule: Rule,
    *,
    fields: str | None = None,
    format: str = "plain",
    logsources: str = "windows",
    data_model: str | None = None,
    summariesonly: bool = False,
    lossy: bool = False,
    keep_macros: bool = False,
    macros: MacroTable | None = None,
    deployment: Deployment | None = None,
    **_: Any,
) -> Translation:
    """``logsources="none"`` writes no log-source terms: the search then means the rule on
    every event, as evaluating it with the log-source profile ``none`` does. ``data_model``
    (a data-model profile name): a rule read from Sigma is written as ``tstats`` over the data
    set of its log source (:mod:`backends.spl.to_datamodel`). ``keep_macros`` (an SPL rule,
    with the ``macros`` it was read with) writes each macro call back where its stages are
    unchanged (:mod:`backends.spl.keepmacros`)."""
    chosen = None if logsources == "none" else profile(logsources)
    assumed: list[dict[str, Any]] = []
    if data_model is not None and rule.language != "spl":
        rule = to_datamodel(rule, datamodel_profile(data_model), profile(logsources),
                            summariesonly, assumed if lossy else None)  # fmt: skip
    # Besides the data-model lowering's assumptions, ``lossy`` changes nothing here: what the
    # SPL emitter cannot write is an error either way, and its few named approximations are
    # warnings either way. A rule read from SPL
    # already names Splunk's fields: no field profile renames them (``EventID`` stays).
    default = "none" if rule.language == "spl" else "splunk_windows"
    emitted = emit_spl_result(rule, logsources=chosen, fields=fields or default)
    commands = emitted.commands
    if keep_macros and macros is not None and rule.language == "spl":
        kept = write_keeping_macros(rule, macros)
        if kept is not None:
            commands = split_pipes(kept)
            commands = [c[1:].strip() if c.startswith("|") else c for c in commands]
            if kept.startswith("|"):
                commands = ["", *commands]
            emitted.text = kept
    text = emitted.text if format == "plain" else savedsearch(rule, commands, deployment)
    warnings = assumed + list(emitted.warnings)
    return Translation(text, warnings, list(emitted.macros))


#: Writers by language: ``rule -> Translation``; strict unless ``lossy=True``.
WRITERS: dict[str, Callable[..., Translation]] = {
    "ir": _write_ir,
    "sigma": _write_sigma,
    "spl": _write_spl,
}
#: The field profile each language's rules are read through by default ("none": none).
DEFAULT_FIELDS = {"sigma": "none", "ir": "none", "spl": "splunk_windows_xml"}


def parse(text: str, read: str = "sigma", path: str | None = None, **options: Any) -> list[Rule]:
    """Rules in ``text`` (a file may hold several); raises :class:`RuleglotError`.

    ``options`` go to the reader: for SPL ``macros`` (a :class:`MacroTable`),
    ``search_precedence`` and ``undefined_macros``.
    """
    if read not in READERS:
        raise RuleglotError(
            f"no reader for {read!r} (have: {', '.join(READERS)})",
            category="unsupported",
            construct=read,
        )
    return READERS[read](text, path, **options)


#: What each reader loads on first use, loaded ahead (:func:`prepare`).
_PREPARERS: dict[str, Callable[[], None]] = {"spl": _prepare_spl}


def prepare(read: str) -> None:
    """Load now what the ``read`` reader loads on first use (the SPL parser's tables). Called
    before forking workers, so that they inherit it instead of each loading it."""
    preparer = _PREPARERS.get(read)
    if preparer is not None:
        preparer()


def emit_translation(rule: Rule, write: str = "ir", **options: Any) -> Translation:
    """``rule`` in language ``write`` with its lossy warnings (``lossy=True``), else strict:
    an untranslatable construct raises :class:`RuleglotError`, and so does every warning a
    writer gives (a translation that changes the meaning is never written silently in strict
    mode: the first warning is the error, positioned and naming its construct; the others
    are its notes). ``check`` passes ``warnings_are_errors=False``: it reports such a pair
    as lossy, with the events that tell the two apart, and writes nothing."""
    warnings_are_errors = options.pop("warnings_are_errors", True)
    if write not in WRITERS:
        raise RuleglotError(
            f"no writer for {write!r} (have: {', '.join(WRITERS)})",
            category="unsupported",
            construct=write,
        )
    done = WRITERS[write](rule, **options)
    if done.warnings and warnings_are_errors and not options.get("lossy"):
        first, *others = done.warnings
        raise RuleglotError(
            f"{first.get('message')} {STRICT_NOTE}",
            category="unsupported",
            construct=first.get("construct"),
            line=first.get("line"),
            col=first.get("col"),
            notes=[f"also: {w.get('construct') or '-'}: {w.get('message')}" for w in others],
        )
    return done


def emit(rule: Rule, write: str = "ir", **options: Any) -> str:
    """``rule`` written in language ``write`` (strict: raises what it cannot carry over)."""
    return emit_translation(rule, write, **options).text


def translate(text: str, read: str = "sigma", write: str = "spl", **options: Any) -> str:
    """Every rule of ``text`` (in ``read``) written in ``write``, strict; raises
    :class:`RuleglotError`. Reader options (``macros``...) and writer options (``fields``,
    ``format``) are both accepted."""
    reader_options = {k: v for k, v in options.items() if k in _READER_OPTIONS}
    writer_options = {k: v for k, v in options.items() if k not in _READER_OPTIONS}
    if options.get("keep_macros"):  # the writer keeps the calls of the macros read with
        writer_options["macros"] = options.get("macros")
    rules = parse(text, read, **reader_options)
    return "\n".join(emit(rule, write, **writer_options) for rule in rules)


_READER_OPTIONS = {"path", "macros", "search_precedence", "undefined_macros", "pipeline"}


def macros(folder: str | Path | None) -> MacroTable | None:
    """The macros of a security_content ``macros/`` folder (``None``: no macros)."""
    return MacroTable.from_folder(folder) if folder else None


def profile(name: str) -> LogSourceProfile:
    """A log-source profile by name: ``windows`` (default) or ``none``."""
    if name == "none":
        return NO_PROFILE
    if name not in PROFILES:
        raise RuleglotError(f"unknown log-source profile {name!r}", category="invalid")
    return PROFILES[name]()


def datamodel_profile(name: str) -> DataModelProfile:
    """A data-model profile by name (``cim_windows``)."""
    if name not in DATA_MODEL_PROFILES:
        raise RuleglotError(
            f"unknown data-model profile {name!r} (have: {', '.join(DATA_MODEL_PROFILES)})",
            category="invalid",
        )
    return DATA_MODEL_PROFILES[name]()


def field_profile(name: str | None) -> FieldProfile | None:
    """A field profile by name (``splunk_windows``, ``splunk_windows_xml``; ``none``: none)."""
    return profile_by_name(name)


def fields_for(rule: Rule, name: str | None = None) -> FieldProfile | None:
    """The field profile ``name``, or the default one for the rule's language."""
    return field_profile(name if name is not None else DEFAULT_FIELDS.get(rule.language or ""))


def is_filter_only(rule: Rule) -> bool:
    """True when every stage filters: the rule's result is the events it matches."""
    return all(isinstance(stage, Filter) for stage in rule.stages)


@dataclass(frozen=True)
class Match:
    rule_index: int
    event_index: int


def compile_rules(
    rules: Iterable[Rule], profile_name: str = "windows", fields: str | None = None
) -> list[CompiledRule]:
    chosen = profile(profile_name)
    return [compile_rule(rule, chosen, fields_for(rule, fields)) for rule in rules]


def evaluate(
    rules: Iterable[Rule | CompiledRule],
    events: Iterable[Event | dict[str, Any]],
    profile_name: str = "windows",
    fields: str | None = None,
    engine: str = "python",
    master: str = "local[2]",
    now: datetime.datetime | None = None,
) -> Iterator[Match]:
    """Every (rule, event) pair that matches, by position in the inputs (filter-only rules).

    A rule's time range (SPL ``earliest``/``latest``) keeps the events inside it
    (:mod:`ir.timerange`): absolute bounds always, relative ones when ``now`` (the search's
    start, an aware datetime) is given.

    ``engine="spark"`` runs the rules on Apache Spark (``master``: a Spark master URL) with the
    same meaning (:mod:`backends.spark`); it needs ``pip install 'ruleglot[spark]'`` and
    raises the rules' ``unsupported`` errors instead of skipping them."""
    if engine == "spark":
        plain = [r.rule if isinstance(r, CompiledRule) else r for r in rules]
        refuse_spark_ranges(plain, now)
        yield from _evaluate_spark(rules, events, profile_name, fields, master)
        return
    if engine != "python":
        raise RuleglotError(f"unknown engine {engine!r} (have: python, spark)", category="invalid")
    chosen = profile(profile_name)
    shared = SharedPredicates()  # each distinct predicate once per event
    compiled = [
        r if isinstance(r, CompiledRule)
        else compile_rule(r, chosen, fields_for(r, fields), shared=shared)
        for r in rules
    ]
    # each rule's time range (ir.timerange) keeps the events it is run on
    ruleset = RuleSet(restrict(c, window(c.rule.timerange, now)) for c in compiled)
    for event_index, event in enumerate(events):
        ev = event if isinstance(event, Event) else Event(event)
        for rule_index in ruleset.match(ev):
            yield Match(rule_index, event_index)


def _evaluate_spark(
    rules: Iterable[Rule | CompiledRule],
    events: Iterable[Event | dict[str, Any]],
    profile_name: str,
    fields: str | None,
    master: str,
) -> Iterator[Match]:
    require_pyspark()
    # pyspark, an optional dependency, is imported by it
    from backends.spark.run import compile_all, match_events

    spark = spark_session(master)  # rules become Spark columns: a session must be active
    plain: list[Rule] = []
    for rule in rules:
        if isinstance(rule, CompiledRule):
            # a compiled rule does not say which profiles it was compiled with: refused,
            # rather than run with other ones
            raise RuleglotError(
                "engine='spark' takes rules, not compiled rules (it compiles them itself "
                "with profile_name and fields)",
                category="invalid",
                construct="engine",
            )
        plain.append(rule)
    run = compile_all(plain, profile(profile_name), lambda r: fields_for(r, fields))
    if run.errors:
        raise run.errors[0][1]
    for rule_index, event_index in sorted(
        match_events(spark, run, events), key=lambda m: (m[1], m[0])
    ):
        yield Match(rule_index, event_index)


def run_spark(
    rule: Rule,
    events: Iterable[Event | dict[str, Any]],
    fields: str | None = None,
    master: str = "local[2]",
) -> list[dict[str, Any]]:
    """:func:`run` on Apache Spark (:mod:`backends.spark.pipeline`): the same rows, in the same
    order; raises the rule's positioned ``unsupported`` error for what Spark does not compile
    (lookups among them)."""
    require_pyspark()
    # pyspark, an optional dependency, is imported by it
    from backends.spark.pipeline import compile_pipeline, run_plan

    spark = spark_session(master)  # stages become Spark columns: a session must be active
    plan = compile_pipeline(rule, fields_for(rule, fields))
    return run_plan(spark, plan, [e if isinstance(e, Event) else Event(e) for e in events])


def refuse_spark_ranges(rules: Iterable[Rule], now: datetime.datetime | None) -> None:
    """The Spark engine does not apply time ranges: a rule whose range would apply is a
    named ``unsupported`` error there, never run on events outside it."""
    for rule in rules:
        if window(rule.timerange, now).applies:
            assert rule.timerange is not None
            raise RuleglotError(
                f"the Spark engine does not apply time ranges ({rule.timerange.text()})",
                category="unsupported",
                construct="timerange",
            ).at(rule.timerange.span)


def compile_run(
    rule: Rule,
    fields: str | None = None,
    lookups: LookupProvider | None = None,
    aliases: dict[str, str] | None = None,
    now: datetime.datetime | None = None,
) -> Callable[[Iterable[Event]], list[Event]]:
    """``events -> rows`` for any rule; raises for what the pipeline cannot run. ``aliases``
    are a log-source branch's (a field read under another name when the event lacks it).
    The rule's time range keeps the events inside it (:func:`evaluate`; ``now`` as there)."""
    run_stages = _ranged(compile_pipeline(rule.stages, lookups=lookups, aliases=aliases),
                         window(rule.timerange, now))  # fmt: skip
    chosen = fields_for(rule, fields)
    if chosen is None or (
        rule.stages
        and isinstance(rule.stages[0], DataModel)
        and not any(isinstance(s, Subsearch) for s in rule.stages)
    ):
        # a tstats reads the data set's fields, which the data-model profile computes from
        # the events' own fields (ir.datamodels), not the search-time field profile; a
        # subsearch may search the events themselves, which need it
        return run_stages
    return lambda events: run_stages(chosen.apply(e) for e in events)


def compile_sourced_run(
    rule: Rule,
    profile_name: str = "windows",
    fields: str | None = None,
    lookups: LookupProvider | None = None,
    now: datetime.datetime | None = None,
) -> Callable[[Iterable[Event]], list[Event]] | None:
    """:func:`compile_run` on the events of the rule's log source only, as a filter rule is
    run (a Sigma correlation or 1.x aggregation counts its log source's events, not every
    event): each event goes in once, with the field aliases of the first log-source branch
    that selects it. ``None`` when the profile maps the log source to none of its events (the
    rule is not run, as an unmapped filter rule is not). A rule without a log source (an SPL
    search selects its events in its own search) or ``profile_name="none"``: every event."""
    chosen = profile(profile_name)
    run = compile_run(rule, fields, lookups, now=now)
    if not chosen.mappings or rule.logsource.is_empty():
        return run
    branches = chosen.resolve(rule.logsource)
    if branches is None:
        return None
    tests = [(compile_expr(b.condition), b.alias_map()) for b in branches]

    def sourced(events: Iterable[Event]) -> list[Event]:
        selected: list[Event] = []
        for event in events:
            for inside, aliases in tests:
                if inside(event):
                    selected.append(Row.of(event, aliases) if aliases else event)
                    break
        return run(selected)

    return sourced


def _ranged(run: Callable[[Iterable[Event]], list[Event]], keep: Window) -> Callable[
    [Iterable[Event]], list[Event]
]:
    """``run`` on the events inside ``keep`` only (the events as read: their own times)."""
    if not keep.applies:
        return run
    return lambda events: run(e for e in events if keep.holds(e))


def run(
    rule: Rule,
    events: Iterable[Event | dict[str, Any]],
    fields: str | None = None,
    lookups: LookupProvider | None = None,
    now: datetime.datetime | None = None,
) -> list[dict[str, Any]]:
    """The rows ``rule`` returns on ``events`` (its log source is not applied: SPL selects
    its events in its own search; its time range is, as in :func:`evaluate`)."""
    rows = compile_run(rule, fields, lookups, now=now)(
        e if isinstance(e, Event) else Event(e) for e in events
    )
    return [row_dict(row) for row in rows]


def row_dict(row: Event) -> dict[str, Any]:
    """A result row as JSON-ready fields (``_raw`` left out unless a stage set it)."""
    return {k: v for k, v in row.fields.items() if k != "Event"}
