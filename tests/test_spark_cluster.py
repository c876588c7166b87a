"""``--engine spark`` from any folder and on a standalone cluster (issue 28).

The installed ``ruleglot`` command runs from a temporary folder (never the checkout, whose
folder once hid that the workers could not import ruleglot), on ``local[2]`` and on a standalone
master and worker started here from the PySpark installation, bound to 127.0.0.1. The cluster's
workers run an interpreter that has only :data:`backends.spark.shipping.WORKER_REQUIREMENTS`
(not ruleglot): ruleglot's code reaches them through the archive the session ships. Matches
must equal the default engine's. A failure inside Spark is one line naming its cause, exit 2;
the Java stack trace only with ``--verbose``.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from backends.spark.failures import failure_cause
from backends.spark.shipping import (
    PACKAGES,
    WORKER_REQUIREMENTS,
    build_archive,
    is_local,
    worker_python,
)

from .conftest import ROOT, shared

pyspark = pytest.importorskip(
    "pyspark", reason="pyspark is not installed: pip install -e '.[test]'"
)

from .test_spark import CORRELATION_EVENTS, CORRELATIONS, LOGON, _ensure_java  # noqa: E402

SCRIPT = Path(sys.executable).parent / "ruleglot"
SPARK_HOME = Path(pyspark.__file__).parent
#: Shared event files, and SigmaHQ registry_set rules: the 8 that match them (40 matches by the
#: evaluator) and 4 that do not. A few rules: Spark plans every rule's column, which costs more
#: than reading these events.
EVENT_FILES = [
    "evtx-attack-samples/Persistence/persistence_sysmon_11_13_1_shime_appfix.evtx.jsonl",
    "evtx-attack-samples/Defense Evasion/sysmon_13_rdp_settings_tampering.evtx.jsonl",
    "evtx-attack-samples/Persistence/persistence_SilentProcessExit_ImageHijack_sysmon_13_1.evtx.jsonl",
]
RULES = [
    "persistence_shim_database", "persistence_globalflags", "hidden_extention",
    "servicedll_hijack", "terminal_server_tampering", "terminal_server_suspicious",
    "change_rdp_port", "asep_reg_keys_modification_currentversion_nt",
    "disable_defender_firewall", "disable_function_user", "enabling_cor_profiler_env_variables",
    "office_enable_dde",
]  # fmt: skip
#: Nothing on this machine's network but the loopback interface
LOOPBACK = {"SPARK_LOCAL_IP": "127.0.0.1"}


# --- what ships, and what the workers need besides ------------------------------------------


def test_shipped_packages_are_pyprojects_top_level_packages():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = config["tool"]["setuptools"]["packages"]
    assert set(PACKAGES) == {p.split(".")[0] for p in packages}


@pytest.mark.parametrize(
    ("master", "local"),
    [("local", True), ("local[2]", True), ("local[*,3]", True), ("local-cluster[2,1,1024]", True),
     ("spark://127.0.0.1:7077", False), ("localhost:7077", False), ("yarn", False)],
)  # fmt: skip
def test_local_masters_are_those_whose_executors_run_here(master, local):
    assert is_local(master) is local


def test_workers_run_ruleglots_interpreter_on_local_masters_unless_pyspark_python_is_set(
    monkeypatch,
):
    monkeypatch.delenv("PYSPARK_PYTHON", raising=False)
    assert worker_python("local[2]") == sys.executable
    assert worker_python("spark://127.0.0.1:7077") is None  # Spark's default, on the workers
    monkeypatch.setenv("PYSPARK_PYTHON", "/opt/python3.11")
    assert worker_python("local[2]") is None


def _python_with(tmp: Path, distributions: list[str]) -> Path:
    """A virtual environment of this Python with only ``distributions`` (linked from this
    one's), not ruleglot: what a cluster's worker has."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp)], check=True)
    (site,) = tmp.glob("lib/python*/site-packages")
    for name in distributions:
        dist = importlib.metadata.distribution(name)
        for top in {Path(str(f)).parts[0] for f in dist.files or ()}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    return tmp / "bin" / "python"


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> Path:
    """An interpreter with the worker requirements and nothing of ruleglot."""
    return _python_with(tmp_path_factory.mktemp("worker-env"), list(WORKER_REQUIREMENTS))


def test_workers_import_the_shipped_archive_with_only_the_named_requirements(bare_python, tmp_path):
    """What a job pickles by reference imports on a worker that has the archive, PySpark's own
    zips and the worker requirements, and nothing of ruleglot without the archive."""
    archive = build_archive(tmp_path)
    spark_zips = [str(p) for p in sorted((SPARK_HOME / "python" / "lib").glob("*.zip"))]
    code = "import backends.spark.events, backends.spark.pipeline, backends.spark.run"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [str(bare_python), "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join([str(archive), *spark_zips])},
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    bare = subprocess.run(
        [str(bare_python), "-c", code],
        env={**env, "PYTHONPATH": os.pathsep.join(spark_zips)},
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    assert "No module named 'backends'" in bare.stderr
    with zipfile.ZipFile(archive) as opened:
        names = set(opened.namelist())
    assert {"ir/evaluator.py", "backends/spl/spl.lark", "translator/cli.py"} <= names
    assert not any("__pycache__" in n for n in names)
    (tmp_path / "again").mkdir()
    assert build_archive(tmp_path / "again").read_bytes() == archive.read_bytes()  # same code


# --- a failure inside Spark as one line -------------------------------------------------------

PY4J = "An error occurred while calling o59.count.\n: "
TRACEBACK = """org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/x/pyspark.zip/pyspark/serializers.py", line 472, in loads
    return cloudpickle.loads(obj, encoding=encoding)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
{last}

\tat org.apache.spark.api.python.BasePythonRunner$ReaderIterator.handlePythonException(x.scala:572)
Caused by: org.apache.spark.api.python.PythonException: Traceback (most recent call last):
  File "/x/worker.py", line 1, in main
OSError: not this one
"""
LOST = (
    "org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 0.0 "
    "failed 1 times, most recent failure: Lost task 0.0 in stage 0.0 (TID 0) (192.0.2.2 "
    'executor driver): java.io.IOException: Cannot run program "/nope/python3": error=2, No such '
    "file or directory\nCaused by: java.io.IOException: error=2, No such file or directory\n"
    "\tat java.base/java.lang.ProcessImpl.forkAndExec(Native Method)\n"
)


class _Failed(Exception):
    pass


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (PY4J + TRACEBACK.format(last="ValueError: bad value: x"), "ValueError: bad value: x"),
        (LOST, 'java.io.IOException: Cannot run program "/nope/python3": error=2, No such file '
               "or directory"),
        (PY4J + "org.apache.spark.SparkException: Could not parse Master URL: 'x'\n\tat a.b(c)",
         "org.apache.spark.SparkException: Could not parse Master URL: 'x'"),
        (TRACEBACK.format(last="ModuleNotFoundError: No module named 'yaml'"),
         "ModuleNotFoundError: No module named 'yaml' (the Spark workers' Python needs orjson, "
         "PyYAML, pyahocorasick: pip install PyYAML there, or set PYSPARK_PYTHON)"),
        (TRACEBACK.format(last="ModuleNotFoundError: No module named 'backends.spark'"),
         "ModuleNotFoundError: No module named 'backends.spark'"),
        ("[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number.",
         "[JAVA_GATEWAY_EXITED] Java gateway process exited before sending its port number. "
         "(Spark's launcher printed its reason above: the master URL, Java, a setting)"),
    ],
    ids=["python", "lost-task", "java", "requirement", "not-a-requirement", "launcher"],
)  # fmt: skip
def test_failure_cause_is_the_line_a_user_can_act_on(text, cause):
    assert failure_cause(_Failed(text)) == cause


# --- the installed command from a temporary folder --------------------------------------------


def _case(tmp: Path) -> list[str]:
    """``eval`` arguments: a folder of :data:`RULES` and a correlation rule (a pipeline, so
    that the workers import ``backends.spark.pipeline`` too), on :data:`EVENT_FILES` and the
    correlation's events; every path absolute, the command run from ``tmp``."""
    folder = tmp / "rules"
    folder.mkdir()
    for name in RULES:
        rule = f"registry_set_{name}.yml"
        shutil.copy(shared("sigma", "rules", "windows", "registry", "registry_set", rule), folder)
    (folder / "correlation.yml").write_text(LOGON + CORRELATIONS["temporal"])
    (tmp / "logons.jsonl").write_bytes(b"\n".join(orjson.dumps(e) for e in CORRELATION_EVENTS))
    args = ["eval", str(folder)]
    for name in EVENT_FILES:
        args += ["--events", str(shared("events", *name.split("/")))]
    return [*args, "--events", str(tmp / "logons.jsonl")]


def _ruleglot(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    if not SCRIPT.exists():
        pytest.skip("the ruleglot console script is not installed (pip install -e .)")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYSPARK_PYTHON")}
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env={**clean, **(env or {})}, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def default_run(tmp_path_factory) -> tuple[list[str], str]:
    """The case's arguments and the default engine's stdout, from a temporary folder."""
    tmp = tmp_path_factory.mktemp("case")
    args = _case(tmp)
    default = _ruleglot(args, tmp)
    assert default.returncode == 0, default.stderr
    matches = [json.loads(x) for x in default.stdout.splitlines()]
    assert sum(m.get("events_file", "").endswith(".evtx.jsonl") for m in matches) == 40
    assert sum("row" in m for m in matches) > 0
    return args, default.stdout


def _quiet(stderr: str) -> bool:
    return not any(m in stderr for m in (" WARN ", " ERROR ", "[Stage ", "log level", "\tat "))


def test_spark_from_a_temporary_folder_prints_the_default_engines_matches(default_run, tmp_path):
    _ensure_java()
    args, expected = default_run
    fake = tmp_path / "bin"  # workers started with the python3 on PATH would fail
    fake.mkdir()
    for name in ("python3", "python"):
        (fake / name).write_text("#!/bin/sh\necho not ruleglot's python >&2\nexit 3\n")
        (fake / name).chmod(0o755)
    path = f"{fake}{os.pathsep}{os.environ['PATH']}"
    spark = _ruleglot([*args, "--engine", "spark"], tmp_path, {**LOOPBACK, "PATH": path})
    assert spark.returncode == 0, spark.stderr[-3000:]
    assert spark.stdout == expected
    assert _quiet(spark.stderr), spark.stderr
    assert "run on Spark (local[2])" in spark.stderr


def test_a_failure_inside_spark_is_one_line_and_the_stack_trace_only_when_verbose(tmp_path):
    _ensure_java()
    (tmp_path / "logons.jsonl").write_bytes(orjson.dumps(CORRELATION_EVENTS[0]))
    (tmp_path / "r.yml").write_text(LOGON.replace("title: Failed logon", "title: x", 1))
    args = ["eval", "r.yml", "--events", "logons.jsonl", "--engine", "spark"]
    env = {**LOOPBACK, "PYSPARK_PYTHON": str(tmp_path / "no-such-python")}
    quiet = _ruleglot(args, tmp_path, env)
    assert quiet.returncode == 2
    line = (
        f'error: Spark failed: java.io.IOException: Cannot run program "{tmp_path}/'
        'no-such-python": error=2, No such file or directory'
    )
    assert quiet.stderr.splitlines() == [line]
    verbose = _ruleglot([*args, "--verbose"], tmp_path, env)
    assert verbose.returncode == 2
    assert verbose.stderr.splitlines()[-1] == line
    assert "\tat org.apache.spark.scheduler.DAGScheduler" in verbose.stderr


# --- a standalone master and worker -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except OSError:
        return 0


@pytest.fixture(scope="module")
def standalone(tmp_path_factory) -> Iterator[str]:
    """``spark://127.0.0.1:PORT``: a master and a worker (one core) from the PySpark
    installation's ``spark-class``, listening on 127.0.0.1 only, stopped after the module.
    The worker's environment has no PYTHONPATH: nothing of ruleglot is importable there."""
    _ensure_java()
    tmp = tmp_path_factory.mktemp("standalone")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYSPARK"))}
    env.update(LOOPBACK, SPARK_HOME=str(SPARK_HOME), SPARK_DAEMON_MEMORY="512m")
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    port, ui, worker_ui = _free_port(), _free_port(), _free_port()
    master = f"spark://127.0.0.1:{port}"
    commands = [
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)],
        [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
         "--cores", "1", "--memory", "1g", "--webui-port", str(worker_ui),
         "--work-dir", str(tmp / "work"), master],
    ]  # fmt: skip
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in zip(("master", "worker"), commands, strict=True):
            with open(tmp / f"{name}.log", "wb") as log:
                started.append(subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=log))
        deadline = time.monotonic() + 180
        while _alive_workers(ui) < 1:
            if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                logs = "".join((tmp / f"{n}.log").read_text()[-2000:] for n in ("master", "worker"))
                pytest.fail(f"the standalone cluster did not start:\n{logs}")
            time.sleep(1)
        yield master
    finally:
        for process in reversed(started):
            process.terminate()
        for process in reversed(started):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_standalone_cluster_workers_without_ruleglot_print_the_default_engines_matches(
    standalone, default_run, bare_python, tmp_path
):
    args, expected = default_run
    env = {
        **LOOPBACK,
        "PYSPARK_PYTHON": str(bare_python),
        "PYSPARK_SUBMIT_ARGS": "--conf spark.driver.host=127.0.0.1 "
        "--conf spark.executor.memory=512m pyspark-shell",
    }
    spark = _ruleglot([*args, "--engine", "spark", "--master", standalone], tmp_path, env)
    assert spark.returncode == 0, spark.stderr[-3000:]
    assert spark.stdout == expected
    assert _quiet(spark.stderr), spark.stderr
    assert f"run on Spark ({standalone})" in spark.stderr
