"""``ruleglot serve`` as a person uses it: the real command (waitress on 127.0.0.1) driven by
headless Chromium, set up as in :mod:`tests.test_catalog_browser`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .test_serve import LOSSY, WHOAMI

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    rules = tmp_path_factory.mktemp("serve-rules")
    (rules / "whoami.yml").write_text(WHOAMI, "utf-8")
    port = _free_port()
    command = [sys.executable, "-c", "from translator.cli import main; main()", "serve",
               "--port", str(port), "--rules", str(rules), "--timeout", "60"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    said = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(said) from exc
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_paste_a_rule_and_see_its_translation(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server)
    page.fill("#source", WHOAMI)
    page.click("#translate")
    assert page.locator("#verdict").inner_text() == "equivalent"
    assert 'Image="*\\\\whoami.exe"' in page.locator("#translation").inner_text()
    assert page.locator("#source").input_value() == WHOAMI  # the form keeps what was pasted


def test_lossy_lines_are_marked(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server)
    page.fill("#source", LOSSY)
    page.click("#translate")
    marked = page.locator("#marked-source li.marked")
    assert marked.count() == 1
    assert marked.first.inner_text().startswith("  sel: {EventCode: 4688}")


def test_pick_a_loaded_rule_and_open_its_page(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server)
    page.click("#load")
    assert page.locator("#source").input_value().startswith("title: Whoami execution")
    assert page.locator("#verdict").inner_text() == "equivalent"
    page.click("#page")
    assert page.locator("h1#title").inner_text() == "Whoami execution"


def test_bad_input_shows_the_position(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server)
    page.fill("#source", "title: x\ndetection: [\n")
    page.click("#translate")
    error = page.locator("#error").inner_text()
    assert error.startswith("pasted:") and "Traceback" not in page.content()


def test_screenshots_for_the_docs(page, server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The page renders to an image (docs/screenshots/ holds the committed ones)."""
    page.goto(server)
    page.fill("#source", LOSSY)
    page.click("#translate")
    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
