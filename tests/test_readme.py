"""The README's Python snippets run as written, in order, in one namespace
(except the "Adding a model" pair: the module is written into a copy of the
package and the config trains through experiments/train.py in a subprocess)."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.slow
def test_readme_snippets_run():
    namespace: dict = {}
    for block in BLOCKS:
        if block.startswith("# seqvi/models/my_model.py") or block.startswith("# experiments/configs/my_model.py"):
            continue
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    assert namespace["more"].shape == (8, 88) and namespace["means"].shape == (8, 88)
    assert "fivo16_per_step" in namespace["evaluate"](namespace["objective"], namespace["state"].params,
                                                      [namespace["batch"]], namespace["jax"].random.key(0))


@pytest.mark.slow
def test_adding_a_model_takes_its_module_and_config(tmp_path):
    """The README's model and config, written where they go, train through the binary."""
    module = next(b for b in BLOCKS if b.startswith("# seqvi/models/my_model.py"))
    config = next(b for b in BLOCKS if b.startswith("# experiments/configs/my_model.py"))
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "seqvi", copy / "seqvi", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "seqvi" / "models" / "my_model.py").write_text(module)  # the new module, in a copy of the package
    (tmp_path / "my_model.py").write_text(config)
    out = subprocess.run(
        [sys.executable, "experiments/train.py", f"--config={tmp_path / 'my_model.py'}",
         f"--workdir={tmp_path / 'run'}", "--config.num_steps=2", "--config.log_every=1",
         "--config.eval_every=2", "--config.synthetic.num_train=8", "--config.synthetic.num_valid=4",
         "--config.synthetic.num_test=4", "--config.synthetic.length=10", "--config.eval.batch_size=4"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=str(copy)))
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    assert "model my_model" in out.stdout and "eval at step 2" in out.stdout
