"""Starting Spark for ruleglot, and the one clear error when PySpark is not installed.

PySpark is an optional extra (``pip install 'ruleglot[spark]'``); Spark itself needs a Java 17
runtime (Debian: ``openjdk-17-jre-headless``). ``master`` is a Spark master URL: ``local[N]``,
``spark://HOST:PORT``, or ``sc://HOST`` for Spark Connect (which needs PySpark's ``connect``
extra, and reads only Parquet stores: the server reads them, so paths are the server's).

A session ruleglot starts carries ruleglot's code to its Python workers and runs them with the
interpreter :func:`backends.spark.shipping.worker_python` names (issue 28: workers once failed
with ``No module named 'backends'`` outside the checkout). A local master's driver listens on
127.0.0.1 only: nothing off this machine has to reach it. Unless ``verbose``, the driver's JVM
logs nothing on stderr (:data:`QUIET_LOG4J`, given to the JVM at launch, before Spark's own
start-up warnings) and draws no stage progress bars: a failure reaches the user as the one line
of :func:`backends.spark.failures.failure_cause`. Settings a user gives Spark through
``PYSPARK_SUBMIT_ARGS`` (``--conf KEY=VALUE``) come after ruleglot's and win.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from backends.spark.shipping import is_local, ship_code, worker_python
from ir.errors import RuleglotError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = "pip install 'ruleglot[spark]'"

#: Settings the engine's meaning depends on: field names are case-sensitive, as in Sigma and
#: Splunk (``processPath`` and ``ProcessPath`` are two struct members of the canonical rows).
REQUIRED_CONF = {"spark.sql.caseSensitive": "true"}
#: Settings for small, local runs: few shuffle partitions, no UI, UTC, Spark's non-ANSI casts.
DEFAULT_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "2g",
}
#: log4j 2 settings for a quiet driver: no Spark log line on stderr.
QUIET_LOG4J = Path(__file__).with_name("log4j2-quiet.properties")
#: What a quiet session sets beyond :data:`DEFAULT_CONF` (and the JVM option naming
#: :data:`QUIET_LOG4J`, made when a session starts: this module is imported on workers too, from
#: the shipped archive, where its path is relative).
QUIET_CONF = {"spark.ui.showConsoleProgress": "false"}
#: What a local master's session sets: its driver listens on the loopback interface only.
LOCAL_CONF = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def require_pyspark() -> None:
    """Raise the install hint when PySpark or Java is missing."""
    if importlib.util.find_spec("pyspark") is None:
        raise RuleglotError(
            f"pyspark is not installed: {INSTALL_HINT}", category="unsupported", construct="spark"
        )
    if shutil.which("java") is None:
        raise RuleglotError(
            "Spark needs a Java 17 runtime and no `java` is on PATH (Debian: "
            "apt-get install openjdk-17-jre-headless)",
            category="unsupported",
            construct="spark",
        )


def spark_session(
    master: str = "local[2]", app_name: str = "ruleglot", verbose: bool = False
) -> SparkSession:
    """A SparkSession on ``master`` (reused when one is active), with ruleglot's code shipped
    to its workers; ``verbose``: Spark's own log lines and progress bars on stderr."""
    require_pyspark()
    from pyspark.sql import SparkSession


    if master.startswith("sc://"):
        spark = SparkSession.builder.remote(master).getOrCreate()
    else:
        builder = SparkSession.builder.master(master).appName(app_name)
        conf = {
            **DEFAULT_CONF,
            **({} if verbose else _quiet_conf()),
            **(LOCAL_CONF if is_local(master) else {}),
            **REQUIRED_CONF,
        }
        for key, value in conf.items():
            builder = builder.config(key, value)
        with _environment("PYSPARK_PYTHON", worker_python(master)):
            spark = builder.getOrCreate()  # PySpark reads PYSPARK_PYTHON once, here
        ship_code(spark.sparkContext)
    for key, value in REQUIRED_CONF.items():  # also on a session that was already running
        spark.conf.set(key, value)
    return spark


def _quiet_conf() -> dict[str, str]:
    log4j = QUIET_LOG4J.resolve().as_uri()
    return {**QUIET_CONF, "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log4j}"}


@contextmanager
def _environment(name: str, value: str | None) -> Iterator[None]:
    """``os.environ[name]`` is ``value`` inside the block (nothing changes when ``None``)."""
    if value is None:
        yield
        return
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old
