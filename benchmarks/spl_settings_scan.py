"""Scan Sigma documents written from SPL for Splunk search settings used as detection fields.

Run from the project root, on the output folder of a translation (issue 22)::

    ruleglot translate --from spl --to sigma --lossy --macros ../shared/corpus/spl/macros \\
        --undefined-macros empty -o /tmp/out --report /tmp/report.json \\
        ../shared/corpus/spl/detections
    python benchmarks/spl_settings_scan.py /tmp/out [--report /tmp/report.json]

A Splunk search setting (``index``, ``sourcetype``, ``source``, ``eventtype``,
``splunk_server`` and the time modifiers ``earliest``/``latest``/``_index_earliest``/
``_index_latest``) chooses which events a search reads; in a Sigma detection it is a field no
event outside Splunk has, so the rule matches nothing (the goal is 0 such documents). The scan
also counts documents whose log source is ``product: splunk`` (a log source no Sigma backend
maps). With ``--report`` it also prints the translate report's per-rule status counts.
Exit status 0 always: this is a report.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

SETTINGS = frozenset(
    {"index", "sourcetype", "source", "eventtype", "splunk_server", "earliest", "latest",
     "_index_earliest", "_index_latest"}
)  # fmt: skip


def detection_fields(detection: Any) -> Iterator[str]:
    """Every field name a Sigma detection tests (``field|modifier`` keys of its maps)."""
    if isinstance(detection, dict):
        for key, value in detection.items():
            if key in ("condition", "timeframe"):
                continue
            scalar = isinstance(value, (str, int, float, bool, type(None)))
            values = isinstance(value, list) and not all(isinstance(v, dict) for v in value)
            if isinstance(key, str) and (scalar or values):
                yield key.split("|")[0]
            yield from detection_fields(value)
    elif isinstance(detection, list):
        for item in detection:
            yield from detection_fields(item)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args()
    documents = 0
    holding: Counter[str] = Counter()
    offending = 0
    examples: dict[str, str] = {}
    splunk_product = 0
    for path in sorted(args.folder.rglob("*.yml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(doc, dict):
                continue
            documents += 1
            names = {f for f in detection_fields(doc.get("detection")) if f in SETTINGS}
            offending += bool(names)
            for name in names:
                holding[name] += 1
                examples.setdefault(name, str(path))
            if (doc.get("logsource") or {}).get("product") == "splunk":
                splunk_product += 1
    print(f"Sigma documents: {documents}")
    print(f"documents with a search setting as a detection field: {offending}")
    for name, count in holding.most_common():
        print(f"  {name:16} {count:5}  e.g. {examples[name]}")
    print(f"documents with 'product: splunk': {splunk_product}")
    if args.report:
        status = Counter(entry["status"] for entry in json.loads(args.report.read_text()))
        print("translate report: " + ", ".join(f"{k} {v}" for k, v in sorted(status.items())))


if __name__ == "__main__":
    main()
