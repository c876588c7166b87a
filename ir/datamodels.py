"""Data-model profiles: how Windows events become the rows of Splunk's CIM data sets, as data.

``| tstats ... from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe`` does
not read events: it reads the rows of a CIM *data set*, which Splunk builds from the events its
add-ons tag for that data set, with the data set's fields computed by the add-ons' search-time
extractions and carried under the object's prefix (``Processes.process_name``). This module is
that construction as data, beside the field profiles (:mod:`ir.fieldprofiles`):

* :class:`DataSetSource`: which events populate a data set (an IR condition on event fields,
  decided by the one evaluator), the :class:`~ir.fieldprofiles.Extraction` s that compute the
  data set's fields from such an event, and the Sigma log source the same events are
  (``LogSource("windows", "process_creation")``, for the Sigma translation), with ``cite``.
* :class:`DataSet`: ``name`` (``Endpoint.Processes``), the object ``prefix`` its fields carry,
  its sources, and its field list.
* :class:`DataModelProfile`: the data sets by name (:meth:`~DataModelProfile.dataset` resolves
  a data model alone, ``Web``, to its root data set) and :meth:`~DataModelProfile.rows`.

Row semantics (what ``ir.pipeline`` runs for a ``DataModel`` stage)
    * An event is a row of a data set when a source's condition holds for it (the first such
      source computes it); an event no source selects is not a row. A data set with no sources
      has no rows on these events: the shared corpus has no web-proxy, cloud or e-mail logs, so
      ``Web``/``Risk``/``Email``... ``tstats`` run and return nothing, which is the truth for
      these events.
    * A field is ``<prefix>.<name>`` with the value of the first extraction of that name whose
      source field the event has (``Extraction`` semantics: first present source, then the
      transform; a JSON list stays multi-valued). A field no extraction provides for the event is
      *missing* from the row (not null, not ``"unknown"``): a ``where`` predicate on it is false,
      and ``tstats ... by`` it drops the row unless ``fillnull_value`` is given (Splunk Search
      Reference, "tstats": "fillnull_value ... substitutes for null values for any field within
      its group-by field list"). The CIM app's own defaults (some data models compute
      ``"unknown"`` for an empty field) are not modelled.
    * Every row also has the fields a data model inherits from its base event, without the
      prefix (``host``, ``source``, ``sourcetype``: :data:`BASE`).
    * A row's ``_time`` is its event's ``_time`` (the event-time rule of :mod:`ir.stages.rows`);
      ``_raw`` is not a data-set field.

Sources (each row of the data cites its own):
    ``SC``: splunk/security_content's ``data_sources/*.yml`` ``field_mappings`` (Splunk's own
    event -> CIM mapping, ``../shared/corpus/spl/data_sources/``); ``PYSIGMA``:
    pySigma-backend-splunk 2.1.0 ``splunk_cim`` tables (``sigma.pipelines.splunk.splunk``:
    ``splunk_sysmon_process_creation_cim_mapping`` ...); ``TA``: the Splunk Add-on for Sysmon
    and for Microsoft Windows (``props.conf``/``transforms.conf`` CIM extractions, not vendored:
    each row says which field it adds); ``CIM``: the Splunk Common Information Model manual's
    data-set field lists. ``EventID``/``Channel`` of each source: Microsoft's Sysmon and Security
    auditing event references, as in :mod:`backends.sigma.logsources` (pySigma's tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from ir.errors import RuleglotError
from ir.evaluator import Matcher, compile_expr
from ir.events import MISSING, Event
from ir.fieldprofiles import TRANSFORMS, Extraction
from ir.nodes import And, Expr, Kind, LogSource, Or, Predicate

SC = "splunk/security_content data_sources/{}.yml field_mappings (Splunk's CIM mapping)"
PYSIGMA = "pySigma-backend-splunk 2.1.0 splunk_cim: {}"
TA_SYSMON = "Splunk Add-on for Sysmon 4.x props.conf CIM extraction (not vendored)"
TA_WINDOWS = "Splunk Add-on for Microsoft Windows props.conf CIM extraction (not vendored)"
CIM = "Splunk Common Information Model manual, data model '{}' field list"

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
SYSTEM = "System"


@dataclass(frozen=True, slots=True)
class EventSubset:
    """Some of a source's events (``condition``, on event fields, as a log-source branch states
    it) and the condition on the data set's rows (``rows``, on prefixed data-set fields) that
    holds for a row exactly when its event is one of them. ``assumption`` says what on the
    events that equivalence rests on beyond the profile's extractions (an event schema), so
    that a translation resting on it can say so; ``cite`` where the facts come from."""

    condition: Expr
    rows: Expr
    cite: str
    assumption: str = ""


@dataclass(frozen=True, slots=True)
class DataSetSource:
    """Events that populate a data set, how its fields are computed from one of them, and the
    parts of those events its rows can be told apart by (``subsets``)."""

    name: str
    condition: Expr
    extractions: tuple[Extraction, ...]
    logsource: LogSource
    cite: str = ""
    subsets: tuple[EventSubset, ...] = ()

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(x.target for x in self.extractions)


@dataclass(frozen=True, slots=True)
class DataSet:
    """A CIM data set: ``name`` as tstats names it, the ``prefix`` of its fields in tstats'
    rows, its sources (possibly none) and its fields (``fields``, without the prefix)."""

    name: str
    prefix: str
    fields: tuple[str, ...]
    sources: tuple[DataSetSource, ...] = ()
    cite: str = ""

    def field_name(self, name: str) -> str:
        """``process_name`` -> ``Processes.process_name``."""
        return f"{self.prefix}.{name}"


class DataSetRow(NamedTuple):
    """One row of a data set: the event it comes from (its ``_time``) and its fields."""

    event: Event
    fields: dict[str, Any]


@dataclass(frozen=True)
class DataModelProfile:
    """Named data sets; ``roots`` resolves a data model alone (``Web``) to its root data set."""

    name: str
    datasets: tuple[DataSet, ...]
    roots: tuple[tuple[str, str], ...] = ()
    cite: str = ""
    #: fields every row of every data set has, without the object prefix: the ones a data
    #: model inherits from its base event (``host``, ``source``, ``sourcetype``)
    base: tuple[Extraction, ...] = ()
    _by_name: dict[str, DataSet] = field(default_factory=dict, compare=False, repr=False)
    _matchers: dict[str, tuple[tuple[Matcher, DataSetSource], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for dataset in self.datasets:
            self._by_name[dataset.name.lower()] = dataset
        for model, root in self.roots:
            self._by_name.setdefault(model.lower(), self._by_name[root.lower()])

    def names(self) -> list[str]:
        return [d.name for d in self.datasets]

    def find(self, name: str) -> DataSet | None:
        """The data set ``name`` names (``Endpoint.Processes``, ``Web``, ``Web.Web``), or None.
        Splunk's data model and object names are case-sensitive in tstats; the look-up is not,
        so a differently cased name still finds its data set (the CIM has no two names that
        differ only by case)."""
        return self._by_name.get(name.strip().strip('"').lower())

    def dataset(self, name: str) -> DataSet:
        """:meth:`find`, or an ``unsupported`` error naming the data sets this profile knows."""
        found = self.find(name)
        if found is None:
            raise RuleglotError(
                f"data model {name!r} is not in the {self.name} data-model profile "
                f"(it has: {', '.join(self.names())})",
                category="unsupported",
                construct="datamodel",
            )
        return found

    def _selectors(self, dataset: DataSet) -> tuple[tuple[Matcher, DataSetSource], ...]:
        found = self._matchers.get(dataset.name)
        if found is None:
            found = tuple((compile_expr(s.condition), s) for s in dataset.sources)
            self._matchers[dataset.name] = found
        return found

    def row_fields(self, event: Event, dataset: DataSet) -> dict[str, Any] | None:
        """The data set's fields for ``event`` (prefixed), or ``None`` when no source selects
        it (module docstring, "Row semantics")."""
        for matches, source in self._selectors(dataset):
            if matches(event):
                fields = _extract(event, self.base, "")
                fields.update(_extract(event, source.extractions, dataset.prefix + "."))
                return fields
        return None

    def rows(self, events: Iterable[Event], dataset: DataSet) -> list[DataSetRow]:
        """The rows of ``dataset`` that ``events`` make, in event order."""
        out: list[DataSetRow] = []
        for event in events:
            fields = self.row_fields(event, dataset)
            if fields is not None:
                out.append(DataSetRow(event, fields))
        return out


def _extract(event: Event, extractions: Iterable[Extraction], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for extraction in extractions:
        target = prefix + extraction.target
        if target in out:
            continue
        for name in extraction.sources:
            value = event.get(name)
            if value is not None and value is not MISSING:
                out[target] = TRANSFORMS[extraction.transform](value, extraction.argument)
                break
    return out


# --- the data ---------------------------------------------------------------------------------


def _event(channel: str, *event_ids: int) -> Expr:
    ids = [Predicate("EventID", Kind.EQ, i) for i in event_ids]
    either = ids[0] if len(ids) == 1 else Or(tuple(ids))
    return And((Predicate("Channel", Kind.EQ, channel), either))


def _x(
    target: str, sources: str, cite: str, transform: str = "copy", argument: str = ""
) -> Extraction:
    """One extraction; ``sources`` are the event fields read in order, space-separated."""
    return Extraction(target, tuple(sources.split()), transform, argument, cite)


def _process_fields(cite: str, image: str = "Image") -> list[Extraction]:
    """The acting process of a Sysmon event (its ``Image``/``ProcessId``/``ProcessGuid``)."""
    return [
        _x("process_guid", "ProcessGuid", cite),
        _x("process_id", "ProcessId", cite),
        _x("process_path", image, cite),
        _x("process_name", image, TA_SYSMON + ": process_name = basename of Image", "basename"),
        _x("user", "User", TA_SYSMON + ": user = User"),
        _x("dest", "Computer", cite),
    ]


_SYSMON_1 = SC.format("sysmon_eventid_1")
_SEC_4688 = SC.format("windows_event_log_security_4688")
_SYSMON_11 = SC.format("sysmon_eventid_11")
_SYSMON_12 = SC.format("sysmon_eventid_12")
_SYSMON_13 = SC.format("sysmon_eventid_13")

PROCESSES = DataSet(
    "Endpoint.Processes",
    "Processes",
    (
        "action", "dest", "original_file_name", "parent_process", "parent_process_exec",
        "parent_process_guid", "parent_process_id", "parent_process_name", "parent_process_path",
        "process", "process_current_directory", "process_exec", "process_guid", "process_hash",
        "process_id", "process_integrity_level", "process_name", "process_path", "user",
        "user_id", "vendor_product",
    ),
    (
        DataSetSource(
            "Sysmon EventID 1",
            _event(SYSMON, 1),
            (
                _x("process_guid", "ProcessGuid", _SYSMON_1),
                _x("process_id", "ProcessId", _SYSMON_1),
                _x("process_path", "Image", _SYSMON_1),
                _x("process_name", "Image", _SYSMON_1 + " (Image|endswith)", "basename"),
                _x("process_exec", "Image", TA_SYSMON + ": process_exec", "basename"),
                _x("process", "CommandLine", _SYSMON_1),
                _x("process_current_directory", "CurrentDirectory", _SYSMON_1),
                _x("user", "User", _SYSMON_1),
                _x("process_integrity_level", "IntegrityLevel", _SYSMON_1),
                _x("process_hash", "Hashes", _SYSMON_1),
                _x("parent_process_guid", "ParentProcessGuid", _SYSMON_1),
                _x("parent_process_id", "ParentProcessId", _SYSMON_1),
                # SC maps ParentImage to parent_process_name, pySigma to parent_process_path;
                # the add-on computes the name as the path's file name (as for process_name),
                # and security_content's searches compare it with file names (cmd.exe)
                _x("parent_process_name", "ParentImage", TA_SYSMON + ": basename", "basename"),
                _x("parent_process_exec", "ParentImage", TA_SYSMON, "basename"),
                _x("parent_process_path", "ParentImage", PYSIGMA.format("ParentImage")),
                _x("parent_process", "ParentCommandLine", _SYSMON_1),
                _x("dest", "Computer", _SYSMON_1),
                _x("original_file_name", "OriginalFileName", _SYSMON_1),
                _x("vendor_product", "Channel", TA_SYSMON + ": vendor_product", "constant",
                   "Microsoft Sysmon"),
            ),
            LogSource("windows", "process_creation"),
            _SYSMON_1,
        ),
        DataSetSource(
            "Windows Event Log Security 4688",
            _event(SECURITY, 4688),
            (
                _x("process_id", "NewProcessId", _SEC_4688),
                _x("process_path", "NewProcessName", _SEC_4688),
                _x("process_name", "NewProcessName", _SEC_4688 + " (|endswith)", "basename"),
                _x("process_exec", "NewProcessName", TA_WINDOWS, "basename"),
                # SC names the rendered field Process_Command_Line: the XML event's CommandLine
                _x("process", "CommandLine", _SEC_4688 + " (Process_Command_Line)"),
                _x("user", "SubjectUserSid", _SEC_4688),
                _x("parent_process_id", "ProcessId", _SEC_4688),
                _x("parent_process_path", "ParentProcessName", _SEC_4688),
                _x("parent_process_name", "ParentProcessName", _SEC_4688, "basename"),
                _x("parent_process_exec", "ParentProcessName", TA_WINDOWS, "basename"),
                _x("dest", "Computer", _SEC_4688),
                _x("vendor_product", "Channel", TA_WINDOWS, "constant", "Microsoft Windows"),
            ),
            LogSource("windows", "process_creation"),
            _SEC_4688,
        ),
    ),
    CIM.format("Endpoint") + "; " + PYSIGMA.format("splunk_sysmon_process_creation_cim_mapping"),
)

#: Sysmon registry EventType -> CIM action (Registry.action: created, modified, deleted).
_REGISTRY_ACTIONS = "CreateKey=created DeleteKey=deleted CreateValue=created DeleteValue=deleted " \
    "SetValue=modified RenameKey=modified"

#: Sysmon 13 (``registry_set``) among the Registry rows: the rows with a value data. Details
#: ("the value written") is a field of Sysmon's EventID 13 template only (Microsoft Sysinternals
#: Sysmon reference, "Event ID 13: RegistryEvent (Value Set)"; security_content's
#: ``sysmon_eventid_13.yml`` lists ``Details`` and ``sysmon_eventid_12.yml`` does not; EventID
#: 14's template has ``NewName`` instead), copied to ``registry_value_data`` (pySigma's
#: ``Details -> Registry.registry_value_data``). Measured on the shared events: 2,897 of 2,897
#: EventID 13 events have a non-null Details, none of 3,955 EventID 12 events has one
#: (``tests/test_to_datamodel.py``). Registry.action is no discriminator here: the add-on's
#: EventType -> action mapping is not public in a citable form (pySigma cites only "DeleteKey
#: is parsed to action: deleted"), and 709 of those 2,897 events carry no EventType at all.
_REGISTRY_VALUE_SET = EventSubset(
    _event(SYSMON, 13),
    Predicate("Registry.registry_value_data", Kind.EXISTS, True),
    _SYSMON_13 + " (Details); " + _SYSMON_12 + " (no Details); "
    + PYSIGMA.format("Details -> Registry.registry_value_data"),
    "Sysmon's schema: every EventID 13 event has a Details value, no EventID 12 or 14 "
    "event has one",
)

REGISTRY = DataSet(
    "Endpoint.Registry",
    "Registry",
    (
        "action", "dest", "process_guid", "process_id", "process_name", "process_path",
        "registry_hive", "registry_key_name", "registry_path", "registry_value_data",
        "registry_value_name", "registry_value_type", "status", "user", "vendor_product",
    ),
    (
        DataSetSource(
            "Sysmon EventID 12, 13, 14",
            _event(SYSMON, 12, 13, 14),
            (
                *_process_fields(_SYSMON_13),
                _x("registry_path", "TargetObject", _SYSMON_13),
                _x("registry_key_name", "TargetObject",
                   PYSIGMA.format("splunk_windows_registry_cim_mapping")),
                _x("registry_value_name", "TargetObject",
                   TA_SYSMON + ": registry_value_name = last component of TargetObject",
                   "basename"),
                _x("registry_hive", "TargetObject", TA_SYSMON + ": registry_hive", "first_part"),
                _x("registry_value_data", "Details", _SYSMON_13),
                _x("action", "EventType", TA_SYSMON + ": action from EventType", "map",
                   _REGISTRY_ACTIONS),
                _x("vendor_product", "Channel", TA_SYSMON, "constant", "Microsoft Sysmon"),
            ),
            LogSource("windows", "registry_event"),
            _SYSMON_13 + "; " + PYSIGMA.format("splunk_windows_registry_cim_mapping"),
            (_REGISTRY_VALUE_SET,),
        ),
    ),
    CIM.format("Endpoint"),
)


def _file_source(event_id: int, action: str, category: str) -> DataSetSource:
    return DataSetSource(
        f"Sysmon EventID {event_id}",
        _event(SYSMON, event_id),
        (
            *_process_fields(_SYSMON_11),
            _x("file_path", "TargetFilename", _SYSMON_11),
            _x("file_name", "TargetFilename", TA_SYSMON + ": file_name", "basename"),
            _x("file_create_time", "CreationUtcTime",
               PYSIGMA.format("splunk_windows_file_event_cim_mapping")),
            _x("file_hash", "Hashes", TA_SYSMON + ": file_hash"),
            _x("action", "EventID", TA_SYSMON + f": action={action} for EventID {event_id}",
               "constant", action),
            _x("vendor_product", "Channel", TA_SYSMON, "constant", "Microsoft Sysmon"),
        ),
        LogSource("windows", category),
        _SYSMON_11,
    )


FILESYSTEM = DataSet(
    "Endpoint.Filesystem",
    "Filesystem",
    (
        "action", "dest", "file_create_time", "file_hash", "file_name", "file_path",
        "process_guid", "process_id", "process_name", "process_path", "user", "vendor_product",
    ),
    (
        _file_source(11, "created", "file_event"),
        _file_source(23, "deleted", "file_delete"),
        _file_source(26, "deleted", "file_delete"),
    ),
    CIM.format("Endpoint"),
)

SERVICES = DataSet(
    "Endpoint.Services",
    "Services",
    ("dest", "service_name", "service_path", "start_mode", "user", "status", "vendor_product"),
    (
        DataSetSource(
            "Windows Event Log System 7045",
            _event(SYSTEM, 7045),
            (
                _x("service_name", "ServiceName", TA_WINDOWS + ": 7045 ServiceName"),
                _x("service_path", "ImagePath", TA_WINDOWS + ": 7045 ImagePath"),
                _x("start_mode", "StartType", TA_WINDOWS + ": 7045 StartType"),
                _x("user", "AccountName", TA_WINDOWS + ": 7045 AccountName"),
                _x("dest", "Computer", TA_WINDOWS),
                _x("vendor_product", "Channel", TA_WINDOWS, "constant", "Microsoft Windows"),
            ),
            LogSource("windows", service="system"),
            SC.format("windows_event_log_system_7045"),
        ),
        DataSetSource(
            "Windows Event Log Security 4697",
            _event(SECURITY, 4697),
            (
                _x("service_name", "ServiceName", TA_WINDOWS + ": 4697 ServiceName"),
                _x("service_path", "ServiceFileName", TA_WINDOWS + ": 4697 ServiceFileName"),
                _x("start_mode", "ServiceStartType", TA_WINDOWS + ": 4697 ServiceStartType"),
                _x("user", "SubjectUserName", TA_WINDOWS + ": 4697 SubjectUserName"),
                _x("dest", "Computer", TA_WINDOWS),
                _x("vendor_product", "Channel", TA_WINDOWS, "constant", "Microsoft Windows"),
            ),
            LogSource("windows", service="security"),
            SC.format("windows_event_log_security_4697"),
        ),
    ),
    CIM.format("Endpoint"),
)

DNS = DataSet(
    "Network_Resolution.DNS",
    "DNS",
    (
        "answer", "dest", "message_type", "query", "query_type", "record_type", "reply_code",
        "reply_code_id", "src", "process_id", "process_name", "process_path", "vendor_product",
    ),
    (
        DataSetSource(
            "Sysmon EventID 22",
            _event(SYSMON, 22),
            (
                _x("query", "QueryName", PYSIGMA.format("splunk_dns_cim_mapping question.name")),
                # QueryResults lists the answers separated by ';' (Sysmon 22): multi-valued
                _x("answer", "QueryResults", TA_SYSMON + ": answer, split on ';'", "split", ";"),
                _x("reply_code_id", "QueryStatus", TA_SYSMON + ": reply_code_id = QueryStatus"),
                _x("src", "Computer", TA_SYSMON + ": src = the querying host"),
                _x("process_id", "ProcessId", TA_SYSMON),
                _x("process_path", "Image", TA_SYSMON),
                _x("process_name", "Image", TA_SYSMON, "basename"),
                _x("message_type", "EventID", TA_SYSMON + ": a Sysmon 22 is a query with its "
                   "answer", "constant", "Query"),
                _x("vendor_product", "Channel", TA_SYSMON, "constant", "Microsoft Sysmon"),
            ),
            LogSource("windows", "dns_query"),
            SC.format("sysmon_eventid_22"),
        ),
    ),
    CIM.format("Network Resolution (DNS)"),
)

TRAFFIC = DataSet(
    "Network_Traffic.All_Traffic",
    "All_Traffic",
    (
        "action", "app", "bytes", "bytes_in", "bytes_out", "dest", "dest_ip", "dest_port",
        "direction", "process_id", "process_name", "process_path", "protocol", "src", "src_ip",
        "src_port", "transport", "user", "vendor_product",
    ),
    (
        DataSetSource(
            "Sysmon EventID 3",
            _event(SYSMON, 3),
            (
                _x("src_ip", "SourceIp", TA_SYSMON),
                _x("src", "SourceHostname SourceIp", TA_SYSMON + ": src"),
                _x("src_port", "SourcePort", TA_SYSMON),
                _x("dest_ip", "DestinationIp", TA_SYSMON),
                _x("dest", "DestinationHostname DestinationIp", TA_SYSMON + ": dest"),
                _x("dest_port", "DestinationPort", TA_SYSMON),
                _x("transport", "Protocol", TA_SYSMON + ": transport = Protocol (tcp, udp)"),
                _x("process_id", "ProcessId", TA_SYSMON),
                _x("process_path", "Image", TA_SYSMON),
                _x("process_name", "Image", TA_SYSMON, "basename"),
                _x("app", "Image", TA_SYSMON + ": app = the process file name", "basename"),
                _x("user", "User", TA_SYSMON),
                _x("action", "EventID", TA_SYSMON + ": a logged connection was allowed",
                   "constant", "allowed"),
                _x("vendor_product", "Channel", TA_SYSMON, "constant", "Microsoft Sysmon"),
            ),
            LogSource("windows", "network_connection"),
            SC.format("sysmon_eventid_3"),
        ),
        DataSetSource(
            "Windows Event Log Security 5156",
            _event(SECURITY, 5156),
            (
                _x("src_ip", "SourceAddress", TA_WINDOWS),
                _x("src", "SourceAddress", TA_WINDOWS),
                _x("src_port", "SourcePort", TA_WINDOWS),
                _x("dest_ip", "DestAddress", TA_WINDOWS),
                _x("dest", "DestAddress", TA_WINDOWS),
                _x("dest_port", "DestPort", TA_WINDOWS),
                _x("protocol", "Protocol", TA_WINDOWS + ": IANA protocol number"),
                _x("process_id", "ProcessID ProcessId", TA_WINDOWS),
                _x("process_path", "Application", TA_WINDOWS),
                _x("process_name", "Application", TA_WINDOWS, "basename"),
                _x("app", "Application", TA_WINDOWS, "basename"),
                _x("action", "EventID", TA_WINDOWS + ": 5156 'The Windows Filtering Platform "
                   "has permitted a connection'", "constant", "allowed"),
                _x("vendor_product", "Channel", TA_WINDOWS, "constant", "Microsoft Windows"),
            ),
            LogSource("windows", service="security"),
            SC.format("windows_event_log_security_5156"),
        ),
    ),
    CIM.format("Network Traffic"),
)


def _logon_source(event_id: int, action: str, signature: str) -> DataSetSource:
    cite = TA_WINDOWS + f": {event_id} action={action}"
    return DataSetSource(
        f"Windows Event Log Security {event_id}",
        _event(SECURITY, event_id),
        (
            _x("user", "TargetUserName", cite),
            _x("src", "IpAddress WorkstationName", cite + ": src = IpAddress"),
            _x("src_user", "SubjectUserName", cite),
            _x("dest", "Computer", cite),
            _x("action", "EventID", cite, "constant", action),
            _x("signature_id", "EventID", cite),
            _x("signature", "EventID", cite, "constant", signature),
            _x("authentication_method", "AuthenticationPackageName", cite),
            _x("app", "EventID", cite, "constant", "win:local"),
            _x("vendor_product", "Channel", cite, "constant", "Microsoft Windows"),
        ),
        LogSource("windows", service="security"),
        SC.format(f"windows_event_log_security_{event_id}"),
    )


AUTHENTICATION = DataSet(
    "Authentication.Authentication",
    "Authentication",
    (
        "action", "app", "authentication_method", "dest", "reason", "signature", "signature_id",
        "src", "src_user", "user", "vendor_product",
    ),
    (
        _logon_source(4624, "success", "An account was successfully logged on"),
        _logon_source(4625, "failure", "An account failed to log on"),
    ),
    CIM.format("Authentication"),
)


def _empty(name: str, prefix: str, fields: str, model: str) -> DataSet:
    """A data set the shared events do not populate: declared, with no sources."""
    return DataSet(name, prefix, tuple(fields.split()), (), CIM.format(model))


NO_EVENT_SOURCE = (
    _empty("Change.All_Changes", "All_Changes", "action change_type command dest object "
           "object_attrs object_category object_id object_path result result_id src status "
           "user user_agent user_type vendor_product vendor_region", "Change"),
    _empty("Web.Web", "Web", "action dest dest_ip http_method http_referrer http_user_agent "
           "site src status uri_path uri_query url url_length user", "Web"),
    _empty("Risk.All_Risk", "All_Risk", "analyticstories annotations calculated_risk_score "
           "risk_message risk_object risk_object_type source tag", "Risk"),
    _empty("Email.All_Email", "All_Email", "file_name message_id recipient src_user subject",
           "Email"),
    _empty("Updates.Updates", "Updates", "dest signature_id status vendor_product", "Updates"),
    _empty("Network_Sessions.All_Sessions", "All_Sessions", "dest_ip dest_mac src_ip",
           "Network Sessions"),
    _empty("Certificates.All_Certificates", "All_Certificates", "dest src ssl_issuer "
           "ssl_subject", "Certificates"),
    _empty("Endpoint.Ports", "Ports", "dest dest_port process_id src transport", "Endpoint"),
    _empty("Change_Analysis.All_Changes", "All_Changes", "action dest object user", "Change"),
    _empty("Vulnerabilities.Vulnerabilities", "Vulnerabilities", "category dest severity "
           "signature", "Vulnerabilities"),
    _empty("UEBA.All_UEBA_Events", "All_UEBA_Events", "dest user", "UEBA"),
    _empty("Alerts.Alerts", "Alerts", "app description dest id severity signature", "Alerts"),
    _empty("Intrusion_Detection.IDS_Attacks", "IDS_Attacks", "dest severity signature src",
           "Intrusion Detection"),
)

#: Data model -> its root data set, as tstats resolves ``from datamodel=Web`` (CIM manual).
ROOTS = (
    ("Web", "Web.Web"),
    ("Network_Traffic", "Network_Traffic.All_Traffic"),
    ("Network_Resolution", "Network_Resolution.DNS"),
    ("Authentication", "Authentication.Authentication"),
    ("Change", "Change.All_Changes"),
    ("Risk", "Risk.All_Risk"),
    ("Email", "Email.All_Email"),
    ("Updates", "Updates.Updates"),
    ("Network_Sessions", "Network_Sessions.All_Sessions"),
    ("Certificates", "Certificates.All_Certificates"),
    ("Change_Analysis", "Change_Analysis.All_Changes"),
    ("Vulnerabilities", "Vulnerabilities.Vulnerabilities"),
    ("UEBA", "UEBA.All_UEBA_Events"),
    ("Alerts", "Alerts.Alerts"),
    ("Intrusion_Detection", "Intrusion_Detection.IDS_Attacks"),
)


#: Every data set inherits ``host``, ``source``, ``sourcetype`` from the base event (Splunk
#: Knowledge Manager Manual, "About data models": inherited fields ``_time``, ``host``,
#: ``source``, ``sourcetype``); for Windows event logs collected as XML, as security_content's
#: data sources say (``source: XmlWinEventLog:<channel>``, ``sourcetype: xmlwineventlog``,
#: ``../shared/corpus/spl/data_sources/sysmon_eventid_1.yml``), the same facts the
#: ``splunk_windows_xml`` field profile uses.
BASE = (
    _x("host", "Computer", SC.format("sysmon_eventid_1") + ": host is the event's Computer"),
    _x("source", "Channel", SC.format("sysmon_eventid_1") + ": source", "prefix",
       "XmlWinEventLog:"),
    _x("sourcetype", "Channel", SC.format("sysmon_eventid_1") + ": sourcetype", "constant",
       "xmlwineventlog"),
)


@cache
def cim_windows() -> DataModelProfile:
    """The CIM data sets as Splunk's Windows and Sysmon add-ons populate them (module
    docstring: sources)."""
    return DataModelProfile(
        "cim_windows",
        (PROCESSES, REGISTRY, FILESYSTEM, SERVICES, DNS, TRAFFIC, AUTHENTICATION,
         *NO_EVENT_SOURCE),
        ROOTS,
        cite="security_content data_sources field_mappings; pySigma-backend-splunk splunk_cim; "
        "Splunk Add-ons for Sysmon and Microsoft Windows; Splunk CIM manual",
        base=BASE,
    )


DATA_MODEL_PROFILES = {"cim_windows": cim_windows}

__all__ = [
    "DATA_MODEL_PROFILES",
    "DataModelProfile",
    "DataSet",
    "DataSetRow",
    "DataSetSource",
    "EventSubset",
    "cim_windows",
]
