"""Counts the checks in the test suite: assert statements, pytest.raises/warns
blocks and numpy/chex assertion calls, per file and in all (run from the root:
python .ci/count_checks.py). The suite's speed work is judged with it: merging
tests must not drop a check."""

import ast
import pathlib
import sys


def checks(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            count += 1
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("pytest.raises", "pytest.warns") or ".assert_" in name or name.startswith("assert_"):
                count += 1
    return count


def main(root: pathlib.Path) -> None:
    total = 0
    for path in sorted(root.rglob("*.py")):
        n = checks(ast.parse(path.read_text()))
        total += n
        if "-v" in sys.argv:
            print(f"{n:5d} {path}")
    print(f"{total} checks in {root}")


if __name__ == "__main__":
    main(pathlib.Path("tests"))
