"""SPL -> Sigma coverage on security_content's source-macro detections.

Run from the project root::

    python benchmarks/spl_to_sigma.py [--corpus ../shared/corpus]

For every detection of ``spl/INDEX.jsonl`` with ``search_kind == "macro_first"`` (a search that
starts with a source macro), it parses the SPL (``translator.api.parse`` with the corpus macros),
emits Sigma strict and lossy (``backends.sigma.emit``), and reports: how many parse, how many
emit lossless (strict succeeds), lossy (only ``lossy=True`` succeeds) or fail, strict failures
and lossy warnings tallied by construct, and whether every emitted YAML loads in pySigma.

``--events DIR`` (default: the corpus's events) then checks meaning: each emitted Sigma rule,
read back by ruleglot and run with the windows log-source profile, must match the same events
as the part of the source search it carries over: the whole search for a lossless translation,
the leading filter stages for a lossy one (the dropped stages are the ones the warnings name).
Exit status 0 always: this is a report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sigma.collection import SigmaCollection  # noqa: E402

from backends.sigma import read_sigma  # noqa: E402
from backends.sigma.emit import emit_sigma  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.evaluator import RuleSet  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.nodes import Rule  # noqa: E402
from translator.api import compile_rules, is_filter_only, macros, parse  # noqa: E402
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--events", type=Path, default=None, help="default: CORPUS/events")
    ap.add_argument("--no-events", action="store_true", help="skip the meaning check")
    args = ap.parse_args()
    spl = args.corpus / "spl"
    table = macros(spl / "macros")
    rows = [json.loads(line) for line in (spl / "INDEX.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if r.get("search_kind") == "macro_first"]

    outcome: Counter[str] = Counter()
    strict_fail: Counter[str] = Counter()  # first blocking construct in strict mode
    lossy_warn: Counter[str] = Counter()  # every warning in lossy mode (per rule, once each)
    lossy_fail: Counter[str] = Counter()
    load_fail: list[str] = []
    pairs: list[tuple[str, Rule, list[Rule], list[str]]] = []
    emitted = 0
    for row in rows:
        path = spl / row["path"]
        try:
            rules = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=table)
        except RuleglotError as err:
            outcome["parse error"] += 1
            strict_fail[f"parse:{err.category}"] += 1
            continue
        for rule in rules:
            texts: list[str] = []
            warnings: list[dict[str, str]] = []
            try:
                texts.append(emit_sigma(rule).yaml)
                outcome["lossless"] += 1
            except RuleglotError as err:
                strict_fail[err.construct or err.category] += 1
                try:
                    result = emit_sigma(rule, lossy=True)
                    texts.append(result.yaml)
                    warnings = result.warnings
                    outcome["lossy"] += 1
                    for construct in sorted({w["construct"] for w in result.warnings}):
                        lossy_warn[construct] += 1
                except RuleglotError as err2:
                    outcome["failing"] += 1
                    lossy_fail[err2.construct or err2.category] += 1
            for text in texts:
                emitted += 1
                try:
                    SigmaCollection.from_yaml(text)
                except Exception as exc:  # noqa: BLE001 - a report
                    load_fail.append(f"{path}: {exc}")
                    continue
                named = sorted({w["construct"] for w in warnings})
                pairs.append((str(path), _carried(rule), read_sigma(text, str(path)), named))

    total = sum(outcome.values())
    print(f"macro_first detections: {len(rows)}; rules: {total}")
    for key in ("lossless", "lossy", "failing", "parse error"):
        share = 100 * outcome[key] / total if total else 0.0
        print(f"  {key:12} {outcome[key]:5}  {share:5.1f}%")
    print("\nstrict mode: first unsupported construct")
    for construct, count in strict_fail.most_common():
        print(f"  {construct:28} {count:5}")
    print("\nlossy mode: rules with a warning, by construct")
    for construct, count in lossy_warn.most_common():
        print(f"  {construct:28} {count:5}")
    if lossy_fail:
        print("\nlossy mode: still failing, by construct")
        for construct, count in lossy_fail.most_common():
            print(f"  {construct:28} {count:5}")
    print(f"\nemitted YAML documents: {emitted}; pySigma load failures: {len(load_fail)}")
    for line in load_fail[:10]:
        print("  " + line)
    if not args.no_events:
        _check_meaning(pairs, args.events or args.corpus / "events")


def _carried(rule: Rule) -> Rule:
    """A rule's leading filter stages: what a Sigma rule carries of an SPL search, and the
    event filter of a correlation."""
    return Rule(rule.title, rule.leading_filters, rule.logsource, language=rule.language)


def _check_meaning(pairs: list[tuple[str, Rule, list[Rule], list[str]]], folder: Path) -> None:
    events: list[Event] = []
    for path in expand_paths([folder], EVENT_SUFFIXES):
        events.extend(item[1] for item in read_events(path) if not isinstance(item, RuleglotError))
    single = [(p, src, _carried(out[0]), named) for p, src, out, named in pairs if len(out) == 1]
    correlations = sum(1 for _, _, out, _ in pairs if len(out) == 1 and not is_filter_only(out[0]))
    source = RuleSet(compile_rules([src for _, src, _, _ in single], "windows"))
    target = RuleSet(compile_rules([out for _, _, out, _ in single], "windows"))
    source_hits: list[set[int]] = [set() for _ in single]
    target_hits: list[set[int]] = [set() for _ in single]
    for index, event in enumerate(events):
        for rule_index in source.match(event):
            source_hits[rule_index].add(index)
        for rule_index in target.match(event):
            target_hits[rule_index].add(index)
    same = [a == b for a, b in zip(source_hits, target_hits, strict=True)]
    matching = sum(1 for a in source_hits if a)
    print(
        f"\nmeaning over {len(events)} events: {sum(same)} of {len(single)} emitted rules match "
        f"the same events as the SPL they carry ({matching} match some event); "
        f"{len(pairs) - len(single)} multi-document outputs not compared; {correlations} "
        "correlation outputs compared on their event filter only"
    )
    for (path, _, _, named), ok, a, b in zip(single, same, source_hits, target_hits, strict=True):
        if not ok:
            index = min(a ^ b)
            side = "spl only" if index in a else "sigma only"
            shown = str(events[index].fields)[:300]
            print(f"  DIFF {path} ({side}, {len(a)} vs {len(b)}; warned: {', '.join(named)})")
            print(f"    event: {shown}")


if __name__ == "__main__":
    main()
