"""Run every security_content detection that runs (source-macro and tstats) over all shared
events, in one pass, timed: the figure of issue 24 ("all 1,711 ... <= 60 s on 2 cores").

    python benchmarks/spl_all.py [-j N] [--rows FILE] [--limit N]

Selects the searches ``benchmarks/spl_eval.py`` runs (``search_kind: macro_first``) and those
``benchmarks/tstats_eval.py`` runs (``search_kind: tstats`` under ``detections/``), reads them
with the corpus' macros, reads the events once, and runs every pipeline as ``ruleglot eval``
does (:func:`translator.onepass.run_searches`: leading filters and tstats ``where`` clauses
dispatched in one pass, each pipeline on its own events, ``-j N`` forked processes each taking
every N-th search). Reports: searches read and run, refusals by category, result rows, and the
wall and CPU seconds (this process and its workers) of three phases: reading the events,
macros and lookups; reading the searches; running them. ``--rows FILE`` writes one line per
search in the format of ``spl_eval.py --rows`` and ``tstats_eval.py --rows``, so that

    sort spl.txt tstats.txt | diff - <(sort all.txt)

shows that every search's rows are what each search gives on its own.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.spl_searches import index_entries, read_searches, shared_events  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.lookups import LookupProvider  # noqa: E402
from translator.api import macros  # noqa: E402
from translator.gc_policy import tune_for_batch  # noqa: E402
from translator.onepass import run_searches  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def selected(spl: Path) -> list[dict[str, str]]:
    """The index entries of the searches spl_eval.py and tstats_eval.py run, in index order."""
    return [
        entry for entry in index_entries(spl)
        if entry["search_kind"] == "macro_first"
        or (entry["search_kind"] == "tstats" and entry["path"].startswith("detections/"))
    ]  # fmt: skip


class Clock:
    """Wall and CPU seconds (this process and its finished children) since the last lap."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), self._cpu()

    @staticmethod
    def _cpu() -> float:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), self._cpu()
        found = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("-j", "--jobs", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N searches")
    parser.add_argument("--rows", type=Path, help="write a digest of each search's rows here")
    args = parser.parse_args()
    tune_for_batch()  # the collector as the ruleglot command sets it
    spl = args.shared / "spl"
    entries = selected(spl)
    if args.limit:
        entries = entries[: args.limit]

    clock, total = Clock(), Clock()
    events = shared_events(args.shared)
    table = macros(spl / "macros")
    lookups = LookupProvider(spl / "lookups")
    # the events live to the end: the collector need not walk them again and again
    gc.freeze()
    phases = {"read events, macros, lookups": clock.lap()}

    outcome: Counter[str] = Counter()
    rules, unread = read_searches(spl, entries, table)
    for err in unread:
        outcome[f"read error, {err.category}: {err.construct or '-'}"] += 1
    phases["read the searches"] = clock.lap()

    results = run_searches([r for _, _, r in rules], events, None, lookups, args.jobs)
    phases[f"run them (-j {args.jobs})"] = clock.lap()

    digests: list[str] = []
    rows_total = 0
    for (path, number, _), result in zip(rules, results, strict=True):
        if result is None:
            outcome["not run (its runner declined it)"] += 1
            continue
        if isinstance(result, RuleglotError):
            outcome[f"refused, {result.category}: {result.construct or '-'}"] += 1
            digests.append(f"{path}\t{number}\terror\t{result.category}:{result.construct}")
            continue
        outcome["ran, rows" if result else "ran, no rows"] += 1
        rows_total += len(result)
        text = orjson.dumps(result, default=str, option=orjson.OPT_SORT_KEYS)
        digests.append(f"{path}\t{number}\t{len(result)}\t{hashlib.sha1(text).hexdigest()}")
    ran = outcome["ran, rows"] + outcome["ran, no rows"]
    wall, cpu = total.lap()
    print(f"searches: {len(entries)} files, {len(rules)} searches read; events: {len(events)}")
    for key, count in outcome.most_common():
        print(f"  {key:60s} {count}")
    print(f"ran {ran} searches; result rows: {rows_total}")
    for name, (phase_wall, phase_cpu) in phases.items():
        print(f"  {name:30s} wall {phase_wall:6.1f}s  CPU {phase_cpu:6.1f}s")
    print(f"  {'total':30s} wall {wall:6.1f}s  CPU {cpu:6.1f}s")
    if args.rows:
        args.rows.write_text("".join(f"{line}\n" for line in digests), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
