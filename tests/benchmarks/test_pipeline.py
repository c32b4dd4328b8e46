"""benchmarks/pipeline.py at --quick sizes: the demo loop and one periodic evaluation, before and after."""

import pytest

from bench_helpers import run_quick


@pytest.mark.slow
def test_pipeline_quick(tmp_path):
    rows = run_quick("pipeline", tmp_path)
    assert [r["name"] for r in rows] == ["demo_loop_steps_per_second", "periodic_evaluation"]
    assert rows[0]["sizes"]["steps"] == 20 and rows[1]["sizes"]["particles"] == 16
