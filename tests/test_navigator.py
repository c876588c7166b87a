"""ATT&CK Navigator layers: valid against the layer format 4.5 (its property tables as a JSON
Schema, ``tests/data/navigator_layer_4.5.schema.json``), scored by rule count."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from translator import api
from translator.cli import main
from translator.navigator import layer, layers_by

from .conftest import shared

SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "navigator_layer_4.5.schema.json").read_text("utf-8")
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

SIGMA = """\
title: {title}
tags: [{tags}]
logsource: {{product: windows, category: process_creation}}
detection:
  sel: {{Image|endswith: '\\\\x.exe'}}
  condition: sel
"""
SPL = """\
name: {title}
tags: {{mitre_attack_id: [{tags}]}}
search: 'EventCode=4688'
"""


def sigma(title: str, tags: str):  # type: ignore[no-untyped-def]
    return api.parse(SIGMA.format(title=title, tags=tags), "sigma")[0]


def spl(title: str, tags: str):  # type: ignore[no-untyped-def]
    return api.parse(SPL.format(title=title, tags=tags), "spl", undefined_macros="empty")[0]


def assert_valid(data: object) -> None:
    errors = sorted(VALIDATOR.iter_errors(data), key=str)
    assert errors == [], [e.message for e in errors]
    assert isinstance(data, dict)
    assert data["gradient"]["maxValue"] > data["gradient"]["minValue"]  # the format's note


def test_the_schema_is_a_schema_and_rejects_what_the_format_forbids() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    good = layer([sigma("a", "attack.t1033")], "x")
    assert_valid(good)
    for broken in (
        {k: v for k, v in good.items() if k != "name"},
        {**good, "domain": "mitre-enterprise"},  # the 3.0 spelling
        {**good, "versions": {**good["versions"], "layer": "4.4"}},
        {**good, "techniques": [{"techniqueID": "T1033", "score": "3"}]},
    ):
        assert list(VALIDATOR.iter_errors(broken)), broken


def test_techniques_are_scored_by_rule_count() -> None:
    rules = [
        sigma("one", "attack.t1033, attack.discovery"),
        sigma("two", "attack.t1033, attack.t1021.002"),
        sigma("three", "attack.t1033, attack.t1033"),  # a tag twice counts once
        sigma("untagged", "attack.discovery"),
        sigma("revoked", "attack.t9999"),
    ]
    data = layer(rules, "test")
    assert_valid(data)
    scores = {t["techniqueID"]: t["score"] for t in data["techniques"]}
    assert scores == {"T1033": 3, "T1021.002": 1}
    comments = {t["techniqueID"]: t["comment"] for t in data["techniques"]}
    assert comments["T1033"] == "one; two; three"
    assert data["gradient"]["maxValue"] == 3
    assert "5 rules, 2 techniques, 1 tags not in ATT&CK" in data["description"]


def test_one_layer_per_language() -> None:
    rules = [sigma("s", "attack.t1033"), spl("p", "T1021.002"), spl("q", "T1021.002")]
    layers = layers_by(((r.language or "sigma", r) for r in rules), "rules")
    assert list(layers) == ["sigma", "spl"]
    for data in layers.values():
        assert_valid(data)
    assert [(t["techniqueID"], t["score"]) for t in layers["spl"]["techniques"]] == [
        ("T1021.002", 2)
    ]
    assert layers["spl"]["name"] == "rules: spl"


def test_cli_writes_a_valid_layer(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yml").write_text(SIGMA.format(title="a", tags="attack.t1033"), "utf-8")
    (rules / "b.yml").write_text(SPL.format(title="b", tags="T1033"), "utf-8")
    inside = CliRunner().invoke(main, ["attack-layer", str(rules), "-o", str(rules / "l.json")])
    assert inside.exit_code == 2 and "refusing to write" in inside.output  # read as input next
    out = tmp_path / "layer.json"
    result = CliRunner().invoke(main, ["attack-layer", str(rules), "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text("utf-8"))
    assert_valid(data)
    assert data["techniques"][0]["techniqueID"] == "T1033"
    assert data["techniques"][0]["score"] == 2
    result = CliRunner().invoke(main, ["attack-layer", str(rules / "a.yml"), "--by", "language"])
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert [d["name"] for d in listed] == ["ruleglot rules: sigma"]


def test_sigmahq_rules_layer_validates() -> None:
    """A small slice of SigmaHQ's rules/ (the whole folder is measured in the closing note)."""
    folder = shared("sigma", "rules", "windows", "pipe_created")
    result = CliRunner().invoke(main, ["attack-layer", str(folder)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert_valid(data)
    assert len(data["techniques"]) > 3
