"""Read and run every ``tstats`` detection of security_content over all shared events, timed.

    python benchmarks/tstats_eval.py [--limit N] [--all-kinds] [--rows FILE]

Selects the detections whose search is a ``tstats`` (``search_kind: tstats`` in
``../shared/corpus/spl/INDEX.jsonl``, ``detections/`` only; ``--all-kinds`` adds the baselines
and investigations), reads each with the corpus' macros and reports:

* how many read into IR, and how many of those start with a ``DataModel`` stage (the data set
  they read), with every read error by category and construct;
* how many run on the shared events through the ``cim_windows`` data-model profile
  (:mod:`ir.datamodels`) with the lookups folder and the ``splunk_windows_xml`` field profile
  (the whole pipeline: tstats and everything after it), every refusal by construct, crashes
  (any other exception: must be 0);
* per data set: searches, searches that returned rows, and result rows;
* the wall time of the runs, and searches x events per second.

By default the searches run as ``ruleglot eval`` runs them (:mod:`translator.onepass`): each
data set's rows are built once per event, every ``where`` over that data set is dispatched in
one pass over them, and each pipeline runs on the events its ``where`` kept (the time of that
pass is in the run time); ``--per-search`` runs each search on every event, as before.

``--rows FILE`` writes one line per search (path, rule index, row count, sha1 of its rows, or
the refusal), the same format as ``benchmarks/spl_eval.py --rows``, so a change to how tstats
runs can be shown to keep every search's rows.
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
from ir.datamodels import cim_windows  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.lookups import LookupProvider  # noqa: E402
from ir.nodes import DataModel, Rule  # noqa: E402
from translator.api import compile_run, macros, row_dict  # noqa: E402
from translator.onepass import select_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def _data_set(rule: Rule) -> str | None:
    first = rule.stages[0] if rule.stages else None
    if not isinstance(first, DataModel):
        return None
    found = cim_windows().find(first.name)
    return found.name if found is not None else f"{first.name} (not in profile)"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--limit", type=int, default=0, help="only the first N searches")
    parser.add_argument("--all-kinds", action="store_true", help="baselines, investigations too")
    parser.add_argument("--per-search", action="store_true", help="each search on all events")
    parser.add_argument("--slowest", type=int, default=0, help="print the N slowest searches")
    parser.add_argument("--rows", type=Path, help="write a digest of each search's rows here")
    parser.add_argument("--show", default="", help="print the error of each search refused "
                        "with this construct")
    args = parser.parse_args()
    spl = args.shared / "spl"
    index = index_entries(spl)
    selected = [
        entry for entry in index
        if entry["search_kind"] == "tstats"
        and (args.all_kinds or entry["path"].startswith("detections/"))
    ]  # fmt: skip
    if args.limit:
        selected = selected[: args.limit]

    started = time.perf_counter()
    events = shared_events(args.shared)
    table = macros(spl / "macros")
    lookups = LookupProvider(spl / "lookups")
    load = time.perf_counter() - started

    read: Counter[str] = Counter()
    ran: Counter[str] = Counter()
    per_set: dict[str, Counter[str]] = {}
    crashes = 0
    run_time = 0.0
    digests: list[str] = []
    timings: list[tuple[float, str]] = []
    parsed, unread = read_searches(spl, selected, table)
    for err in unread:
        read[f"read error, {err.category}: {err.construct or '-'}"] += 1
    started = time.perf_counter()
    if args.per_search:
        own: list[list[Event] | None] = [None] * len(parsed)
    else:
        own = select_events([rule for _, _, rule in parsed], events, "splunk_windows_xml")
    select_time = time.perf_counter() - started
    run_time += select_time
    for (path, number, rule), chosen in zip(parsed, own, strict=True):
        data_set = _data_set(rule)
        read["read, DataModel source" if data_set else "read, no DataModel stage"] += 1
        counts = per_set.setdefault(data_set or "(none)", Counter())
        counts["searches"] += 1
        started = time.perf_counter()
        try:
            run = compile_run(rule, "splunk_windows_xml", lookups)
            rows = run(events if chosen is None else chosen)
        except RuleglotError as err:
            ran[f"refused, {err.category}: {err.construct or '-'}"] += 1
            digests.append(f"{path}\t{number}\terror\t{err.category}:{err.construct}")
            if args.show and err.construct == args.show:
                print(f"{err}", file=sys.stderr)
            continue
        except Exception:  # noqa: BLE001 - a crash is what this counts
            crashes += 1
            ran["CRASH"] += 1
            print(f"CRASH {path}\n{traceback.format_exc()}", file=sys.stderr)
            continue
        finally:
            took = time.perf_counter() - started
            run_time += took
            timings.append((took, f"{path.relative_to(spl)}#{number}"))
        ran["ran, rows" if rows else "ran, no rows"] += 1
        text = orjson.dumps([row_dict(r) for r in rows], default=str, option=orjson.OPT_SORT_KEYS)
        digests.append(f"{path}\t{number}\t{len(rows)}\t{hashlib.sha1(text).hexdigest()}")
        counts["ran"] += 1
        counts["with rows"] += 1 if rows else 0
        counts["rows"] += len(rows)

    total = read["read, DataModel source"] + read["read, no DataModel stage"]
    print(
        f"tstats searches: {len(selected)}; events: {len(events)} "
        f"(read with macros and lookups in {load:.1f}s)"
    )
    print("read:")
    for key, count in read.most_common():
        print(f"  {key:55s} {count}")
    print("run:")
    for key, count in ran.most_common():
        print(f"  {key:55s} {count}")
    done = ran["ran, rows"] + ran["ran, no rows"]
    print(f"  ran {done} of {total} read ({100 * done / max(total, 1):.1f}%)")
    print("per data set: searches / ran / with rows / result rows")
    for name, counts in sorted(per_set.items(), key=lambda kv: -kv[1]["searches"]):
        print(
            f"  {name:40s} {counts['searches']:5d} {counts['ran']:5d} "
            f"{counts['with rows']:5d} {counts['rows']:7d}"
        )
    rate = done * len(events) / run_time if run_time else 0.0
    print(
        f"run time {run_time:.1f}s for {done} searches over {len(events)} events "
        f"({rate:,.0f} search-events/s; selecting their events in one pass: "
        f"{select_time:.1f}s); crashes: {crashes}"
    )
    for took, name in sorted(timings, reverse=True)[: args.slowest]:
        print(f"  {took:6.2f}s {name}")
    if args.rows:
        args.rows.write_text("".join(f"{line}\n" for line in digests), encoding="utf-8")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
