"""Sigma rules -> tstats over the CIM, by ruleglot and by pySigma-backend-splunk, on events.

    python benchmarks/sigma_to_tstats.py                       # SigmaHQ rules/, all shared events
    python benchmarks/sigma_to_tstats.py --limit 100 --json /tmp/t.json

For each rule of ``--rules`` whose log source the ``cim_windows`` data-model profile covers:

* ruleglot: ``translate --to spl --data-model cim_windows --lossy``
  (:func:`backends.spl.to_datamodel.to_datamodel`, written by the one SPL writer);
* pySigma-backend-splunk 2.1.0 as ``sigma convert -t splunk -p splunk_cim -f data_model`` does
  it: ``SplunkBackend(splunk_cim_data_model()).convert(rule, output_format="data_model")``.

Both texts are read back with ruleglot's SPL reader (``drop_dm_object_name`` defined as the CIM
app does) and decided per shared event as ``ruleglot check`` decides a tstats side
(:class:`translator.check.Decider`: the event alone makes a result row of the search's
pipeline), beside the Sigma rule itself (log-source profile ``windows``). Reported per Sigma
category: rules, translated by each, and for the rules both translate, how many agree on every
event; each disagreement with its first event and which side agrees with the Sigma rule
(``--show``). Only the events that are rows of the data set are decided: for the others
both tstats searches make no row. The triage of the classes found is in the module docstring of
:mod:`backends.spl.to_datamodel` and the issue's closing note.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.sigma import read_sigma  # noqa: E402
from backends.spl import read_spl_search  # noqa: E402
from backends.spl.macros import MacroTable  # noqa: E402
from ir.datamodels import cim_windows  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from ir.events import Event  # noqa: E402
from ir.nodes import DataModel, Rule  # noqa: E402
from translator import api  # noqa: E402
from translator.check import Decider  # noqa: E402
from translator.inputs import expand_paths, read_events  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
CATEGORIES = ("process_creation", "file_event", "registry_event", "registry_set",
              "registry_add", "registry_delete", "dns_query", "network_connection",
              "file_delete")  # fmt: skip


def pysigma_tstats(text: str) -> list[str]:
    from sigma.backends.splunk import SplunkBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.splunk import splunk_cim_data_model

    backend = SplunkBackend(splunk_cim_data_model())
    return [str(q) for q in backend.convert(SigmaCollection.from_yaml(text), "data_model")]


def tstats_rule(text: str) -> Rule:
    stages = read_spl_search(text, macros=MacroTable.from_dict({}))
    return Rule("tstats", tuple(stages), language="spl")


def load_events(folder: Path) -> list[Event]:
    out: list[Event] = []
    for path in expand_paths([folder], (".jsonl",)):
        if path.name == "MANIFEST.jsonl":
            continue
        out.extend(item[1] for item in read_events(path) if isinstance(item, tuple))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", default=str(SHARED / "sigma" / "rules"))
    parser.add_argument("--events", default=str(SHARED / "events"))
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json", dest="json_path")
    parser.add_argument("--show", type=int, default=10, help="disagreements to print")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    events = load_events(Path(args.events))
    windows = api.compile_rules
    counts: dict[str, Counter[str]] = {}
    differences: list[dict[str, Any]] = []
    rows_of: dict[str, list[tuple[int, Event]]] = {}
    files = sorted(expand_paths([args.rules], (".yml", ".yaml")))
    done = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            rules = read_sigma(text, str(path))
        except RuleglotError:
            continue
        if len(rules) != 1 or rules[0].logsource.category not in CATEGORIES:
            continue
        rule = rules[0]
        if rule.logsource.product != "windows":
            continue
        done += 1
        if args.limit and done > args.limit:
            break
        c = counts.setdefault(rule.logsource.category or "", Counter())
        c["rules"] += 1
        ours: Rule | None = None
        try:
            translation = api.emit_translation(rule, "spl", lossy=True, data_model="cim_windows")
            ours = tstats_rule(translation.text)
            c["ruleglot"] += 1
            c["ruleglot lossy" if translation.warnings else "ruleglot ok"] += 1
        except RuleglotError as err:
            c[f"ruleglot refused: {err.construct}"] += 1
        theirs: Rule | None = None
        try:
            queries = pysigma_tstats(text)
            if len(queries) == 1:
                theirs = tstats_rule(queries[0])
                c["pysigma"] += 1
        except RuleglotError as err:
            c[f"pysigma read by ruleglot refused: {err.construct}"] += 1
        except Exception as err:  # noqa: BLE001 (pySigma's own refusals, counted by kind)
            c[f"pysigma refused: {type(err).__name__}"] += 1
        if ours is None or theirs is None:
            continue
        c["both"] += 1
        try:
            sigma = windows([rule], "windows", "none")[0]
            mine, other = Decider(ours, "none", "none"), Decider(theirs, "none", "none")
        except RuleglotError as err:
            c[f"not evaluated: {err.construct}"] += 1
            continue
        found = None
        head = ours.stages[0]
        assert isinstance(head, DataModel)
        if head.name not in rows_of:  # the events that are rows of the data set (others: none)
            dataset = cim_windows().dataset(head.name)
            rows_of[head.name] = [
                (i, e) for i, e in enumerate(events)
                if cim_windows().row_fields(e, dataset) is not None
            ]  # fmt: skip
        for index, event in rows_of[head.name]:
            a, b = mine.matches(event), other.matches(event)
            if a != b:
                found = (index, event, a, b, sigma.matches(event))
                break
        if found is None:
            c["agree on every event"] += 1
            continue
        index, event, a, b, s = found
        c["differ"] += 1
        c["differ: ruleglot agrees with the Sigma rule" if a == s else
          "differ: pySigma agrees with the Sigma rule"] += 1  # fmt: skip
        differences.append({
            "rule": str(path.relative_to(Path(args.rules).parent)), "event": index,
            "ruleglot": a, "pysigma": b, "sigma": s, "fields": event.fields,
            "pysigma_query": queries[0],
        })  # fmt: skip
    seconds = time.perf_counter() - started
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    print(f"{len(events)} events, {seconds:.0f} s")
    for category, c in sorted(counts.items()) + [("all", total)]:
        print(f"{category}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    for d in differences[: args.show]:
        print(json.dumps({k: v for k, v in d.items() if k != "fields"}))
        print("   event:", json.dumps(d["fields"], default=str)[:400])
    if args.json_path:
        out = {"counts": counts, "differences": differences, "seconds": seconds}
        Path(args.json_path).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
