"""Headless Chromium for the browser tests (catalog pages, ``ruleglot serve``), set up once.

Chromium is Debian's ``chromium`` package, installed here (once, with apt-get, as root) when
``/usr/bin/chromium`` is missing; Playwright (PyPI) drives it through ``executable_path``, never
with a browser of its own (``playwright install`` downloads one, which this project must not
need). The ``browser`` and ``page`` fixtures built on it live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def ensure_chromium() -> Path:
    """Debian's Chromium, installed when missing (CI is a fresh machine, as root)."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("chromium is not installed and apt-get cannot install it here")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        capture_output=True,
    )
    assert CHROMIUM.exists()
    return CHROMIUM
