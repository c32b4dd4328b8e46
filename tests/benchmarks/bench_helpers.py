"""Helpers of the benchmark smoke tests: run a script at tiny sizes (``--quick``),
check its rows are well formed, build the report from them. The timings
themselves are measured by `make bench`, never asserted by the tests."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

KEYS = {"name", "seqvi_seconds", "peer", "peer_seconds", "ratio", "sizes", "device"}
OPTIONAL = {"compile_seconds"}  # where a script measures it
MISSING = {"name", "peer", "missing", "sizes", "device"}  # a row that did not run, and why


def run_quick(script: str, out_dir) -> list[dict]:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", f"--out_dir={out_dir}"],
                   check=True, cwd=ROOT, timeout=900)
    rows = json.loads((out_dir / f"{script}.json").read_text())
    for r in rows:
        if "missing" in r:
            assert set(r) == MISSING and r["missing"], r
            continue
        assert KEYS <= set(r) <= KEYS | OPTIONAL, set(r)
        assert r["seqvi_seconds"] > 0 and r["peer_seconds"] > 0
        assert all(t > 0 for t in r.get("compile_seconds", {}).values()), r
        assert r["ratio"] == pytest.approx(r["peer_seconds"] / r["seqvi_seconds"])
    return rows


def report(results_dir) -> str:
    docs = results_dir / "docs"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), f"--results_dir={results_dir}",
                    f"--docs_dir={docs}"], check=True, cwd=ROOT, timeout=300)
    return (docs / "performance.md").read_text()
