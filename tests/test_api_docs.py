"""The API reference builds with one command (``python docs/api.py``) and documents every
public name of the package, each with its docstring (a lazily imported name that pdoc could
not resolve would be left out with only a warning)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import translator
from tests.conftest import ROOT


def test_api_reference_documents_every_public_name(tmp_path: Path) -> None:
    pytest.importorskip("pdoc")
    out = tmp_path / "api"
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "api.py"), "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "does not resolve" not in done.stderr
    page = (out / "translator.html").read_text(encoding="utf-8")
    for name in translator.__all__:
        assert f'id="{name}"' in page, name
    # the submodules are internal: no page of their own
    assert sorted(p.name for p in out.glob("*.html")) == ["index.html", "translator.html"]
    assert "searched for the language" in page  # read_rules' docstring, not only its signature
