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

__all__ = [
    "FAST_LOADER",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "SAFE_LOADER",
    "SLOW_LOADER",
    "ExpansionError",
    "check_expansion",
    "check_expansion_exactly",
    "load",
]

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


#: The most nodes one document may stand for once its aliases are expanded. A YAML alias is a
#: reference, so nine levels of nine aliases (2 KB) stand for 9**9 nodes: building data or
#: locations from them grew past 2 GB. The largest document in the shared corpus expands to a
#: few thousand nodes.
MAX_EXPANDED_NODES = 100_000
#: The most alias uses one document may hold (SigmaHQ and security_content use none).
MAX_ALIASES = 1_000
#: The deepest nesting one document may have (rules nest fewer than ten levels; readers
#: recurse once per level).
MAX_DEPTH = 100


class ExpansionError(yaml.constructor.ConstructorError):
    """A document over :data:`MAX_EXPANDED_NODES` or :data:`MAX_ALIASES`; a marked YAML error,
    so readers report it at its position like any other."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _plain_tree_within_limits(root: yaml.Node) -> bool:
    """Whether ``root``'s document reaches no node twice (no alias: its expansion is its
    node count) and has at most :data:`MAX_EXPANDED_NODES` nodes in at most
    :data:`MAX_DEPTH` levels, so that :func:`check_expansion` has nothing to refuse.

    Every YAML document of the shared corpus (6,785) is such a tree; visiting it a level at
    a time costs an eighth of the exact walk, which memoises a size per node (0.3 s of the
    0.57 s that composing SigmaHQ's 3,141 rules took with it). Stops as soon as the answer
    is no, so a graph of aliases is never expanded past the limits here either."""
    level = [root]
    seen: set[int] = set()
    count = 0
    for _depth in range(MAX_DEPTH):
        count += len(level)
        if count > MAX_EXPANDED_NODES:
            return False
        seen.update(map(id, level))
        if len(seen) != count:  # a node reached twice: an alias
            return False
        below: list[yaml.Node] = []
        for node in level:
            if isinstance(node, yaml.SequenceNode):
                below.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                for pair in node.value:
                    below.extend(pair)
        if not below:
            return True
        level = below
    return False  # deeper than MAX_DEPTH


def check_expansion(root: yaml.Node) -> None:
    """Raise :class:`ExpansionError` at the node where ``root``'s document, its aliases
    expanded, passes a limit; in time linear in the composed graph (sizes are memoised per
    node, iteratively: a document nested thousands deep is no recursion)."""
    if not _plain_tree_within_limits(root):
        check_expansion_exactly(root)


def check_expansion_exactly(root: yaml.Node) -> None:
    """:func:`check_expansion` without its quick answer for plain trees: the reference it
    is tested against."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    edges = 0
    stack: list[tuple[yaml.Node, bool, int]] = [(root, False, 1)]
    while stack:
        node, closing, depth = stack.pop()
        key = id(node)
        if closing:
            open_nodes.discard(key)
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = total
            if total > MAX_EXPANDED_NODES:
                raise ExpansionError(
                    None, None,
                    f"this node expands to {total:,} nodes through aliases, more than the "
                    f"limit of {MAX_EXPANDED_NODES:,} (MAX_EXPANDED_NODES)",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:  # a recursive alias: the readers refuse it with its position
            return
        if depth > MAX_DEPTH:
            raise ExpansionError(
                None, None, f"the document nests deeper than the limit of {MAX_DEPTH} levels "
                "(MAX_DEPTH)", node.start_mark,
            )
        open_nodes.add(key)
        stack.append((node, True, depth))
        children = _children(node)
        edges += len(children)
        stack.extend((child, False, depth + 1) for child in children)
    aliases = edges - (len(sizes) - 1)
    if aliases > MAX_ALIASES:
        raise ExpansionError(
            None, None,
            f"the document uses {aliases:,} aliases, more than the limit of {MAX_ALIASES:,} "
            "(MAX_ALIASES)",
            root.start_mark,
        )


def _too_deep() -> ExpansionError:
    return ExpansionError(
        None, None, f"the document nests deeper than the limit of {MAX_DEPTH} levels (MAX_DEPTH)",
        None,
    )


def _checked(loader: Any) -> Any:
    """``loader`` whose every composed document is checked by :func:`check_expansion` before
    anything is built from it."""
    if loader is None:
        return None

    class CheckedLoader(loader):  # type: ignore[misc, valid-type]
        def get_node(self) -> Any:
            try:
                node = super().get_node()
            except RecursionError:  # PyYAML's own composer recurses once per level
                raise _too_deep() from None
            if node is not None:
                check_expansion(node)
            return node

        def get_single_node(self) -> Any:
            try:
                node = super().get_single_node()
            except RecursionError:
                raise _too_deep() from None
            if node is not None:
                check_expansion(node)
            return node

    CheckedLoader.__name__ = CheckedLoader.__qualname__ = f"Checked{loader.__name__}"
    return CheckedLoader


#: libyaml's safe loader (its tags resolved a step faster), or ``None`` when PyYAML was built
#: without libyaml.
FAST_LOADER: Any = _checked(_quick_resolver(getattr(yaml, "CSafeLoader", None)))
#: PyYAML's pure-Python safe loader (for its own error messages and positions).
SLOW_LOADER: Any = _checked(yaml.SafeLoader)
#: The fastest safe loader PyYAML has.
SAFE_LOADER: Any = FAST_LOADER or SLOW_LOADER


def load(text: str) -> object:
    """``yaml.safe_load(text)``, by libyaml when it is there; a text libyaml refuses is read
    again by PyYAML's own loader, whose error (message and position) is the one raised.
    Both check each document's expansion (:func:`check_expansion`)."""
    if FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=FAST_LOADER)  # noqa: S506 - a safe loader
        except Exception:  # noqa: S110 - read again below, for PyYAML's own error
            pass
    return yaml.load(text, Loader=SLOW_LOADER)  # noqa: S506 - a safe loader
