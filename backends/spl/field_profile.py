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


def _extractions() -> list[Extraction]:
    out = [
        Extraction("EventCode", ("EventID",), cite=f"{PYSIGMA_SPLUNK}: splunk_windows_pipeline"),
        Extraction(
            "source",
            ("Channel",),
            "prefix",
            "WinEventLog:",
            cite=f"{PYSIGMA_SPLUNK}: generate_windows_logsource_items('source', "
            "'WinEventLog:{source}')",
        ),
    ]
    for table in CIM_TABLES:
        for sigma_field, cim_field in table.items():
            out.append(Extraction(cim_field, (sigma_field,), cite=f"{PYSIGMA_SPLUNK}: CIM table"))
    for target, sources, transform in SPLUNK_ADDON_EXTRACTIONS:
        out.append(Extraction(target, sources, transform, cite=ADDON))
    return out


@cache
def splunk_windows_profile() -> FieldProfile:
    """Splunk's names for the Windows events of ``../shared/corpus/events``."""
    return FieldProfile("splunk_windows", tuple(_extractions()), cite=f"{PYSIGMA_SPLUNK}; {ADDON}")


#: Channels Splunk writes in ``source`` for a Sigma service, for emitters (pySigma's table).
WINDOWS_CHANNELS = windows_logsource_mapping

FIELD_PROFILES = {"splunk_windows": splunk_windows_profile}
