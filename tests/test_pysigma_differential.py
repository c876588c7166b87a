"""The differential run against pySigma-backend-splunk (benchmarks/pysigma_differential.py).

* every class of docs/pysigma_splunk_triage.yml holds: pySigma still writes the recorded SPL for
  the class's evidence rule, and the two sides give the recorded verdicts on its event;
* a bounded sample of SigmaHQ rules (every 40th file and the first rule of each triage class),
  converted by pySigma and compared on a sample of the shared events and on generated events:
  every difference is triaged with a class whose construct the pair contains, the rest agree.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks import pysigma_differential as diff
from benchmarks.sigma_to_spl import load_events
from ir.nodes import Rule, predicates
from tests.conftest import shared

pytest.importorskip("sigma.backends.splunk")

TRIAGE = diff.load_triage(diff.TRIAGE)


def pair_of(rules: Path, rel: str, mode: str) -> diff.Pair:
    report = diff.convert([rules / rel], rules, [mode])
    assert len(report.pairs) == 1, (rel, mode, report.refused, report.other)
    return report.pairs[0]


def test_triage_file_is_well_formed() -> None:
    assert TRIAGE, "docs/pysigma_splunk_triage.yml is empty"
    ids = [entry["id"] for entry in TRIAGE]
    assert len(ids) == len(set(ids))
    for entry in TRIAGE:
        assert entry["verdict"] in diff.VERDICTS, entry["id"]
        assert entry["mode"] in ("none", "splunk_windows", "both"), entry["id"]
        assert entry["rules"] and entry["construct"] and entry["source"], entry["id"]
        evidence = entry["evidence"]
        for key in ("rule", "sigma", "spl", "event", "sigma_verdict", "spl_verdict"):
            assert key in evidence, (entry["id"], key)
        assert evidence["rule"] in entry["rules"], entry["id"]


@pytest.mark.parametrize("entry", TRIAGE, ids=[e["id"] for e in TRIAGE])
def test_triage_evidence_reproduces(entry: dict[str, Any]) -> None:
    """pySigma writes what the class says, and the event tells the two sides apart."""
    rules = shared("sigma", "rules")
    evidence = entry["evidence"]
    mode = "none" if entry["mode"] in ("both", "none") else "splunk_windows"
    pair = pair_of(rules, evidence["rule"], mode)
    for piece in evidence.get("spl_contains", [evidence["spl"]]):
        assert piece in pair.spl_text, (piece, pair.spl_text)
    if pair.spl is None:  # the class is a query ruleglot's reader refuses (invalid SPL)
        assert evidence["spl_verdict"] == "refused"
        assert pair.error and entry["construct"] in pair.error + " " + " ".join(diff.features(pair))
        return
    verdicts = diff.decide(pair, evidence["event"])
    assert verdicts == (evidence["sigma_verdict"], evidence["spl_verdict"])
    if entry["verdict"] == "ruleglot-bug-fixed":  # fixed: they agree now, and did not before
        assert verdicts[0] == verdicts[1] != evidence["spl_verdict_before_fix"]
        return
    assert verdicts[0] != verdicts[1]
    assert entry["construct"] in diff.features(pair, evidence["event"])


def test_triage_lookup_respects_mode() -> None:
    rule = Rule("t", ())
    entry = {"id": "x", "rules": ["a.yml"], "mode": "none"}
    assert diff.triage_of(diff.Pair("a.yml", "none", rule, "q"), [entry]) is entry
    assert diff.triage_of(diff.Pair("a.yml", "splunk_windows", rule, "q"), [entry]) is None
    assert diff.triage_of(diff.Pair("b.yml", "none", rule, "q"), [entry]) is None


def test_reader_reads_quoted_field_names() -> None:
    """Regression: '"c-useragent"="x"' (pySigma's form for a field name holding '-', and
    security_content's for dotted names: '"user.username"="system:anonymous"') was read as the
    bare terms "c-useragent", "=" and "x"; '"c-uri" IN (...)' as terms "c-uri", "IN", ",".
    It is a comparison on the field named by the quoted string."""
    from backends.spl import read_spl_search
    from ir.nodes import Expr, Filter, Kind, Or, Predicate

    def expr(query: str) -> Expr:
        (stage,) = read_spl_search(query)
        assert isinstance(stage, Filter)
        return stage.expr

    assert expr('"c-useragent"="Microsoft-WebDAV-MiniRedir/*"') == Predicate(
        "c-useragent", Kind.STARTSWITH, "Microsoft-WebDAV-MiniRedir/"
    )
    assert expr('"c-uri" IN ("*.7z", "x")') == Or(
        (Predicate("c-uri", Kind.ENDSWITH, ".7z"), Predicate("c-uri", Kind.EQ, "x"))
    )
    assert {p.field for p in predicates(expr('"user.username"!="system:anonymous"'))} == {
        "user.username"
    }
    # a quoted string that no operator follows is still a phrase
    assert all(p.field is None and p.kind is Kind.TERM for p in predicates(expr('"c-ua" x')))
    # and the pair from SigmaHQ now agrees on the event that told them apart
    rules = shared("sigma", "rules")
    pair = pair_of(rules, "web/proxy_generic/proxy_webdav_external_execution.yml", "none")
    event = {"c-useragent": "Microsoft-WebDAV-MiniRedir/", "cs-method": "GET", "c-uri": ".7z"}
    assert diff.decide(pair, event) == (True, True)


def test_features_name_the_constructs() -> None:
    """The class check is only as good as the detectors: each must fire, and only then."""
    from backends.sigma import read_sigma

    def features(detection: str, spl: str) -> set[str]:
        text = (
            "title: t\nlogsource:\n    category: process_creation\n    product: windows\n"
            f"detection:\n{detection}\n"
        )
        return diff.features(diff.Pair("t.yml", "none", read_sigma(text)[0], spl))

    assert "question-mark" in features("    s:\n        A: 'a?b'\n    condition: s", 'A="a*b"')
    assert "question-mark" not in features(
        "    s:\n        A: 'a\\?b'\n    condition: s", 'A="a?b"'
    )
    assert "keyword" in features("    k:\n        - 'x'\n    condition: k", '"x"')
    assert "keyword" not in features("    s:\n        A: x\n    condition: s", 'A="x"')
    assert "escaped-star" in features("    s:\n        A: 'a\\*'\n    condition: s", 'A="a\\*"')
    assert "escaped-star" not in features(
        "    s:\n        A: 'a\\\\*'\n    condition: s", 'A="a\\\\*"'
    )
    assert "issue-74" in features("    s:\n        A: x\n    condition: s", "A=1\n| search OR B=2")
    assert "quoted-field-name" in features("    s:\n        A: x\n    condition: s", '"a-b"="x"')
    assert "quoted-field-name" in features(
        "    s:\n        A: x\n    condition: s", '"a-b" IN ("x")'
    )
    assert "quoted-field-name" not in features(
        "    s:\n        A: x\n    condition: s", 'A IN ("x", "y") B="z"'
    )


def test_sample_differences_are_triaged_with_their_class() -> None:
    """Every 40th rule file and each class's evidence rule, both modes, on every 25th shared
    event and the generated events: differences are triaged (right class), the rest agree."""
    rules = shared("sigma", "rules")
    started = time.perf_counter()
    files = sorted(rules.rglob("*.yml"))
    chosen = set(files[::40]) | {rules / e["evidence"]["rule"] for e in TRIAGE}
    events = load_events(shared("events"))[::25]
    report = diff.run(sorted(chosen), rules, events, diff.MODES, generated=True)
    assert sum(report.converted.values()) > 100
    problems = []
    agreed = 0
    for pair in report.pairs:
        if pair.agrees:
            agreed += 1
            continue
        entry = diff.triage_of(pair, TRIAGE)
        if entry is None:
            problems.append(f"untriaged: {pair.mode} {pair.path}")
        elif entry["construct"] not in diff.features(pair):
            problems.append(
                f"wrong class: {pair.mode} {pair.path} is {entry['id']} ({entry['construct']}) "
                f"but has {sorted(diff.features(pair))}"
            )
    assert not problems, "\n".join(problems)
    assert agreed > len(report.pairs) // 2
    # bounded: about 15 s of CPU alone; the wall-clock bound allows for a loaded machine
    assert time.perf_counter() - started < 300
