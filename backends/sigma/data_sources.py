"""security_content's declared data sources (a detection's ``data_source`` list) as Sigma log
sources: data with sources, for the Sigma writer.

A security_content detection names the data sources it is written for (``data_source:``,
e.g. ``Kubernetes Audit``, ``AWS CloudTrail ConsoleLogin``), each defined in
``../shared/corpus/spl/data_sources/<name>.yml`` (its Splunk ``source``/``sourcetype``). The
search itself selects events through macros the customer redefines ("customer specific splunk
configurations... Replace the macro definition", each source macro's description). When the
search's own settings name no Sigma log source, the writer takes the one its declared data
sources name here, reported as a change of meaning (``logsource:data_source``): the search as
written may read other events (whatever its macro selects).

Each row: a pattern on the lower-cased data-source name (fnmatch), and the Sigma log source
SigmaHQ's rules use for those events (``grep -rh -A3 '^logsource:'
../shared/corpus/sigma/rules``: aws/cloudtrail 57 rules, okta/okta 19, kubernetes/audit 16,
github/audit 14, linux/auditd 53, azure/signinlogs 18 and auditlogs 44). A name no row
matches, or names that map to different log sources, give nothing: never a made-up log source
(Splunk-only data such as ``PingID``, ``Windows Active Directory Admon``, CIM ``Risk`` and
``Change`` events have no Sigma taxonomy entry).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Sequence

from backends.sigma.splunk_sources import SigmaLogSource

__all__ = ["DATA_SOURCES", "declared", "sigma_logsource"]

_TAXONOMY = "SigmaHQ rules' log sources (../shared/corpus/sigma/rules)"

#: lower-cased data-source name pattern -> Sigma log source; first match wins
DATA_SOURCES: tuple[tuple[str, SigmaLogSource], ...] = (
    ("kubernetes audit", SigmaLogSource("kubernetes", "audit", _TAXONOMY)),
    ("aws cloudtrail*", SigmaLogSource("aws", "cloudtrail", _TAXONOMY)),
    ("okta*", SigmaLogSource("okta", "okta", _TAXONOMY)),
    ("github*", SigmaLogSource("github", "audit", _TAXONOMY)),
    ("linux auditd*", SigmaLogSource("linux", "auditd", _TAXONOMY)),
    ("azure active directory sign-in activity", SigmaLogSource("azure", "signinlogs", _TAXONOMY)),
)


def declared(custom: Sequence[tuple[str, str]]) -> list[str]:
    """The ``data_source`` names the SPL reader kept in a rule's custom metadata."""
    for key, text in custom:
        if key == "data_source":
            names = json.loads(text)
            return [str(n) for n in names] if isinstance(names, list) else []
    return []


def sigma_logsource(names: Sequence[str]) -> SigmaLogSource | None:
    """The one Sigma log source every declared data source names, or ``None``."""
    found: set[tuple[str, str | None]] = set()
    source: SigmaLogSource | None = None
    for name in names:
        match = next(
            (s for pattern, s in DATA_SOURCES if fnmatch.fnmatchcase(name.lower(), pattern)), None
        )
        if match is None:
            return None
        found.add((match.product, match.service))
        source = match
    return source if len(found) == 1 else None
