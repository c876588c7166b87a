"""The stages of an SPL pipeline, one module per job (:mod:`ir.pipeline` runs them).

``rows`` (the row model and field access every stage shares), ``fields`` (filter, eval,
foreach, rename, table/fields, fillnull), ``text`` (rex, convert, makemv/mvexpand/nomv),
``stats`` (stats, eventstats, streamstats, bin), ``order`` (dedup, sort, head/tail),
``lookup`` (lookup, inputlookup), ``tstats`` (a data-model read and its plan) and
``subsearch`` (join, append, appendpipe, search [...]). A stage module imports ``rows`` and
no other stage module; the driver, :mod:`ir.pipeline`, imports them all.
"""
