"""ruleglot's speed, measured side by side with its peers in one run (issue 7).

    python benchmarks/performance.py                   # everything, 3 runs each
    python benchmarks/performance.py --quick           # 300 rules, 5,000 events: a smoke run
    python benchmarks/performance.py --only a,b --runs 5 --json /tmp/perf.json
    python benchmarks/performance.py --only g --growth-runs 3   # growth of ruleglot alone

Needs the ``bench`` extra (``pip install -e '.[bench]'``: sigma-cli, pySigma-backend-sqlite).
Every number is the median of ``--runs`` runs (``--sqlite-runs`` for the slow SQLite peer and
``--growth-runs`` for the growth curves); each measurement runs in its own (forked or spawned)
process, whose peak resident memory (``ru_maxrss``) is reported. The machine may be shared:
CPU seconds are reported beside wall seconds, and ``uptime``'s load average is printed.
ruleglot's own modules are byte-compiled first (:func:`byte_compile_ruleglot`), as pip compiles
the peers' installed packages.

(a) Sigma -> SPL, all of ``sigma/rules``, as subprocesses, alternating which goes first:
    ``sigma convert -t splunk --without-pipeline -s RULES -o FILE`` (sigma-cli, pySigma with
    pySigma-backend-splunk, no pipeline) against ``ruleglot translate RULES --to spl
    --logsources none`` writing every query to one file as sigma-cli does (no log-source terms
    and Sigma's own field names, that is the same target: neither adds ``source``/``EventCode``
    terms nor renames fields); ``--translate-dir`` adds ruleglot's one file per rule (``-o
    DIR``). Same outputs'
    meaning is checked here by counting one query per rule on each side (pySigma's skipped
    rules are the ones it prints under "Ignored errors"); the query-by-query check that both
    mean the same is ``benchmarks/pysigma_differential.py``.
(b) Every security_content detection (``spl/detections``, with ``spl/macros``) read into IR,
    in-process (as ``benchmarks/spl_corpus.py`` reads them), on one core and on all cores.
(c) Every rule of ``sigma/rules`` evaluated over every shared event (``events/**.jsonl``):
    ruleglot (log-source profile ``windows``; in-process on one core and on all cores, and the
    ``ruleglot eval -j N`` command) against pySigma -> pySigma-backend-sqlite (``sysmon`` +
    ``windows_logsource`` pipelines) -> SQLite in memory, Zircolite's way: one table, every
    column ``TEXT COLLATE NOCASE``, each event flattened (EVTX ``Event.System.*`` and
    ``Event.EventData.*`` children as top-level columns, attributes as ``Element_Attribute``,
    nested objects of flat events as dotted columns, lists as JSON text). The table load, the
    rule conversion and the queries are timed separately; ruleglot's JSON parsing is timed
    once, apart, like the table load. Growth: 1x, 2x and 4x the events (the list repeated) with
    all rules, and 1/4 and 1/2 of the rules with 1x the events.
(g) The growth curves of (c) for ruleglot alone (1 core and all cores), without the peers'
    conversion and queries: the "linear in events, sublinear in rules" table of issue 24 in
    a few minutes, on a machine where the peers' minutes are not to be spent again.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import multiprocessing
import os
import pickle
import re
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus"
BIN = Path(sys.executable).parent
console = Console(highlight=False, soft_wrap=True, width=150)


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """One run of one measurement: seconds per phase, counts, the process's peak memory."""

    times: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    cpu: float = 0.0
    peak_mb: float = 0.0


def _rusage_mb(usage: Any) -> float:
    return float(usage.ru_maxrss) / 1024.0  # kilobytes on Linux


def run_command(argv: Sequence[str], stdout: Path | None = None) -> tuple[Sample, str, int]:
    """Run a command; its wall time, CPU time and peak memory (its own and its children's,
    from ``wait4``), its stderr and exit status."""
    with tempfile.TemporaryFile() as err, open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    sample = Sample({"wall": wall}, cpu=usage.ru_utime + usage.ru_stime, peak_mb=_rusage_mb(usage))
    return sample, text, process.returncode


def _cpu_now() -> float:
    """CPU seconds of this process and of the children it has waited for (forked workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + usage.ru_utime + usage.ru_stime


def in_child(work: Callable[[], Sample]) -> Sample:
    """Run ``work`` in a forked process (what it allocates is measured alone, and nothing it
    caches survives into the next run); its peak memory is the child's ``ru_maxrss``, its CPU
    time the child's and that of the workers it forked (on a loaded or shared machine, the
    steadier figure)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        code = 0
        try:
            started = _cpu_now()
            sample = work()
            sample.cpu = sample.cpu or _cpu_now() - started  # unless ``work`` timed its own
            payload = pickle.dumps(sample)
        except BaseException as exc:  # report, never hang the parent
            payload = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
            code = 1
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, _, usage = os.wait4(pid, 0)
    result = pickle.loads(payload)
    if isinstance(result, Exception):
        raise result
    assert isinstance(result, Sample)
    result.peak_mb = _rusage_mb(usage)
    return result


def median_sample(samples: list[Sample]) -> dict[str, Any]:
    """Medians of every time, the CPU time and peak memory; counts from the first run."""
    keys = list(samples[0].times)
    return {
        "runs": len(samples),
        "times": {k: statistics.median(s.times[k] for s in samples) for k in keys},
        "all_times": {k: [round(s.times[k], 3) for s in samples] for k in keys},
        "cpu": statistics.median(s.cpu for s in samples),
        "peak_mb": max(s.peak_mb for s in samples),
        "counts": samples[0].counts,
    }


def repeat(runs: int, work: Callable[[], Sample], label: str) -> dict[str, Any]:
    samples = []
    for index in range(runs):
        sample = work()
        shown = ", ".join(f"{k} {v:.2f}s" for k, v in sample.times.items())
        console.print(f"  [dim]{label} run {index + 1}/{runs}: {shown}[/dim]")
        samples.append(sample)
    return median_sample(samples)


# --- the corpus -------------------------------------------------------------------------------


def rule_files(rules: Path, limit: int | None = None, half: bool = False) -> list[Path]:
    files = sorted(rules.rglob("*.yml"))
    if limit is not None:
        files = files[:limit]
    return files[: len(files) // 2] if half else files


def mirror(files: Iterable[Path], root: Path, into: Path) -> Path:
    """A folder holding (symbolic links to) ``files``, as they sit under ``root``."""
    for path in files:
        target = into / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path.resolve())
    return into


@dataclass
class Events:
    """Every event line, parsed once: ``(text, JSON object)``."""

    items: list[tuple[str, dict[str, Any]]]
    parse_seconds: float
    files: list[Path]


def load_events(folder: Path, limit: int | None) -> Events:
    from translator.inputs import EVENT_SUFFIXES, expand_paths

    files = list(expand_paths([folder], EVENT_SUFFIXES))
    started = time.perf_counter()
    items: list[tuple[str, dict[str, Any]]] = []
    for path in files:
        for line in path.read_bytes().splitlines():
            if line.strip():
                data = orjson.loads(line)
                if isinstance(data, dict):
                    items.append((line.decode("utf-8", "replace"), data))
    elapsed = time.perf_counter() - started
    if limit is not None:
        items = items[:limit]
    return Events(items, elapsed, files)


# --- (a) Sigma -> SPL --------------------------------------------------------------------------


def command(name: str, module_main: str) -> list[str]:
    """The installed console script ``name`` beside this Python, else the module's main."""
    script = BIN / name
    if script.exists():
        return [str(script)]
    module, _, function = module_main.partition(":")
    return [sys.executable, "-c", f"from {module} import {function}; {function}()"]


SIGMA = ["sigma.cli.main:main"]


def _ignored(stderr: str) -> int:
    """How many rules sigma-cli skipped (``-s``): the lines under 'Ignored errors'."""
    _, _, tail = stderr.partition("Ignored errors:")
    return sum(1 for line in tail.splitlines() if line.strip().endswith(".yml") or ": " in line)


def bench_translate(
    rules: Path, rule_count: int, runs: int, work: Path, to_dir: bool
) -> dict[str, Any]:
    """Both write every query into one file (sigma-cli ``-o FILE``, ruleglot's stdout); with
    ``to_dir``, ruleglot's one-file-per-rule ``-o DIR`` is measured too (a file per rule costs
    what the file system charges for creating files, which is no part of translating)."""
    sigma = command("sigma", "sigma.cli.main:main")
    ruleglot = command("ruleglot", "translator.cli:main")
    sigma_out = work / "sigma.spl"
    rg_file = work / "ruleglot.spl"
    rg_out = work / "ruleglot-spl"
    sigma_argv = [*sigma, "convert", "-t", "splunk", "--without-pipeline", "-s", str(rules)]
    sigma_argv += ["-o", str(sigma_out)]
    rg_argv = [*ruleglot, "translate", str(rules), "--to", "spl", "--logsources", "none"]
    tools: list[tuple[str, list[str], Path | None]] = [
        ("sigma-cli", sigma_argv, None),
        ("ruleglot", rg_argv, rg_file),
    ]
    if to_dir:
        tools.append(("ruleglot -o DIR", [*rg_argv, "-o", str(rg_out)], None))
    samples: dict[str, list[Sample]] = {name: [] for name, _, _ in tools}
    checks: dict[str, Any] = {}
    for index in range(runs):
        order = list(tools)
        if index % 2:
            order.reverse()
        for name, argv, stdout in order:
            shutil.rmtree(rg_out, ignore_errors=True)
            sample, stderr, status = run_command(argv, stdout)
            if name == "sigma-cli":
                skipped = _ignored(stderr)
                sample.counts = {"exit": status, "rules": rule_count, "skipped": skipped,
                                 "queries": rule_count - skipped}  # fmt: skip
            else:
                found = re.search(r"(\d+) ok, (\d+) lossy, (\d+) error", stderr)
                ok, lossy, errors = (int(g) for g in found.groups()) if found else (0, 0, -1)
                if rg_out.exists():
                    files = sum(1 for _ in rg_out.rglob("*.spl"))
                else:
                    files = rg_file.read_text(encoding="utf-8").count("\n")
                sample.counts = {"exit": status, "rules": rule_count, "ok": ok,
                                 "lossy": lossy, "errors": errors, "files": files,
                                 "queries": ok + lossy}  # fmt: skip
            samples[name].append(sample)
            console.print(f"  [dim]{name} run {index + 1}/{runs}: {sample.times['wall']:.2f}s "
                          f"(cpu {sample.cpu:.2f}s, {sample.peak_mb:.0f} MB)[/dim]")  # fmt: skip
    result = {name: median_sample(s) for name, s in samples.items()}
    # start-up: what the command costs before it reads a rule
    for name, argv in (("sigma-cli", [*sigma, "--help"]), ("ruleglot", [*ruleglot, "--help"])):
        startup = [run_command(argv)[0].times["wall"] for _ in range(max(3, runs))]
        result[name]["startup"] = statistics.median(startup)
    sigma_q = result["sigma-cli"]["counts"]["queries"]
    rg_q = result["ruleglot"]["counts"]["queries"]
    checks["query per rule"] = f"sigma-cli {sigma_q}/{rule_count}, ruleglot {rg_q}/{rule_count}"
    result["checks"] = checks
    result["ratio"] = result["sigma-cli"]["times"]["wall"] / result["ruleglot"]["times"]["wall"]
    return result


# --- (b) security_content into IR --------------------------------------------------------------


def _spl_sample(
    started: float, cpu_started: float, macro_seconds: float, counts: list[int]
) -> Sample:
    """One (b) run: its wall and CPU time since ``started`` and how many inputs read (a
    count >= 0)."""
    return Sample(
        {"total": time.perf_counter() - started, "macros": macro_seconds},
        {
            "detections": len(counts),
            "parsed": sum(1 for c in counts if c >= 0),
            "failed": sum(1 for c in counts if c < 0),
        },
        cpu=_cpu_now() - cpu_started,
    )


def bench_spl(corpus: Path, runs: int, jobs: int, limit: int | None) -> dict[str, Any]:
    """Detection files into IR (YAML, macros, SPL); beside it, to show where the time goes, the
    same searches' SPL text alone into IR (the YAML read before the clock starts)."""
    import yaml

    from backends.spl import MacroTable, prepare, read_spl, read_spl_search
    from backends.yaml_loaders import SAFE_LOADER
    from ir.errors import RuleglotError
    from translator.parallel import fork_map

    files = sorted((corpus / "spl" / "detections").rglob("*.yml"))[:limit]

    def timed(
        jobs: int, items: Sequence[Any], read: Callable[[Any, MacroTable], int]
    ) -> Sample:
        """``read(item, macros)`` (what it read, -1 when it does not read) for every item on
        ``jobs`` cores, the macro table loaded on the clock."""
        started, cpu_started = time.perf_counter(), _cpu_now()
        macros = MacroTable.from_folder(corpus / "spl" / "macros")
        macro_seconds = time.perf_counter() - started

        def read_one(item: Any) -> int:
            try:
                return read(item, macros)
            except RuleglotError:
                return -1

        if jobs > 1:  # as `ruleglot translate` does before forking
            prepare()
            gc.freeze()
        counts = list(fork_map(read_one, items, jobs, chunksize=16))
        return _spl_sample(started, cpu_started, macro_seconds, counts)

    def read_detection(path: Path, macros: MacroTable) -> int:
        return len(read_spl(path.read_text(encoding="utf-8"), str(path), macros=macros))

    def read_all(jobs: int) -> Sample:
        return timed(jobs, files, read_detection)

    def read_search(indexed: tuple[int, str], macros: MacroTable) -> int:
        index, text = indexed
        return len(read_spl_search(text, f"search-{index}.spl", macros=macros))

    def read_searches(jobs: int) -> Sample:
        texts = [path.read_text(encoding="utf-8") for path in files]
        searches = [
            data["search"]
            for data in (yaml.load(text, Loader=SAFE_LOADER) for text in texts)  # noqa: S506
            if isinstance(data, dict) and isinstance(data.get("search"), str)
        ]
        return timed(jobs, list(enumerate(searches)), read_search)

    result = {"1 core": repeat(runs, lambda: in_child(lambda: read_all(1)), "spl 1 core")}
    if jobs > 1:
        label = f"{jobs} cores"
        result[label] = repeat(runs, lambda: in_child(lambda: read_all(jobs)), f"spl {label}")
    for cores in sorted({1, jobs}):
        label = f"{cores} core{'s' if cores > 1 else ''}, SPL text only"
        work = functools.partial(read_searches, cores)
        result[label] = repeat(runs, lambda work=work: in_child(work), f"spl {label}")
    return result


# --- (c) evaluation ----------------------------------------------------------------------------


def _ruleglot_rules(files: Sequence[Path]) -> tuple[list[Any], int]:
    from backends.sigma import read_sigma
    from ir.errors import RuleglotError
    from ir.evaluator import SharedPredicates, compile_rule
    from translator import api

    chosen = api.profile("windows")
    shared = SharedPredicates()  # as ``ruleglot eval`` compiles them
    compiled = []
    failed = 0
    for path in files:
        try:
            for rule in read_sigma(path.read_text(encoding="utf-8"), str(path)):
                if api.is_filter_only(rule):
                    compiled.append(compile_rule(rule, chosen, shared=shared))
        except RuleglotError:
            failed += 1
    return compiled, failed


def ruleglot_eval(files: Sequence[Path], events: Events, factor: int, jobs: int) -> Sample:
    """Read and compile the rules, then match every event (an Event built from the parsed
    JSON, normalised, per event); with ``jobs`` > 1 the events are split over forked workers."""
    from ir.evaluator import RuleSet
    from ir.events import Event
    from translator.parallel import chunk_bounds, fork_map

    started = time.perf_counter()
    compiled, failed = _ruleglot_rules(files)
    ruleset = RuleSet(compiled)
    compile_seconds = time.perf_counter() - started
    items = events.items * factor

    def match_chunk(bounds: tuple[int, int]) -> tuple[int, Counter[int]]:
        per_rule: Counter[int] = Counter()
        matches = 0
        for text, data in items[bounds[0] : bounds[1]]:
            found = ruleset.match(Event(data, text))
            matches += len(found)
            per_rule.update(found)
        return matches, per_rule

    chunks = chunk_bounds(len(items), -(-len(items) // (jobs * 8)))
    started, cpu_started = time.perf_counter(), _cpu_now()
    matches = 0
    per_rule: Counter[int] = Counter()
    for count, rules in fork_map(match_chunk, chunks, jobs):
        matches += count
        per_rule.update(rules)
    match_seconds = time.perf_counter() - started
    return Sample(
        {
            "rules": compile_seconds,
            "match": match_seconds,
            "total": compile_seconds + match_seconds,
            # this process's and its finished workers': the steadier figure on a busy machine
            "match cpu": _cpu_now() - cpu_started,
        },  # fmt: skip
        {
            "rules": len(compiled),
            "rule files failed": failed,
            "events": len(items),
            "matches": matches,
            "rules matching": len(per_rule),
        },  # fmt: skip
    )


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """An event as one row, Zircolite-style (module docstring)."""
    from ir.events import normalize

    row: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                put(f"{name}.{key}", inner)
        elif isinstance(value, list):
            row.setdefault(name, json.dumps(value, ensure_ascii=False))
        elif isinstance(value, bool):
            row.setdefault(name, "true" if value else "false")
        elif value is not None:
            row.setdefault(name, str(value))

    for key, value in normalize(data).items():
        if key != "Event":  # the EVTX original, already hoisted
            put(key, value)
    return row


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteTable:
    """One in-memory table, every column TEXT COLLATE NOCASE (column names fold case)."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.create_function("regexp", 2, _regexp, deterministic=True)
        self.columns: dict[str, str] = {}  # lower-cased name -> name as created

    def load(self, rows: list[dict[str, Any]]) -> None:
        names: dict[str, str] = {}
        for row in rows:
            for name in row:
                names.setdefault(name.lower(), name)
        self.columns = names
        ordered = list(names)
        spec = ", ".join(f"{_quote(names[n])} TEXT COLLATE NOCASE" for n in ordered)
        self.db.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {spec})")
        slots = {name: index for index, name in enumerate(ordered)}
        marks = ", ".join("?" for _ in ordered)
        columns = ", ".join(_quote(names[n]) for n in ordered)

        def values() -> Iterable[list[Any]]:
            for row in rows:
                out: list[Any] = [None] * len(ordered)
                for name, value in row.items():
                    slot = slots[name.lower()]
                    if out[slot] is None:
                        out[slot] = value
                yield out

        self.db.executemany(f"INSERT INTO logs ({columns}) VALUES ({marks})", values())
        self.db.commit()

    def query(self, sql: str) -> int | None:
        """Rows the query returns; a column no event has is added (NULL) and the query retried;
        ``None`` when SQLite refuses the query."""
        for _ in range(64):
            try:
                return len(self.db.execute(sql).fetchall())
            except sqlite3.OperationalError as exc:
                found = re.match(r"no such column: (.+)", str(exc))
                if not found:
                    return None
                name = found.group(1).strip('"`[]')
                self.db.execute(f"ALTER TABLE logs ADD COLUMN {_quote(name)} TEXT COLLATE NOCASE")
                self.columns[name.lower()] = name
        return None


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regexp(pattern: str, value: Any) -> bool:
    if value is None:
        return False
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        compiled = _REGEX_CACHE[pattern] = re.compile(pattern)
    return compiled.search(str(value)) is not None


def pysigma_queries(files: Sequence[Path]) -> tuple[list[tuple[int, str]], int]:
    """``(file index, SQL)`` for every query pySigma-backend-sqlite writes for the rules, with
    the sysmon and windows log-source pipelines; and how many files it refused."""
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.pipelines.sysmon import sysmon_pipeline
    from sigma.pipelines.windows import windows_logsource_pipeline

    backend = sqliteBackend(sysmon_pipeline() + windows_logsource_pipeline())
    queries: list[tuple[int, str]] = []
    refused = 0
    for index, path in enumerate(files):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
            for query in backend.convert(collection):
                queries.append((index, str(query)))
        except Exception:
            refused += 1
    return queries, refused


def sqlite_eval(
    files: Sequence[Path], events: Events, factor: int, queries: list[tuple[int, str]] | None
) -> Sample:
    started = time.perf_counter()
    rows = [flatten(data) for _, data in events.items] * factor
    table = SqliteTable()
    table.load(rows)
    load_seconds = time.perf_counter() - started
    refused = 0
    convert_seconds = 0.0
    if queries is None:
        started = time.perf_counter()
        queries, refused = pysigma_queries(files)
        convert_seconds = time.perf_counter() - started
    wanted = len(files)
    started = time.perf_counter()
    matches = 0
    failed = 0
    matching: set[int] = set()
    for index, sql in queries:
        if index >= wanted:
            continue
        found = table.query(sql)
        if found is None:
            failed += 1
        else:
            matches += found
            if found:
                matching.add(index)
    query_seconds = time.perf_counter() - started
    times = {"load": load_seconds}
    if convert_seconds:
        times["convert"] = convert_seconds
    times["query"] = query_seconds
    times["total"] = sum(times.values())
    return Sample(
        times,
        {
            "events": len(rows),
            "columns": len(table.columns),
            "rule files refused": refused,
            "queries": sum(1 for i, _ in queries if i < wanted),
            "queries failed": failed,
            "matches": matches,
            "rule files matching": len(matching),
        },  # fmt: skip
    )


def pysigma_duckdb_queries(files: Sequence[Path]) -> tuple[list[tuple[int, str]], int]:
    """``(file index, SQL)`` for every query pySigma-backend-duckdb writes for the rules, with
    the same sysmon and windows log-source pipelines as the SQLite peer; and the files refused."""
    from sigma.collection import SigmaCollection
    from sigma.pipelines.sysmon import sysmon_pipeline
    from sigma.pipelines.windows import windows_logsource_pipeline
    from sigma_backend_duckdb import DuckDBBackend

    backend = DuckDBBackend(sysmon_pipeline() + windows_logsource_pipeline())
    queries: list[tuple[int, str]] = []
    refused = 0
    for index, path in enumerate(files):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
            for query in backend.convert(collection):
                queries.append((index, str(query)))
        except Exception:
            refused += 1
    return queries, refused


class DuckTable:
    """The SQLite peer's table in DuckDB: the same flattened rows (:func:`flatten`), every
    column ``VARCHAR COLLATE NOCASE`` (column names fold case, first spelling kept), bulk-loaded
    with ``read_json`` from a JSON Lines file, as a DuckDB user loads JSON."""

    def __init__(self, folder: Path) -> None:
        import duckdb

        self.duckdb = duckdb
        self.db = duckdb.connect(":memory:")
        self.folder = folder
        self.columns: dict[str, str] = {}

    def load(self, rows: list[dict[str, Any]], extra: Sequence[str] = ()) -> None:
        """The rows, in a table that also has the ``extra`` columns (NULL: the columns queries
        name that no event has, found once by :func:`duckdb_schema`)."""
        names: dict[str, str] = {}
        for row in rows:
            for name in row:
                names.setdefault(name.lower(), name)
        self.columns = names
        path = self.folder / "duck-rows.jsonl"
        with path.open("wb") as out:
            for row in rows:
                same: dict[str, Any] = {}
                for name, value in row.items():
                    same.setdefault(names[name.lower()], value)
                out.write(orjson.dumps(same) + b"\n")
        spec = ", ".join(f"{_quote(n)} VARCHAR COLLATE NOCASE" for n in names.values())
        self.db.execute(f"CREATE TABLE logs ({spec})")
        types = "{" + ", ".join(
            f"'{n.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for n in names.values()
        ) + "}"
        self.db.execute(
            f"INSERT INTO logs SELECT * FROM read_json('{path}', format='newline_delimited', "
            f"columns={types}, maximum_object_size=100000000)"
        )
        for name in extra:
            if name.lower() not in self.columns:
                self.db.execute(
                    f"ALTER TABLE logs ADD COLUMN {_quote(name)} VARCHAR COLLATE NOCASE"
                )
                self.columns[name.lower()] = name

    def bind(self, sql: str) -> bool:
        """Whether DuckDB accepts the query; a column no event has is added (NULL) first."""
        for _ in range(64):
            try:
                self.db.execute(f"EXPLAIN {sql}")
                return True
            except self.duckdb.BinderException as exc:
                found = re.search(r'Referenced column "([^"]+)" not found', str(exc))
                if not found:
                    return False
                name = found.group(1)
                self.db.execute(
                    f"ALTER TABLE logs ADD COLUMN {_quote(name)} VARCHAR COLLATE NOCASE"
                )
                self.columns[name.lower()] = name
            except self.duckdb.Error:
                return False
        return False

    def query_all(self, queries: list[str], threads: int) -> list[int]:
        """Rows each query returns (-1: DuckDB failed while running it), the queries shared
        out over ``threads`` cursors."""
        from concurrent.futures import ThreadPoolExecutor

        def run(part: list[tuple[int, str]]) -> list[tuple[int, int]]:
            cursor = self.db.cursor()
            out = []
            for index, sql in part:
                try:
                    row = cursor.execute(f"SELECT count(*) FROM ({sql})").fetchone()
                except self.duckdb.Error:  # e.g. EventID=1000 on a text that is no number
                    out.append((index, -1))
                    continue
                out.append((index, int(row[0]) if row else 0))
            return out

        numbered = list(enumerate(queries))
        parts = [numbered[i::threads] for i in range(threads)]
        counts = [0] * len(queries)
        with ThreadPoolExecutor(threads) as pool:
            for done in pool.map(run, parts):
                for index, count in done:
                    counts[index] = count
        return counts


def duckdb_schema(
    events: Events, queries: list[tuple[int, str]]
) -> tuple[list[tuple[int, str]], list[str]]:
    """Once, untimed (like the SQL itself, cached): the queries DuckDB accepts on the events'
    table, and the columns they name that no event has (added to every table as NULL)."""
    with tempfile.TemporaryDirectory(prefix="ruleglot-duck-") as tmp:
        table = DuckTable(Path(tmp))
        table.load([flatten(data) for _, data in events.items])
        known = set(table.columns)
        accepted = [(i, sql) for i, sql in queries if table.bind(sql)]
        extra = [n for key, n in table.columns.items() if key not in known]
    return accepted, extra


def duckdb_eval(
    files: Sequence[Path], events: Events, factor: int,
    schema: tuple[list[tuple[int, str]], list[str]], threads: int,
) -> Sample:
    """pySigma -> DuckDB with the SQL already written and checked (the cached case): flatten
    and load the events, run the queries on ``threads`` cursors."""
    wanted = len(files)
    accepted_all, extra = schema
    with tempfile.TemporaryDirectory(prefix="ruleglot-duck-") as tmp:
        started = time.perf_counter()
        rows = [flatten(data) for _, data in events.items] * factor
        table = DuckTable(Path(tmp))
        table.load(rows, extra)
        load_seconds = time.perf_counter() - started
        accepted = [(i, sql) for i, sql in accepted_all if i < wanted]
        started = time.perf_counter()
        counts = table.query_all([sql for _, sql in accepted], threads)
        query_seconds = time.perf_counter() - started
    return Sample(
        {"load": load_seconds, "query": query_seconds, "total": load_seconds + query_seconds},
        {
            "events": len(rows),
            "columns": len(table.columns),
            "queries": len(accepted),
            "queries failed while running": sum(1 for n in counts if n < 0),
            "matches": sum(n for n in counts if n > 0),
            "rule files matching": len(
                {i for (i, _), n in zip(accepted, counts, strict=True) if n > 0}
            ),
        },
    )  # fmt: skip


def bench_eval(
    rules: Path,
    files: list[Path],
    events: Events,
    runs: int,
    sqlite_runs: int,
    growth_runs: int,
    jobs: int,
    events_dir: Path,
    growth_events: int | None = None,
    growth_sqlite: bool = True,
) -> dict[str, Any]:
    half, quarter = files[::2], files[::4]  # every 2nd and 4th file: each folder sampled
    result: dict[str, Any] = {"json parse (once)": events.parse_seconds}
    console.print("  [dim]pySigma -> SQLite: converting the rules (once)[/dim]")
    started = time.perf_counter()
    queries, refused = pysigma_queries(files)
    convert_seconds = time.perf_counter() - started
    result["sqlite convert (once)"] = {"seconds": convert_seconds, "queries": len(queries),
                                       "rule files refused": refused}  # fmt: skip
    console.print(f"  [dim]  {len(queries)} queries in {convert_seconds:.1f}s[/dim]")
    main: dict[str, Any] = {}
    main["ruleglot 1 core"] = repeat(
        runs, lambda: in_child(lambda: ruleglot_eval(files, events, 1, 1)), "ruleglot 1 core"
    )
    if jobs > 1:
        main[f"ruleglot {jobs} cores"] = repeat(
            runs,
            lambda: in_child(lambda: ruleglot_eval(files, events, 1, jobs)),
            f"ruleglot {jobs} cores",
        )
    ruleglot = command("ruleglot", "translator.cli:main")
    cli_argv = [*ruleglot, "eval", str(rules), "--events", str(events_dir), "-j", str(jobs)]

    def run_cli() -> Sample:
        sample, stderr, status = run_command(cli_argv)
        found = re.search(r"(\d+) match\(es\)", stderr)
        sample.times["total"] = sample.times.pop("wall")
        sample.counts = {"exit": status, "matches": int(found.group(1)) if found else -1}
        return sample

    if events_dir.exists():
        main[f"ruleglot eval -j {jobs}"] = repeat(runs, run_cli, f"ruleglot eval -j {jobs}")
    console.print("  [dim]pySigma -> DuckDB: converting the rules (once)[/dim]")
    started = time.perf_counter()
    duck_queries, duck_refused = pysigma_duckdb_queries(files)
    duck_convert = time.perf_counter() - started
    result["duckdb convert (once)"] = {"seconds": duck_convert, "queries": len(duck_queries),
                                       "rule files refused": duck_refused}  # fmt: skip
    duck_schema = duckdb_schema(events, duck_queries)
    result["duckdb convert (once)"]["queries DuckDB refuses"] = len(duck_queries) - len(
        duck_schema[0]
    )
    duck_threads = max(2, jobs)
    cached = repeat(
        runs,
        lambda: in_child(lambda: duckdb_eval(files, events, 1, duck_schema, duck_threads)),
        "duckdb",
    )
    main[f"pySigma -> DuckDB, SQL cached ({duck_threads} cursors)"] = cached
    whole = json.loads(json.dumps(cached))
    whole["times"]["convert"] = duck_convert
    whole["times"]["total"] += duck_convert
    whole["cpu"] += duck_convert  # conversion is pure Python on one core
    main["pySigma -> DuckDB, end to end"] = whole
    if sqlite_runs > 0:
        main["pySigma -> SQLite"] = repeat(
            sqlite_runs, lambda: in_child(lambda: sqlite_eval(files, events, 1, queries)),
            "sqlite",
        )
        main["pySigma -> SQLite"]["times"]["convert"] = convert_seconds
        main["pySigma -> SQLite"]["times"]["total"] += convert_seconds
    result["main"] = main
    if growth_events is not None:
        events = Events(events.items[:growth_events], events.parse_seconds, events.files)
    result["growth base events"] = len(events.items)
    growth: dict[str, dict[str, Any]] = {}
    fast_label = f"ruleglot {jobs} cores" if jobs > 1 else "ruleglot 1 core"
    for label, chosen, factor in (
        ("1/4 rules, 1x events", quarter, 1),
        ("1/2 rules, 1x events", half, 1),
        ("all rules, 1x events", files, 1),
        ("all rules, 2x events", files, 2),
        ("all rules, 4x events", files, 4),
    ):
        row: dict[str, Any] = {}
        for name, cores in (("ruleglot 1 core", 1), (fast_label, jobs)):
            if name in row:
                continue
            row[name] = repeat(
                growth_runs,
                lambda c=cores, f=factor, ch=chosen: in_child(  # type: ignore[misc]
                    lambda: ruleglot_eval(ch, events, f, c)
                ),
                f"growth {label} {name}",
            )
        row["pySigma -> DuckDB (cached SQL)"] = repeat(
            growth_runs,
            lambda f=factor, ch=chosen: in_child(  # type: ignore[misc]
                lambda: duckdb_eval(ch, events, f, duck_schema, duck_threads)
            ),
            f"growth {label} duckdb",
        )
        if sqlite_runs > 0 and growth_sqlite:
            row["pySigma -> SQLite"] = repeat(
                growth_runs,
                lambda f=factor, ch=chosen: in_child(  # type: ignore[misc]
                    lambda: sqlite_eval(ch, events, f, queries)
                ),
                f"growth {label} sqlite",
            )
        growth[label] = row
    result["growth"] = growth
    return result


def bench_growth(
    files: list[Path], events: Events, growth_runs: int, jobs: int, growth_events: int | None
) -> dict[str, Any]:
    """(g): the growth rows of (c) for ruleglot alone."""
    if growth_events is not None:
        events = Events(events.items[:growth_events], events.parse_seconds, events.files)
    steps = (  # every 4th and 2nd rule file: the first quarter in path order would be
        # application/, cloud/, linux/... rules, which select none of the Windows events
        ("1/4 rules, 1x events", files[::4], 1),
        ("1/2 rules, 1x events", files[::2], 1),
        ("all rules, 1x events", files, 1),
        ("all rules, 2x events", files, 2),
        ("all rules, 4x events", files, 4),
    )
    cores = {"ruleglot 1 core": 1}
    if jobs > 1:
        cores[f"ruleglot {jobs} cores"] = jobs
    growth: dict[str, dict[str, Any]] = {}
    for label, chosen, factor in steps:
        growth[label] = {
            name: repeat(
                growth_runs,
                lambda c=count, f=factor, ch=chosen: in_child(  # type: ignore[misc]
                    lambda: ruleglot_eval(ch, events, f, c)
                ),
                f"growth {label} {name}",
            )
            for name, count in cores.items()
        }
        growth[label]["rule files"] = len(chosen)
    return {"growth base events": len(events.items), "growth": growth}


# --- report ------------------------------------------------------------------------------------


def print_growth(base_events: int, growth: dict[str, dict[str, Any]], part: str) -> None:
    """The growth table (match or query seconds per engine and step) and its ratios."""
    table = Table(
        title=f"({part}) growth from {base_events} events: match/query seconds "
        "(median), SQLite table load in brackets"
    )
    table.add_column("rules, events")
    names = [n for n in next(iter(growth.values())) if n != "rule files"]
    for name in names:
        table.add_column(name)
    for label, row in growth.items():
        cells = []
        for name in names:
            t = row[name]["times"]
            if "query" in t:
                cells.append(f"{_s(t['query'])} (+{_s(t['load'])})")
            elif "match cpu" in t:
                cells.append(f"{_s(t['match'])} (CPU {_s(t['match cpu'])})")
            else:
                cells.append(_s(t["match"]))
        table.add_row(label, *cells)
    console.print(table)
    console.print(growth_summary(growth))
    if any("match cpu" in s["times"] for n, s in next(iter(growth.values())).items()
           if n != "rule files"):  # fmt: skip
        console.print(growth_summary(growth, "match cpu"))


def _s(value: float) -> str:
    return f"{value:.2f}s"


def report(results: dict[str, Any]) -> None:
    if "a" in results:
        a = results["a"]
        table = Table(title="(a) Sigma rules -> SPL, whole corpus, subprocess wall time (median)")
        for column in ("tool", "wall", "cpu", "start-up", "peak MB", "queries", "exit"):
            table.add_column(column)
        for name in [n for n in a if n.startswith(("sigma", "ruleglot"))]:
            row = a[name]
            startup = _s(row["startup"]) if "startup" in row else "-"
            table.add_row(name, _s(row["times"]["wall"]), _s(row["cpu"]), startup,
                          f"{row['peak_mb']:.0f}", f"{row['counts']['queries']}",
                          str(row["counts"]["exit"]))  # fmt: skip
        console.print(table)
        console.print(f"ruleglot is {a['ratio']:.1f}x faster than sigma-cli (target: 5x); "
                      f"{a['checks']['query per rule']}")  # fmt: skip
    if "b" in results:
        table = Table(title="(b) security_content detections -> IR, in-process (median); "
                      "'SPL text only': the searches, their YAML read before the clock starts")
        for column in ("cores", "total", "cpu", "of which macros", "parsed", "failed",
                       "peak MB"):  # fmt: skip
            table.add_column(column)
        for name, row in results["b"].items():
            c = row["counts"]
            table.add_row(name, _s(row["times"]["total"]), _s(row["cpu"]),
                          _s(row["times"]["macros"]),
                          f"{c['parsed']}/{c['detections']}", str(c["failed"]),
                          f"{row['peak_mb']:.0f}")  # fmt: skip
        console.print(table)
    if "c" in results:
        c = results["c"]
        table = Table(title="(c) all rules over all events (median); times in seconds")
        for column in ("engine", "load", "rules/convert", "match/query", "total", "cpu",
                       "peak MB", "matches"):  # fmt: skip
            table.add_column(column)
        for name, row in c["main"].items():
            t = row["times"]
            load = t.get("load", c["json parse (once)"] if "match" in t else None)
            rules_time = t.get("rules", t.get("convert"))
            match_time = t.get("match", t.get("query"))
            table.add_row(
                name,
                _s(load) if load is not None else "-",
                _s(rules_time) if rules_time is not None else "-",
                _s(match_time) if match_time is not None else "-",
                _s(t["total"]), _s(row["cpu"]), f"{row['peak_mb']:.0f}",
                str(row["counts"].get("matches", "-")),
            )  # fmt: skip
        console.print(table)
        console.print(f"the floor: reading and parsing every event with orjson in one process: "
                      f"{_s(c['json parse (once)'])}")  # fmt: skip
        print_growth(c["growth base events"], c["growth"], "c")
    if "g" in results:
        g = results["g"]
        print_growth(g["growth base events"], g["growth"], "g")


def growth_summary(growth: dict[str, Any], key: str = "match") -> str:
    """Each engine's match/query time (``key``: ``match`` wall seconds or ``match cpu``) at
    each step over its time for all rules on 1x the events: linear in events reads 2x and 4x,
    sublinear in rules more than 1/4 and 1/2."""
    base = growth.get("all rules, 1x events")
    if not base:
        return ""
    lines = [f"growth of {key}, over 'all rules, 1x events' (linear in events: 2x and 4x events "
             "near 2.0 and 4.0; sublinear in rules: 1/4 and 1/2 of the rules above 0.25 and "
             "0.5, the work shared across rules being paid once):"]
    for name, sample in base.items():
        if name == "rule files":
            continue
        times = sample["times"]
        unit = times.get(key, times.get("query"))
        if not unit:
            continue
        steps = []
        for label, row in growth.items():
            if label == "all rules, 1x events" or name not in row:
                continue
            t = row[name]["times"]
            steps.append(f"{label.replace(', 1x events', '').replace('all rules, ', '')} "
                         f"{t.get(key, t.get('query', 0.0)) / unit:.2f}")
        lines.append(f"  {name}: " + "; ".join(steps))
    return "\n".join(lines)


def load_average() -> str:
    with contextlib.suppress(OSError):
        return Path("/proc/loadavg").read_text().strip()
    return "unknown"


def byte_compile_ruleglot() -> str:
    """Compile ``ir``, ``backends`` and ``translator`` to ``__pycache__`` (as pip does for the
    packages it installs), so that no measurement pays for compiling ruleglot's source; this
    machine sets ``PYTHONDONTWRITEBYTECODE``, which left an editable install compiling its
    source in every process (about 0.1 s of each command's start-up). Returns what was done."""
    import compileall

    ok = all(
        compileall.compile_dir(ROOT / package, quiet=1, workers=1)
        for package in ("ir", "backends", "translator")
    )
    return "ok" if ok else "some modules did not compile"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sqlite-runs", type=int, default=None,
                        help="runs of pySigma -> SQLite at 1x (default: --runs; 0: skip it, "
                             "in the growth curves too)")  # fmt: skip
    parser.add_argument("--growth-runs", type=int, default=1)
    parser.add_argument("--no-growth-sqlite", action="store_true",
                        help="growth curves without the slow SQLite peer")  # fmt: skip
    parser.add_argument(
        "--growth-events", type=int, help="growth curves from the first N events (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="300 rules, 5,000 events, 200 SPL")
    parser.add_argument("--only", default="a,b,c", help="comma-separated: a, b, c, g")
    parser.add_argument("--jobs", type=int, default=0, help="cores for ruleglot (0: all)")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument(
        "--translate-dir", action="store_true", help="(a): also ruleglot -o DIR, a file per rule"
    )
    args = parser.parse_args(argv)
    from translator.gc_policy import tune_for_batch
    from translator.parallel import available_cores

    # the collector as the ruleglot command sets it, for every engine run in this process
    # (ruleglot's in-process figures and the peers' rule conversion alike)
    tune_for_batch()

    jobs = args.jobs or available_cores()
    only = {x.strip() for x in args.only.split(",")}
    rules = args.corpus / "sigma" / "rules"
    events_dir = args.corpus / "events"
    console.print(f"load average before: {load_average()}; cores: {available_cores()}; "
                  f"python {sys.version.split()[0]}")  # fmt: skip
    compiled = byte_compile_ruleglot()
    console.print(f"byte-compiled ruleglot's own modules first ({compiled}): pip compiles the "
                  "peers' installed packages; an editable install is compiled on first import, "
                  "or on every run where PYTHONDONTWRITEBYTECODE is set")  # fmt: skip
    results: dict[str, Any] = {"load_before": load_average(), "jobs": jobs}
    with tempfile.TemporaryDirectory(prefix="ruleglot-bench-") as tmp:
        work = Path(tmp)
        files = rule_files(rules, 300 if args.quick else None)
        if args.quick:
            rules = mirror(files, rules, work / "rules")
            files = rule_files(rules)
        if "a" in only:
            console.print(f"(a) translating {len(files)} rules")
            results["a"] = bench_translate(rules, len(files), args.runs, work, args.translate_dir)
        if "b" in only:
            console.print("(b) reading security_content detections")
            results["b"] = bench_spl(args.corpus, args.runs, jobs, 200 if args.quick else None)
        if "c" in only:
            events = load_events(events_dir, 5000 if args.quick else None)
            console.print(f"(c) {len(files)} rules over {len(events.items)} events")
            cli_events = events_dir
            if args.quick:  # the command reads files: give it the same events
                cli_events = work / "events"
                cli_events.mkdir()
                (cli_events / "events.jsonl").write_text(
                    "\n".join(text for text, _ in events.items) + "\n", encoding="utf-8"
                )
            results["c"] = bench_eval(
                rules, files, events, args.runs,
                args.runs if args.sqlite_runs is None else args.sqlite_runs,
                args.growth_runs, jobs, cli_events, args.growth_events,
                not args.no_growth_sqlite,
            )  # fmt: skip
        if "g" in only:
            events = load_events(events_dir, 5000 if args.quick else None)
            console.print(f"(g) growth of ruleglot alone from {len(files)} rule files over "
                          f"{len(events.items)} events")  # fmt: skip
            results["g"] = bench_growth(files, events, args.growth_runs, jobs, args.growth_events)
    results["load_after"] = load_average()
    console.print()
    report(results)
    console.print(f"load average before {results['load_before']}, after {results['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    multiprocessing.set_start_method("fork", force=True)
    raise SystemExit(main())
