"""Differential run: pySigma-backend-splunk's SPL, read by ruleglot, vs ruleglot's Sigma reading.

    python benchmarks/pysigma_differential.py                  # every rule, both modes, all events
    python benchmarks/pysigma_differential.py --limit 200 --mode none --no-generated
    python benchmarks/pysigma_differential.py --jobs 2 --json /tmp/diff.json

For each rule file of ``--rules`` (SigmaHQ's ``rules/``), pySigma-backend-splunk 2.1.0 converts it
(``SplunkBackend().convert(SigmaCollection.from_yaml(text))``) without a pipeline (mode ``none``)
and with ``splunk_windows_pipeline()`` (mode ``splunk_windows``). Each output query is read with
ruleglot's SPL reader (``read_spl_search``) and compared with ruleglot's own reading of the Sigma
rule (``read_sigma``, log-source profile ``windows``, no field profile) by the equivalence
harness's comparison (:func:`translator.check.check_pairs`): on every shared event and, with
``--generated`` (default), on events generated from both rules (:mod:`ir.generate`: witnesses
of each branch and exclusion, and near misses), with the first differing event shrunk to a
minimal counterexample.

Log sources, to be fair to pySigma: a query carries no log-source condition unless the pipeline
wrote ``source=`` terms; it is meant to run on the index/sourcetype of the rule's log source.
The SPL rule is therefore given the Sigma rule's ``logsource`` and compiled with the ``windows``
log-source profile (the same events, and the same field aliases, e.g. 4688's ``NewProcessName``
read as ``Image``, as the Sigma side):

* mode ``none``: no field profile (pySigma kept Sigma's field names);
* mode ``splunk_windows``: field profile ``splunk_windows`` (``EventCode``, ``source``...), for
  Windows log sources only. If the
  query names ``source`` (the pipeline mapped the log source: ``source="WinEventLog:Security"``)
  it is *not* given the log source and runs on every event, so its own terms are tested too.

A log source the ``windows`` profile does not map (cloud, linux, proxy...) selects no shared
event; for those rules both sides run with no log-source profile (``detection only``), so the
detection logic is still compared, on the shared and the generated events. pySigma's pipeline
queries (``| rex | eval | search`` for OR'ed regexes) are run whole, on the events their log
source selects (:class:`translator.check.Decider`).

Queries the reader refuses are counted by error construct. Every differing or refused pair is
looked up in the triage file (``docs/pysigma_splunk_triage.yml``: classes with ``id``, ``rules``,
``mode``, ``verdict``, ``construct``, ``evidence``, ``source``); untriaged ones are listed loudly
and make the exit status 1. :func:`features` names the constructs a pair contains, so that a
class's ``construct`` can be checked against each rule it lists.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from backends.sigma import read_sigma  # noqa: E402
from backends.spl import read_spl_search  # noqa: E402
from backends.spl.field_profile import splunk_windows_profile  # noqa: E402
from benchmarks.sigma_to_spl import load_events  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.nodes import FieldRef, Filter, Kind, Pattern, Rule, Wildcard, predicates  # noqa: E402
from translator import check  # noqa: E402
from translator.api import profile  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
TRIAGE = ROOT / "docs" / "pysigma_splunk_triage.yml"
MODES = ("none", "splunk_windows")
VERDICTS = ("ruleglot-bug-fixed", "pysigma-changes-meaning", "undefined-corner")


def backends() -> dict[str, Any]:
    from sigma.backends.splunk import SplunkBackend
    from sigma.pipelines.splunk import splunk_windows_pipeline

    return {"none": SplunkBackend(), "splunk_windows": SplunkBackend(splunk_windows_pipeline())}


def pysigma_reason(err: Exception) -> str:
    """pySigma's refusal, tallied: the exception type and its message with values masked."""
    text = str(err).splitlines()[0] if str(err) else ""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    return f"{type(err).__name__}: {text[:90]}"


@dataclass
class Pair:
    """One pySigma query beside the Sigma rule it came from."""

    path: str  # relative to --rules
    mode: str
    sigma: Rule
    spl_text: str
    spl: Rule | None = None  # None: the reader refused the query
    error: str | None = None  # the reader's refusal, or why it could not be evaluated
    compared: str = ""  # how the two sides were run (see the module docstring)
    checked: check.Pair | None = None

    @property
    def counterexample(self) -> check.Counterexample | None:
        return self.checked.result.counterexample if self.checked else None

    @property
    def agrees(self) -> bool:
        return self.checked is not None and self.counterexample is None


def names_source(rule: Rule) -> bool:
    """True when the SPL rule has a log-source term of its own (``source=``/``sourcetype=``)."""
    return any(
        p.field in ("source", "sourcetype")
        for stage in rule.stages
        if isinstance(stage, Filter)
        for p in predicates(stage.expr)
    )


def spl_rule(sigma: Rule, stages: tuple[Any, ...], mode: str) -> tuple[Rule, bool]:
    """The SPL side as evaluated (module docstring): (rule, does it select its own events)."""
    own = Rule(sigma.title, stages, language="spl")
    if mode == "splunk_windows" and names_source(own):
        return own, True
    return Rule(sigma.title, stages, logsource=sigma.logsource, language="spl"), False


@dataclass
class Report:
    files: int = 0
    converted: dict[str, int] = field(default_factory=dict)
    refused: dict[str, Counter[str]] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
    unread: dict[str, Counter[str]] = field(default_factory=dict)
    other: Counter[str] = field(default_factory=Counter)  # sigma-side refusals, unpaired
    pairs: list[Pair] = field(default_factory=list)


def convert(files: Sequence[Path], rules_root: Path, modes: Sequence[str]) -> Report:
    """pySigma's queries for ``files``, each read by ruleglot and paired with its Sigma rule."""
    report = Report(files=len(files))
    chosen = {m: b for m, b in backends().items() if m in modes}
    from sigma.collection import SigmaCollection

    for mode in modes:
        report.converted[mode] = report.queries[mode] = 0
        report.refused[mode] = Counter()
        report.unread[mode] = Counter()
    for path in files:
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(rules_root).as_posix()
        try:
            sigma_rules = read_sigma(text, str(path))
        except RuleglotError as err:
            report.other[f"ruleglot read_sigma {err.category}:{err.construct or '-'}"] += 1
            sigma_rules = None
        for mode, backend in chosen.items():
            try:
                queries = [str(q) for q in backend.convert(SigmaCollection.from_yaml(text))]
            except Exception as err:  # noqa: BLE001 - pySigma's refusals are what is tallied
                report.refused[mode][pysigma_reason(err)] += 1
                continue
            report.converted[mode] += 1
            report.queries[mode] += len(queries)
            if sigma_rules is None:
                continue
            if len(queries) != len(sigma_rules):
                report.other[f"{mode}: {len(queries)} queries for {len(sigma_rules)} rules"] += 1
                continue
            for sigma, query in zip(sigma_rules, queries, strict=True):
                pair = Pair(rel, mode, sigma, query)
                try:
                    pair.spl = Rule(sigma.title, read_spl_search(query, rel), language="spl")
                except RuleglotError as err:
                    pair.error = f"{err.category}:{err.construct or '-'}"
                    report.unread[mode][pair.error] += 1
                report.pairs.append(pair)
    return report


def sides(pair: Pair) -> tuple[check.Decider, check.Decider, str]:
    """How the two sides read events (module docstring): (Sigma side, SPL side, description)."""
    assert pair.spl is not None
    rule, selects = spl_rule(pair.sigma, pair.spl.stages, pair.mode)
    fields = "none" if pair.mode == "none" else "splunk_windows"
    ls = pair.sigma.logsource
    if selects:
        return (
            check.Decider(pair.sigma, "windows", "none"),
            check.Decider(rule, "none", fields),
            "its own source= terms",
        )
    if not ls.is_empty() and profile("windows").resolve(ls) is None:
        # the Splunk field profile (Windows add-on extractions) describes Windows event logs:
        # those of a service the windows profile does not map, not zeek's or a cloud's
        windows = (ls.product or "").lower() == "windows"
        return (
            check.Decider(pair.sigma, "none", "none"),
            check.Decider(rule, "none", fields if windows else "none"),
            "detection only (log source not in the windows profile)",
        )
    return (
        check.Decider(pair.sigma, "windows", "none"),
        check.Decider(rule, "windows", fields),
        "the Sigma rule's log source",
    )


def evaluate(
    pairs: Sequence[Pair],
    events: Sequence[Event],
    *,
    generated: bool = True,
    jobs: int = 1,
    limit: int = 100,
) -> None:
    """Decide every read pair on ``events`` and (``generated``) on events generated from both
    rules, with :func:`translator.check.check_pairs` (its counterexamples are shrunk)."""
    live: list[check.Pair] = []
    for pair in pairs:
        if pair.spl is None:
            continue
        try:
            source, target, pair.compared = sides(pair)
        except RuleglotError as err:
            pair.error = f"evaluate {err.category}:{err.construct or '-'}"
            continue
        result = check.CheckResult(
            pair.path,
            pair.sigma.title,
            pair.sigma.id,
            "equivalent",
            translation=pair.spl_text,
            compared=pair.compared,
        )
        pair.checked = check.Pair(pair.path, pair.sigma, result, source, target)
        live.append(pair.checked)
    check.check_pairs(live, events, generated=generated, limit=limit, jobs=jobs)


def decide(pair: Pair, fields: dict[str, Any]) -> tuple[bool, bool]:
    """The two verdicts on one event given as (normalised) fields, as the run decides them."""
    source, target, _ = sides(pair)
    event = Event.from_fields(dict(fields))
    return source.matches(event), target.matches(event)


# --- features and triage ----------------------------------------------------------------------


def _sigma_predicates(rule: Rule) -> list[Any]:
    return [p for s in rule.stages if isinstance(s, Filter) for p in predicates(s.expr)]


def features(pair: Pair, event: dict[str, Any] | None = None) -> set[str]:
    """The constructs of a pair that a triage class can name (see the triage file); ``event``:
    the event that tells the two apart, when it is not the run's counterexample."""
    out: set[str] = set()
    spl = pair.spl_text
    sigma_text = pair.sigma.source_text or ""
    for pred in _sigma_predicates(pair.sigma):
        if pred.field is None:
            out.add("keyword")
            if pred.kind is Kind.REGEX:
                out.add("re-keyword")
        if isinstance(pred.value, Pattern) and Wildcard.ONE in pred.value.parts:
            out.add("question-mark")
        if isinstance(pred.value, Pattern | str) and "*" in "".join(
            p for p in getattr(pred.value, "parts", (pred.value,)) if isinstance(p, str)
        ):
            out.add("literal-star")
        if pred.kind is Kind.NULL:
            out.add("null")
        if pred.kind is Kind.CIDR:
            out.add("cidr")
        if pred.kind is Kind.REGEX:
            out.add("regex")
        if isinstance(pred.value, FieldRef) or pred.kind is Kind.FIELDREF:
            out.add("fieldref")
        if isinstance(pred.value, bool | int | float) and not isinstance(pred.value, bool):
            out.add("number")
        if pred.kind in (Kind.LT, Kind.LTE, Kind.GT, Kind.GTE):
            out.add("compare")
    extracted = splunk_windows_profile()
    for pred in _sigma_predicates(pair.sigma):
        if pred.field and any(s != pred.field for s in extracted.sources_of(pred.field)):
            out.add("profile-extracted-field")  # (Splunk's add-on extracts it from another)
    if re.search(r'\bNOT\s+[^\s("=]+=(?:"(?:[^"\\]|\\.)*"|[^\s)]+)\s+OR\b', spl):
        out.add("not-before-or")
    if re.search(r"\bEventCode\b", spl):
        out.add("eventcode")
    if "|windash" in sigma_text:
        out.add("windash")
    if "|expand" in sigma_text:
        out.add("expand")
    if re.search(r"\|\s*search\s+OR\b", spl):
        out.add("issue-74")
    if "| where" in spl:
        out.add("where")
    if "| regex" in spl:
        out.add("regex-command")
    if re.search(r"(?<!\\)\\\*", spl.replace("\\\\", "")):
        out.add("escaped-star")
    if re.search(r'(?:^|[\s(])"[^"\\]*"(?:\s*!?=|\s+IN\s*\()', spl):
        out.add("quoted-field-name")
    if only_json_null(pair) or (event is not None and None in event.values()):
        out.add("json-null")
    return out


def load_triage(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return list(data.get("classes", data) if isinstance(data, dict) else data)


def triage_of(pair: Pair, triage: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    for entry in triage:
        if pair.path in entry.get("rules", ()) and entry.get("mode", "both") in (
            "both",
            pair.mode,
        ):
            return entry
    return None


# --- output -----------------------------------------------------------------------------------


def flat(fields: dict[str, Any], width: int = 300) -> str:
    text = json.dumps(fields, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def only_json_null(pair: Pair) -> bool:
    """The pair's (shrunk) counterexample is a generated event holding a JSON ``null``."""
    found = pair.counterexample
    return found is not None and found.origin == "generated" and None in found.event.values()


def run(
    files: Sequence[Path],
    rules_root: Path,
    events: Sequence[Event],
    modes: Sequence[str],
    *,
    generated: bool = True,
    jobs: int = 1,
    limit: int = 60,
) -> Report:
    report = convert(files, rules_root, modes)
    evaluate(report.pairs, events, generated=generated, jobs=jobs, limit=limit)
    return report


def summary(report: Report, modes: Sequence[str]) -> dict[str, dict[str, int]]:
    out = {}
    for mode in modes:
        pairs = [p for p in report.pairs if p.mode == mode]
        read = [p for p in pairs if p.spl is not None]
        out[mode] = {
            "rules": report.files,
            "converted": report.converted[mode],
            "refused_by_pysigma": sum(report.refused[mode].values()),
            "queries": report.queries[mode],
            "paired": len(pairs),
            "read": len(read),
            "agree": sum(1 for p in read if p.agrees),
            "differ": sum(1 for p in read if p.counterexample is not None),
            "not_evaluated": sum(1 for p in read if p.checked is None),
            "unread": len(pairs) - len(read),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=Path, default=SHARED / "sigma" / "rules")
    parser.add_argument("--events", type=Path, default=SHARED / "events")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rule files")
    parser.add_argument("--mode", choices=("none", "splunk_windows", "both"), default="both")
    parser.add_argument("--triage", type=Path, default=TRIAGE)
    parser.add_argument("--json", type=Path, default=None, help="write per-rule results here")
    parser.add_argument(
        "--generated",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also compare on events generated from both rules (ir.generate)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="processes (translator.check)")
    parser.add_argument("--generated-limit", type=int, default=60, help="events per rule side")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    modes = MODES if args.mode == "both" else (args.mode,)
    files = sorted(args.rules.rglob("*.yml"))[: args.limit]
    events = load_events(args.events)
    report = run(
        files,
        args.rules,
        events,
        modes,
        generated=args.generated,
        jobs=args.jobs,
        limit=args.generated_limit,
    )
    triage = load_triage(args.triage)
    gen_note = "on" if args.generated else "off"
    print(
        f"{len(files)} rule files, {len(events)} shared events, generated events: {gen_note}, "
        f"{time.perf_counter() - started:.1f}s"
    )
    for key, count in report.other.most_common():
        print(f"  not paired: {key:60s} {count}")
    untriaged: list[str] = []
    results: list[dict[str, Any]] = []
    numbers = summary(report, modes)
    for mode in modes:
        n = numbers[mode]
        print(f"\n== mode {mode}")
        print(
            f"  rules {n['rules']}, converted {n['converted']}, refused by pySigma "
            f"{n['refused_by_pysigma']}, queries {n['queries']} ({n['paired']} paired), "
            f"read {n['read']}, agree on every event {n['agree']}, differ {n['differ']}, "
            f"refused by ruleglot's reader {n['unread']}"
        )
        for reason, count in report.refused[mode].most_common():
            print(f"    pySigma refused {count:5d}  {reason}")
        for construct, count in report.unread[mode].most_common():
            print(f"    reader refused  {count:5d}  {construct}")
        triaged_counts: Counter[str] = Counter()
        for pair in (p for p in report.pairs if p.mode == mode):
            if pair.agrees:
                results.append({"rule": pair.path, "mode": mode, "agree": True})
                continue
            entry = triage_of(pair, triage)
            label = entry["id"] if entry else "UNTRIAGED"
            triaged_counts[label] += 1
            row: dict[str, Any] = {
                "rule": pair.path,
                "mode": mode,
                "agree": False,
                "triage": entry["id"] if entry else None,
                "spl": pair.spl_text,
            }
            if pair.checked is None:
                print(f"  REFUSED [{label}] {pair.path}: {pair.error}")
                print(f"    spl: {pair.spl_text[:300]}")
                row["error"] = pair.error
            else:
                found = pair.counterexample
                assert found is not None
                row.update(
                    compared=pair.compared,
                    origin=found.origin,
                    sigma_verdict=found.source,
                    spl_verdict=found.translation,
                    event=found.event,
                )
                print(f"  DIFF [{label}] {pair.path} (on {found.origin})")
                print(f"    spl: {pair.spl_text[:300]}")
                print(f"    sigma={found.source} spl={found.translation} {flat(found.event)}")
            row["features"] = sorted(features(pair))
            if entry is None:
                untriaged.append(f"{mode} {pair.path}")
            results.append(row)
        for label, count in sorted(triaged_counts.items()):
            print(f"    triage {label:40s} {count}")
    if args.json:
        args.json.write_text(json.dumps({"summary": numbers, "rules": results}, indent=1))
    if untriaged:
        print(f"\n!!! {len(untriaged)} UNTRIAGED DIFFERENCES !!!")
        for item in untriaged:
            print(f"  UNTRIAGED {item}")
        return 1
    print("\nevery difference is triaged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
