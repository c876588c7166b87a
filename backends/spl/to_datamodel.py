"""A Sigma rule as a ``tstats`` search over a CIM data set (``translate --to spl --data-model``).

The inverse of :mod:`backends.sigma.emit_datamodel`: the rule becomes the stages ``DataModel``,
``Filter(command="tstats")``, ``Stats(command="tstats")`` and the ``rename`` of
``drop_dm_object_name``, which the one SPL writer writes as ``| tstats ... from datamodel=D
where W by F | rename D.* AS *``. The where clause ``W`` must hold for a data-set row exactly
when the Sigma rule holds for the row's event:

* The data set: the one whose sources' events are exactly the events the windows log-source
  profile selects for the rule's log source (``process_creation``: Sysmon 1 and Security 4688,
  both sources of ``Endpoint.Processes``). Other sources of the same data set are excluded by a
  field every source sets to a constant (``Filesystem.action=created`` leaves out the deleted
  files of ``file_delete``).
* Each field: a Sigma field is read on each source's events through the log-source branch's
  aliases (``Image`` is ``NewProcessName`` on 4688), and written as the data-set field the
  source *copies* from that event field (``Processes.process_path``). A copy holds the same
  values and is missing exactly when the event field is absent or null, so every predicate
  kind keeps its meaning, except ``exists`` (true on a JSON null, whose copy is missing).
  ``Image|endswith: '\\cmd.exe'`` is thus ``Processes.process_path="*\\cmd.exe"``, not
  ``process_name``: the name is a computed field with its own meaning.
* When the sources give different clauses (a field one source copies and the other does not
  have), each is ANDed with the source's constant (``vendor_product``) and the two ORed.
* When the log source is part of a source's events (``registry_set`` is Sysmon 13, one of the
  three events that make ``Endpoint.Registry`` rows), the source's
  :class:`~ir.datamodels.EventSubset` for it tells its rows apart (the rows with a
  ``Registry.registry_value_data``): ANDed with the clause. Its equivalence rests on an event
  schema (Sysmon 13 always has ``Details``, 12 and 14 never), an assumption on the events as
  :data:`ABSENT` is, so strict mode refuses it (``datamodel:schema``) and lossy mode writes it
  with that warning.

Refused, ``unsupported`` with the predicate's position: ``logsource`` (no data set of the
profile is exactly the log source's events, nor a declared subset of one source's:
``registry_add``/``registry_delete`` are Sysmon 12, told from 14 only by ``action`` computed
from ``EventType``, whose mapping by the Splunk add-on is not cited, and which 840 of the
shared EventID 12 events lack; ``file_delete`` is Sysmon 23, whose rows are the same
``action=deleted`` rows as Sysmon 26's and no Filesystem field tells them apart),
``datamodel:field`` (an event
field no data-set field copies: the CIM has no place for it), ``keyword``, ``exists``,
``condition``, ``correlation`` (a Sigma correlation is not one ``tstats``). A field the
source's events do not have at all (``OriginalFileName`` on Security 4688: :data:`ABSENT`)
is missing there, as it is for the Sigma rule: an assumption on the events, so strict mode
refuses it (``datamodel:absent``) and lossy mode writes it with that warning.

Differences with pySigma-backend-splunk's ``data_model`` output, triaged with an event
(``benchmarks/sigma_to_tstats.py``): for ``file_event`` pySigma reads all of
``Endpoint.Filesystem`` (a Sysmon 23 deletion matches); for ``registry_set`` all of
``Endpoint.Registry``: ``registry_set_bypass_uac_using_silentcleanup_task``'s ``NOT
Registry.registry_value_data="%SystemRoot%"`` holds on the row of a Sysmon 12 ``DeleteValue``
of ``...\\Environment\\windir`` (shared event EventRecordID 5135), which the Sigma rule, on
Sysmon 13 only, does not match. In both, ruleglot agrees with the Sigma rule.

Options: ``summariesonly`` (Splunk: read only the accelerated summaries; the same rows for
the model), and always ``allow_old_summaries=true fillnull_value="null"`` as
pySigma-backend-splunk's ``data_model`` format writes them (so that an event missing a
by-field still makes a row). The stats are pySigma's: ``count min(_time) as firstTime
max(_time) as lastTime`` by every data-set field the clause reads.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ir.datamodels import DataModelProfile, DataSet, DataSetSource, EventSubset
from ir.errors import Span, lossy_warning, unsupported
from ir.extractions import Tree, simplify, simplify_and, simplify_or
from ir.logsources import LogSourceProfile, SourceBranch
from ir.nodes import (
    Aggregation,
    DataModel,
    Expr,
    FieldRef,
    Filter,
    Kind,
    LogSource,
    Predicate,
    Rename,
    Rule,
    Stats,
    all_of,
    predicates,
)

__all__ = ["to_datamodel"]

#: Sigma taxonomy fields the events of a data-set source do not have (Microsoft's event schema;
#: security_content ``data_sources/<source>.yml`` ``fields`` lists none of them, checked by
#: ``tests/test_to_datamodel.py``): on them a predicate reads a missing field.
ABSENT: dict[str, tuple[str, ...]] = {
    "Windows Event Log Security 4688": (
        "OriginalFileName", "Hashes", "IntegrityLevel", "ParentCommandLine", "CurrentDirectory",
        "User", "Description", "Product", "Company", "FileVersion", "ParentUser",
        "ParentProcessGuid", "ProcessGuid",
    ),
}

#: The stats pySigma-backend-splunk's ``data_model`` format writes.
AGGREGATIONS = (
    Aggregation("count"),
    Aggregation("min", "_time", "firstTime"),
    Aggregation("max", "_time", "lastTime"),
)


def to_datamodel(
    rule: Rule,
    profile: DataModelProfile,
    logsources: LogSourceProfile,
    summariesonly: bool = False,
    warnings: list[dict[str, Any]] | None = None,
) -> Rule:
    """``rule`` (a Sigma rule: filters only) as ``tstats`` stages; see the module docstring.
    Raises ``unsupported`` :class:`RuleglotError` naming what cannot be written. ``warnings``
    (lossy mode): where to list the assumptions made instead of refusing (``datamodel:absent``)."""
    if not all(isinstance(s, Filter) for s in rule.stages):
        _refuse(
            rule,
            construct="correlation",
            message="a correlation rule is not one tstats search",
            span=rule.span,
        )
    branches = logsources.resolve(rule.logsource)
    ls = rule.logsource
    described = f"product={ls.product} category={ls.category} service={ls.service}"
    if not branches:
        _refuse(
            rule,
            construct="logsource",
            message=f"log source {described} selects no event of the "
            f"{logsources.name} log-source profile",
            span=rule.span,
        )
    assert branches is not None
    found = _dataset(profile, branches)
    if found is None:
        _refuse(
            rule,
            construct="logsource",
            message=f"no data set of the {profile.name} data-model profile is "
            f"exactly the events of log source {described}",
            span=rule.span,
        )
    assert found is not None
    dataset, chosen = found
    expr = _and([f.expr for f in rule.stages if isinstance(f, Filter)])
    clauses: list[tuple[DataSetSource, Tree]] = []
    for source, branch, subset in chosen:

        def leaf(p: Predicate, s: DataSetSource = source, b: SourceBranch = branch) -> Tree:
            return _field(rule, dataset, s, b, p, warnings)

        clause = simplify(expr, leaf)
        if subset is not None:
            _assume(rule, subset, warnings)
            clause = simplify_and([subset.rows, clause])
        clauses.append((source, clause))
    where = _where(rule, dataset, clauses)
    options = (
        ("summariesonly", "true" if summariesonly else "false"),
        ("allow_old_summaries", "true"),
        ("fillnull_value", "null"),
    )
    by = tuple(dict.fromkeys(p.field for p in _predicates(where) if p.field is not None))
    stages: list[object] = [DataModel(dataset.name, options)]
    if where is not None:
        stages.append(Filter(where, "tstats"))
    stages.append(Stats(AGGREGATIONS, by, "tstats"))
    # drop_dm_object_name(<object>): the CIM app's macro is `rename <object>.* AS *`
    stages.append(Rename(((f"{dataset.prefix}.*", "*"),)))
    # the data set selects the events: no log source is left to write as search terms
    logsource = LogSource(definition=rule.logsource.definition)
    return replace(rule, stages=tuple(stages), logsource=logsource, language="spl")  # type: ignore[arg-type]


def _and(exprs: list[Expr]) -> Expr:
    return all_of(exprs)


def _predicates(tree: Expr | None) -> list[Predicate]:
    return [] if tree is None else list(predicates(tree))


def _refuse(rule: Rule, *, construct: str, message: str, span: Span | None) -> None:
    """Raise :func:`ir.errors.unsupported` at ``span`` (the rule's own if ``None``), with the
    caret line from the rule's source text."""
    raise unsupported(construct=construct, message=message, span=span or rule.span).at(
        None, rule.source_text
    )


Chosen = tuple[DataSetSource, SourceBranch, EventSubset | None]


def _dataset(
    profile: DataModelProfile, branches: tuple[SourceBranch, ...]
) -> tuple[DataSet, list[Chosen]] | None:
    """The data set whose sources (or a declared subset of one source's events) are exactly
    the branches' events, with each source's branch and the subset when it is one."""
    wanted = {b.condition: b for b in branches}
    for dataset in profile.datasets:
        chosen: list[Chosen] = []
        covered = set()
        for source in dataset.sources:
            if source.condition in wanted:
                chosen.append((source, wanted[source.condition], None))
                covered.add(source.condition)
                continue
            for subset in source.subsets:
                if subset.condition in wanted:
                    chosen.append((source, wanted[subset.condition], subset))
                    covered.add(subset.condition)
        if chosen and covered == set(wanted):
            return dataset, chosen
    return None


def _assume(rule: Rule, subset: EventSubset, warnings: list[dict[str, Any]] | None) -> None:
    """A subset told apart by an event schema: refused in strict mode, a warning in lossy."""
    if not subset.assumption:
        return
    fields = ", ".join(sorted({p.field for p in predicates(subset.rows) if p.field}))
    message = (f"the log source's rows are told apart by {fields}, which assumes "
               f"{subset.assumption}")  # fmt: skip
    if warnings is None:
        _refuse(rule, construct="datamodel:schema", message=message + " (--lossy writes it so)",
                span=rule.span)  # fmt: skip
    warning = lossy_warning("datamodel:schema", message, rule.span)
    assert warnings is not None
    if warning not in warnings:
        warnings.append(warning)


def _field(
    rule: Rule,
    dataset: DataSet,
    source: DataSetSource,
    branch: SourceBranch,
    p: Predicate,
    warnings: list[dict[str, Any]] | None,
) -> Tree:
    """``p`` (on a Sigma field) as the predicate on the data-set field copying it."""
    if p.field is None:
        _refuse(
            rule,
            construct="keyword",
            message="a Sigma keyword searches every value of the event; a "
            "data-set row has only its data set's fields",
            span=p.span,
        )
    if p.kind is Kind.EXISTS:
        _refuse(
            rule,
            construct="exists",
            message="'exists' holds on a JSON null, which a data-set field does "
            "not copy (it is missing from the row)",
            span=p.span,
        )
    assert p.field is not None
    name = _copy_of(dataset, source, branch, p.field)
    if name is None and branch.alias_map().get(p.field, p.field) in ABSENT.get(source.name, ()):
        # the source's events have no such field: the predicate reads a missing field
        message = (f"{p.field!r} is written as missing on {source.name} events, whose schema "
                   "has no such field; an event that has it anyway would match the Sigma rule "
                   "and not the data set's row")  # fmt: skip
        if warnings is None:
            _refuse(
                rule,
                construct="datamodel:absent",
                message=message + " (--lossy writes it so)",
                span=p.span,
            )
        else:
            warning = lossy_warning("datamodel:absent", message, p.span)
            if warning not in warnings:
                warnings.append(warning)
        return p.kind is Kind.NULL
    if name is None:
        _refuse(
            rule,
            construct="datamodel:field",
            message=f"Sigma field {p.field!r} is not copied by any field "
            f"of data set {dataset.name} ({source.name})",
            span=p.span,
        )
    value = p.value
    if isinstance(value, FieldRef):
        other = _copy_of(dataset, source, branch, value.field)
        if other is None:
            _refuse(
                rule,
                construct="datamodel:field",
                message=f"Sigma field {value.field!r} is not copied by "
                f"any field of data set {dataset.name} ({source.name})",
                span=p.span,
            )
        assert other is not None
        value = FieldRef(other, value.match)
    assert name is not None
    return Predicate(name, p.kind, value, p.cased, span=p.span)


def _copy_of(
    dataset: DataSet, source: DataSetSource, branch: SourceBranch, sigma_field: str
) -> str | None:
    event_field = branch.alias_map().get(sigma_field, sigma_field)
    for x in source.extractions:
        if x.transform == "copy" and x.sources == (event_field,):
            return dataset.field_name(x.target)
    return None


def _where(
    rule: Rule, dataset: DataSet, clauses: list[tuple[DataSetSource, Tree]]
) -> Expr | None:
    """One clause for every chosen source, told apart (and from the other sources) by a
    constant field when they differ."""
    chosen = [s for s, _ in clauses]
    others = [s for s in dataset.sources if s not in chosen]
    differ = len({c for _, c in clauses}) > 1
    if not others and not differ:
        only = clauses[0][1]
        if only is False:
            _refuse(
                rule,
                construct="detection",
                message="the rule holds for no row of the data set",
                span=rule.span,
            )
        return None if only is True else only  # type: ignore[return-value]
    target = _discriminator(dataset, chosen, others, every=differ)
    if target is None:
        _refuse(
            rule,
            construct="logsource",
            message=f"the sources of data set {dataset.name} "
            f"({', '.join(s.name for s in dataset.sources)}) share no constant field "
            "that tells the log source's events apart",
            span=rule.span,
        )
    assert target is not None
    field = dataset.field_name(target)
    alternatives: list[Tree] = []
    for source, clause in clauses:
        (constant,) = [x.argument for x in source.extractions if x.target == target]
        tag = Predicate(field, Kind.EQ, constant, True)
        alternatives.append(simplify_and([tag, clause]))
    out = simplify_or(alternatives)
    if isinstance(out, bool):
        _refuse(
            rule,
            construct="detection",
            message="the rule holds for no row of the data set",
            span=rule.span,
        )
    return out  # type: ignore[return-value]


def _discriminator(
    dataset: DataSet, chosen: list[DataSetSource], others: list[DataSetSource], every: bool
) -> str | None:
    """A field every source sets to a constant, whose chosen sources' values are not the
    other sources' (and differ between chosen sources when ``every``)."""
    def constants(source: DataSetSource) -> dict[str, str]:
        return {x.target: x.argument for x in source.extractions if x.transform == "constant"}

    tables = {s.name: constants(s) for s in dataset.sources}
    common = set.intersection(*(set(t) for t in tables.values()))
    for target in sorted(common):
        mine = [tables[s.name][target] for s in chosen]
        theirs = {tables[s.name][target] for s in others}
        if theirs & set(mine):
            continue
        if every and len(set(mine)) < len(mine):
            continue
        return target
    return None
