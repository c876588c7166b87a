"""Running IR rules on Apache Spark with the evaluator's semantics (issue 9).

``events``: the evaluator's event model as canonical Spark rows; ``regex``: Python regexes
rewritten for Java with the same meaning (or refused); ``predicates``: IR trees as Spark
columns; ``engine``: many rules in a few jobs; ``pipeline``: SPL stages (eval, stats...) as
DataFrame transformations; ``run``: the whole run for the API and CLI;
``session``: starting Spark, and the install hint when PySpark is missing; ``shipping``: ruleglot's
code for the Python workers, and what else they need; ``failures``: a failure inside Spark as
one line.

Importing this package does not import PySpark; ``backends.spark.run`` does.
"""

from backends.spark.session import INSTALL_HINT, require_pyspark, spark_session

__all__ = ["INSTALL_HINT", "require_pyspark", "spark_session"]
