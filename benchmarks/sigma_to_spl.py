"""Sigma -> SPL on the shared SigmaHQ corpus: how many rules translate, and do they mean the same?

    python benchmarks/sigma_to_spl.py                 # every rule of sigma/rules, all events
    python benchmarks/sigma_to_spl.py --limit 300     # the first 300 rule files, quickly
    python benchmarks/sigma_to_spl.py --fields splunk_windows_xml

For each rule (read with ``read_sigma``): emit SPL in strict mode (``backends.spl.emit``),
counting ``ok`` and the named errors by category and construct; re-read the output with
``read_spl_search`` (a failure there is an emitter bug, counted as ``reread``); then evaluate the
Sigma rule (log-source profile ``windows``, no field profile) and its translation (no log source,
field profile ``--fields``) over every shared event, and count the rules whose matched event
sets are identical. A log source the profile does not map is written as a data-source macro
(``backends.spl.emit.logsource_macro``), defined for the re-read as the profile reads it.
Differing rules are printed with one differing event each.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.sigma import read_sigma  # noqa: E402
from backends.spl import read_spl_search  # noqa: E402
from backends.spl.emit import emit_spl_result, logsource_macro_definitions  # noqa: E402
from backends.spl.macros import MacroTable  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.evaluator import CompiledRule, RuleSet  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.nodes import Rule  # noqa: E402
from translator.api import (  # noqa: E402
    compile_rules,
    compile_run,
    field_profile,
    is_filter_only,
    profile,
)
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def load_events(folder: Path) -> list[Event]:
    events: list[Event] = []
    for path in expand_paths([folder], EVENT_SUFFIXES):
        for item in read_events(path):
            if not isinstance(item, RuleglotError):
                events.append(item[1])
    return events


def matched(compiled: list[CompiledRule], events: list[Event]) -> list[set[int]]:
    ruleset = RuleSet(compiled)
    hits: list[set[int]] = [set() for _ in compiled]
    for index, event in enumerate(events):
        for rule_index in ruleset.match(event):
            hits[rule_index].add(index)
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=Path, default=SHARED / "sigma" / "rules")
    parser.add_argument("--events", type=Path, default=SHARED / "events")
    parser.add_argument("--limit", type=int, default=None, help="only the first N rule files")
    parser.add_argument("--fields", default="splunk_windows")
    parser.add_argument(
        "--logsources",
        default="windows",
        help="'none': write no log-source terms and evaluate the Sigma side with profile none",
    )
    parser.add_argument("--show", type=int, default=40, help="differing rules to print")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    files = sorted(args.rules.rglob("*.yml"))[: args.limit]
    tally: Counter[str] = Counter()
    pairs: list[tuple[Path, Rule, Rule, str]] = []
    for path in files:
        try:
            rules = read_sigma(path.read_text(encoding="utf-8"), str(path))
        except RuleglotError as err:
            tally[f"read-sigma {err.category}:{err.construct or '-'}"] += 1
            continue
        for rule in rules:
            try:
                chosen = None if args.logsources == "none" else profile(args.logsources)
                emitted = emit_spl_result(rule, fields=args.fields, logsources=chosen)
                spl = emitted.text
            except RuleglotError as err:
                tally[f"{err.category}:{err.construct or '-'}"] += 1
                continue
            except Exception:  # noqa: BLE001 - a crash is what this counts
                tally["CRASH"] += 1
                print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
                continue
            try:
                table = MacroTable.from_dict(logsource_macro_definitions(emitted.macros))
                stages = read_spl_search(spl, macros=table)
            except RuleglotError as err:
                tally["reread-error"] += 1
                print(f"REREAD {path}: {err}\n  {spl}", file=sys.stderr)
                continue
            tally["ok"] += 1
            pairs.append((path, rule, Rule(rule.title, stages, language="spl"), spl))
    emitted = time.perf_counter()
    print(f"{len(files)} files in {emitted - started:.1f}s")
    for key, count in tally.most_common():
        print(f"  {key:40s} {count}")

    events = load_events(args.events)
    print(f"{len(events)} events")
    source = compile_rules([p[1] for p in pairs], args.logsources, fields="none")
    source_hits = matched(source, events)
    filters = [i for i, p in enumerate(pairs) if is_filter_only(p[2])]
    target = compile_rules([pairs[i][2] for i in filters], args.logsources, fields=args.fields)
    filter_hits = matched(target, events)  # RuleSet dispatches searches by source/EventCode
    target_hits: list[set[int]] = [set() for _ in pairs]
    for index, hits in zip(filters, filter_hits, strict=True):
        target_hits[index] = hits
    position = {id(event): index for index, event in enumerate(events)}
    spl_fields = field_profile(args.fields)
    if spl_fields is not None:  # pipeline rows point at the event as the profile extended it
        position.update({id(spl_fields.apply(e)): i for i, e in enumerate(events)})
    for index in sorted(set(range(len(pairs))) - set(filters)):  # pipelines (keywords: foreach)
        spl_rule = pairs[index][2]
        head = compile_rules([Rule("head", spl_rule.stages[:1], language="spl")], "none",
                             fields=args.fields)[0]  # the first filter narrows: same rows
        selected = [e for e in events if head.matches(e)]
        rows = compile_run(spl_rule, args.fields)(selected)
        target_hits[index] = {position[id(row.source)] for row in rows}  # type: ignore[attr-defined]
    same = 0
    differing = []
    for pair, a, b in zip(pairs, source_hits, target_hits, strict=True):
        if a == b:
            same += 1
        else:
            differing.append((pair, a, b))
    matching = sum(1 for a in source_hits if a)
    print(
        f"evaluated {len(pairs)} translations in {time.perf_counter() - emitted:.1f}s: "
        f"{same} identical ({matching} rules match some event), {len(differing)} differ"
    )
    for (path, _, _, spl), a, b in differing[: args.show]:
        index = min(a ^ b)
        side = "sigma only" if index in a else "spl only"
        print(f"DIFF {path.relative_to(args.rules)} ({side}, {len(a)} vs {len(b)})")
        print(f"  spl: {spl[:400]}")
        print(f"  event: {str(events[index].fields)[:400]}")
    return 1 if tally["CRASH"] or tally["reread-error"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
