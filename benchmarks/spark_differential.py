"""The Spark engine against the evaluator on the whole shared corpus: identical matches?

    python benchmarks/spark_differential.py [--master local[2]] [--sigma-limit N] [--spl-limit N]
    python benchmarks/spark_differential.py --pipelines [--spl-offset N] [--spl-limit N]
    python benchmarks/spark_differential.py --pipelines --kind tstats [--spl-limit N]

Sigma: every rule of ``sigma/rules/`` with the ``windows`` log-source profile. SPL: every
security_content detection whose search starts with a source macro and only filters
(``search``/``where``), read through the ``splunk_windows_xml`` field profile, as ``ruleglot
eval`` runs it. Both engines run over every event of ``events/``. For each rule that both
compile, the (event file, event index) sets are compared; rules Spark refuses are counted by
the construct named; every difference is listed with the rule and a few of its events.
Searches with other stages (stats...) are pipelines: ``--pipelines`` compares their result
rows instead. Every source-macro search the evaluator runs as a pipeline (with the lookups
folder and the ``splunk_windows_xml`` field profile, as ``benchmarks/spl_eval.py`` runs them)
is compiled by :mod:`backends.spark.pipeline`; the events are ingested once for all of them and
each search is one Spark job. Rows are compared as multisets (as lists when a ``sort`` or
``head`` defines their order); the report counts compared, identical, refused by construct
and differing searches, each difference with a few rows only one engine returned.
``--kind tstats`` does the same for the ``tstats`` detections (``search_kind: tstats``): Spark
ingests each data set's rows once (:class:`backends.spark.pipeline.DataSetRows`), the
evaluator reads the events through the data-model profile.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from backends.spark import spark_session  # noqa: E402
from backends.spark.run import compile_all, match_paths  # noqa: E402
from backends.spl import MacroTable  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.evaluator import RuleSet, compile_rule  # noqa: E402
from ir.nodes import Rule  # noqa: E402
from translator.api import fields_for, is_filter_only, parse, profile  # noqa: E402
from translator.inputs import EVENT_SUFFIXES, expand_paths  # noqa: E402
from translator.parallel import match_files  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"


def sigma_rules(shared: Path, limit: int | None) -> list[Rule]:
    rules: list[Rule] = []
    for path in sorted((shared / "sigma" / "rules").rglob("*.yml"))[:limit]:
        with contextlib.suppress(RuleglotError):
            rules.extend(parse(path.read_text(encoding="utf-8"), "sigma", str(path)))
    return rules


def spl_rules(shared: Path, limit: int | None) -> tuple[list[Rule], list[Rule]]:
    """Source-macro searches the evaluator can read that only filter; and, of the others
    (pipelines), their leading filter stages as filter-only rules."""
    macros = MacroTable.from_folder(shared / "spl" / "macros")
    wanted = set()
    for line in (shared / "spl" / "INDEX.jsonl").read_text(encoding="utf-8").splitlines():
        entry = orjson.loads(line)
        if entry.get("search_kind") == "macro_first":
            wanted.add(entry["path"])
    rules: list[Rule] = []
    prefixes: list[Rule] = []
    for path in sorted((shared / "spl" / "detections").rglob("*.yml"))[:limit]:
        if str(path.relative_to(shared / "spl")) not in wanted:
            continue
        try:
            found = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=macros)
        except RuleglotError:
            continue
        for rule in found:
            if is_filter_only(rule):
                rules.append(rule)
                continue
            if rule.leading_filters:
                prefixes.append(replace(rule, stages=rule.leading_filters))
    return rules, prefixes


def evaluator_matches(
    rules: list[Rule], indices: list[int], files: list[Path], profile_name: str, fields: str | None
) -> set[tuple[str, int, int]]:
    chosen = profile(profile_name)
    compiled = [compile_rule(rules[i], chosen, fields_for(rules[i], fields)) for i in indices]
    out = set()
    for result in match_files(RuleSet(compiled), files, jobs=2):
        for event_index, matched in result.matches:
            for rule in matched:
                out.add((str(result.path), event_index, indices[rule]))
    return out


def compare(label: str, rules: list[Rule], files: list[Path], spark, fields: str | None) -> None:
    started = time.perf_counter()
    run = compile_all(rules, profile("windows"), lambda r: fields_for(r, fields))
    compiled_in = time.perf_counter() - started
    refused: Counter[str] = Counter()
    other: Counter[str] = Counter()
    for _, err in run.errors:
        if err.category == "unsupported":
            refused[err.construct or "?"] += 1
        else:
            other[f"{err.category}:{err.construct or '-'}"] += 1
    started = time.perf_counter()
    got = set(match_paths(spark, run, files)[0])
    spark_time = time.perf_counter() - started
    started = time.perf_counter()
    expected = evaluator_matches(rules, run.indices, files, "windows", fields)
    eval_time = time.perf_counter() - started
    by_rule_got: dict[int, set] = defaultdict(set)
    by_rule_exp: dict[int, set] = defaultdict(set)
    for f, e, r in got:
        by_rule_got[r].add((f, e))
    for f, e, r in expected:
        by_rule_exp[r].add((f, e))
    differing = [i for i in run.indices if by_rule_got.get(i) != by_rule_exp.get(i)]
    print(f"== {label}")
    print(f"rules read: {len(rules)}; compiled by Spark: {len(run.indices)} ({compiled_in:.1f}s)")
    print(f"refused by Spark (unsupported, by construct): {dict(refused.most_common())}")
    if other:
        print(f"rejected by the evaluator too: {dict(other.most_common())}")
    print(
        f"matches: Spark {len(got)} in {spark_time:.1f}s, evaluator {len(expected)} in "
        f"{eval_time:.1f}s; rules with matches: {len(by_rule_exp)}"
    )
    print(
        f"rules compared: {len(run.indices)}; identical: {len(run.indices) - len(differing)}; "
        f"different: {len(differing)}"
    )
    for i in differing[:30]:
        mine, theirs = by_rule_got.get(i, set()), by_rule_exp.get(i, set())
        extra, missing = sorted(mine - theirs)[:3], sorted(theirs - mine)[:3]
        print(f"  DIFF {rules[i].title!r}: spark-only {extra} evaluator-only {missing}")


def pipeline_rules(
    shared: Path, limit: int | None, offset: int = 0, kind: str = "macro_first"
) -> list[tuple[str, Rule]]:
    """Searches of this ``search_kind`` that are pipelines, as ``benchmarks/spl_eval.py`` and
    ``benchmarks/tstats_eval.py`` read them."""
    macros = MacroTable.from_folder(shared / "spl" / "macros")
    out: list[tuple[str, Rule]] = []
    for line in (shared / "spl" / "INDEX.jsonl").read_text(encoding="utf-8").splitlines():
        entry = orjson.loads(line)
        if entry.get("search_kind") != kind:
            continue
        if kind == "tstats" and not entry["path"].startswith("detections/"):
            continue  # as benchmarks/tstats_eval.py: the 902 detections
        path = shared / "spl" / entry["path"]
        try:
            found = parse(path.read_text(encoding="utf-8"), "spl", str(path), macros=macros)
        except RuleglotError:
            continue
        out.extend((entry["path"], rule) for rule in found if not is_filter_only(rule))
    return out[offset : offset + limit] if limit else out[offset:]


def _row_key(row: dict) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS, default=str)


def compare_pipelines(
    shared: Path, files: list[Path], spark, limit: int | None, offset: int = 0,
    kind: str = "macro_first",
) -> None:  # fmt: skip
    """Result rows of every pipeline of this kind the evaluator runs: Spark vs evaluator."""
    from backends.spark.pipeline import (
        DataSetRows,
        collect,
        compile_pipeline,
        read_pipeline_events,
    )
    from ir.lookups import LookupProvider
    from ir.pipeline import compile_pipeline as evaluator_pipeline
    from translator.inputs import read_events

    now = time.time()
    lookups = LookupProvider(shared / "spl" / "lookups")
    events = []
    for path in files:
        events.extend(item[1] for item in read_events(path) if not isinstance(item, RuleglotError))
    runnable = []
    not_run: Counter[str] = Counter()
    for name, rule in pipeline_rules(shared, limit, offset, kind):
        try:
            evaluator_pipeline(rule.stages, lookups=lookups, now=now)
        except RuleglotError as err:
            not_run[f"{err.category}:{err.construct or '-'}"] += 1
            continue
        runnable.append((name, rule))
    refused: Counter[str] = Counter()
    plans = []
    for name, rule in runnable:
        try:
            plans.append((name, rule, compile_pipeline(rule, fields_for(rule, None), now=now)))
        except RuleglotError as err:
            refused[err.construct or "?"] += 1
    print(f"== security_content {kind} pipelines: result rows")
    print(f"pipelines read: {len(runnable) + sum(not_run.values())}; run by the evaluator: "
          f"{len(runnable)} (not run: {dict(not_run.most_common(8))} ...)")
    print(f"refused by Spark (unsupported, by construct): {dict(refused.most_common())}",
          flush=True)
    profiles = {id(plan.profile): plan.profile for _, _, plan in plans}
    identical = 0
    differing: list[str] = []
    failed: Counter[str] = Counter()
    spark_time = eval_time = 0.0
    for key, chosen in profiles.items():
        group = [(n, r, p) for n, r, p in plans if id(p.profile) == key]
        frame = read_pipeline_events(spark, files, [p for _, _, p in group], chosen)
        frame = frame.persist()
        print(f"events ingested for Spark: {frame.count()}")
        # the evaluator reads a tstats' events through the data-model profile itself
        plain = chosen is None or isinstance(chosen, DataSetRows)
        applied = events if plain else [chosen.apply(e) for e in events]
        for done, (name, rule, plan) in enumerate(group, 1):
            if done % 25 == 0:
                print(f"  (running) {done}/{len(group)} compared, {identical} identical",
                      flush=True)
            started = time.perf_counter()
            try:
                got = collect(plan, frame)
            except Exception as exc:  # noqa: BLE001 - a Spark failure is a difference to report
                failed[type(exc).__name__] += 1
                differing.append(f"{name}: Spark failed: {str(exc).splitlines()[0][:200]}")
                print(f"  (running) DIFF {differing[-1]}", flush=True)
                continue
            spark_time += time.perf_counter() - started
            started = time.perf_counter()
            rows = evaluator_pipeline(rule.stages, lookups=lookups, now=now)(applied)
            want = [{k: v for k, v in r.fields.items() if k != "Event"} for r in rows]
            eval_time += time.perf_counter() - started
            if plan.state.ordered:
                same = [_row_key(r) for r in got] == [_row_key(r) for r in want]
            else:
                same = Counter(map(_row_key, got)) == Counter(map(_row_key, want))
            if same:
                identical += 1
                continue
            mine, theirs = Counter(map(_row_key, got)), Counter(map(_row_key, want))
            extra = [k.decode()[:300] for k in (mine - theirs)][:2]
            missing = [k.decode()[:300] for k in (theirs - mine)][:2]
            differing.append(
                f"{name}: Spark {len(got)} rows, evaluator {len(want)}; spark-only {extra} "
                f"evaluator-only {missing}"
            )
            print(f"  (running) DIFF {differing[-1]}", flush=True)
        frame.unpersist()
    print(f"compared: {len(plans)}; identical: {identical}; differing: {len(differing)} "
          f"(Spark {spark_time:.1f}s, evaluator {eval_time:.1f}s)")
    for line in differing:
        print(f"  DIFF {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--sigma-limit", type=int, default=None)
    parser.add_argument("--spl-limit", type=int, default=None)
    parser.add_argument("--events-limit", type=int, default=None)
    parser.add_argument("--skip", choices=["sigma", "spl"], action="append", default=[])
    parser.add_argument("--spl-offset", type=int, default=0, help="--pipelines: skip N searches")
    parser.add_argument("--kind", default="macro_first", choices=["macro_first", "tstats"],
                        help="--pipelines: the searches' search_kind in INDEX.jsonl")
    parser.add_argument(
        "--pipelines", action="store_true", help="compare the result rows of SPL pipelines only"
    )
    args = parser.parse_args()
    files = list(expand_paths([args.shared / "events"], EVENT_SUFFIXES))[: args.events_limit]
    spark = spark_session(args.master)
    if args.pipelines:
        compare_pipelines(args.shared, files, spark, args.spl_limit, args.spl_offset, args.kind)
        return 0
    if "sigma" not in args.skip:
        compare("Sigma rules/", sigma_rules(args.shared, args.sigma_limit), files, spark, None)
    if "spl" not in args.skip:
        rules, prefixes = spl_rules(args.shared, args.spl_limit)
        compare(
            "security_content source-macro searches that only filter", rules, files, spark, None
        )
        print(f"source-macro searches that are pipelines (refused by Spark): {len(prefixes)}")
        compare(
            "their leading filter stages (the search before the first other command)",
            prefixes,
            files,
            spark,
            None,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
