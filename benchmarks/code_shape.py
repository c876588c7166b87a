"""Shape figures of the code base (issue 25): lines per module, the largest module and
function, import cycles between project modules, private names imported across modules and
project imports inside functions.

    python benchmarks/code_shape.py [--root DIR] [--under backends/spark]

Import cycles are strongly connected components of the graph "module A imports module B"
(every ``import``/``from ... import`` of a project module, at any depth of the file, except
under ``if TYPE_CHECKING:``), found with Tarjan's algorithm; a private import is ``from M
import _name`` where ``M`` is a project module other than the importer.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGES = ("ir", "backends", "translator")


def modules(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _type_checking(node: ast.If) -> bool:
    return isinstance(node.test, (ast.Name, ast.Attribute)) and "TYPE_CHECKING" in ast.unparse(
        node.test
    )


def imports(tree: ast.AST, name: str, known: set[str]):
    """(imported module, imported names, inside a function, line) for each project import."""
    out = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                continue
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name in known:
                        out.append((alias.name, [], in_function, child.lineno))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if child.module in known:
                    out.append(
                        (child.module, [a.name for a in child.names], in_function, child.lineno)
                    )
                for alias in child.names:
                    full = f"{child.module}.{alias.name}"
                    if full in known:
                        out.append((full, [], in_function, child.lineno))
            visit(child, inner)

    visit(tree, False)
    return out


def _reason(lines: list[str], line: int) -> str:
    """The comment that says why an import sits inside a function: on its line, or on the
    comment lines just above it; ``(no reason given)`` otherwise."""
    here = lines[line - 1]
    if "#" in here:
        return here.split("#", 1)[1].strip()
    above = []
    index = line - 2
    while index >= 0 and lines[index].strip().startswith("#"):
        above.insert(0, lines[index].strip().lstrip("#").strip())
        index -= 1
    return " ".join(above) or "(no reason given)"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            strong(v)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--under", default="backends/spark")
    args = parser.parse_args()
    root = Path(args.root)
    mods = modules(root)
    known = set(mods)
    graph: dict[str, set[str]] = {}
    private: list[str] = []
    inner: list[str] = []
    largest_fn = (0, "")
    for name, path in mods.items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        graph[name] = set()
        seen_lines: set[int] = set()
        for target, names, in_function, line in imports(tree, name, known):
            # a package's __init__ importing its own submodules is not a cycle of meaning
            if target != name and not name.startswith(target + "."):
                graph[name].add(target)
            if in_function and line not in seen_lines:
                seen_lines.add(line)
                inner.append(f"{path.relative_to(root)}:{line} {target}: {_reason(lines, line)}")
            private += [f"{name} <- {target}.{n}" for n in names
                        if n.startswith("_") and not n.startswith("__") and target != name]
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > largest_fn[0]:
                    largest_fn = (size, f"{path.relative_to(root)}:{node.lineno} {node.name}")
    sizes = {str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines())
             for p in mods.values()}
    under = sum(n for p, n in sizes.items() if p.startswith(args.under))
    big = max(sizes.items(), key=lambda kv: kv[1])
    spark_big = max(((p, n) for p, n in sizes.items() if p.startswith(args.under)),
                    key=lambda kv: kv[1], default=("-", 0))
    found = cycles(graph)
    print(f"lines under {args.under}: {under}; its largest module: {spark_big[0]} ({spark_big[1]})")
    print(f"largest module: {big[0]} ({big[1]} lines)")
    print(f"largest function: {largest_fn[1]} ({largest_fn[0]} lines)")
    print(f"modules over 1,100 lines: {sorted(p for p, n in sizes.items() if n > 1100)}")
    print(f"import cycles: {len(found)}")
    for component in found:
        print("  cycle:", " <-> ".join(component))
    print(f"private names imported across modules: {len(private)}")
    for each in private:
        print("  ", each)
    print(f"project imports inside functions: {len(inner)}")
    for each in inner:
        print("  ", each)


if __name__ == "__main__":
    main()
