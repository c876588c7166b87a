"""The stages of an SPL pipeline, one module per job (:mod:`ir.pipeline` runs them).

``rows`` (the row model and field access every stage shares), ``fields`` (filter, eval,
foreach, rename, table/fields, fillnull), ``text`` (rex, convert, makemv/mvexpand/nomv),
``stats`` (stats, eventstats, streamstats, bin), ``order`` (dedup, sort, head/tail),
``lookup`` (lookup, inputlookup), ``tstats`` (a data-model read and its plan),
``subsearch`` (join, append, appendpipe, search [...]), ``commands`` (addtotals, replace,
transaction, outputlookup) and ``timechart`` (commands the IR keeps as text that still run).
A stage module imports ``rows`` and, to build on another stage, only that module's public
names; the driver, :mod:`ir.pipeline`, imports them all.
"""
