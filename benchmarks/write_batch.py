"""The writing part of ``translate -o DIR`` alone (issue 24: "one batch write, not a sync per
file"): the SPL outputs of a translated folder written again into fresh folders, alternating
:func:`translator.cli_common.write_atomically` with the way it wrote before (a temporary file
beside each output, renamed over it), system/user CPU and wall seconds from ``getrusage``.

    ruleglot translate ../shared/corpus/sigma/rules --to spl -o /tmp/spl-out
    python benchmarks/write_batch.py /tmp/spl-out [--repeat 3]

Then both write over their own outputs once more: the path where an output exists already
(a temporary file and a rename in both).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from translator.cli_common import write_atomically  # noqa: E402

Writer = Callable[..., None]


def temporary_and_rename(path: Path, text: str, *, make_parents: bool = True) -> None:
    """write_atomically as it was at the start of issue 24's last stretch (commit 54832ae)."""
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def timed(write: Writer, files: list[tuple[Path, str]], into: Path) -> str:
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for relative, text in files:
        write(into / relative, text, make_parents=False)
    after, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter() - started
    return (f"system {after.ru_stime - before.ru_stime:.2f}s user "
            f"{after.ru_utime - before.ru_utime:.2f}s wall {wall:.2f}s")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("outputs", type=Path, help="a folder of .spl files (translate -o)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = [(p.relative_to(args.outputs), p.read_text(encoding="utf-8"))
             for p in sorted(args.outputs.rglob("*.spl"))]  # fmt: skip
    folders = sorted({relative.parent for relative, _ in files})
    writers: dict[str, Writer] = {"temporary+rename": temporary_and_rename,
                                  "write_atomically": write_atomically}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ruleglot-writes-") as tmp:
        for run in range(args.repeat):
            for name, write in writers.items():
                into = Path(tmp) / f"{name}-{run}"
                for folder in folders:
                    (into / folder).mkdir(parents=True, exist_ok=True)
                os.sync()
                print(f"{name:18s} {len(files)} new files: {timed(write, files, into)}")
        for name, write in writers.items():
            into = Path(tmp) / f"{name}-0"
            print(f"{name:18s} {len(files)} replaced: {timed(write, files, into)}")
            shutil.rmtree(into)
    return 0


if __name__ == "__main__":
    sys.exit(main())
