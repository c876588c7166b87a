"""PyYAML's safe loaders as ruleglot uses them: libyaml when PyYAML has it, PyYAML's own loader
for the errors.

One place decides the loader (it was decided in four). libyaml (``CSafeLoader``) composes and
loads several times faster than PyYAML's pure-Python loader and gives the same nodes and marks
(both count characters); where libyaml refuses a text, callers read it again with
``yaml.SafeLoader`` so that the error (message and position) is PyYAML's own whichever is
installed.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["FAST_LOADER", "SAFE_LOADER", "load"]

#: libyaml's safe loader, or ``None`` when PyYAML was built without it.
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
#: The fastest safe loader PyYAML has.
SAFE_LOADER: Any = FAST_LOADER or yaml.SafeLoader


def load(text: str) -> object:
    """``yaml.safe_load(text)``, by libyaml when it is there; a text libyaml refuses is read
    again by PyYAML's own loader, whose error (message and position) is the one raised."""
    if FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 - a safe loader
        except Exception:  # noqa: S110 - read again below, for PyYAML's own error
            pass
    return yaml.safe_load(text)
