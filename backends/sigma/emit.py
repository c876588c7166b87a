"""Sigma emitter: a ruleglot IR :class:`~ir.nodes.Rule` out as Sigma YAML.

The inverse of :mod:`backends.sigma.reader`: reading the YAML written here back with
:func:`~backends.sigma.reader.read_sigma` gives a filter tree equal to the emitted one up to
And/Or flattening and operand order (``tests/test_sigma_emit.py`` checks it, and that the
evaluator decides both trees identically).

This module is the entry (:func:`emit_sigma`, :class:`EmitResult`) and the ``_Emitter`` that
wires the writer's jobs, each a module of ``backends/sigma/``: ``emit_stages.py`` (what happens
to pipeline stages), ``emit_fields.py`` (how a predicate's field is written),
``emit_logsource.py`` (the log source), ``emit_correlation.py`` and ``emit_datamodel.py`` (stats
tails as correlations, tstats searches), ``detection.py`` (the detection layout). What each
construct becomes is said once, below.

Detection layout
    The filter's top-level conjuncts that are not ``Not(...)`` become ``selection`` identifiers,
    the ``Not(...)`` ones (``Rule.exclusions``) ``filter`` identifiers, and the condition is
    ``selection and not filter`` (numbered ``selection_1``, ``filter_2``... when there are
    several). Inside one identifier: AND-ed predicates on distinct keys share one map; an OR of
    values with the same field and modifiers is a list; an AND of those is a ``|all`` list; an OR
    of maps is a list of maps. Anything else is more identifiers, combined in the condition with
    parentheses around every compound operand. Field-less predicates (Sigma keywords) are
    keyword lists, without the ``*`` at each end the reader adds back.

Predicates (the kind table of :mod:`ir.nodes`, inverted)
    eq -> plain value (numbers and booleans as YAML scalars, strings escaped with
    ``str(Pattern)``); contains/startswith/endswith -> the modifier; wildcard -> the escaped
    pattern; regex -> ``|re`` plus ``|i``/``|m``/``|s``; cidr, exists, lt/lte/gt/gte -> the
    modifier; null -> ``null``; fieldref -> ``|fieldref`` (``|startswith``...); timepart ->
    ``|hour`` etc.; ``cased`` -> ``|cased``. Not expressible, hence ``unsupported``: ``term``
    (an SPL indexed-term match on ``_raw``, not a keyword; lossy: written as a keyword),
    :class:`~ir.nodes.Condition` leaves, a cased field reference (lossy: written uncased), a
    field reference to a name with ``*``, ``?`` or ``\\\\`` (pySigma refuses or re-escapes it),
    field-less eq/startswith/endswith/exists/null/fieldref/timepart, and ``number``: eq with a
    whole float (``1.0``: pySigma reads it as the integer ``1``, which does not equal the text
    ``"1.0"``; lossy: written as that integer).

Stages
    The filters (``search``, ``where``, ``regex``) before the first other stage are ANDed
    (``A | search B`` is ``A AND B``). Two stages do not stop them: an ``eval`` whose every
    assignment copies a field (``eval f=g``): later filters read ``g`` instead (exact for the
    filters; reported as ``eval``, since the copy is not in Sigma's output); and ``table``/
    ``fields``: reported as ``table`` (a Sigma rule has no result columns; the message names
    any field it drops that a later stage reads). Any other stage is ``unsupported`` with the
    command as construct; in lossy mode it and every stage after it (filters after it see
    different rows) are dropped with a warning each. A ``stats`` with no ``where`` after it
    (presentation) is such a stage.

Correlation rules (:mod:`backends.sigma.emit_correlation` recognises them)
    A rule ending in ``[eval sigma_rule=...] | bin _time span=X | stats ... by _time, f... |
    where <aggregate> <op> N``, the shape :mod:`backends.sigma.correlation` reads, is written as a
    collection: the correlated rule(s) (``name``, a stable uuid5 ``id``, the log source, the
    detection), then the correlation rule (the metadata below, ``correlation:`` with ``type``,
    ``rules``, ``group-by``, ``timespan``, ``condition``, ``generate: false``: only the
    correlation is a result, as only the stats rows are). ``count`` is ``event_count``,
    ``dc(f)`` ``value_count``, the reader's ``sigma_rule`` eval with ``dc(sigma_rule)``
    ``temporal`` (rule names kept; a name that is a UUID is written as that rule's ``id``), and
    ``stats values(...)`` with a where over the values a ``temporal`` with one rule per AND-ed
    where part. Result columns beside the compared aggregate, and row-shaping stages after the
    where (``convert``, ``rename``...), are reported as dropped (``correlation:columns``, the
    command). Reading the
    collection back gives the same IR rule for Sigma correlations. The refused constructs
    (``correlation:timespan`` for a stats without ``bin _time span=``,
    ``correlation:aggregation``, ``correlation:condition``, ``correlation:temporal``,
    ``correlation:stages``) are listed in that module; lossy, the stats stages are dropped as
    presentation stats are. Group-by and value_count fields go through the field profile like
    filter fields, except that a field taken from the first present of several is grouped by
    the first (``coalesce``, lossy). A temporal's rules cannot hold keywords (the reader tags
    each rule with an eval expression, which has none): ``keyword``; lossy, an SPL term or a
    ``_raw`` test there is dropped instead of being written as a keyword.

Field names (``fields=`` a field profile, by default the one of the rule's language: SPL rules
are read through ``splunk_windows_xml``)
    * A Splunk field the profile extracts with ``copy`` from a single event field is that field
      (``EventCode`` -> ``EventID``, ``Relative_Target_Name`` -> ``RelativeTargetName``).
    * ``source`` (``prefix`` transform) with ``XmlWinEventLog:X``/``WinEventLog:X`` is the channel
      ``X``. A top-level conjunct selecting channels (``source``/``Channel`` values, OR-ed) becomes
      the log source: product ``windows``, and the service whose channels are exactly these
      (pySigma's ``windows_logsource_mapping``, inverted); a ``Channel`` predicate stays in the
      detection when the service has more channels, or when no single service fits. Other
      disjuncts in that conjunct (``eventtype=...``, ``source=Syslog:...``) are dropped: lossy.
    * ``sourcetype=XmlWinEventLog`` (a ``constant`` extraction) on the top level holds for every
      Windows event and is dropped.
    * A field taken from the first present (not null) of several (``user``: ``User``,
      ``TargetUserName``, ``SubjectUserName``) is written exactly: ``p(s1) or (s1 is null and
      p(s2)) or ...`` (a predicate is false on a missing or null value); ``null``/``exists``
      hold when every/any source does.
    * ``basename`` extractions (``process_name``: the file name of ``Image``) are written on
      the path with the same meaning, :func:`ir.extractions.invert`'s tree (``Image`` equal to
      ``x`` or ending in ``\\x`` or ``/x``; other kinds a ``|re`` anchored after the last
      separator), for each source of a first-present-of as above. What has no exact form (a
      non-ASCII letter under Sigma's case rules, a value holding a separator, a comparison) is
      ``unsupported``; lossy: ``process_name=x`` is written ``Image|endswith: '\\x'``, other
      kinds as they are on the whole path; an anchored regex (no form on the path) is dropped.
    * ``_raw`` (SPL's raw event text) is not a Sigma field: ``unsupported`` (not for rules read
      from Sigma, where it is a field name like any other); lossy: written as a keyword (a
      match in any one value of the event) when the kind has a keyword form, else dropped.
    * Fields the profile does not mention stay as written.

Metadata
    title, id, status, description, references, author, date, modified, tags, logsource,
    falsepositives, level. An id that is not a UUID (Sigma requires one) is replaced by
    ``uuid5(RULEGLOT_NAMESPACE, id)``, stable across runs, and the original is kept in the custom
    field ``ruleglot_original_id`` (``related`` would need a UUID too). ``status``: security
    content's ``production`` is ``stable``; Sigma's own statuses are kept, anything else is
    omitted. Tags without a namespace (``x.y``) are omitted. Sigma requires a log source: an SPL
    search whose data source (``sourcetype=circleci``, ``index=unix``) no Sigma log source maps
    gets ``service: <that value>`` and the setting in ``definition``; a rule with no data source
    at all gets ``product: splunk``; both are ``logsource`` problems.

Search settings (``ir.nodes.SEARCH_SETTINGS``, ``TIME_MODIFIERS``: ``index``, ``sourcetype``,
``source``, ``eventtype``, ``splunk_server``, ``earliest``...) of an SPL rule are never detection
fields. After the Windows channel reading above, a top-level conjunct made only of settings is the
log source: ``sourcetype``/``source`` through :mod:`backends.sigma.splunk_sources` (lossless when
the table names one Sigma product and service; a product-only or naming-convention reading is
lossy, construct ``sourcetype``/``source``); every other setting is reported by its name and
dropped (a time range belongs to the Sigma rule's schedule). A setting anywhere else (under OR
with event fields, under NOT) is reported by its name and dropped.

Errors and warnings
    Strict mode (default) raises :class:`~ir.errors.RuleglotError` (``unsupported``, with the
    construct and the IR node's line/col) on the first construct it cannot write with the same
    meaning. ``lossy=True`` writes what it can and lists each change in ``EmitResult.warnings``
    (dicts: ``construct``, ``message``, ``line``, ``col``, ``path``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from backends.sigma.data_sources import declared, sigma_logsource
from backends.sigma.detection import DetectionWriter
from backends.sigma.emit_correlation import (
    Correlation,
    Refusal,
    find_correlation,
    split_temporal,
    tstats_as_stats,
)
from backends.sigma.emit_datamodel import TstatsRead, read_tstats
from backends.sigma.emit_fields import FieldWriter
from backends.sigma.emit_stages import (
    StageWriter,
    group_filters_moved,
    substitute,
)
from backends.sigma.lossy_effects import (
    REASON_KEY,
    STAGE_KEY,
    Effect,
    annotate,
    stage_effects,
)
from backends.spl.field_profile import field_profile
from ir.datamodels import cim_windows
from ir.errors import STRICT_NOTE, RuleglotError, Span, lossy_warning
from ir.fieldprofiles import FieldProfile
from ir.logsources import ALTERNATIVE
from ir.nodes import (
    Expr,
    LogSource,
    Predicate,
    Rule,
    Stage,
    all_of,
    stage_command,
)

__all__ = ["EmitResult", "RULEGLOT_NAMESPACE", "emit_sigma"]

#: Namespace of the uuid5 ids derived from ids that are not UUIDs.
RULEGLOT_NAMESPACE = uuid.UUID("5b1f3c1e-3f0e-4a53-9d0b-7a1c2e9f4d21")
ORIGINAL_ID_FIELD = "ruleglot_original_id"

#: Default field profile per rule language (as ``translator.api.DEFAULT_FIELDS``).
DEFAULT_FIELDS = {"spl": "splunk_windows_xml"}

SIGMA_STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")
STATUS_MAP = {"production": "stable"}
SIGMA_LEVELS = ("informational", "low", "medium", "high", "critical")


@dataclass
class EmitResult:
    """The Sigma YAML (one document; a collection, one rule per log source; or the correlated
    rules and then the correlation rule), the lossy changes made, and each document's id."""

    yaml: str
    warnings: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def lossless(self) -> bool:
        return not self.warnings


def emit_sigma(rule: Rule, *, fields: str | None = None, lossy: bool = False) -> EmitResult:
    """``rule`` as Sigma YAML; see the module docstring. Raises :class:`RuleglotError`."""
    profile = _profile(rule, fields)
    emitter = _Emitter(replace(rule, stages=group_filters_moved(rule, profile)), lossy, profile)
    return emitter.run()


def _profile(rule: Rule, name: str | None) -> FieldProfile | None:
    if name is None:
        name = DEFAULT_FIELDS.get(rule.language or "")
    return field_profile(name)


class _Emitter(StageWriter, FieldWriter):
    def __init__(self, rule: Rule, lossy: bool, profile: FieldProfile | None) -> None:
        self.rule = rule
        self.lossy = lossy
        self.profile = profile
        #: the prefix the profile puts before the channel in ``source`` (a rendering)
        self.source_prefix = next(
            (
                x.argument
                for x in (profile.extractions if profile is not None else ())
                if x.target == "source" and x.transform == "prefix"
            ),
            None,
        )
        self.warnings: list[dict[str, Any]] = []
        self.windows = False  # a Windows-profile field was mapped: product windows
        self.service: str | None = None
        self.product: str | None = None  # from a search setting (backends.sigma.splunk_sources)
        #: the search's own data-source settings no Sigma log source maps (``sourcetype=x``)
        self.unmapped: list[str] = []
        self.linux_sysmon: list[Predicate] = []
        self.copies: dict[str, str] = {}  # eval f=g before: f reads g
        self.keywords = True  # False in a temporal's rules: the reader tags them with eval
        self.datamodels = cim_windows()  # the data-model profile a tstats search reads through
        self.logsource_override: LogSource | None = None  # a tstats data set's log source
        #: dropped stage runs, each with the fields every row reaching it has (lossy_effects)
        self.dropped: list[tuple[Sequence[Stage], set[str]]] = []
        self.dropped_at: int | None = None  # index of the first stage prefix() dropped

    # --- problems

    def problem(
        self,
        construct: str,
        message: str,
        span: Span | None,
        *,
        stage: Stage | None = None,
        reason: str | None = None,
    ) -> None:
        """Strict: raise; lossy: record a warning and let the caller drop/approximate.
        ``stage``: the stage the warning drops; ``reason``: a key of
        :data:`backends.sigma.lossy_effects.REASONS` (what the change costs is decided there)."""
        span = span or self.rule.span
        path = span.path if span else None
        if not self.lossy:
            error = RuleglotError(
                f"{message} {STRICT_NOTE}", category="unsupported", construct=construct,
                path=path,
            )  # fmt: skip
            raise error.at(span, self.rule.source_text)
        warning = lossy_warning(construct, message, span)
        if stage is not None:
            warning[STAGE_KEY] = stage
        if reason is not None:
            warning[REASON_KEY] = reason
        self.warnings.append(warning)

    def result(self, docs: list[dict[str, Any]]) -> EmitResult:
        """The YAML, with each warning's effect (:mod:`backends.sigma.lossy_effects`)."""
        self.report_linux_sysmon()
        effects: dict[int, tuple[Effect, str]] = {}
        for run, present in self.dropped:
            for stage, effect in zip(run, stage_effects(run, present), strict=True):
                effects.setdefault(id(stage), effect)
        annotate(self.warnings, effects)
        return EmitResult(_dump(docs), self.warnings, [str(d["id"]) for d in docs if "id" in d])

    # --- the whole rule

    def run(self) -> EmitResult:
        stages = self.rule.stages
        if self.rule.timerange is not None:  # ir.nodes.TimeRange: Sigma has no time range
            self.problem("timerange", f"the search's time range ({self.rule.timerange.text()}) "
                         "has no Sigma form (a Sigma rule's window is its schedule's): dropped",
                         self.rule.timerange.span)  # fmt: skip
        tstats = read_tstats(stages, self.datamodels, self.problem)
        if tstats is not None:
            return self.run_tstats(tstats)
        found = find_correlation(stages)
        refusal = found if isinstance(found, Refusal) else None
        correlation = found if isinstance(found, Correlation) else None
        end = found.start if found is not None else len(stages)
        raw, exprs, dropping = self.prefix(stages[:end])
        if dropping is not None:
            for stage in stages[end:]:
                name = stage_command(stage)
                self.problem(name, f"'{name}' after the dropped '{dropping}' is dropped too",
                             stage.span, stage=stage)  # fmt: skip
            correlation = refusal = None
            assert self.dropped_at is not None
            present = self.required_by_fields(stages[self.dropped_at :], exprs)
            self.dropped.append((stages[self.dropped_at :], present))
        if correlation is not None and correlation.tag is not None:
            refusal = split_temporal(correlation, all_of(raw) if raw else None)
        if refusal is not None:
            self.refuse(refusal)
            correlation = None
        if correlation is None:
            base = all_of(exprs) if exprs else None
            if base is not None and self.profile is not None:
                base = self.extract_logsource(base)
            if base is not None:
                base = self.search_settings(base)
            lowered = self.lower(base) if base is not None else None
            detection = self.detection_of(lowered)
            doc = self.metadata()
            doc["logsource"] = self.logsource()
            doc["detection"] = detection
            self.closing(doc)
            return self.result([doc, *self.linux_sysmon_docs(doc, lowered)])
        return self.result(self.correlation(correlation, exprs))

    def run_tstats(self, tstats: TstatsRead) -> EmitResult:
        """A search starting with ``tstats`` (:mod:`backends.sigma.emit_datamodel`): its
        data set's log source and its where clause; the stages after its stats only work on
        the aggregated rows, so each is dropped with a warning, unless they are a threshold
        on its aggregate (:meth:`tstats_correlation`)."""
        docs = self.tstats_correlation(tstats)
        if docs is not None:
            return self.result(docs)
        tail = self.rule.stages[tstats.end :]
        self.dropped.append((tail, set(tstats.by)))
        for stage in tail:
            name = stage_command(stage)
            self.problem(name, f"'{name}' works on tstats' aggregated rows, which a Sigma rule "
                         "does not make: dropped", stage.span, stage=stage)  # fmt: skip
        expr = tstats.detection
        detection = self.detection_of(self.lower(expr, mapped=True) if expr is not None else None)
        doc = self.metadata()
        ls = tstats.logsource
        self.logsource_override = LogSource(ls.product, ls.category, ls.service,
                                            self.rule.logsource.definition)  # fmt: skip
        doc["logsource"] = self.logsource()
        doc["detection"] = detection
        self.closing(doc)
        return self.result([doc])

    def tstats_correlation(self, tstats: TstatsRead) -> list[dict[str, Any]] | None:
        """``tstats ... by _time span=S F | [rename/convert...] | where <aggregate> op N`` as a
        Sigma correlation: the same stages a raw ``bin _time span=S | stats ... by _time F |
        where ...`` has (:func:`emit_correlation.tstats_as_stats`), recognised by
        :func:`find_correlation`, over the tstats detection; each group-by field the one event
        field its data-set field copies (:meth:`TstatsRead.event_field`). ``None`` (dropped as
        before, with warnings) when it is not that shape or a field has no event field."""
        stages = self.rule.stages
        if tstats.detection is None or tstats.end < 1:
            return None
        virtual = tstats_as_stats(stages, tstats.end)
        found = find_correlation(virtual) if virtual is not None else None
        if not isinstance(found, Correlation) or found.tag is not None or found.start != 0:
            return None
        if found.rules != [(None, None)]:
            return None
        fields = [*found.group_by, *([found.value_field] if found.value_field else [])]
        mapped = {f: tstats.event_field(f) for f in fields}
        missing = [f for f, to in mapped.items() if to is None]
        if missing:
            self.problem("correlation:group-by", f"{', '.join(missing)} is not one event field "
                         "in every source of the data set: no Sigma correlation groups by it",
                         found.span)  # fmt: skip
            return None
        self.warnings = [w for w in self.warnings if w["construct"] != "tstats:stats"]
        self.dropped.append(([s for *_, s in found.notes if s is not None], set()))
        for construct, message, span, stage in found.notes:
            self.problem(construct, message, span, stage=stage)
        detection = self.detection_of(self.lower(tstats.detection, mapped=True))
        ls = tstats.logsource
        self.logsource_override = LogSource(ls.product, ls.category, ls.service,
                                            self.rule.logsource.definition)  # fmt: skip
        group_by = [str(mapped[f]) for f in found.group_by]
        value = mapped[found.value_field] if found.value_field else None
        return self.correlation_docs(found, [(None, detection)], group_by, value)

    def detection_of(self, expr: Expr | None) -> dict[str, Any]:
        """The detection of a lowered tree (``None``: nothing Sigma can express is left)."""
        if expr is None:
            raise RuleglotError(
                "nothing left to detect: the rule has no filter Sigma can express",
                category="unsupported",
                construct="detection",
            ).at(self.rule.span, self.rule.source_text)
        return DetectionWriter().write(expr)

    def closing(self, doc: dict[str, Any]) -> None:
        if self.rule.falsepositives:
            doc["falsepositives"] = list(self.rule.falsepositives)
        if self.rule.level in SIGMA_LEVELS:
            doc["level"] = self.rule.level

    # --- correlation rules

    def correlation(self, found: Correlation, exprs: list[Expr]) -> list[dict[str, Any]]:
        """The correlated rules and the correlation rule (``generate: false``: only the
        correlation is a result, as only the stats rows are)."""
        tail = [stage for *_, stage in found.notes if stage is not None]
        self.dropped.append((tail, set()))
        for construct, message, span, stage in found.notes:
            self.problem(construct, message, span, stage=stage)
        if self.rule.language == "sigma" and self.rule.logsource.is_empty():
            self.problem(
                "logsource",
                "the correlated rules read different log sources, which the IR does not keep "
                "per rule; each is written with the fallback log source",
                found.span,
            )
        self.keywords = found.type != "temporal"
        base = all_of(exprs) if exprs else None
        if base is not None and self.profile is not None:
            base = self.extract_logsource(base)
        if base is not None:
            base = self.search_settings(base)
        details: list[tuple[str | None, dict[str, Any]]] = []
        lowered = self.lower(base) if base is not None else None
        for name, part in found.rules:
            if part is None:
                expr = lowered
            elif found.extra:
                extra = self.lower(substitute(part, self.copies))
                both = [e for e in (lowered, extra) if e is not None]
                expr = all_of(both) if both else None
            else:
                if self.profile is not None:
                    part = self.extract_logsource(part)  # type: ignore[assignment]
                expr = self.lower(part) if part is not None else None
            details.append((name, self.detection_of(expr)))
        group_by = [self.map_name(self.copies.get(f, f), found.span) for f in found.group_by]
        value_field = None
        if found.value_field is not None:
            source = self.copies.get(found.value_field, found.value_field)
            value_field = self.map_name(source, found.span)
        return self.correlation_docs(found, details, group_by, value_field)

    def correlation_docs(
        self,
        found: Correlation,
        details: list[tuple[str | None, dict[str, Any]]],
        group_by: list[str],
        value_field: str | None,
    ) -> list[dict[str, Any]]:
        """The documents of a correlation: each correlated rule (its detection in
        ``details``), then the correlation rule over Sigma field names."""
        logsource = self.logsource()
        corr_doc = self.metadata()
        slug = re.sub(r"[^a-z0-9]+", "_", self.rule.title.lower()).strip("_") or "rule"
        anchor = corr_doc.get("id") or self.rule.title
        docs: list[dict[str, Any]] = []
        names: list[str] = []
        for index, (name, detection) in enumerate(details, 1):
            if name is None:
                name = slug if len(details) == 1 else f"{slug}_{index}"
            names.append(name)
            doc: dict[str, Any] = {"title": f"{self.rule.title}: {name}"}
            if _is_uuid(name):
                doc["id"] = name
            else:
                doc["id"] = str(uuid.uuid5(RULEGLOT_NAMESPACE, f"{anchor}/{name}"))
                doc["name"] = name
            if "status" in corr_doc:
                doc["status"] = corr_doc["status"]
            doc["logsource"] = dict(logsource)
            doc["detection"] = detection
            docs.append(doc)
        corr: dict[str, Any] = {"type": found.type, "rules": names}
        if group_by:
            corr["group-by"] = group_by
        corr["timespan"] = found.timespan
        if found.condition is not None:
            op, number = found.condition
            corr["condition"] = {op: number}
            if value_field:
                corr["condition"]["field"] = value_field
        corr["generate"] = False
        corr_doc["correlation"] = corr
        self.closing(corr_doc)
        return [*docs, corr_doc]

    def metadata(self) -> dict[str, Any]:
        rule = self.rule
        doc: dict[str, Any] = {"title": rule.title}
        if rule.id:
            try:
                doc["id"] = str(uuid.UUID(rule.id))
            except ValueError:
                doc["id"] = str(uuid.uuid5(RULEGLOT_NAMESPACE, rule.id))
                doc[ORIGINAL_ID_FIELD] = rule.id
        status = STATUS_MAP.get(rule.status or "", rule.status)
        if status in SIGMA_STATUSES:
            doc["status"] = status
        for key in ("description",):
            if rule.description:
                doc[key] = rule.description
        if rule.references:
            doc["references"] = list(rule.references)
        if rule.author:
            doc["author"] = rule.author
        if rule.date:
            doc["date"] = rule.date
        if rule.modified:
            doc["modified"] = rule.modified
        tags = [t for t in rule.tags if re.fullmatch(r"[a-z0-9_-]+\.[^\s]+", t)]
        if tags:
            doc["tags"] = tags
        return doc

    def logsource(self) -> dict[str, str | list[str]]:
        ls = self.logsource_override or self.rule.logsource
        out: dict[str, str] = {}
        product = ls.product or self.product or ("windows" if self.windows else None)
        if ls.category:
            out["category"] = ls.category
        if product:
            out["product"] = product
        service = ls.service or self.service
        if service:
            out["service"] = service
        names = declared(self.rule.custom) if not out else []
        stated = sigma_logsource(names) if names else None
        if stated is not None:
            self.problem(
                "logsource:data_source",
                f"the search names no data source a Sigma log source maps; written as the log "
                f"source of its declared data_source ({', '.join(names)}): product "
                f"{stated.product!r}, service {stated.service!r} ({stated.cite}); the search "
                "as written reads whatever its source macro selects",
                self.rule.span,
            )
            out["product"] = stated.product
            if stated.service:
                out["service"] = stated.service
        definition = ls.definition
        if not out and self.unmapped:
            # Sigma requires a log source; the search's own data source is named as the
            # service, so that a backend's pipeline can map it (Sigma leaves custom log sources
            # to pipelines), never as a product Sigma's taxonomy lacks
            named = self.unmapped[0].split("=", 1)[1]
            self.problem(
                "logsource",
                f"the search reads Splunk's {', '.join(self.unmapped)}, which no Sigma log "
                f"source maps: written as 'service: {named}', which selects events only "
                "where a Sigma pipeline maps that service",
                self.rule.span,
            )
            out["service"] = named
            said = f"Splunk data source: {' OR '.join(self.unmapped)}"
            definition = f"{said}. {definition}" if definition else said
        if not out:
            if self.rule.language == "spl":
                self.problem(
                    "logsource",
                    "the search names no data source (index, sourcetype, source) that a Sigma "
                    "log source maps: written as 'product: splunk', which selects no events "
                    "outside Splunk",
                    self.rule.span,
                )
            out["product"] = "splunk"
        if definition:
            out["definition"] = definition
        # several log sources in one field (ir.logsources.ALTERNATIVE) are written as the list
        # Sigma 1.x rules wrote them as
        return {
            k: v.split(ALTERNATIVE) if k != "definition" and ALTERNATIVE in v else v
            for k, v in out.items()
        }


def _dump(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=100)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
