"""What every notebooks/make_*.py shares: write the cells as a Python 3 notebook
beside the generators."""

import pathlib

import nbformat
from nbformat.v4 import new_notebook

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def write(cells: list, name: str) -> None:
    """notebooks/<name> from ``cells`` (nbformat v4 cells)."""
    path = pathlib.Path(__file__).with_name(name)
    nbformat.write(new_notebook(cells=cells, metadata=KERNEL), path)
    print(f"wrote {path}")
