"""One import direction: core <- smc <- bounds <- models <- train, ssm never
imports models, models never import data. The contracts live in pyproject.toml
([tool.importlinter]); import-linter sees imports inside functions too, so a
lazy import cannot dodge them."""

import pathlib
import subprocess
import sys

from conftest import ROOT

BIN = pathlib.Path(sys.executable).parent  # the environment running the tests
LINT = str(BIN / "lint-imports")


def _lint(*args):
    return subprocess.run([LINT, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": f"{BIN}:/usr/bin:/bin"})


def test_import_contracts_are_kept():
    out = _lint("--no-cache")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_a_violation_is_reported(tmp_path):
    """The same tool fails on an import that breaks a contract (models import core)."""
    config = tmp_path / "violation.toml"
    config.write_text('[tool.importlinter]\nroot_package = "seqvi"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "models may not import core"\ntype = "forbidden"\nsource_modules = ["seqvi.models"]\n'
                      'forbidden_modules = ["seqvi.core"]\n')
    out = _lint("--no-cache", "--config", str(config))
    assert out.returncode != 0 and "BROKEN" in out.stdout.upper(), out.stdout[-2000:]
