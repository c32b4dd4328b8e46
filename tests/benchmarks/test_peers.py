"""The PyTorch and Pyro peer benchmarks at --quick sizes; skipped, with the reason, where
`make bench` has not installed the peers (requirements-bench.lock)."""

import importlib.util

import pytest

from bench_helpers import report, run_quick


@pytest.mark.slow
@pytest.mark.parametrize("script, peer", [("vrnn_fivo", "torch"), ("dmm", "pyro")])
def test_peer_benchmarks_quick(tmp_path, script, peer):
    if importlib.util.find_spec(peer) is None:
        pytest.skip(f"{peer} is installed by `make bench` (requirements-bench.lock), not by the test set-up")
    rows = run_quick(script, tmp_path)
    assert rows and all(r["name"].endswith("_quick") for r in rows)  # dmm adds its before/after row
    assert rows[0]["peer"] in report(tmp_path)
    assert (tmp_path / "docs" / "figures" / f"perf_{script}.png").stat().st_size > 0


@pytest.mark.slow
def test_speech_benchmark_quick(tmp_path):
    """The speech VRNN-Gauss step against PyTorch and against the matmul peak
    measured in the same run, on real FSDD frames."""
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch is installed by `make bench` (requirements-bench.lock), not by the test set-up")
    rows = {r["name"]: r for r in run_quick("speech", tmp_path)}
    assert set(rows) == {"matmul_peak", "speech_vrnn_train_step_quick", "speech_vrnn_vs_peak_quick"}
    peak = rows["speech_vrnn_vs_peak_quick"]
    assert peak["sizes"]["steps_per_second"] > 0 and 0 < peak["ratio"] < 1  # a fraction of the peak
    assert rows["speech_vrnn_train_step_quick"]["peer"] in report(tmp_path)
    assert (tmp_path / "docs" / "figures" / "perf_speech.png").stat().st_size > 0
