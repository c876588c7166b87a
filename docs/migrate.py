"""A worked SIEM migration: Splunk security_content detections to Sigma, each one proven on events.

Run from a checkout (``docs/migration.md`` explains each step)::

    .venv/bin/python docs/migrate.py ../shared/corpus/spl/detections/endpoint \\
        --macros ../shared/corpus/spl/macros --events '../shared/corpus/events/**/*.jsonl' \\
        --out migrated/

It writes ``migrated/sigma/<detection>.yml`` for every detection that translates and
``migrated/report.csv`` with one row per detection: whether it was read and translated (``ok``,
``lossy`` with the constructs that were dropped, ``error`` with the construct and its position),
and the verdict of ``ruleglot check`` on the events (``equivalent``, ``lossy``, ``differs``,
``refused``, ``unmapped``, ``error``) with the counterexample's origin. Only the public API of
the ``translator`` package is used.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import translator

COLUMNS = (
    "path",
    "title",
    "rule_id",
    "translation",
    "dropped",
    "dropped_why",
    "error",
    "verdict",
    "compared",
    "events",
    "generated",
    "counterexample_origin",
    "counterexample",
    "sigma_file",
)


def located(issue: translator.Issue) -> str:
    """``construct@line:col``: what and where, one token (a cell lists them space-separated)."""
    where = f"{issue.line}:{issue.col}" if issue.line is not None else "-"
    return f"{issue.construct or issue.category}@{where}"


def describe(issue: translator.Issue) -> str:
    """``construct@line:col: message``."""
    return f"{located(issue)}: {issue.message}"


def migrate(
    detections: Path,
    macros: Path | None,
    event_paths: Sequence[str],
    out: Path,
    *,
    lossy: bool = True,
    limit: int | None = None,
    generated: bool = True,
    jobs: int = 1,
) -> Counter[str]:
    """Translate, check and report; returns the count of each verdict."""
    files = sorted(detections.rglob("*.yml"))[:limit] if limit is not None else [detections]
    rules = translator.read_rules(files, "spl", macros=macros)
    chosen = rules.rules
    events = translator.read_events(event_paths)
    for issue in events.errors:
        print(f"warning: {issue}", file=sys.stderr)

    sigma_dir = out / "sigma"
    sigma_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, object]] = []
    translations = [translator.translate_rule(r, "sigma", lossy=lossy) for r in chosen]
    verdicts = translator.check_rules(
        chosen, "sigma", events, lossy=lossy, generated=generated, jobs=jobs
    )
    for loaded, done, verdict in zip(chosen, translations, verdicts, strict=True):
        sigma_file = ""
        if done.text is not None:
            target = sigma_dir / f"{Path(loaded.path).stem}.yml"
            target.write_text(done.text, encoding="utf-8")
            sigma_file = str(target.relative_to(out))
        example = verdict.counterexample
        rows.append(
            {
                "path": loaded.path,
                "title": loaded.title,
                "rule_id": loaded.id or "",
                "translation": done.status,
                "dropped": " ".join(located(w) for w in done.warnings),
                "dropped_why": "\n".join(describe(w) for w in done.warnings),
                "error": "\n".join(describe(e) for e in done.errors),
                "verdict": verdict.status,
                "compared": verdict.compared,
                "events": verdict.events,
                "generated": verdict.generated,
                "counterexample_origin": example.origin if example else "",
                "counterexample": json.dumps(example.event, default=str) if example else "",
                "sigma_file": sigma_file,
            }
        )
    for issue in rules.errors:  # files the SPL reader could not read: no rule, no verdict
        rows.append(
            {"path": issue.path, "translation": "read-error", "error": describe(issue),
             "verdict": "not read"}
        )
    with (out / "report.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return Counter(str(row["verdict"]) for row in rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("detections", type=Path, help="a folder of security_content detections")
    parser.add_argument("--macros", type=Path, help="security_content's macros/ folder")
    parser.add_argument("--events", nargs="+", default=[],
                        help="JSON Lines files, folders or glob patterns")
    parser.add_argument("--out", type=Path, required=True, help="where to write the results")
    parser.add_argument("--strict", action="store_true",
                        help="refuse a detection with any construct Sigma cannot carry "
                        "(default: translate it lossily, naming what was dropped)")
    parser.add_argument("--limit", type=int,
                        help="only the first N detection files (in path order)")
    parser.add_argument("--no-generated", action="store_true",
                        help="compare on the given events only, not on generated ones")
    parser.add_argument("--jobs", type=int, default=1, help="processes to compare on")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = migrate(
        args.detections, args.macros, args.events, args.out, lossy=not args.strict,
        limit=args.limit, generated=not args.no_generated, jobs=args.jobs,
    )
    print(
        f"{sum(counts.values())} detection(s): "
        + ", ".join(f"{n} {verdict}" for verdict, n in counts.most_common())
        + f"; report in {args.out / 'report.csv'}; {time.perf_counter() - started:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
