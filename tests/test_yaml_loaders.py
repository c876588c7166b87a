"""``backends.yaml_loaders.FAST_LOADER`` resolves every node's tag as PyYAML's own loader does.

Its quick path answers "plain text" for quoted scalars and for words no implicit type starts
with; the reference is ``yaml.CSafeLoader`` (libyaml with PyYAML's resolver), compared node by
node (kind, tag, value, style) on every YAML file of the shared corpus and on generated
scalars whose first character is each of those the implicit types start with.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from backends import yaml_loaders
from tests.conftest import shared

pytestmark = pytest.mark.skipif(
    yaml_loaders.FAST_LOADER is None, reason="PyYAML built without libyaml"
)


def _shape(node: yaml.Node | None) -> Any:
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, [_shape(item) for item in node.value])
    assert isinstance(node, yaml.MappingNode)
    return ("map", node.tag, [(_shape(k), _shape(v)) for k, v in node.value])


def _composed(text: str, loader: Any) -> Any:
    try:
        return [_shape(node) for node in yaml.compose_all(text, Loader=loader)]
    except yaml.YAMLError as exc:
        return ("error", str(exc))


def _same(text: str) -> None:
    assert _composed(text, yaml_loaders.FAST_LOADER) == _composed(text, yaml.CSafeLoader)


def test_every_corpus_yaml_file_composes_to_the_same_tags() -> None:
    folders = [shared("sigma", "rules"), shared("spl", "detections"), shared("spl", "macros")]
    files = [path for folder in folders for path in sorted(folder.rglob("*.yml"))]
    assert len(files) > 4800
    for path in files:
        _same(path.read_text(encoding="utf-8"))


#: Characters PyYAML's implicit types start with, and a few that none does.
_FIRST = "0123456789+-.~<=yYnNtTfFoO" + "aWx_ /"


@given(
    first=st.sampled_from(_FIRST),
    rest=st.text(alphabet="0123456789.:-+_eExXoObB aeyslnu", max_size=12),
    quote=st.sampled_from(["", "'", '"']),
)
def test_generated_scalars_resolve_as_pyyaml(first: str, rest: str, quote: str) -> None:
    value = (first + rest).strip()
    _same(f"key: {quote}{value}{quote}\nlist: [{quote}{value}{quote}]\n")


@pytest.mark.parametrize(
    "text",
    ["a: ''\n", "a:\n", "? ~\n: yes\n", "a: !!int '5'\n", "a: ! 5\n", "<<: {b: 1}\n", "a: =\n"],
)
def test_edge_scalars_resolve_as_pyyaml(text: str) -> None:
    _same(text)


def test_data_loads_as_safe_load() -> None:
    text = "a: [1, 0x1f, 1.5e3, yes, No, ~, 2024-01-02, '5', word, .inf]\n"
    assert yaml.load(text, Loader=yaml_loaders.FAST_LOADER) == yaml.safe_load(text)  # noqa: S506
