"""Where reading security_content's detections into IR spends its time (issue 7 (b)), phase by
phase, on one core, in CPU seconds (best of ``--runs``):

    python benchmarks/spl_phases.py [--corpus ../shared/corpus] [--runs 3]

Phases, in the reader's order for each detection file: reading the file, YAML (libyaml
composing the document, the detection's data built), the SPL scalar's file offsets, macro
expansion, parsing (``SplParser``), building the IR (``Builder``). Then the parse alone of the
same expanded searches three ways: lark's own ``Lark.parse`` (same grammar and options),
``SplParser`` (what the reader uses), and lark-cython when it is installed (``pip install
lark-cython``; not a dependency). Every way must give as many trees as the others.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.spl import MacroTable  # noqa: E402
from backends.spl import reader as spl_reader  # noqa: E402
from backends.spl.builder import Builder  # noqa: E402
from backends.spl.macros import expand  # noqa: E402
from backends.spl.source import scalar_offsets  # noqa: E402
from ir.errors import SourceText  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def phases(files: list[Path], macros: MacroTable) -> tuple[dict[str, float], list[str]]:
    """CPU seconds per phase over every file, and the expanded searches that parse."""
    parser = spl_reader._parser()
    clock = time.process_time
    spent = dict.fromkeys(("read", "yaml", "offsets", "expand", "parse", "build"), 0.0)
    searches: list[str] = []
    for path in files:
        start = clock()
        source = SourceText(path.read_text(encoding="utf-8"), str(path))
        spent["read"] += clock() - start
        start = clock()
        docs = spl_reader._yaml_documents(source)
        spent["yaml"] += clock() - start
        if not docs:
            continue
        start = clock()
        base = scalar_offsets(source.text, docs[0].spl_node)
        spent["offsets"] += clock() - start
        start = clock()
        try:
            expansion = expand(docs[0].spl_node.value, macros, undefined="error")
        except Exception:  # noqa: S112 - the reader reports these; here they are not timed
            continue
        finally:
            spent["expand"] += clock() - start
        start = clock()
        builder = Builder(source, [base[i] for i in expansion.origin], expansion.text, "manual")
        try:
            tree = parser.parse(expansion.text)
        except Exception:  # noqa: S112
            continue
        finally:
            spent["parse"] += clock() - start
        searches.append(expansion.text)
        start = clock()
        with contextlib.suppress(Exception):  # an unsupported construct: the reader reports it
            builder.pipeline(tree.children[0])
        spent["build"] += clock() - start
    return spent, searches


def parse_all(parse: Callable[[str], Any], searches: list[str]) -> tuple[float, int]:
    start = time.process_time()
    count = sum(1 for text in searches if parse(text) is not None)
    return time.process_time() - start, count


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = sorted((args.corpus / "spl" / "detections").rglob("*.yml"))
    best: dict[str, float] = {}
    searches: list[str] = []
    for _ in range(args.runs):
        # a table per run: it remembers the calls it expanded, as it does within one run
        macros = MacroTable.from_folder(args.corpus / "spl" / "macros")
        spent, searches = phases(files, macros)
        best = {k: min(v, best.get(k, v)) for k, v in spent.items()}
    print(f"{len(files)} detection files, one core, CPU seconds (best of {args.runs}):")
    for name, seconds in best.items():
        print(f"  {name:8s} {seconds:6.3f}")
    print(f"  {'total':8s} {sum(best.values()):6.3f}")

    import lark

    ours = spl_reader._parser()
    options = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": True}
    plain = lark.Lark.open_from_package("backends.spl", "spl.lark", **options)
    ways: dict[str, Callable[[str], Any]] = {"lark (Lark.parse)": plain.parse}
    ways["SplParser"] = ours.parse
    try:
        import lark_cython

        cython = lark.Lark.open_from_package(
            "backends.spl", "spl.lark", _plugins=lark_cython.plugins, **options
        )
        ways["lark-cython"] = cython.parse
    except ImportError:
        print("  (lark-cython not installed: not measured)")
    print(f"parse alone of the {len(searches)} expanded searches that parse, CPU seconds "
          f"(best of {args.runs}):")  # fmt: skip
    for name, parse in ways.items():
        times = [parse_all(parse, searches) for _ in range(args.runs)]
        seconds, count = min(times)
        print(f"  {name:18s} {seconds:6.3f}  ({count} trees)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
