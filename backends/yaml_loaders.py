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

_STR_TAG = "tag:yaml.org,2002:str"


def _quick_resolver(loader: Any) -> Any:
    """``loader`` with PyYAML's tag resolution answered in one step where its answer is plain
    text, the same answer in every case.

    libyaml composes in C but asks the Python resolver for the tag of every scalar (192,058 in
    security_content's detections): :meth:`yaml.resolver.BaseResolver.resolve` concatenates two
    lists and tries regular expressions even for a quoted scalar or a word whose first
    character no implicit type starts with. Those are strings (``DEFAULT_SCALAR_TAG``) whenever
    no path resolver is registered; everything else goes to PyYAML's own method. The path
    hooks called around every node are no-ops without path resolvers. About a tenth of
    composing (``tests/test_yaml_loaders.py`` checks every corpus file's tags against
    PyYAML's)."""
    if loader is None:
        return None
    resolve = loader.resolve
    descend, ascend = loader.descend_resolver, loader.ascend_resolver
    scalar = yaml.ScalarNode

    class QuickLoader(loader):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is scalar and not self.yaml_path_resolvers:
                implicit_types = self.yaml_implicit_resolvers
                if not implicit[0] or (
                    value and value[0] not in implicit_types and None not in implicit_types
                ):
                    return _STR_TAG
            return resolve(self, kind, value, implicit)

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            if self.yaml_path_resolvers:
                descend(self, current_node, current_index)

        def ascend_resolver(self) -> None:
            if self.yaml_path_resolvers:
                ascend(self)

    QuickLoader.__name__ = QuickLoader.__qualname__ = f"Quick{loader.__name__}"
    return QuickLoader


#: libyaml's safe loader (its tags resolved a step faster), or ``None`` when PyYAML was built
#: without libyaml.
FAST_LOADER: Any = _quick_resolver(getattr(yaml, "CSafeLoader", None))
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
