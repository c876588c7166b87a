"""Shipping ruleglot's code to Spark's Python workers, and naming what else they need.

Spark runs the Python functions of a job (the event normaliser of
:func:`backends.spark.events.read_json_events`, the UDFs of :mod:`backends.spark.pipeline`) in
worker processes that unpickle them by module name: ``backends.spark.events`` must import
there. A worker does not run in the driver's folder nor, on a cluster, on the driver's machine,
so ruleglot's packages travel with the session the way Spark ships any Python code: one zip
archive handed to ``SparkContext.addPyFile``, which every executor fetches from the driver and
puts first on its workers' ``sys.path`` (Spark's "Python Package Management" guide, ``--py-files``
/ ``spark.submit.pyFiles``). A zip carries pure Python only, so the third-party modules the
workers import, :data:`WORKER_REQUIREMENTS`, must be installed in the workers' Python (or
shipped in a packed environment, README "On Apache Spark"); PySpark itself comes with every
Spark installation. The workers' Python must be of the driver's minor version (PySpark checks).

Which Python the workers run is :func:`worker_python`'s answer: the user's ``PYSPARK_PYTHON``
when set; else, on a local master (workers on this machine), the interpreter ruleglot runs in;
else Spark's own default (``python3`` on the workers' ``PATH``).
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
import weakref
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark import SparkContext

#: ruleglot's top-level packages (``pyproject.toml``'s ``[tool.setuptools] packages``): all of
#: them travel, so that whatever a job pickles by reference imports on the workers.
PACKAGES = ("ir", "backends", "translator")
#: What the workers import beyond the shipped archive and PySpark: distribution name -> module
#: (``backends.spark.events`` reads event lines with orjson; ``backends.spark.pipeline``'s
#: aggregation imports ``ir.pipeline``, whose lookups read YAML; ``ir.evaluator``'s literal
#: prefilter, ``ir.prefilter``, imports pyahocorasick). Kept honest by a test that
#: imports the workers' modules in an interpreter that has only these.
WORKER_REQUIREMENTS = {"orjson": "orjson", "PyYAML": "yaml", "pyahocorasick": "ahocorasick"}
#: The archive's file name on the executors (Spark keys added files by name).
ARCHIVE_NAME = "ruleglot-code.zip"

_ARCHIVE: list[Path] = []
_SHIPPED: weakref.WeakSet[SparkContext] = weakref.WeakSet()


def is_local(master: str) -> bool:
    """``local``, ``local[N]``, ``local[N,F]``, ``local[*]``, ``local-cluster[...]``: executors
    on this machine."""
    return master == "local" or master.startswith(("local[", "local-cluster["))


def worker_python(master: str) -> str | None:
    """The interpreter to run the workers with when ruleglot chooses it (module docstring);
    ``None``: the user's ``PYSPARK_PYTHON``, or Spark's default on a cluster."""
    if "PYSPARK_PYTHON" in os.environ or not is_local(master):
        return None
    return sys.executable


def package_dirs() -> list[Path]:
    """Where ruleglot's packages are imported from (an installed copy, or a checkout in
    editable mode)."""
    dirs = []
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"ruleglot's package {name!r} is not importable")
        dirs.append(Path(next(iter(spec.submodule_search_locations))))
    return dirs


def build_archive(directory: Path) -> Path:
    """A zip of ruleglot's packages (sources and package data) in ``directory``; entries sorted
    and dated 1980, so the same code gives the same bytes. No bytecode: zipimport cannot cache
    it, but a worker compiling the modules it imports costs about 0.15 s of CPU once per worker
    process (measured against an archive with hash-checked ``.pyc`` files), less than compiling
    every module into the archive on each run."""
    target = directory / ARCHIVE_NAME
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for package in package_dirs():
            for path in sorted(package.rglob("*")):
                if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
                    continue
                name = f"{package.name}/{path.relative_to(package).as_posix()}"
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    return target


def code_archive() -> Path:
    """This process's archive of ruleglot's code, built once into a temporary folder removed
    at exit (the driver serves the file to executors for as long as the session runs)."""
    if not _ARCHIVE:
        directory = Path(tempfile.mkdtemp(prefix="ruleglot-spark-"))
        atexit.register(shutil.rmtree, directory, True)
        _ARCHIVE.append(build_archive(directory))
    return _ARCHIVE[0]


def ship_code(context: SparkContext) -> None:
    """Add ruleglot's code to ``context`` (once per context: Spark refuses a second file of
    the same name)."""
    if context in _SHIPPED:
        return
    context.addPyFile(str(code_archive()))
    _SHIPPED.add(context)
