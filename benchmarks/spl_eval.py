"""Run every source-macro search of security_content over all shared events, timed.

    python benchmarks/spl_eval.py [--limit N]

Selects the detections whose search starts with a source macro (``search_kind: macro_first`` in
``../shared/corpus/spl/INDEX.jsonl``), reads them with the corpus' macros, runs each whole
pipeline with the lookups folder and the ``splunk_windows_xml`` field profile on every shared
event (read once), and reports: how many ran, how many returned rows, the named errors by
category and construct (tstats, subsearches, unmodelled commands...), crashes (any other
exception: must be 0) and the wall time.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.errors import RuleglotError  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.lookups import LookupProvider  # noqa: E402
from translator.api import compile_run, macros, parse  # noqa: E402
from translator.inputs import EVENT_SUFFIXES, expand_paths, read_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, default=0, help="only the first N searches")
    args = parser.parse_args()
    spl = args.shared / "spl"
    index = [orjson.loads(line) for line in (spl / "INDEX.jsonl").read_bytes().splitlines()]
    selected = [entry for entry in index if entry["search_kind"] == "macro_first"]
    if args.limit:
        selected = selected[: args.limit]

    started = time.perf_counter()
    events: list[Event] = []
    for path in expand_paths([args.shared / "events"], EVENT_SUFFIXES):
        events.extend(item[1] for item in read_events(path) if not isinstance(item, RuleglotError))
    table = macros(spl / "macros")
    lookups = LookupProvider(spl / "lookups")
    load = time.perf_counter() - started

    outcome: Counter[str] = Counter()
    rows_total = 0
    crashes = 0
    started = time.perf_counter()
    for entry in selected:
        path = spl / entry["path"]
        try:
            for rule in parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=table):
                rows = compile_run(rule, None, lookups)(events)
                outcome["ran, rows" if rows else "ran, no rows"] += 1
                rows_total += len(rows)
        except RuleglotError as err:
            outcome[f"{err.category}: {err.construct or '-'}"] += 1
        except Exception:  # noqa: BLE001 - a crash is what this counts
            crashes += 1
            outcome["CRASH"] += 1
            print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(
        f"source-macro searches: {len(selected)}; events: {len(events)} "
        f"(read with macros and lookups in {load:.1f}s)"
    )
    for key, count in outcome.most_common():
        print(f"  {key:45s} {count}")
    print(f"result rows: {rows_total}; crashes: {crashes}; wall time {elapsed:.1f}s")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
