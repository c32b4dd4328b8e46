"""The benchmark scripts run end to end at tiny sizes and write well-formed rows
(the timings themselves are measured by `make bench`, never asserted here)."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT

KEYS = {"name", "seqvi_seconds", "peer", "peer_seconds", "ratio", "sizes", "device"}


@pytest.mark.slow
def test_ssm_benchmark_quick(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "ssm.py"), "--quick", f"--out_dir={tmp_path}"],
                   check=True, cwd=ROOT, timeout=900)
    rows = json.loads((tmp_path / "ssm.json").read_text())
    names = {r["name"] for r in rows}
    assert {"kalman_filter_sequential", "kalman_smoother_parallel", "particle_filter_bootstrap"} <= names
    for r in rows:
        assert set(r) == KEYS
        assert r["seqvi_seconds"] > 0 and r["peer_seconds"] > 0
        assert r["ratio"] == pytest.approx(r["peer_seconds"] / r["seqvi_seconds"])
    docs = tmp_path / "docs"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), f"--results_dir={tmp_path}",
                    f"--docs_dir={docs}"], check=True, cwd=ROOT, timeout=300)
    text = (docs / "performance.md").read_text()
    assert "kalman_filter_sequential" in text and "Target:" in text
    assert (docs / "figures" / "perf_ssm_kalman.png").stat().st_size > 0
