"""The benchmark scripts run end to end at tiny sizes (``--quick``) and write
well-formed rows; the report builds from them. The timings themselves are
measured by `make bench`, never asserted here. The PyTorch and Pyro peers are
installed by `make bench` only (requirements-bench.lock), so the two scripts that
need them are skipped, with that reason, where they are absent."""

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import ROOT

KEYS = {"name", "seqvi_seconds", "peer", "peer_seconds", "ratio", "sizes", "device"}


def run_quick(script: str, out_dir) -> list[dict]:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", f"--out_dir={out_dir}"],
                   check=True, cwd=ROOT, timeout=900)
    rows = json.loads((out_dir / f"{script}.json").read_text())
    for r in rows:
        assert set(r) == KEYS
        assert r["seqvi_seconds"] > 0 and r["peer_seconds"] > 0
        assert r["ratio"] == pytest.approx(r["peer_seconds"] / r["seqvi_seconds"])
    return rows


def report(results_dir) -> str:
    docs = results_dir / "docs"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), f"--results_dir={results_dir}",
                    f"--docs_dir={docs}"], check=True, cwd=ROOT, timeout=300)
    return (docs / "performance.md").read_text()


@pytest.mark.slow
def test_ssm_benchmark_quick(tmp_path):
    rows = run_quick("ssm", tmp_path)
    assert {"kalman_filter_sequential", "kalman_smoother_parallel", "particle_filter_bootstrap"} <= {
        r["name"] for r in rows}
    text = report(tmp_path)
    assert "kalman_filter_sequential" in text and "Target:" in text and "Kalman filter, state dim 4" in text
    assert (tmp_path / "docs" / "figures" / "perf_ssm.png").stat().st_size > 0


@pytest.mark.slow
def test_hardware_scaling_compile_quick(tmp_path):
    hardware = run_quick("hardware", tmp_path)
    assert [r["name"] for r in hardware] == ["matmul_peak", "train_step_vs_peak", "scan_overhead_per_step"]
    peak = hardware[0]["sizes"]["gflops"]
    step = hardware[1]
    assert step["sizes"]["gflop"] > 0
    assert step["ratio"] == pytest.approx(step["sizes"]["gflops"] / peak, rel=0.05)  # achieved / peak
    scaling = run_quick("scaling", tmp_path)
    assert {r["name"] for r in scaling} == {"scaling_T", "scaling_particles", "scaling_batch"}
    assert all(r["sizes"]["memory_mb"] > 0 for r in scaling)
    by_t = sorted((r["sizes"]["T"], r["sizes"]["memory_mb"]) for r in scaling if r["name"] == "scaling_T")
    assert by_t[-1][1] > by_t[0][1]  # a longer sequence keeps more for the backward pass
    compiled = run_quick("compile", tmp_path)
    assert compiled[0]["sizes"] == {"config": "vrnn:jsb"} and compiled[0]["peer_seconds"] == 15.0
    text = report(tmp_path)
    assert "Target: large train step at 40%" in text and "compile time under 15 s" in text
    assert (tmp_path / "docs" / "figures" / "perf_scaling.png").stat().st_size > 0


@pytest.mark.slow
def test_multidevice_quick(tmp_path):
    rows = run_quick("multidevice", tmp_path)
    data = [r for r in rows if r["name"] == "data_parallel_train_step"]
    assert [r["sizes"]["devices"] for r in data] == [1, 2]
    assert all(r["sizes"]["max_loss_diff_vs_1"] < 1e-4 for r in data)
    particles = [r for r in rows if r["name"] == "particle_sharded_fivo"]
    assert [r["sizes"]["devices"] for r in particles] == [1, 2]
    assert all(r["sizes"]["log_z"] == pytest.approx(r["sizes"]["log_z_1_device"], abs=1e-3) for r in particles)
    assert "Check: particle_sharded_fivo" in report(tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("script, peer", [("vrnn_fivo", "torch"), ("dmm", "pyro")])
def test_peer_benchmarks_quick(tmp_path, script, peer):
    if importlib.util.find_spec(peer) is None:
        pytest.skip(f"{peer} is installed by `make bench` (requirements-bench.lock), not by the test set-up")
    rows = run_quick(script, tmp_path)
    assert len(rows) == 1 and rows[0]["name"].endswith("_quick")
    assert rows[0]["peer"] in report(tmp_path)
    assert (tmp_path / "docs" / "figures" / f"perf_{script}.png").stat().st_size > 0
