"""``docs/migrate.py``, the worked migration in ``docs/migration.md``, run as a user runs it: on
a sample of security_content's endpoint detections (the first 40 files in path order, so the
test stays around two seconds; the full run over all 1,175 is in docs/migration.md) and the
DeepBlueCLI event logs. The report must have a row per detection, a verdict for each, every
loss and refusal named with its construct and position, and Sigma files that read back."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import translator
from tests.conftest import ROOT, shared

SAMPLE = 40
VERDICTS = {"equivalent", "lossy", "differs", "refused", "unmapped", "error", "not read"}


def test_migration_script_reports_a_verdict_per_detection(tmp_path: Path) -> None:
    detections = shared("spl", "detections", "endpoint")
    macros = shared("spl", "macros")
    events = shared("events", "deepbluecli")
    out = tmp_path / "migrated"
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "migrate.py"), str(detections),
         "--macros", str(macros), "--events", str(events / "*.jsonl"), "--out", str(out),
         "--limit", str(SAMPLE)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{SAMPLE} detection(s):" in result.stderr
    with (out / "report.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    files = sorted(detections.rglob("*.yml"))[:SAMPLE]
    assert sorted(Path(r["path"]) for r in rows) == files
    assert {r["verdict"] for r in rows} <= VERDICTS
    assert "error" not in {r["verdict"] for r in rows}  # every translation read back
    for row in rows:
        if row["translation"] == "lossy":
            assert row["dropped"] and all("@" in d for d in row["dropped"].split())
            assert len(row["dropped_why"].splitlines()) == len(row["dropped"].split())
        if row["translation"] in ("error", "read-error"):
            assert row["error"] and not row["sigma_file"]
        if row["verdict"] in ("equivalent", "lossy", "differs"):
            assert int(row["events"]) > 0 or int(row["generated"]) > 0
    written = [r for r in rows if r["sigma_file"]]
    assert written, "some detection of the sample translates"
    back = translator.read_rules([out / r["sigma_file"] for r in written], "sigma")
    # one rule per file, or a collection of one per log source (Windows and Linux Sysmon)
    assert not back.errors and {Path(r.path) for r in back} == {
        out / r["sigma_file"] for r in written
    }
    assert len(back) >= len(written)
