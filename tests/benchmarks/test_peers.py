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
