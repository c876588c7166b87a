"""How often Python's cycle collector makes a full collection while a ``ruleglot`` command runs.

A command reads thousands of rules: each file leaves young garbage (pySigma's rule objects
hold cycles: a detection item points back to its detection) and old survivors (the IR rules,
then their compiled matchers), which live to the end. CPython's defaults (thresholds 700, 10,
10) make a full collection whenever ten middle-generation collections have passed and the
survivors grew by a quarter, and each full collection walks every object the command holds:
reading SigmaHQ's 3,141 rules made 9 of them, 0.48 s of the 3.3 s of reading, and
``ruleglot eval RULES --events EVENTS -j 2`` over the shared corpus spent about a second in
them (6.7-7.0 s end to end; 5.6-5.8 s with full collections ten times rarer, 2% more peak
memory; measured with ``gc.callbacks`` and ``/usr/bin/time``).

The young generations still run as often as by default, so the per-file garbage is freed
as soon as it is made; only the walk over the long-lived objects waits longer. Full
collections still happen (after :data:`FULL_COLLECTION_AFTER` middle ones), so memory stays
bounded whatever the input. Applied by the command line only: a library never retunes the
collector of the process that imports it (a migration script that reads thousands of rules
may do the same with ``gc.set_threshold``).
"""

from __future__ import annotations

import gc

#: Middle-generation collections before a full one (CPython's default: 10).
FULL_COLLECTION_AFTER = 100


def tune_for_batch() -> None:
    """Make full collections :data:`FULL_COLLECTION_AFTER` middle-generation collections
    apart, the two younger generations' thresholds kept as they are."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
