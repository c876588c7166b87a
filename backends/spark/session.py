"""Starting Spark for ruleglot, and the one clear error when PySpark is not installed.

PySpark is an optional extra (``pip install 'ruleglot[spark]'``); Spark itself needs a Java 17
runtime (Debian: ``openjdk-17-jre-headless``). ``master`` is a Spark master URL: ``local[N]``,
``spark://HOST:PORT``, or ``sc://HOST`` for Spark Connect (which needs PySpark's ``connect``
extra, and reads only Parquet stores: the server reads them, so paths are the server's).
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import TYPE_CHECKING

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


def spark_session(master: str = "local[2]", app_name: str = "ruleglot") -> SparkSession:
    """A SparkSession on ``master`` (reused when one is active)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    if master.startswith("sc://"):
        spark = SparkSession.builder.remote(master).getOrCreate()
    else:
        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in {**DEFAULT_CONF, **REQUIRED_CONF}.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
    for key, value in REQUIRED_CONF.items():  # also on a session that was already running
        spark.conf.set(key, value)
    return spark
