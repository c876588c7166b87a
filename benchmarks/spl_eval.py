"""Run every source-macro search of security_content over all shared events, timed.

    python benchmarks/spl_eval.py [--limit N] [--per-search] [--rows FILE]

Selects the detections whose search starts with a source macro (``search_kind: macro_first`` in
``../shared/corpus/spl/INDEX.jsonl``), reads them with the corpus' macros, runs each whole
pipeline with the lookups folder and the ``splunk_windows_xml`` field profile on every shared
event (read once), and reports: how many ran, how many returned rows, the named errors by
category and construct (tstats, subsearches, unmodelled commands...), crashes (any other
exception: must be 0), the wall and CPU time of running them.

By default the searches run as ``ruleglot eval`` runs them (issue 24, ``translator.onepass``):
one pass over the events dispatches every leading filter, and each pipeline runs on the events
its filter kept; ``--per-search`` runs each pipeline on every event, as before. ``--rows FILE``
writes one line per search (path, rule index, row count, sha1 of its rows) to compare the two.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.spl_searches import index_entries, read_searches, shared_events  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.lookups import LookupProvider  # noqa: E402
from translator.api import compile_run, macros, row_dict  # noqa: E402
from translator.onepass import select_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, default=0, help="only the first N searches")
    parser.add_argument("--per-search", action="store_true", help="each pipeline on all events")
    parser.add_argument("--rows", type=Path, help="write a digest of each search's rows here")
    args = parser.parse_args()
    spl = args.shared / "spl"
    index = index_entries(spl)
    selected = [entry for entry in index if entry["search_kind"] == "macro_first"]
    if args.limit:
        selected = selected[: args.limit]

    started = time.perf_counter()
    events = shared_events(args.shared)
    table = macros(spl / "macros")
    lookups = LookupProvider(spl / "lookups")
    load = time.perf_counter() - started

    outcome: Counter[str] = Counter()
    rows_total = 0
    crashes = 0
    digests: list[str] = []
    started, cpu_started = time.perf_counter(), time.process_time()
    rules, unread = read_searches(spl, selected, table)
    for err in unread:
        outcome[f"{err.category}: {err.construct or '-'}"] += 1
    if args.per_search:
        own: list[list[Event] | None] = [None] * len(rules)
    else:
        own = select_events([rule for _, _, rule in rules], events)
    for (path, number, rule), chosen in zip(rules, own, strict=True):
        try:
            rows = compile_run(rule, None, lookups)(events if chosen is None else chosen)
            outcome["ran, rows" if rows else "ran, no rows"] += 1
            rows_total += len(rows)
            text = orjson.dumps(
                [row_dict(r) for r in rows], default=str, option=orjson.OPT_SORT_KEYS
            )
            digests.append(f"{path}\t{number}\t{len(rows)}\t{hashlib.sha1(text).hexdigest()}")
        except RuleglotError as err:
            outcome[f"{err.category}: {err.construct or '-'}"] += 1
            digests.append(f"{path}\t{number}\terror\t{err.category}:{err.construct}")
        except Exception:  # noqa: BLE001 - a crash is what this counts
            crashes += 1
            outcome["CRASH"] += 1
            print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
    cpu = time.process_time() - cpu_started
    elapsed = time.perf_counter() - started
    print(
        f"source-macro searches: {len(selected)}; events: {len(events)} "
        f"(read with macros and lookups in {load:.1f}s)"
    )
    for key, count in outcome.most_common():
        print(f"  {key:45s} {count}")
    mode = "each search on every event" if args.per_search else "one pass"
    print(f"result rows: {rows_total}; crashes: {crashes}; {mode}: wall time {elapsed:.1f}s, "
          f"CPU {cpu:.1f}s (parsing the searches included)")
    if args.rows:
        args.rows.write_text("".join(f"{line}\n" for line in digests), encoding="utf-8")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
