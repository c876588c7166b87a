"""A failure inside Spark as one line naming its cause.

What PySpark raises when a job fails is a Java exception seen through py4j
(``Py4JJavaError``, or one of PySpark's ``CapturedException`` classes for DataFrame actions)
whose text is the whole Java stack trace; when the failure happened in a Python worker, the
worker's own Python traceback is inside that text (``org.apache.spark.api.python.PythonException:
Traceback (most recent call last): ...``), repeated for every ``Caused by``. The cause a user
can act on is the last line of that Python traceback (``ModuleNotFoundError: No module named
'orjson'``), else the exception of the task that failed the job (``Job aborted due to stage
failure: ... most recent failure: Lost task 0.0 in stage 0.0 (TID 0) (host executor driver):
java.io.IOException: Cannot run program "python9": error=2, No such file or directory``), else
the first line of the Java exception (``org.apache.spark.SparkException: Could not parse Master
URL: 'x'``). The CLI prints that line (``translator/spark_eval.py``) and the whole text only
with ``--verbose``.
"""

from __future__ import annotations

import re

from backends.spark.shipping import WORKER_REQUIREMENTS

_TRACEBACK = "Traceback (most recent call last):"
#: the failed task's exception in the message of the job Spark aborted
_LOST_TASK = re.compile(r"most recent failure: Lost task .*?\): (.+)$", re.M)
#: py4j's preamble before the Java exception's own text
_PY4J_CALL = re.compile(r"^An error occurred while calling [^\n]*\n: ", re.S)


def spark_errors() -> tuple[type[BaseException], ...]:
    """The exception classes of a failure inside Spark or its JVM (PySpark installed)."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException

    return (Py4JError, PySparkException)


def failure_text(err: BaseException) -> str:
    """The exception's whole text: for a Java exception, its stack trace with every cause."""
    try:
        return str(err)
    except Exception:  # py4j asks the JVM for the trace: a dead JVM cannot answer
        return f"{type(err).__name__}: {err.args[0] if err.args else ''}"


def failure_cause(err: BaseException) -> str:
    """One line naming why Spark failed (module docstring), with what to install when the
    workers' Python lacks a module ruleglot needs there."""
    text = _PY4J_CALL.sub("", failure_text(err).strip())
    cause = _python_cause(text) or _java_cause(text) or type(err).__name__
    if "[JAVA_GATEWAY_EXITED]" in cause:  # spark-submit wrote why on stderr itself, before
        cause += " (Spark's launcher printed its reason above: the master URL, Java, a setting)"
    missing = re.match(r"ModuleNotFoundError: No module named '([\w.]+)'", cause)
    if missing:
        module = missing.group(1).split(".")[0]
        needed = [d for d, m in WORKER_REQUIREMENTS.items() if m == module]
        if needed:
            cause += (
                f" (the Spark workers' Python needs {', '.join(WORKER_REQUIREMENTS)}: "
                f"pip install {' '.join(needed)} there, or set PYSPARK_PYTHON)"
            )
    return cause


def _python_cause(text: str) -> str | None:
    """The last line of the first Python traceback in ``text`` (its exception)."""
    start = text.find(_TRACEBACK)
    if start < 0:
        return None
    last = None
    for line in text[start + len(_TRACEBACK) :].splitlines()[1:]:
        if line.startswith(("\tat ", "Caused by:")):
            break
        if line.strip() and not line[0].isspace():
            last = line.strip()
    return last


def _java_cause(text: str) -> str | None:
    """The exception of the task that failed the job, else the first line of ``text``."""
    lost = _LOST_TASK.search(text)
    line = lost.group(1) if lost else text.splitlines()[0] if text else ""
    return line.strip() or None
