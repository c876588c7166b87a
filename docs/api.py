"""Build the API reference of ruleglot's public package from its docstrings, with pdoc.

From a fresh clone (``pip install -e '.[docs]'`` once)::

    python docs/api.py            # -> build/api/index.html, build/api/translator.html

Only the top-level ``translator`` package is documented: it lists every public name
(``translator.__all__``); the submodules are internal. The package imports its names on first
use (so that ``ruleglot --help`` loads no reader), and pdoc reads a module's ``__dict__``: the
names are resolved here first. The HTML is generated, not committed (``build/`` is ignored).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(output: Path) -> list[Path]:
    """Write the reference to ``output``; returns the HTML pages written."""
    import pdoc
    import pdoc.render

    import translator

    for name in translator.__all__:  # resolve the lazily imported public names
        setattr(translator, name, getattr(translator, name))
    pdoc.render.configure(docformat="restructuredtext", search=True, show_source=True)
    pdoc.pdoc("translator", output_directory=output)
    return sorted(output.rglob("*.html"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "build" / "api")
    args = parser.parse_args(argv)
    pages = build(args.output)
    print(f"{len(pages)} page(s) in {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
