"""benchmarks/hardware.py, scaling.py and compile.py at --quick sizes, and the report built from their rows."""

import pytest

from bench_helpers import report, run_quick


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
    assert compiled[0]["sizes"] == {"config": "vrnn:jsb"} and compiled[0]["seqvi_seconds"] > 0
    text = report(tmp_path)
    assert "Target: large train step at 40%" in text and "compile time under 15 s" in text
    assert (tmp_path / "docs" / "figures" / "perf_scaling.png").stat().st_size > 0
