"""benchmarks/ssm.py at --quick sizes: the Kalman and particle-filter rows."""

import pytest

from bench_helpers import report, run_quick


@pytest.mark.slow
def test_ssm_benchmark_quick(tmp_path):
    rows = run_quick("ssm", tmp_path)
    assert {"kalman_filter_sequential", "kalman_smoother_parallel", "particle_filter_bootstrap"} <= {
        r["name"] for r in rows}
    text = report(tmp_path)
    assert "kalman_filter_sequential" in text and "Target:" in text and "Kalman filter, state dim 4" in text
    assert (tmp_path / "docs" / "figures" / "perf_ssm.png").stat().st_size > 0
