"""The figures of a built catalog (issue 26): files, bytes, pages by kind, dead links, and
machine paths left in pages.

    ruleglot catalog ../shared/corpus/sigma ../shared/corpus/spl/detections \\
        --macros ../shared/corpus/spl/macros -o /tmp/site
    python benchmarks/catalog_site.py /tmp/site [--machine-path /work]

A link is dead when it is relative (same site) and names a file the site does not hold (its
``?query`` and ``#fragment`` aside), or when it is not an http(s), relative or fragment link
at all (``Internal Research`` written as a link, as issue 26 found 137 of). Links are read with
the standard library's HTML parser, every ``<a href>`` of every ``.html`` file.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def dead_links(site: Path, page: Path, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    dead = []
    for href in parser.hrefs:
        parts = urllib.parse.urlsplit(href)
        if parts.scheme in ("http", "https") and parts.netloc:
            continue
        if parts.scheme or parts.netloc:
            dead.append(href)
            continue
        if not parts.path:  # "?verdict=x" or "#section": this page
            continue
        target = (page.parent / urllib.parse.unquote(parts.path)).resolve()
        if not target.is_file() or not target.is_relative_to(site.resolve()):
            dead.append(href)
    return dead


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--machine-path", default=None,
                        help="count pages containing this text (the build machine's path)")
    args = parser.parse_args()
    site: Path = args.site
    files = [p for p in site.rglob("*") if p.is_file()]
    kinds = Counter(p.relative_to(site).parts[0] if len(p.relative_to(site).parts) > 1
                    else "(top)" for p in files)
    dead: Counter[str] = Counter()
    with_path = 0
    for page in (p for p in files if p.suffix == ".html"):
        html = page.read_text("utf-8")
        for href in dead_links(site, page, html):
            dead[href] += 1
        if args.machine_path and args.machine_path in html:
            with_path += 1
    size = sum(p.stat().st_size for p in files)
    print(f"files: {len(files)}  bytes: {size} ({size / 1e6:.1f} MB)")
    print("by folder: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"dead links: {sum(dead.values())} ({len(dead)} distinct)")
    for href, n in dead.most_common(10):
        print(f"  {n} x {href}")
    if args.machine_path:
        print(f"pages containing {args.machine_path!r}: {with_path}")
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main())
