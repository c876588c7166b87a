"""SPL -> Sigma over ALL of security_content's detections: what each lossy translation costs.

Run from the project root::

    python benchmarks/spl_to_sigma_effects.py [--corpus ../shared/corpus] [--json out.json]

Every detection of ``spl/INDEX.jsonl`` under ``detections/`` (1,711; each ``search_kind``:
tstats, macro_first, ...) is read
with the corpus macros and translated to Sigma in lossy mode through the library
(``translator.translate_rule``, the entry ``translate --report`` writes). Each translation is
one of: ``ok`` (no warning), ``lossy-shaping`` (every warning only drops output shaping: the
same events alert; :mod:`backends.sigma.lossy_effects` decides), ``lossy-meaning`` (a warning
may change which events alert), ``error`` (no Sigma; reading errors included). Printed: the
four counts overall and per ``search_kind``; for ``lossy-meaning`` the constructs that cost
meaning (rules per construct, and rules where it is the only one: what fixing it would gain);
errors by construct; and the stats-with-a-threshold shapes (``stats``/``tstats`` compared by a
``where`` on an aggregate, with or without a time bin), with how many became Sigma
correlation rules. Exit status 0 always: this is a report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ir.errors import RuleglotError  # noqa: E402
from ir.nodes import (  # noqa: E402
    Bin,
    Convert,
    Eval,
    FillNull,
    Filter,
    Rename,
    Rule,
    Sort,
    Stats,
    Table,
    predicates,
)
from translator.api import macros, parse  # noqa: E402
from translator.library import translate_rule  # noqa: E402
from translator.results import TranslationResult  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
CLASSES = ("ok", "lossy-shaping", "lossy-meaning", "error")


def classify(result: TranslationResult) -> str:
    if result.status == "lossy":
        return f"lossy-{result.effect}"
    return result.status


def threshold_shape(rule: Rule) -> str | None:
    """``stats``/``tstats`` whose aggregate a later ``where``/``search`` compares (after only
    row-shaping stages): ``<command> bin`` (a ``bin _time span=``/tstats ``span``) or
    ``<command> no bin``; ``None`` when the search has no such threshold."""
    stages = rule.stages
    for at, stage in enumerate(stages):
        if not (isinstance(stage, Stats) and stage.command in ("stats", "tstats")):
            continue
        aliases = {a.alias or (a.function if a.argument is None else f"{a.function}({a.argument})")
                   for a in stage.aggregations}  # fmt: skip
        later = at + 1
        while later < len(stages) and isinstance(
            stages[later], (Rename, Convert, Eval, Table, FillNull, Sort)
        ):
            later += 1
        if later >= len(stages) or not isinstance(stages[later], Filter):
            return None
        where = stages[later]
        assert isinstance(where, Filter)
        if not {p.field for p in predicates(where.expr)} & aliases:
            return None
        binned = (at > 0 and isinstance(stages[at - 1], Bin)) or any(
            k == "span" for k, _ in stage.options
        )
        return f"{stage.command} {'bin' if binned else 'no bin'}"
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--json", type=Path, default=None, help="write the per-rule entries here")
    args = ap.parse_args()
    spl = args.corpus / "spl"
    table = macros(spl / "macros")
    rows = [json.loads(line) for line in (spl / "INDEX.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if r["path"].startswith("detections/")]  # not baselines/

    overall: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    meaning: Counter[str] = Counter()
    sole: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    shapes: Counter[str] = Counter()
    shapes_correlated: Counter[str] = Counter()
    entries: list[dict[str, Any]] = []
    for row in rows:
        path = spl / row["path"]
        kind = row.get("search_kind") or "-"
        counts = by_kind.setdefault(kind, Counter())
        try:
            rules = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=table)
        except RuleglotError as err:
            overall["error"] += 1
            counts["error"] += 1
            errors[f"read:{err.construct or err.category}"] += 1
            entries.append({"path": str(path), "class": "error", "read_error": err.to_dict()})
            continue
        for rule in rules:
            result = translate_rule(rule, "sigma", lossy=True)
            result.path = str(path)
            found = classify(result)
            overall[found] += 1
            counts[found] += 1
            if found == "error":
                errors[result.errors[0].construct or str(result.errors[0].category)] += 1
            if found == "lossy-meaning":
                costly = {w.construct or "-" for w in result.warnings if w.effect != "shaping"}
                meaning.update(costly)
                if len(costly) == 1:
                    sole.update(costly)
            shape = threshold_shape(rule)
            if shape is not None:
                shapes[shape] += 1
                if result.text is not None and "\ncorrelation:" in result.text:
                    shapes_correlated[shape] += 1
            entries.append({"class": found, **result.to_dict()})

    total = sum(overall.values())
    good = overall["ok"] + overall["lossy-shaping"]
    print(f"SPL -> Sigma, all detections: {len(rows)} files, {total} rules")
    for name in CLASSES:
        print(f"  {name:14} {overall[name]:5}  {100 * overall[name] / total:5.1f}%")
    print(f"  ok or only output shaping: {good} ({100 * good / total:.1f}%)")
    print("\nby search_kind (ok / lossy-shaping / lossy-meaning / error)")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:20} " + " / ".join(f"{counts[c]:4}" for c in CLASSES))
    print("\nlossy-meaning: rules per construct that costs meaning (only construct in brackets)")
    for construct, count in meaning.most_common():
        print(f"  {construct:28} {count:5}  [{sole[construct]}]")
    print("\nerror: rules per construct")
    for construct, count in errors.most_common():
        print(f"  {construct:28} {count:5}")
    print("\nstats/tstats with a threshold on an aggregate (written as a Sigma correlation)")
    for shape, count in sorted(shapes.items()):
        print(f"  {shape:20} {count:5}  ({shapes_correlated[shape]} correlations)")
    if args.json:
        args.json.write_text(json.dumps(entries, indent=1, default=str))


if __name__ == "__main__":
    main()
