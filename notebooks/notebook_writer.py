"""What every notebooks/make_*.py shares: write the cells as a Python 3 notebook
beside the generators, opening with a cell that installs seqvi where it is not
importable (a colab runtime, say)."""

import pathlib

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}


def install_cell(extras: str) -> nbformat.NotebookNode:
    """Installs seqvi with ``extras`` when it is not importable, from SEQVI_SOURCE: a
    wheel, a clone's path or a git URL (pip's ``seqvi[extras] @ SOURCE``)."""
    return new_code_cell(
        "# Where seqvi is not installed (a colab runtime), install it with the extras this notebook uses:\n"
        "# set SEQVI_SOURCE to a wheel, a clone's path or a git URL of seqvi first.\n"
        "import importlib.util, os, pathlib, subprocess, sys\n"
        "if importlib.util.find_spec('seqvi') is None:\n"
        "    source = os.environ.get('SEQVI_SOURCE')\n"
        "    if not source:\n"
        "        raise RuntimeError('seqvi is not installed: set SEQVI_SOURCE to a wheel, a clone or a git URL of seqvi')\n"
        "    if pathlib.Path(source).exists():\n"
        "        source = pathlib.Path(source).resolve().as_uri()\n"
        f"    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', f'seqvi[{extras}] @ {{source}}'])"
    )


def write(cells: list, name: str, extras: str = "experiments") -> None:
    """notebooks/<name> from ``cells`` (nbformat v4 cells), after the install cell."""
    path = pathlib.Path(__file__).with_name(name)
    nbformat.write(new_notebook(cells=[install_cell(extras), *cells], metadata=KERNEL), path)
    print(f"wrote {path}")
