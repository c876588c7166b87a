"""Coverage and evaluation figures on the shared SigmaHQ corpus, rerunnable by anyone.

    python benchmarks/sigma_corpus.py coverage   # the three rule folders, per category
    python benchmarks/sigma_corpus.py eval       # all of rules/ over all shared events, timed

``coverage`` counts, per folder, the rules that became IR and the named errors by category and
construct; any other exception is a crash and is listed. ``eval`` reads every event once,
compiles every rule once and evaluates them with the same engine as ``ruleglot eval``, reporting
the wall time of each phase (median of ``--repeat`` runs) and the match counts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.errors import RuleglotError  # noqa: E402
from ir.evaluator import RuleSet, SharedPredicates, compile_rule  # noqa: E402
from ir.events import Event  # noqa: E402
from translator.api import parse, profile  # noqa: E402
from translator.gc_policy import tune_for_batch  # noqa: E402
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")


def coverage(shared: Path) -> int:
    crashes = 0
    for folder in FOLDERS:
        files = sorted((shared / "sigma" / folder).rglob("*.yml"))
        tally: Counter[str] = Counter()
        for path in files:
            try:
                rules = parse(path.read_text(encoding="utf-8"), "sigma", str(path))
                for rule in rules:
                    compile_rule(rule, profile("windows"))
                tally["ir"] += 1
            except RuleglotError as err:
                tally[f"{err.category}:{err.construct or '-'}"] += 1
            except Exception:  # noqa: BLE001 - a crash is what this counts
                crashes += 1
                tally["CRASH"] += 1
                print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
        print(f"{folder}: {len(files)} files")
        for key, count in tally.most_common():
            print(f"  {key:40s} {count}")
    return 1 if crashes else 0


def evaluate(shared: Path, repeat: int, share: bool = True) -> int:
    started = time.perf_counter()
    events: list[Event] = []
    for path in expand_paths([shared / "events"], EVENT_SUFFIXES):
        for item in read_events(path):
            if not isinstance(item, RuleglotError):
                events.append(item[1])
    load_events = time.perf_counter() - started

    started = time.perf_counter()
    rules = []
    failed = 0
    for path in sorted((shared / "sigma" / "rules").rglob("*.yml")):
        try:
            rules.extend(parse(path.read_text(encoding="utf-8"), "sigma", str(path)))
        except RuleglotError:
            failed += 1
    read_rules = time.perf_counter() - started

    started = time.perf_counter()
    windows = profile("windows")
    compiled = []
    cache = SharedPredicates() if share else None
    for rule in rules:
        try:
            compiled.append(compile_rule(rule, windows, shared=cache))
        except RuleglotError:
            failed += 1
    ruleset = RuleSet(compiled)
    compile_time = time.perf_counter() - started

    times = []
    cpu_times = []
    matches: Counter[int] = Counter()
    for _ in range(repeat):
        matches.clear()
        for event in events:  # fresh views: the first run's caches would flatter the others
            event._cache.clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        for event in events:
            for index in ruleset.match(event):
                matches[index] += 1
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    print(f"events: {len(events)} (read in {load_events:.2f}s)")
    print(
        f"rules: {len(rules)} read in {read_rules:.2f}s, {len(compiled)} compiled in "
        f"{compile_time:.2f}s, {failed} refused with a named error"
    )
    print(
        f"evaluation: median {statistics.median(times):.2f}s of {repeat} run(s) "
        f"({', '.join(f'{t:.2f}' for t in times)}); CPU median "
        f"{statistics.median(cpu_times):.2f}s ({', '.join(f'{t:.2f}' for t in cpu_times)})"
    )
    print(f"matches: {sum(matches.values())} (rule, event) pairs by {len(matches)} rules")
    if cache is not None:
        print(
            f"predicates: {cache.uses} uses (log-source guards included), "
            f"{cache.distinct} distinct, each run at most once per event"
        )
    else:
        print("predicates: not shared (--no-share), each rule runs its own")
    unmapped = sum(1 for c in compiled if c.unmapped)
    print(
        f"rules not run, their log source unmapped by the windows profile: {unmapped}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("what", choices=["coverage", "eval"])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-share", action="store_true",
        help="compile each rule's predicates alone (the match phase without the shared cache)",
    )
    args = parser.parse_args()
    tune_for_batch()  # the collector as the ruleglot command sets it
    if args.what == "coverage":
        return coverage(args.shared)
    return evaluate(args.shared, args.repeat, not args.no_share)


if __name__ == "__main__":
    sys.exit(main())
