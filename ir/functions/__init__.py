"""SPL evaluation functions: the values ``eval``/``where`` compute with, and every function.

Source of each behaviour: the Splunk Search Reference, chapter "Evaluation functions" and its
pages "Comparison and Conditional functions", "Conversion functions", "Cryptographic
functions", "Date and Time functions", "Informational functions", "JSON functions",
"Mathematical functions", "Multivalue eval functions", "Statistical eval functions" and "Text
functions", plus "Date and time format variables" and "Time modifiers" (the page is named in
each function's docstring). Where the reference leaves a behaviour open, the docstring says
"ruleglot's choice" and the choice is tested in ``tests/test_functions.py``.

This module owns *values* and *functions*; :mod:`ir.evalexpr` owns operators, fields and the
functions that need unevaluated arguments (``if``, ``case``, ``mvfilter``...). Predicate
semantics stay in :mod:`ir.evaluator`.

Values
    ``None`` is SPL's null (a missing field, a JSON ``null``, ``null()``); ``str``; ``int`` and
    ``float`` (SPL computes in doubles: ruleglot keeps exact integers as ``int`` and shows
    integral floats without ``.0``); ``bool`` (only comparisons and boolean functions return
    one); ``list`` is a multivalue, always of two or more non-null scalars (one value is a
    plain value, none is null: :func:`mv`).

Numbers in strings
    A string "is a number" where SPL reads it as one (arithmetic, comparisons, ``isnum``) when it
    is plainly a decimal number, ``-?\\d+(\\.\\d+)?``: the same rule as the ``lt``/``gt``
    predicates (:func:`ir.evaluator.number_of`), so a ``where`` read as a predicate and one read
    as an expression agree. ``tonumber`` parses more (sign, exponent, bases).

Multivalue arguments
    Functions documented on single values (text, maths, hashes, conversions) apply to each
    value of a multivalue argument and return a multivalue (ruleglot's choice: the reference
    does not say). Tests (``match``, ``like``, ``cidrmatch``, ``in``, comparisons) hold when
    they hold for any value, as in the ``search`` command, and are false (not null) on a null
    subject, as the predicate kinds are on a missing field; ``mv*`` functions read all the
    values.

Time
    Times are epoch seconds (``_time``). Splunk renders and parses times in the searching
    user's time zone; ruleglot uses UTC everywhere (``strftime``, ``strptime``,
    ``relative_time``, ``bin``), so results never depend on the machine.

The functions are written in one module per family (:mod:`ir.functions.conditional`,
``conversion``, ``jsonfuncs``, ``maths``, ``multivalue``, ``text``, ``times``), over the value
helpers (:mod:`ir.functions.values`) and regex helpers (:mod:`ir.functions.regex`); each
registers into the one table, :data:`FUNCTIONS` (:mod:`ir.functions.table`: arity, regex
arguments). Importing this package imports every family, so the table is complete; the names
other modules use are re-exported here.
"""

from __future__ import annotations

# the families register their functions into FUNCTIONS when imported
from ir.functions import (
    conversion,  # noqa: F401
    jsonfuncs,  # noqa: F401
    maths,  # noqa: F401
    multivalue,  # noqa: F401
    text,  # noqa: F401
)
from ir.functions.conditional import cidr_contains, like_regex
from ir.functions.regex import compile_regex, expand_template, pcre_to_python, python_to_pcre
from ir.functions.table import (
    FUNCTIONS,
    SPECIAL_ARITY,
    SPECIAL_FORMS,
    UNSUPPORTED,
    arity,
    check_arity,
    supported,
)
from ir.functions.times import (
    UNIT_MONTHS,
    UNIT_SECONDS,
    parse_timestamp,
    strftime,
    strptime,
    time_unit,
)
from ir.functions.values import (
    equal,
    field_value,
    format_number,
    mv,
    order,
    tidy_number,
    to_number,
    to_text,
    values_of,
)

__all__ = [
    "FUNCTIONS",
    "SPECIAL_ARITY",
    "SPECIAL_FORMS",
    "UNIT_MONTHS",
    "UNIT_SECONDS",
    "UNSUPPORTED",
    "arity",
    "check_arity",
    "cidr_contains",
    "compile_regex",
    "equal",
    "expand_template",
    "field_value",
    "format_number",
    "like_regex",
    "mv",
    "order",
    "parse_timestamp",
    "pcre_to_python",
    "python_to_pcre",
    "strftime",
    "strptime",
    "supported",
    "tidy_number",
    "time_unit",
    "to_number",
    "to_text",
    "values_of",
]
