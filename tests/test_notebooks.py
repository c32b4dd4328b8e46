"""Executes the notebooks on a tiny budget (SEQVI_NOTEBOOK_STEPS)."""

import os

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vrnn_quickstart.ipynb"])
def test_notebook_runs(name, monkeypatch):
    monkeypatch.setenv("SEQVI_NOTEBOOK_STEPS", "3")
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert "before" in outputs and "after" in outputs
