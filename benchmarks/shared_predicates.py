"""How much the shared predicate matchers (:class:`ir.evaluator.SharedPredicates`) share, on the
shared corpus: issue 24's "each distinct predicate evaluated once per event".

    python benchmarks/shared_predicates.py sigma   # SigmaHQ rules/ over all events (windows)
    python benchmarks/shared_predicates.py spl     # onepass.select_events, every SPL search

Prints the predicate uses and distinct matchers at compile time, then, over every event, how
many times a rule asked a predicate and how many of those asks ran it (the others were
answered from the memo of that event), and the CPU seconds of the same matching with the
sharing on and off (off: each rule compiles its own predicates, as before issue 24). The asks
are counted by wrapping the memo (:func:`ir.evaluator._memoised`) in a counting run, which
is not how the figures of CPU seconds are taken (those run unwrapped).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ir.evaluator as evaluator  # noqa: E402
from benchmarks.spl_all import selected  # noqa: E402
from benchmarks.spl_searches import read_searches, shared_events  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from translator import onepass  # noqa: E402
from translator.api import macros, parse, profile  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


class _NotShared(evaluator.SharedPredicates):
    """Counts uses, compiles each predicate alone: matching as without sharing."""

    def matcher(self, pred: Any, aliases: Any, scope: Any) -> evaluator.Matcher:
        self.uses += 1
        return evaluator.compile_predicate(pred, aliases)


def _counting(asks: list[int]) -> Callable[..., evaluator.Matcher]:
    real = evaluator._memoised

    def memoised(run: evaluator.Matcher, clock: list[int]) -> evaluator.Matcher:
        def counted_run(event: Any) -> bool:
            asks[1] += 1
            return run(event)

        memo = real(counted_run, clock)

        def ask(event: Any) -> bool:
            asks[0] += 1
            return memo(event)

        return ask

    return memoised


def sigma_work(shared: Path) -> Callable[[type[evaluator.SharedPredicates]], Any]:
    events = shared_events(shared)
    rules = []
    for path in sorted((shared / "sigma" / "rules").rglob("*.yml")):
        try:
            rules.extend(parse(path.read_text(encoding="utf-8"), "sigma", str(path)))
        except RuleglotError:
            continue
    windows = profile("windows")

    def run(kind: type[evaluator.SharedPredicates]) -> Any:
        cache = kind()
        ruleset = evaluator.RuleSet(evaluator.compile_rule(r, windows, shared=cache) for r in rules)
        started = time.process_time()
        for event in events:
            event._cache.clear()  # fresh views, as sigma_corpus.py eval
            ruleset.match(event)
        return cache, time.process_time() - started

    return run


def spl_work(shared: Path) -> Callable[[type[evaluator.SharedPredicates]], Any]:
    events = shared_events(shared)
    spl = shared / "spl"
    read, _ = read_searches(spl, selected(spl), macros(spl / "macros"))
    rules = [rule for _, _, rule in read]

    def run(kind: type[evaluator.SharedPredicates]) -> Any:
        made: list[evaluator.SharedPredicates] = []

        def cache() -> evaluator.SharedPredicates:
            made.append(kind())
            return made[-1]

        onepass.SharedPredicates = cache  # type: ignore[assignment,misc]
        try:
            for event in events:
                event._cache.clear()
            started = time.process_time()
            onepass.select_events(rules, events)
            seconds = time.process_time() - started
        finally:
            onepass.SharedPredicates = evaluator.SharedPredicates  # type: ignore[misc]
        return made, seconds

    return run


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("what", choices=["sigma", "spl"])
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--repeat", type=int, default=3, help="on/off pairs, alternating")
    args = parser.parse_args()
    run = sigma_work(args.shared) if args.what == "sigma" else spl_work(args.shared)
    asks = [0, 0]
    real = evaluator._memoised
    evaluator._memoised = _counting(asks)  # type: ignore[assignment]
    try:
        caches, _ = run(evaluator.SharedPredicates)
    finally:
        evaluator._memoised = real  # type: ignore[assignment]
    caches = caches if isinstance(caches, list) else [caches]
    uses = sum(c.uses for c in caches)
    distinct = sum(c.distinct for c in caches)
    print(f"predicate uses {uses}, distinct matchers {distinct} (in {len(caches)} rule set(s))")
    print(f"asked {asks[0]} times over the events, run {asks[1]} times "
          f"({asks[0] - asks[1]} answered from the event's memo)")  # fmt: skip
    on, off = [], []
    for _ in range(args.repeat):
        on.append(run(evaluator.SharedPredicates)[1])
        off.append(run(_NotShared)[1])
    print(f"CPU seconds, shared: {', '.join(f'{s:.2f}' for s in on)}; "
          f"not shared: {', '.join(f'{s:.2f}' for s in off)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
