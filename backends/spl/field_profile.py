"""The ``splunk_windows`` field profile: Splunk's field names for Windows events, as data.

Two sources, kept apart so each fact can be traced:

1. **pySigma-backend-splunk's own tables** (a dependency; read, not retyped): its
   ``splunk_windows`` pipeline renames ``EventID`` to ``EventCode`` and writes the channel as
   ``source="WinEventLog:<Channel>"``; its ``splunk_cim`` tables map Sysmon/Windows fields to the
   CIM data-model fields that ``tstats`` reads (``Processes.process`` <- ``CommandLine``...).
   Reversed, they say which event field a Splunk name reads.
2. **The Splunk add-ons' CIM extractions** (``SPLUNK_ADDON_EXTRACTIONS``): names such as
   ``process_name`` (the file name of the image path) and the classic rendered Windows field
   names (``Relative_Target_Name``: the rendered message's ``Relative Target Name:`` with spaces
   turned to underscores). These come from the Splunk Add-on for Sysmon / for Microsoft Windows
   ``props.conf`` (``EVAL-process_name``, ``FIELDALIAS-*``) and the CIM Endpoint data model's
   field list; they are not in any package this project installs, so each row says so.

Anything else a search names is not mapped: ``ruleglot eval`` lists such fields instead of
guessing.
"""

from __future__ import annotations

from functools import cache

from sigma.pipelines.common import windows_logsource_mapping
from sigma.pipelines.splunk import splunk as splunk_pipelines

from ir.errors import RuleglotError
from ir.fieldprofiles import Extraction, FieldProfile

PYSIGMA_SPLUNK = "pySigma-backend-splunk 2.1.0, sigma/pipelines/splunk/splunk.py"
ADDON = "Splunk Add-on for Sysmon / Microsoft Windows props.conf CIM extractions (not vendored)"

#: The CIM tables of pySigma-backend-splunk: Sigma field -> CIM data-model field.
CIM_TABLES = (
    splunk_pipelines.splunk_sysmon_process_creation_cim_mapping,
    splunk_pipelines.splunk_windows_registry_cim_mapping,
    splunk_pipelines.splunk_windows_file_event_cim_mapping,
)

#: (Splunk field, event fields read in order, transform) from the add-ons' CIM extractions.
SPLUNK_ADDON_EXTRACTIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("process_name", ("Image", "NewProcessName"), "basename"),
    ("parent_process_name", ("ParentImage", "ParentProcessName"), "basename"),
    ("process_path", ("Image", "NewProcessName"), "copy"),
    ("parent_process_path", ("ParentImage", "ParentProcessName"), "copy"),
    ("process", ("CommandLine",), "copy"),
    ("parent_process", ("ParentCommandLine",), "copy"),
    ("process_id", ("ProcessId", "NewProcessId"), "copy"),
    ("parent_process_id", ("ParentProcessId", "ProcessId"), "copy"),
    ("process_guid", ("ProcessGuid",), "copy"),
    ("parent_process_guid", ("ParentProcessGuid",), "copy"),
    ("original_file_name", ("OriginalFileName",), "copy"),
    ("dest", ("Computer",), "copy"),
    ("host", ("Computer", "Hostname"), "copy"),
    ("user", ("User", "TargetUserName", "SubjectUserName"), "copy"),
    ("signature_id", ("EventID",), "copy"),
    ("file_path", ("TargetFilename",), "copy"),
    ("file_name", ("TargetFilename",), "basename"),
    ("registry_path", ("TargetObject",), "copy"),
    ("registry_value_data", ("Details",), "copy"),
    ("dest_ip", ("DestinationIp",), "copy"),
    ("dest_port", ("DestinationPort",), "copy"),
    ("src_ip", ("SourceIp",), "copy"),
    ("src_port", ("SourcePort",), "copy"),
    ("query", ("QueryName",), "copy"),
    # classic rendered Security-log names: the message label with spaces as underscores
    ("Relative_Target_Name", ("RelativeTargetName",), "copy"),
    ("Share_Name", ("ShareName",), "copy"),
    ("Account_Name", ("SubjectUserName", "TargetUserName"), "copy"),
    ("New_Process_Name", ("NewProcessName",), "copy"),
    ("Creator_Process_Name", ("ParentProcessName",), "copy"),
    ("Process_Command_Line", ("CommandLine",), "copy"),
    ("Service_File_Name", ("ImagePath",), "copy"),
    ("Service_Name", ("ServiceName",), "copy"),
    ("Logon_Type", ("LogonType",), "copy"),
)


def _extractions(source_prefix: str) -> list[Extraction]:
    out = [
        Extraction("EventCode", ("EventID",), cite=f"{PYSIGMA_SPLUNK}: splunk_windows_pipeline"),
        Extraction(
            "source", ("Channel",), "prefix", source_prefix, cite=SOURCE_CITES[source_prefix]
        ),
    ]
    if source_prefix == XML_PREFIX:
        out.append(
            Extraction(
                "sourcetype",
                ("Channel",),
                "constant",
                "XmlWinEventLog",
                cite=SOURCE_CITES[XML_PREFIX],
            )
        )
    for table in CIM_TABLES:
        for sigma_field, cim_field in table.items():
            out.append(Extraction(cim_field, (sigma_field,), cite=f"{PYSIGMA_SPLUNK}: CIM table"))
    for target, sources, transform in SPLUNK_ADDON_EXTRACTIONS:
        out.append(Extraction(target, sources, transform, cite=ADDON))
    return out


CLASSIC_PREFIX = "WinEventLog:"
XML_PREFIX = "XmlWinEventLog:"
SOURCE_CITES = {
    CLASSIC_PREFIX: f"{PYSIGMA_SPLUNK}: generate_windows_logsource_items('source', "
    "'WinEventLog:{source}')",
    XML_PREFIX: "Splunk Add-on for Microsoft Windows with renderXml=true: source "
    "XmlWinEventLog:<channel>, sourcetype XmlWinEventLog; security_content's source macros "
    "(../shared/corpus/spl/macros/sysmon.yml, wineventlog_security.yml) search these",
}


@cache
def splunk_windows_profile() -> FieldProfile:
    """Splunk's names for Windows events collected as classic text (``WinEventLog:<channel>``):
    the convention pySigma-backend-splunk writes."""
    return FieldProfile(
        "splunk_windows", tuple(_extractions(CLASSIC_PREFIX)), cite=f"{PYSIGMA_SPLUNK}; {ADDON}"
    )


@cache
def splunk_windows_xml_profile() -> FieldProfile:
    """The same for Windows events collected as XML (``XmlWinEventLog:<channel>``), the
    convention security_content's detections search: the shared events are EVTX records."""
    return FieldProfile(
        "splunk_windows_xml",
        tuple(_extractions(XML_PREFIX)),
        cite=f"{SOURCE_CITES[XML_PREFIX]}; {ADDON}",
    )


#: Channels Splunk writes in ``source`` for a Sigma service, for emitters (pySigma's table).
WINDOWS_CHANNELS = windows_logsource_mapping

FIELD_PROFILES = {
    "splunk_windows": splunk_windows_profile,
    "splunk_windows_xml": splunk_windows_xml_profile,
}


def field_profile(name: str | None, *, construct: str | None = None) -> FieldProfile | None:
    """The field profile ``name`` (``none`` or ``None``: no profile); an unknown name is an
    ``invalid`` error listing the known ones (``construct`` names the option, if the caller's
    errors do)."""
    if name in (None, "none"):
        return None
    if name not in FIELD_PROFILES:
        raise RuleglotError(
            f"unknown field profile {name!r} (have: none, {', '.join(FIELD_PROFILES)})",
            category="invalid",
            construct=construct,
        )
    return FIELD_PROFILES[name]()
