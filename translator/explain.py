"""The page of one rule: everything ``ruleglot explain`` and the catalog show, built from the IR.

What this module owns
    :func:`rule_page` turns a parsed :class:`~ir.nodes.Rule` (and the text it was read from) into
    a :class:`RulePage`: plain data (title, ATT&CK rows, event coverage, body, stages with their
    predicates, exclusions, indicators with corpus counts, SPL search terms) that the renderers
    in :mod:`translator.pages` print as Markdown, JSON or HTML. Each table comes from the IR:
    the exclusions (top-level ``NOT`` conjuncts) and indicators of every filter, a ``tstats``
    ``where`` included (:func:`translator.indicators.rule_indicators`), the stages; kinds are the
    IR's (``ir.nodes.Kind``), one vocabulary for both languages, and values are never cut.

What it must not do
    Render (no markup here) or read files; count the corpus (:mod:`translator.catalog` passes
    the counts in); say how a stage reads as text (:mod:`translator.stagetext`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from backends.spl.emit import SplWriter, aggregation_text, options_text
from ir.errors import RuleglotError
from ir.nodes import (
    DataModel,
    Expr,
    Filter,
    Kind,
    Not,
    Predicate,
    Rule,
    Stage,
    Stats,
    conjuncts,
    predicates,
    signed_predicates,
)
from translator.attack import AttackRow, attack_data
from translator.eventcoverage import EventRow, event_coverage, source_channels
from translator.indicators import (
    IndicatorKey,
    display_field,
    indicator_key,
    rule_exclusions,
    rule_indicators,
)
from translator.stagetext import (
    render_expr,
    sigma_detection,
    split_pipes,
    stage_text,
)


@dataclass(frozen=True, slots=True)
class PredicateRow:
    """One predicate as a row: what the rule compares, and its catalog key."""

    field: str
    kind: str
    value: str
    key: IndicatorKey
    excluded: bool = False
    corpus: int | None = None  # other catalog rules with the same key (None: no catalog)
    #: under an odd number of NOTs inside a conjunct that is not itself an exclusion
    #: (``NOT User=a OR User=b``: the rule matches where User is not ``a``)
    negated: bool = False

    @property
    def role(self) -> str:
        """What the rule does with the predicate: ``excluded`` (a top-level ``NOT``
        conjunct), ``negated`` (the rule matches where it does not hold) or ``matched``."""
        return "excluded" if self.excluded else "negated" if self.negated else "matched"


@dataclass(frozen=True, slots=True)
class StageView:
    number: int
    command: str
    text: str  # as written in the rule (SPL) or its detection block (Sigma)
    logic: str | None  # the filter's boolean tree, as ruleglot reads it
    predicates: tuple[PredicateRow, ...] = ()


@dataclass(frozen=True, slots=True)
class ExclusionRow:
    field: str
    kind: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TermRow:
    """A bare SPL search term: matched against ``_raw``, not a field. ``indexed`` when written
    as ``TERM(...)`` (one indexed token, the whole text between the parentheses)."""

    stage: int
    term: str
    indexed: bool = False

    @property
    def written(self) -> str:
        return f"TERM({self.term})" if self.indexed else self.term


@dataclass(frozen=True)
class RulePage:
    slug: str
    language: str
    title: str
    description: str | None
    path: str | None
    rule_id: str | None
    level: str | None
    status: str | None
    author: str | None
    date: str | None
    logsource: str
    references: tuple[str, ...]
    falsepositives: tuple[str, ...]
    tags: tuple[str, ...]
    attack: tuple[AttackRow, ...]
    unknown_tags: tuple[str, ...]
    events: tuple[EventRow, ...]
    body: str
    body_format: str
    stages: tuple[StageView, ...]
    exclusions: tuple[ExclusionRow, ...]
    indicators: tuple[PredicateRow, ...]
    terms: tuple[TermRow, ...]
    stages_as_written: bool = True  # False: a macro expanded into stages; see ``search``
    search: str | None = None  # SPL: the search as written

    @property
    def tactics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.tactic.name for r in self.attack if r.tactic))

    @property
    def techniques(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.technique.id for r in self.attack if r.technique))


# --- rows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Corpus counts: indicator key -> rules using it; ``includes_rule`` when the rule being
    shown is one of the counted rules (a catalog), so that it is not counted as another."""

    by_key: Mapping[IndicatorKey, int]
    includes_rule: bool = True

    def others(self, key: IndicatorKey) -> int:
        return max(self.by_key.get(key, 0) - (1 if self.includes_rule else 0), 0)


def _row(
    p: Predicate, language: str, counts: Counts | None, excluded: bool = False,
    negated: bool = False,
) -> PredicateRow:  # fmt: skip
    key = indicator_key(p, language)
    corpus = None if counts is None else counts.others(key)
    return PredicateRow(
        display_field(p), str(p.kind), p.value_text(), key, excluded, corpus, negated
    )


def _exclusions(rule: Rule) -> tuple[ExclusionRow, ...]:
    grouped: dict[tuple[str, str], list[str]] = {}
    for p in rule_exclusions(rule):
        values = grouped.setdefault((display_field(p), str(p.kind)), [])
        if p.value_text() not in values:
            values.append(p.value_text())
    return tuple(ExclusionRow(f, k, tuple(v)) for (f, k), v in grouped.items())


def _terms(rule: Rule) -> tuple[TermRow, ...]:
    source = rule.source_text or ""
    rows: list[TermRow] = []
    numbered = [(n, s) for n, group in enumerate(_commands(rule.stages), 1) for s in group]
    for number, stage in numbered:
        if not isinstance(stage, Filter) or stage.command != "search":
            continue
        for p in predicates(stage.expr):
            if p.kind is Kind.TERM and isinstance(p.value, str):
                indexed = re.search(r"TERM\(\s*" + re.escape(p.value) + r"\s*\)", source, re.I)
                rows.append(TermRow(number, p.value, indexed is not None))
    return tuple(rows)


# --- stages ----------------------------------------------------------------------------------


def _command(stage: Stage, language: str) -> str:
    if isinstance(stage, Filter) and language == "sigma":
        return "detection"
    return str(getattr(stage, "command", None) or getattr(stage, "name", None) or "") or (
        type(stage).__name__.lower()
    )


def _stage_tree(stage: Stage) -> Expr | None:
    """The boolean tree a stage filters with: a ``Filter``'s (a ``tstats``' ``where`` is one,
    ``command="tstats"``)."""
    if isinstance(stage, Filter):
        return stage.expr
    return None


def _commands(stages: tuple[Stage, ...]) -> list[tuple[Stage, ...]]:
    """The stages grouped by the command they were read from: a ``tstats`` is a
    ``DataModel``, its ``Filter(command="tstats")`` and its ``Stats`` (``ir.nodes.DataModel``);
    every other stage is one command."""
    groups: list[tuple[Stage, ...]] = []
    index = 0
    while index < len(stages):
        stage = stages[index]
        end = index + 1
        if isinstance(stage, DataModel):
            while end < len(stages) and end - index < 3 and _tstats_part(stages[end]):
                end += 1
        groups.append(stages[index:end])
        index = end
    return groups


def _tstats_part(stage: Stage) -> bool:
    return getattr(stage, "command", None) == "tstats" and isinstance(stage, (Filter, Stats))


def _tstats_text(group: tuple[Stage, ...]) -> str:
    """A ``tstats`` read as three stages, as one command again (by the one SPL writer; as
    read, with the where clause rendered, when it refuses a part)."""
    model = group[0]
    assert isinstance(model, DataModel)
    try:
        return SplWriter().tstats_spl(group)
    except RuleglotError:
        pass
    where = next((s for s in group if isinstance(s, Filter)), None)
    stats = next((s for s in group if isinstance(s, Stats)), None)
    words = ["tstats", *options_text(model.options)]
    if stats is not None:
        words += [aggregation_text(a) for a in stats.aggregations]
    words.append(f"from datamodel={model.name}")
    if where is not None:
        words.append(f"where {render_expr(where.expr)}")
    if stats is not None and stats.by:
        words.append("by " + " ".join(stats.by))
    if stats is not None:
        words += options_text(stats.options)
    return " ".join(words)


def _stages(
    rule: Rule, text: str, language: str, counts: Counts | None
) -> tuple[tuple[StageView, ...], bool]:
    """The stage views (one per command: a ``tstats`` is one), and whether their text is the
    rule's own (SPL: the search cut at its pipes lines up with the commands; not when a macro
    expanded into stages)."""
    written = split_pipes(rule.source_text or "") if language == "spl" else []
    groups = _commands(rule.stages)
    as_written = len(written) == len(groups)
    views: list[StageView] = []
    for number, group in enumerate(groups, start=1):
        stage = group[0]
        if as_written:
            shown = written[number - 1]
        elif language == "sigma" and isinstance(stage, Filter):
            shown = sigma_detection(rule, text)
        elif isinstance(stage, DataModel):
            shown = _tstats_text(group)
        else:
            shown = stage_text(stage, render_expr)
        where = next((s for s in group if isinstance(s, Filter)), None)
        tree = _stage_tree(where if where is not None else stage)
        rows: list[PredicateRow] = []
        for conjunct in conjuncts(tree) if tree is not None else ():
            # an exclusion's predicate under one NOT (its own) is excluded; one under two
            # (NOT (x=1 NOT y=2): y=2 is kept) is matched; elsewhere one NOT is negated
            exclusion = isinstance(conjunct, Not)
            rows.extend(
                _row(p, language, counts, exclusion and sign, not exclusion and sign)
                for p, sign in signed_predicates(conjunct)
            )
        logic = render_expr(tree) if tree is not None else None
        views.append(
            StageView(number, _command(stage, language), shown, logic, tuple(dict.fromkeys(rows)))
        )
    return tuple(views), as_written or language != "spl"


# --- the page --------------------------------------------------------------------------------


def logsource_text(rule: Rule) -> str:
    """The rule's log source in a few words: Sigma's triple; for SPL, which has none, the data
    models its ``tstats`` read, else the Windows channels its ``source`` terms name."""
    ls = rule.logsource
    parts = [
        f"{name}: {value}"
        for name, value in (
            ("product", ls.product),
            ("category", ls.category),
            ("service", ls.service),
        )
        if value
    ]
    if parts:
        return ", ".join(parts)
    models = [s.name for s in rule.stages if isinstance(s, DataModel)]
    if models:
        return "datamodel: " + ", ".join(dict.fromkeys(models))
    channels = source_channels(rule_indicators(rule))
    return "channel: " + ", ".join(channels) if channels else ""


def rule_slug(rule: Rule, path: str | None, index: int = 0) -> str:
    """A file-name-safe name for the rule's page: its id, else its file's stem."""
    base = rule.id or (re.sub(r"\.[^.]*$", "", path.rsplit("/", 1)[-1]) if path else rule.title)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.").lower() or "rule"
    return f"{rule.language or 'rule'}-{slug}" + (f"-{index}" if index else "")


def rule_page(
    rule: Rule,
    text: str,
    path: str | None = None,
    counts: Counts | None = None,
    slug: str | None = None,
) -> RulePage:
    """The page of ``rule`` read from ``text``; ``counts`` fills the corpus column (``None``:
    no corpus, the column stays blank)."""
    language = rule.language or "sigma"
    attack_rows, unknown = attack_data().rows(rule.tags)
    stages, as_written = _stages(rule, text, language, counts)
    indicators = tuple(dict.fromkeys(_row(p, language, counts) for p in rule_indicators(rule)))
    return RulePage(
        slug=slug or rule_slug(rule, path),
        language=language,
        title=rule.title,
        description=rule.description,
        path=path,
        rule_id=rule.id,
        level=rule.level,
        status=rule.status,
        author=rule.author,
        date=rule.date,
        logsource=logsource_text(rule),
        references=rule.references,
        falsepositives=rule.falsepositives,
        tags=rule.tags,
        attack=tuple(attack_rows),
        unknown_tags=tuple(unknown),
        events=tuple(event_coverage(rule)),
        body=text,
        body_format="spl" if path and path.endswith(".spl") else "yaml",
        stages=stages,
        stages_as_written=as_written,
        search=rule.source_text if language == "spl" else None,
        exclusions=_exclusions(rule),
        indicators=indicators,
        terms=_terms(rule),
    )
