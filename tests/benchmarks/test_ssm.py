"""benchmarks/ssm.py at --quick sizes: the Kalman and particle-filter rows."""

import importlib.util

import pytest

from bench_helpers import report, run_quick


@pytest.mark.slow
def test_ssm_benchmark_quick(tmp_path):
    rows = run_quick("ssm", tmp_path)
    assert {"kalman_filter_sequential", "kalman_smoother_parallel", "particle_filter_bootstrap",
            "particle_filter_lorenz63"} <= {r["name"] for r in rows}
    cuthbert = [r for r in rows if r["peer"].startswith("cuthbert")]
    assert {r["name"] for r in cuthbert} == {"kalman_filter_sequential", "kalman_smoother_sequential",
                                             "kalman_filter_parallel", "kalman_smoother_parallel",
                                             "particle_filter_lorenz63"}
    assert {r["sizes"]["state_dim"] for r in cuthbert} == {3, 4, 20}  # ours and cuthbert's published sizes
    if importlib.util.find_spec("cuthbert") is None:  # make bench installs it: each row says so
        assert all("cuthbert is not installed" in r["missing"] for r in cuthbert)
    else:
        assert all("compile_seconds" in r for r in cuthbert)
    text = report(tmp_path)
    assert "kalman_filter_sequential" in text and "Target:" in text and "Kalman filter, state dim 4" in text
    assert "compile (s)" in text and "cuthbert" in text
    assert (tmp_path / "docs" / "figures" / "perf_ssm.png").stat().st_size > 0
