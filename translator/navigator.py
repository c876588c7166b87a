"""ATT&CK Navigator layers from a rule set: which techniques the rules cover, scored by how many
rules look for each.

The format is the Navigator's layer file format 4.5 (mitre-attack/attack-navigator,
``layers/LAYERFORMATv4_5.md``): ``name``, ``domain`` and ``versions`` (``layer`` "4.5",
``navigator`` at least "4.9.0"), then one technique object per ATT&CK id with a numeric
``score`` and a ``comment``; a ``gradient`` from 0 to the highest score. sigma-cli's
``sigma analyze attack`` writes the same kind of layer (score = rule count); here it is made for
Sigma and SPL rules alike, and per group (language, or ``check`` verdict in the catalog).

What this module owns
    :func:`technique_counts` (technique id -> rule titles) and :func:`layer` (the JSON object).

What it must not do
    Read files or decide what a tag means: tags are read by :func:`translator.attack.attack_data`
    (the installed STIX data), the same reading the rule pages use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ir.nodes import Rule
from translator.attack import attack_data

LAYER_FORMAT = "4.5"
#: The Navigator version the layer is written for (4.5 layers need at least 4.9.0).
NAVIGATOR_VERSION = "5.1.0"
DOMAIN = "enterprise-attack"
#: Titles a technique's comment names before it says "and N more".
COMMENT_TITLES = 10
#: White to the Navigator's default red-orange: more rules, darker.
GRADIENT = ["#ffffff", "#ff6666"]


@dataclass
class Coverage:
    """Technique id -> titles of the rules tagged with it; ``unknown`` counts the ``attack.t*``
    tags the installed ATT&CK data does not know (revoked or mistyped ids), never scored."""

    titles: dict[str, list[str]] = field(default_factory=dict)
    rules: int = 0
    unknown: int = 0


def technique_counts(rules: Iterable[Rule]) -> Coverage:
    """Every ATT&CK technique tagged by ``rules``, each rule counted once per technique."""
    data = attack_data()
    coverage = Coverage()
    for rule in rules:
        coverage.rules += 1
        seen: set[str] = set()
        for tag in rule.tags:
            technique = data.technique_of_tag(tag)
            if technique is None:
                if tag.lower().startswith("attack.t"):
                    coverage.unknown += 1
                continue
            if technique.id not in seen:
                seen.add(technique.id)
                coverage.titles.setdefault(technique.id, []).append(rule.title)
    return coverage


def _comment(titles: list[str]) -> str:
    shown = "; ".join(titles[:COMMENT_TITLES])
    more = len(titles) - COMMENT_TITLES
    return shown + (f"; and {more} more" if more > 0 else "")


def layer(rules: Iterable[Rule], name: str, description: str = "") -> dict[str, Any]:
    """A Navigator layer (format 4.5) scoring each technique by the number of ``rules``
    tagged with it. Techniques carry no ``tactic``: the Navigator then shows the score under
    every tactic the technique belongs to (the format's definition of an absent tactic)."""
    coverage = technique_counts(rules)
    techniques: list[dict[str, Any]] = [
        {
            "techniqueID": tid,
            "score": len(titles),
            "comment": _comment(titles),
            "enabled": True,
        }
        for tid, titles in sorted(coverage.titles.items())
    ]
    top = max((len(titles) for titles in coverage.titles.values()), default=0)
    summary = (
        f"{coverage.rules} rules, {len(techniques)} techniques"
        + (f", {coverage.unknown} tags not in ATT&CK {attack_data().version}" if coverage.unknown
           else "")
    )
    return {
        "name": name,
        "versions": {
            "attack": attack_data().version.split(".")[0],
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_FORMAT,
        },
        "domain": DOMAIN,
        "description": f"{description} ({summary})" if description else summary,
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": GRADIENT, "minValue": 0, "maxValue": max(top, 1)},
        "legendItems": [],
        "metadata": [{"name": "generator", "value": "ruleglot"}],
    }


def layers_by(
    grouped: Iterable[tuple[str, Rule]], name: str
) -> dict[str, dict[str, Any]]:
    """One layer per group (a language, a verdict): ``{group: layer}``, groups sorted."""
    groups: dict[str, list[Rule]] = {}
    for group, rule in grouped:
        groups.setdefault(group, []).append(rule)
    return {g: layer(rs, f"{name}: {g}") for g, rs in sorted(groups.items())}


__all__ = ["Coverage", "layer", "layers_by", "technique_counts"]
