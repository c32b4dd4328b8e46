"""Executes the notebooks on a tiny budget (SEQVI_NOTEBOOK_STEPS)."""


import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT


# Each notebook and text its printed output must contain.
NOTEBOOKS = {
    "vrnn_quickstart.ipynb": ["before", "after"],
    "ball_tracking.ipynb": ["parallel smoother agrees: True", "position error in the gap"],
    "model_zoo.ipynb": ["VAE-RNN", "error in the gap", "noisy input"],
    "kvae_bouncing_ball.ipynb": ["parameters", "KVAE smoothing", "blank frames"],
    "vhrnn_system_identification.ipynb": ["parameters", "mean KL in the 5 steps after a boundary"],
    "vmed_dialogue.ipynb": ["VMED (K=3)", "Seq2Seq+attention:", "BLEU-4", "context:"],
    "gtmsm_navigation.ipynb": ["memory: 3 steps", "state: 3 steps", "affine R^2"],
    "localgan_dialogue.ipynb": ["mean free energy: real pairs", "Ent-4 of the pretrained generator", "Rel.",
                                "localgan done", "gan_ael done"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs(name, monkeypatch):
    monkeypatch.setenv("SEQVI_NOTEBOOK_STEPS", "3")
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    for text in NOTEBOOKS[name]:
        assert text in outputs
