"""Where pySigma -> SQLite's rows come from, beside ruleglot's matches (issue 7 (c)).

    python benchmarks/sqlite_match_sources.py

``benchmarks/performance.py`` (c) compares speed; its match counts differ (ruleglot counts
(rule, event) matches, the SQLite side rows over the same events). This splits the SQLite rows
by whether the rule's log source is one ruleglot's ``windows`` profile maps: for the others
pySigma-backend-sqlite writes no log-source condition, so they run on every Windows event,
while ruleglot selects none of them (docs/semantics.md, Log sources).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import performance as perf  # noqa: E402

from backends.sigma import read_sigma  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from translator.api import profile  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def main() -> int:
    rules = SHARED / "sigma" / "rules"
    files = sorted(rules.rglob("*.yml"))
    events = perf.load_events(SHARED / "events", None)
    table = perf.SqliteTable()
    table.load([perf.flatten(data) for _, data in events.items])
    queries, _ = perf.pysigma_queries(files)
    windows = profile("windows")
    rows: Counter[str] = Counter()
    per_rule: list[tuple[int, str, str]] = []
    for index, sql in queries:
        found = table.query(sql) or 0
        try:
            logsource = read_sigma(files[index].read_text(encoding="utf-8"), str(files[index]))[0]
            ls = logsource.logsource
            kind = "mapped" if ls.is_empty() or windows.resolve(ls) is not None else "unmapped"
        except RuleglotError:
            kind = "unread"
        rows[kind] += found
        per_rule.append((found, kind, str(files[index].relative_to(rules))))
    print(f"SQLite rows over {len(events.items)} events, by the rule's log source: {dict(rows)}")
    for found, kind, name in sorted(per_rule, reverse=True)[:10]:
        print(f"  {found:7d}  {kind:8s}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
