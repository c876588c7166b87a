"""SPL -> IR -> SPL on security_content: is every detection that reads written back, and does the
writing read back to the same IR?

    python benchmarks/spl_to_spl.py                       # every detection
    python benchmarks/spl_to_spl.py --show 5              # and five unequal re-reads in full

For each detection of ``spl/detections`` (read with the corpus macros, as ``ruleglot translate
--from spl --macros ...`` reads it): the read error's construct, or the SPL writer's output
(``translator.api.emit_translation(rule, "spl")``) or its refusal's construct; the output is
re-read as a rule (same macros) and its stages and time range compared with the rule's (IR
equality: spans excluded). Prints the counts; exits 1 when a written search does not re-read
to an equal IR.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backends.spl.macros import strip_comments  # noqa: E402
from ir.errors import RuleglotError  # noqa: E402
from translator import api  # noqa: E402
from translator.inputs import expand_paths, read_text  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpus" / "spl"
#: a macro call (`name` or `name(args)`), counted in the source and in the output
_CALL = re.compile(r"`[^`]+`")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED)
    parser.add_argument("--show", type=int, default=0, help="print this many unequal re-reads")
    parser.add_argument("--keep-macros", action="store_true", help="write macro calls back")
    args = parser.parse_args()
    macros = api.macros(args.corpus / "macros")
    files = list(expand_paths([args.corpus / "detections"], (".yml", ".yaml")))
    unread: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    written = equal = calls = kept = 0
    unequal: list[tuple[Path, str, object, object]] = []
    for path in files:
        try:
            rules = api.parse(read_text(path), "spl", str(path), macros=macros)
        except RuleglotError as err:
            unread[err.construct or err.category] += 1
            continue
        for rule in rules:
            try:
                done = api.emit_translation(
                    rule, "spl", keep_macros=args.keep_macros, macros=macros
                )
            except RuleglotError as err:
                refused[err.construct or err.category] += 1
                continue
            written += 1
            calls += len(_CALL.findall(strip_comments(rule.source_text or "")))
            kept += len(_CALL.findall(done.text))
            # read as a rule (read_spl): the search's own time range is the rule's, not a stage
            (reread,) = api.parse(done.text, "spl", "written.spl", macros=macros)
            back = (reread.stages, reread.timerange)
            if back == (rule.stages, rule.timerange):
                equal += 1
            else:
                unequal.append((path, done.text, rule.stages, back))
    print(f"detections: {len(files)}; not read: {sum(unread.values())} {dict(unread)}")
    print(f"written: {written}; refused: {sum(refused.values())} {dict(refused.most_common())}")
    print(f"re-read to an equal IR: {equal}; unequal: {len(unequal)}")
    print(f"macro calls in the written searches' sources: {calls}; written back as calls: {kept}")
    for path, text, source, back in unequal[: args.show]:
        print(f"\n{path}\n  {text}\n  source: {source}\n  back:   {back}")
    return 1 if unequal else 0


if __name__ == "__main__":
    sys.exit(main())
