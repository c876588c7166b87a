"""A ``tstats`` search's data set and ``where`` as a Sigma log source and detection.

For :mod:`backends.sigma.emit`. ``| tstats ... from datamodel=D where W by F`` reads as the
stages ``DataModel(D)``, ``Filter(W, command="tstats")``, ``Stats(command="tstats")``. Its rows
are events of the data set's sources with the CIM fields the data-model profile
(:mod:`ir.datamodels`) computes; a Sigma rule matches events of a log source with the fields of
the Sigma taxonomy. So the translation is, per source of the data set:

1. ``W`` with every CIM predicate replaced by the same condition on the event fields it is
   computed from (:func:`ir.extractions.invert`: ``Processes.process_name=cmd.exe`` is
   ``Image`` equal to ``cmd.exe`` or ending in ``\\cmd.exe`` or ``/cmd.exe``); a field the
   source does not compute is missing from its rows (a predicate on it is false, ``null``
   true); a source for which ``W`` cannot hold is left out.
2. Event fields named as the Sigma log source reads them: the windows log-source profile
   (:mod:`backends.sigma.logsources`) reads ``Image`` from ``NewProcessName`` on Security 4688
   events, so the 4688 source's ``NewProcessName`` is written ``Image``.
3. One log source: the sources' own (``DataSetSource.logsource``). When the profile's branches
   for it are exactly the remaining sources' events and every source gave the same condition,
   the detection is that condition; otherwise each source's condition is ANDed with its event
   selector (``Channel``/``EventID``) and the alternatives ORed, which is exact whatever the log
   source covers. Sources of several log sources are written under ``product: windows`` alone
   with their selectors (the event fields then as the events name them).

The stats after it (``count min(_time) max(_time) by ...``) only shape result rows: a Sigma
match is the event itself, reported as a lossy change (construct ``tstats:stats``). Two
things about them are kept exactly: an event missing a by-field makes no row (unless
``fillnull_value``), so the detection requires each by-field; and a filter after the stats
that tests only by-fields (through ``drop_dm_object_name``'s rename) holds on an event's
group row exactly when it holds on the event's row, so :mod:`ir.pushdown` has already moved
it into the where clause when the emitter reads the stages. Refused
(``unsupported``; lossy: the nearest form, or the predicate dropped, with a warning):
``datamodel`` (a data set the profile does not know, or none of whose sources holds events),
``datamodel:field`` (a field that is not the data set's, such as ``host`` or another object's),
and the constructs :class:`ir.extractions.Inexact` names (``basename`` for a regular
expression on a file name...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sigma.pipelines.splunk.splunk import splunk_web_proxy_cim_mapping

from backends.sigma.logsources import windows_profile
from ir.datamodels import DataModelProfile, DataSet, DataSetSource
from ir.errors import Span
from ir.extractions import Inexact, Tree, invert, simplify, simplify_and, simplify_or
from ir.logsources import SourceBranch
from ir.nodes import (
    DataModel,
    Expr,
    Filter,
    Kind,
    LogSource,
    Not,
    Predicate,
    Stage,
    Stats,
    all_of,
    map_fields,
)

__all__ = ["TstatsRead", "read_tstats"]

#: Report a change: (construct, message, span). Strict emitters raise from it.
Problem = Callable[[str, str, "Span | None"], None]


@dataclass
class TstatsRead:
    """What a leading ``tstats`` says in Sigma: its log source, the detection over event
    fields (``True``: every event of the log source), and the index of the first stage after
    its stats."""

    logsource: LogSource
    detection: Expr | None
    end: int
    #: the stats' by-fields: every row has them (required by the detection, or filled)
    by: tuple[str, ...] = ()
    dataset: DataSet | None = None
    #: the data set's sources whose events can pass the where clause
    sources: tuple[DataSetSource, ...] = ()

    def event_field(self, name: str) -> str | None:
        """The one event field, as the Sigma log source names it, that the data-set field
        ``name`` (``Processes.dest``) copies in every source left, or ``None`` (a computed
        field, sources that disagree, or no source): what a correlation may group by."""
        if self.dataset is None or not self.sources:
            return None
        prefix = self.dataset.prefix + "."
        if not name.startswith(prefix):
            return None
        short = name[len(prefix) :]
        names: set[str] = set()
        for source in self.sources:
            found = [x for x in source.extractions if x.target == short]
            if len(found) != 1 or found[0].transform != "copy" or len(found[0].sources) != 1:
                return None
            branch = _branch(source)
            if len({s.logsource for s in self.sources}) > 1 or branch is None:
                names.add(found[0].sources[0])
                continue
            aliases = branch.alias_map()
            inverse = {event: sigma for sigma, event in aliases.items()}
            event = found[0].sources[0]
            if event in aliases and event not in inverse:
                return None  # the Sigma name reads another event field there
            names.add(inverse.get(event, event))
        return names.pop() if len(names) == 1 else None


def read_tstats(
    stages: Sequence[Stage], profile: DataModelProfile, problem: Problem
) -> TstatsRead | None:
    """The leading ``tstats`` of ``stages`` in Sigma terms, or ``None`` when the stages do not
    start with a :class:`DataModel`. ``problem`` is told every change (module docstring)."""
    if not stages or not isinstance(stages[0], DataModel):
        return None
    head = stages[0]
    index = 1
    clauses: list[Expr] = []
    if index < len(stages) and _is_tstats_filter(stages[index]):
        clauses.append(stages[index].expr)  # type: ignore[union-attr]
        index += 1
    by_fields: tuple[str, ...] = ()
    if index < len(stages) and isinstance(stages[index], Stats):
        stats = stages[index]
        assert isinstance(stats, Stats)
        by = [f for f in stats.by if f != "_time"]
        by_fields = tuple(stats.by)
        fill = next((v for k, v in head.options if k.lower() == "fillnull_value"), None)
        if fill is None:
            # tstats drops a row missing a by-field: only events having them all are counted
            clauses.extend(Not(Predicate(f, Kind.NULL, None), span=stats.span) for f in by)
        problem(
            "tstats:stats",
            "tstats' aggregation only shapes the results (a Sigma rule's match is the event "
            "itself, not a row of counts by field): dropped",
            stats.span,
        )
        index += 1
    where = all_of(clauses) if clauses else None
    dataset = profile.find(head.name)
    if dataset is not None and not dataset.sources and dataset.name in TAXONOMY:
        logsource, detection = _taxonomy(dataset, where, problem, head.span)
        return TstatsRead(logsource, detection, index, by_fields, dataset)
    if dataset is None or not dataset.sources:
        why = ("is not in" if dataset is None else "has no event source in")
        problem("datamodel", f"data model {head.name!r} {why} the {profile.name} data-model "
                "profile: no Sigma log source selects its rows", head.span)  # fmt: skip
        return TstatsRead(LogSource(), None, index, by_fields, dataset)
    alternatives = _per_source(dataset, where, problem, head.span)
    if not alternatives:
        problem("datamodel", f"no row of {dataset.name} can satisfy the tstats where clause",
                head.span)  # fmt: skip
        return TstatsRead(LogSource(), None, index, by_fields, dataset)
    logsource, detection = _combine(alternatives)
    sources = tuple(s for s, _ in alternatives)
    return TstatsRead(logsource, detection, index, by_fields, dataset, sources)


#: Data sets without event sources here that a Sigma taxonomy log source names, with the Sigma
#: field of each data-set field. Web: pySigma-backend-splunk's ``splunk_cim`` pipeline maps the
#: Sigma ``proxy`` category's W3C fields to CIM Web fields (``splunk_web_proxy_cim_mapping``,
#: inverted here from the library itself), and ``status`` is ``sc-status`` (the HTTP status in
#: the Sigma taxonomy's W3C names, as SigmaHQ's web rules write it). The CIM's root Web data
#: set holds both proxy and web-server events (CIM manual, "Web": child data set ``Proxy``);
#: security_content's Web detections look for attacks on web applications, so the log source is
#: Sigma's ``webserver`` category, which uses the same W3C field names: lossy by name
#: (``datamodel:Web``), since Sigma's category selects the web-server events only.
TAXONOMY: dict[str, tuple[LogSource, dict[str, str], str]] = {
    "Web.Web": (
        LogSource(category="webserver"),
        {
            **{cim.split(".", 1)[1]: sigma for sigma, cim in splunk_web_proxy_cim_mapping.items()},
            "status": "sc-status",
        },
        "the CIM Web data set holds proxy and web-server events; Sigma category webserver "
        "selects the web-server events",
    ),
}


def _taxonomy(
    dataset: DataSet, where: Expr | None, problem: Problem, span: Span | None
) -> tuple[LogSource, Expr | None]:
    """A data set of :data:`TAXONOMY`: its log source, and the where clause on Sigma fields
    (a field without a Sigma field dropped with a ``datamodel:field`` warning)."""
    logsource, fields, why = TAXONOMY[dataset.name]
    problem(f"datamodel:{dataset.name.split('.')[0]}", f"{why}: written as Sigma category "
            f"{logsource.category!r}", span)  # fmt: skip
    prefix = dataset.prefix + "."

    def leaf(p: Predicate) -> Tree:
        name = p.field[len(prefix) :] if p.field and p.field.startswith(prefix) else None
        if name is None or name not in fields or p.kind is Kind.TERM:
            what = repr(p.field) if p.field else "a bare term"
            problem("datamodel:field", f"{what} has no Sigma {logsource.category} field "
                    "(backends/sigma/emit_datamodel.py TAXONOMY): dropped", p.span)  # fmt: skip
            return True
        return replace(p, field=fields[name])

    if where is None:
        return logsource, None
    tree = simplify(where, leaf)
    return logsource, None if isinstance(tree, bool) else tree


def _is_tstats_filter(stage: Stage) -> bool:
    return isinstance(stage, Filter) and stage.command == "tstats"


def _per_source(
    dataset: DataSet, where: Expr | None, problem: Problem, span: Span | None
) -> list[tuple[DataSetSource, Tree]]:
    """Each source's condition on event fields (sources where it cannot hold left out)."""
    out: list[tuple[DataSetSource, Tree]] = []
    reported: set[tuple[str, str]] = set()

    def once(construct: str, message: str, at: Span | None) -> None:
        if (construct, message) not in reported:
            reported.add((construct, message))
            problem(construct, message, at)

    for source in dataset.sources:
        if where is None:
            out.append((source, True))
            continue
        tree = simplify(where, lambda p, s=source: _leaf(p, dataset, s, once))  # type: ignore[misc]
        if tree is not False:
            out.append((source, tree))
    return out


def _leaf(p: Predicate, dataset: DataSet, source: DataSetSource, problem: Problem) -> Tree:
    prefix = dataset.prefix + "."
    if p.field is not None and p.kind is not Kind.TERM and p.field.lower().startswith(
        prefix.lower()
    ) and not p.field.startswith(prefix):
        # ``processes.process_name`` in a ``datamodel=Endpoint.Processes`` search: Splunk's
        # field names are case sensitive (Search Manual, "Use fields to retrieve events"), so no
        # row has the field, as the evaluator reads it: a missing field, not a dropped test
        return p.kind is Kind.NULL or (p.kind is Kind.EXISTS and p.value is False)
    if p.field is None or not p.field.startswith(prefix) or p.kind is Kind.TERM:
        what = "a bare term" if p.field is None or p.kind is Kind.TERM else repr(p.field)
        problem("datamodel:field", f"{what} is not a field of data set {dataset.name} "
                f"(its fields are {prefix}<name>): dropped", p.span)  # fmt: skip
        return True
    name = p.field[len(prefix) :]
    found = [x for x in source.extractions if x.target == name]
    if not found:  # missing from this source's rows
        return p.kind is Kind.NULL or (p.kind is Kind.EXISTS and p.value is False)
    try:
        if len(found) > 1:
            raise Inexact(f"{p.field} has {len(found)} extractions in source {source.name}")
        return invert(p, found[0])
    except Inexact as err:
        nearest = err.nearest if err.nearest is not None else True
        problem(
            found[0].transform,
            f"{p.field} {p.kind} {p.value_text()!r} ({source.name}): {err}; "
            + ("written as the nearest predicate" if err.nearest is not None else "dropped"),
            p.span,
        )
        return nearest


def _branch(source: DataSetSource) -> SourceBranch | None:
    """The windows log-source profile's branch selecting exactly ``source``'s events."""
    for branch in windows_profile().resolve(source.logsource) or ():
        if branch.condition == source.condition:
            return branch
    return None


def _sigma_names(tree: Tree, branch: SourceBranch | None) -> Tree | None:
    """``tree`` with event fields named as Sigma reads them on ``branch`` (its aliases
    inverted), or ``None`` when a field it reads is hidden there by an alias."""
    if isinstance(tree, bool):
        return tree
    aliases = branch.alias_map() if branch is not None else {}
    inverse = {event: sigma for sigma, event in aliases.items()}
    hidden: list[str] = []

    def name(field: str) -> str:
        if field in inverse:
            return inverse[field]
        if field in aliases:
            hidden.append(field)
        return field

    renamed = map_fields(tree, name)
    return None if hidden else renamed


def _combine(alternatives: list[tuple[DataSetSource, Tree]]) -> tuple[LogSource, Expr | None]:
    logsources = {s.logsource for s, _ in alternatives}
    if len(logsources) == 1:
        (logsource,) = logsources
        branches_of = [_branch(s) for s, _ in alternatives]
        pairs = zip(alternatives, branches_of, strict=True)
        named = [(s, _sigma_names(t, b)) for (s, t), b in pairs]
        if all(t is not None for _, t in named) and None not in branches_of:
            branches = windows_profile().resolve(logsource) or ()
            covers = {b.condition for b in branches} == {s.condition for s, _ in alternatives}
            trees = {t for _, t in named}
            if covers and len(trees) == 1:
                (only,) = trees
                if only is not True:
                    return logsource, only  # type: ignore[return-value]
            selected = simplify_or(
                [simplify_and([_selector(s), t]) for s, t in named]  # type: ignore[list-item]
            )
            return logsource, None if isinstance(selected, bool) else selected
    # several log sources, a source the log source's profile branches do not select exactly
    # (Sysmon 26 is no file_delete branch), or an alias hiding a field: product windows alone,
    # each source's selector, event names
    selected = simplify_or([simplify_and([_selector(s), t]) for s, t in alternatives])
    return LogSource("windows"), None if isinstance(selected, bool) else selected


def _selector(source: DataSetSource) -> Expr:
    return source.condition
