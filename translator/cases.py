"""Expectation cases: a rule, events, and which events it must match.

Two formats, one runner:

* ruleglot's own (``corpus/cases/*.yml``): ``rule`` (Sigma text), ``events`` a list of
  ``{event: {...}, match: true|false, why: "..."}``; every verdict must be as written. A case
  may instead expect the rule to be refused: ``error: {category: ..., construct: ...}``.
  A pipeline case (``corpus/cases/spl/``) has ``language: spl``, events without verdicts, and
  ``alerts``: the result rows it must return, each given by the values of ``alert_by`` (its
  undefined macros expand to nothing, as for the seed search whose macros nobody defines).
  A Sigma case with ``alerts`` (correlations, Sigma 1.x aggregations) is checked the same way.
* SigmaHQ's regression cases (``cases.jsonl``): ``rule_path`` (relative to the corpus root, two
  folders above the file), ``events_jsonl`` (relative to the file), ``expected.min_matches``:
  the rule must match at least that many events of the log.

Both run through :func:`translator.api.evaluate`, the same path as ``ruleglot eval``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from ir.errors import RuleglotError
from ir.events import Event
from translator.api import compile_rules, evaluate, parse, run
from translator.inputs import read_events, read_text


@dataclass
class CaseResult:
    name: str
    ok: bool
    detail: str = ""
    matched: list[int] = field(default_factory=list)


def _run(rule_text: str, rule_path: str, events: list[Event], profile_name: str) -> list[int]:
    rules = parse(rule_text, "sigma", rule_path)
    compiled = compile_rules(rules, profile_name)
    return sorted({m.event_index for m in evaluate(compiled, events)})


def run_own_case(path: Path, profile_name: str = "windows") -> CaseResult:
    """A ``corpus/cases`` file: every event's verdict must be as written."""
    data: dict[str, Any] = yaml.safe_load(read_text(path))
    if "error" in data:
        return _expect_error(path, data)
    if data.get("language") == "spl" or "alerts" in data:
        return _expect_rows(path, data)
    events = [Event(item["event"]) for item in data["events"]]
    expected = [bool(item["match"]) for item in data["events"]]
    matched = _run(data["rule"], str(path), events, data.get("profile", profile_name))
    got = [i in matched for i in range(len(events))]
    wrong = [
        f"event {i} ({data['events'][i].get('why', '')}): expected {e}, got {g}"
        for i, (e, g) in enumerate(zip(expected, got, strict=True))
        if e != g
    ]
    return CaseResult(path.stem, not wrong, "; ".join(wrong), matched)


def _expect_rows(path: Path, data: dict[str, Any]) -> CaseResult:
    """A pipeline case: the rows' ``alert_by`` values must be exactly ``alerts``. A Sigma
    case with ``alerts`` (a correlation, a Sigma 1.x aggregation) runs its last rule the same
    way (its log source is not applied: the events are all of it)."""
    if data.get("language", "sigma") == "sigma":
        rule = parse(data["rule"], "sigma", str(path))[-1]
    else:
        (rule,) = parse(data["rule"], "spl", str(path), undefined_macros="empty")
    rows = run(rule, [item["event"] for item in data["events"]], data.get("fields"))
    keys = data["alert_by"]
    got = sorted([row.get(k) for k in keys] for row in rows)
    want = sorted(data["alerts"])
    detail = "" if got == want else f"expected rows {want}, got {got}"
    return CaseResult(path.stem, got == want, detail)


def _expect_error(path: Path, data: dict[str, Any]) -> CaseResult:
    want = data["error"]
    try:
        _run(data["rule"], str(path), [], data.get("profile", "windows"))
    except RuleglotError as err:
        got = {"category": err.category, "construct": err.construct}
        wrong = {k: (v, got.get(k)) for k, v in want.items() if got.get(k) != v}
        detail = f"expected error {want}, got {got}: {err}" if wrong else str(err)
        return CaseResult(path.stem, not wrong, detail)
    return CaseResult(path.stem, False, f"expected error {want}, but the rule was accepted")


def run_sigmahq_cases(path: Path, profile_name: str = "windows") -> Iterator[CaseResult]:
    """Each line of SigmaHQ's ``cases.jsonl``: at least ``expected.min_matches`` matches."""
    corpus_root = path.resolve().parent.parent.parent
    for line in read_text(path).splitlines():
        if not line.strip():
            continue
        case = orjson.loads(line)
        rule_path = corpus_root / case["rule_path"]
        if not rule_path.exists():
            rule_path = corpus_root.parent / case["rule_path"]
        events_path = path.parent / case["events_jsonl"]
        events: list[Event] = []
        for item in read_events(events_path):
            if isinstance(item, RuleglotError):
                raise item
            events.append(item[1])
        matched = _run(read_text(rule_path), str(rule_path), events, profile_name)
        need = int(case["expected"]["min_matches"])
        yield CaseResult(
            case["case_id"],
            len(matched) >= need,
            f"{len(matched)} of {len(events)} events matched, at least {need} expected",
            matched,
        )


def run_cases(path: Path, profile_name: str = "windows") -> Iterator[CaseResult | RuleglotError]:
    """Every case under ``path`` (a case file, a ``cases.jsonl``, or a folder of them)."""
    files = (
        [path]
        if path.is_file()
        else sorted(
            p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") or p.name == "cases.jsonl"
        )
    )
    for file in files:
        try:
            if file.suffix == ".jsonl":
                yield from run_sigmahq_cases(file, profile_name)
            else:
                yield run_own_case(file, profile_name)
        except RuleglotError as err:
            err.path = err.path or str(file)
            yield err
