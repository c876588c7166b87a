"""SPL backend: :func:`read_spl` turns Splunk searches and security_content detections into
ruleglot IR rules; :class:`MacroTable` holds the search macros they call."""

from backends.spl.macros import MacroTable
from backends.spl.reader import prepare, read_spl, read_spl_search

__all__ = ["MacroTable", "prepare", "read_spl", "read_spl_search"]
