"""Checks on data nobody here wrote: SigmaHQ's regression cases and peer engines' vectors.

Skipped, with a message, when ../shared/corpus is absent.
"""

from __future__ import annotations

import re

import orjson
import pytest

from ir.errors import RuleglotError
from ir.events import Event
from translator.api import compile_rules, evaluate, parse
from translator.cases import run_sigmahq_cases
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events

from .conftest import SHARED_CORPUS, shared


def test_all_sigmahq_regression_cases_pass():
    results = list(run_sigmahq_cases(shared("regression", "sigmahq", "cases.jsonl")))
    assert len(results) == 66
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)


#: Vectors whose expectation is one engine's own behaviour, not Sigma's; each with the reason.
#: Keys are ``file:line`` (1-based line in the .jsonl file).
ENGINE_SPECIFIC: dict[str, str] = {
    "go_sigma_rule_engine.jsonl:24": (
        "not marked by the corpus: go-sigma-rule-engine makes `selection1 and not selection3` "
        "false when selection3's field (CommandLine) is absent. Sigma's `not` is boolean "
        "negation of a false selection, and the SPL pySigma-backend-splunk writes for it, "
        "`NOT CommandLine=...`, matches events without the field (Search Manual, 'Difference "
        "between NOT and !=')"
    ),
    "go_sigma_rule_engine.jsonl:41": (
        "engine option noCollapseWS=False collapses whitespace; the spec-conformant vector "
        "(line 42, noCollapseWS=True) is the one ruleglot follows"
    ),
    "sigma_rust.jsonl:8": "YAML 1.2 keeps unquoted `yes` a string; PyYAML/pySigma read true",
    "sigma_rust.jsonl:24": "YAML 1.2 keeps unquoted `yes` a string; PyYAML/pySigma read true",
    "sigma_rust.jsonl:14": (
        "sigma-rust's `null` does not match an absent field; ruleglot reads null as absent or "
        "null, as pySigma-backend-splunk's `NOT f=*` does (docs/semantics.md)"
    ),
}


def _vectors() -> list[tuple[str, dict]]:
    folder = SHARED_CORPUS / "vectors" / "unit-vectors"
    if not folder.exists():
        return []
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        for line_no, line in enumerate(path.read_bytes().splitlines(), start=1):
            if line.strip():
                out.append((f"{path.name}:{line_no}", orjson.loads(line)))
    return out


def _rule_text(vector: dict) -> str:
    """The vector's rule as a loadable Sigma rule.

    sigma-rust's vectors leave ``logsource:`` empty, which the Sigma specification (and pySigma)
    reject; these vectors test matching, not rule validity, so an empty log source is given as
    ``{product: test}``, which no log-source profile maps. go-sigma-rule-engine's vectors hold
    only a ``detection``; title and log source are added. Neither change touches the detection.
    """
    if "sigma_yaml" in vector:
        return re.sub(
            r"^logsource:[ \t]*\n(?![ \t])",
            "logsource: {product: test}\n",
            vector["sigma_yaml"],
            flags=re.M,
        )
    return "title: vector\nlogsource:\n  product: test\n" + vector["detection_yaml"]


def _verdict(vector: dict) -> bool:
    rules = parse(_rule_text(vector), "sigma")
    return any(True for _ in evaluate(rules, [Event(vector["event"])], profile_name="none"))


VECTORS = _vectors()


@pytest.mark.parametrize(("key", "vector"), VECTORS, ids=[k for k, _ in VECTORS])
def test_unit_vector(key: str, vector: dict):
    if key in ENGINE_SPECIFIC:
        # Still checked: the engine-specific expectation must be the one we disagree with.
        assert _verdict(vector) != vector["expected"], f"{key} now agrees: drop its exception"
        return
    assert _verdict(vector) == vector["expected"], vector.get("note") or vector.get("spec_note")


def test_vectors_present():
    folder = shared("vectors", "unit-vectors")
    assert len(VECTORS) == 86, f"expected 86 vectors in {folder}"


def test_engine_specific_list_names_real_vectors():
    shared("vectors", "unit-vectors")
    assert set(ENGINE_SPECIFIC) <= {k for k, _ in VECTORS}


def test_seed_psexec_rule_matches_the_one_real_event_the_seed_names():
    """shared/seeds/README.md: one real event matches the PSexec rule, the Security 5145 event
    with RelativeTargetName PSEXESVC in Security-Datasets' cmd_psexec_lsa_secrets_dump."""
    rule_path = SHARED_CORPUS.parent / "seeds" / "psexec_execution_over_smb_share.yml"
    events_root = shared("events")
    if not rule_path.exists():
        pytest.skip(f"seed rule not found at {rule_path}")
    rules = parse(rule_path.read_text(encoding="utf-8"), "sigma", str(rule_path))
    compiled = compile_rules(rules, "windows")
    hits = []
    for path in expand_paths([events_root], EVENT_SUFFIXES):
        for item in read_events(path):
            if not isinstance(item, RuleglotError) and compiled[0].matches(item[1]):
                hits.append((path.name, item[1]))
    assert len(hits) == 1
    name, event = hits[0]
    assert "cmd_psexec_lsa_secrets_dump" in name
    assert event.get("EventID") == 5145 and event.get("RelativeTargetName") == "PSEXESVC"
