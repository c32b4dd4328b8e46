"""benchmarks/multidevice.py at --quick sizes: simulated devices, same losses, sharded FIVO."""

import pytest

from bench_helpers import report, run_quick


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
