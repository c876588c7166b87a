"""Takes the screenshots in this folder (issue 26): the serve page on a rule whose translation
loses a construct, and a catalog rule page with its verdict and counterexample.

    .venv/bin/python docs/screenshots/take.py

Runs ``ruleglot serve`` and builds a two-rule catalog in a temporary folder; Chromium as in
``tests/test_catalog_browser.py`` (Debian's /usr/bin/chromium, headless, localhost only).
"""

from __future__ import annotations

import functools
import http.server
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from translator.catalog import Verify, build_site

HERE = Path(__file__).parent
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOSSY = """\
title: Process creation with EventCode
description: Looks for new processes by the Security log's event code.
tags: [attack.execution, attack.t1059]
logsource: {product: windows, service: security}
detection:
  sel: {EventCode: 4688}
  condition: sel
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rules, site = Path(tmp) / "rules", Path(tmp) / "site"
        rules.mkdir()
        (rules / "eventcode.yml").write_text(LOSSY, "utf-8")
        build_site([rules], site, verification=Verify())
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
        static = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        port = _port()
        serve = subprocess.Popen(
            [sys.executable, "-c", "from translator.cli import main; main()", "serve",
             "--port", str(port), "--rules", str(rules)], stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}/"
        for _ in range(200):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(url)
                page.click("#load")
                page.screenshot(path=str(HERE / "serve.png"), full_page=True)
                slug = next((site / "rules").iterdir()).name
                page.goto(f"http://127.0.0.1:{static.server_address[1]}/rules/{slug}")
                page.screenshot(path=str(HERE / "catalog-rule.png"), full_page=False)
                phone = browser.new_page(viewport={"width": 390, "height": 844})
                phone.goto(f"http://127.0.0.1:{static.server_address[1]}/index.html")
                phone.screenshot(path=str(HERE / "catalog-index-phone.png"))
                browser.close()
        finally:
            serve.terminate()
            static.shutdown()


if __name__ == "__main__":
    main()
