"""The core needs no extra; every optional import names an extra pyproject.toml
declares, and a missing one is a one-line error naming it."""

import importlib.metadata
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]
REQUIRES = re.findall(r'require\("([\w.]+)", "(\w+)"\)',
                      "".join(p.read_text() for p in (ROOT / "seqvi").rglob("*.py")))

# Imports of these raise ModuleNotFoundError in the subprocess: the packages only extras bring.
BLOCKER = """
import importlib.abc, sys
BLOCKED = {blocked!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _core_closure() -> set[str]:
    """The distributions seqvi's core requirements bring, transitively (in this environment)."""
    reached, frontier = set(), ["seqvi"]
    while frontier:
        name = frontier.pop()
        if name in reached:
            continue
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        reached.add(name)
        frontier += [_norm(re.match(r"[A-Za-z0-9_.-]+", r).group(0)) for r in requires if "extra ==" not in r]
    return reached


def _extra_only_modules() -> list[str]:
    """Top-level modules of every distribution that only an extra brings: what the core may not import."""
    closure = _core_closure()
    extra_only = {_norm(re.match(r"[A-Za-z0-9_.-]+", r).group(0)) for reqs in EXTRAS.values() for r in reqs
                  if not r.startswith("seqvi")} - closure
    modules = set()
    for module, dists in importlib.metadata.packages_distributions().items():
        names = {_norm(d) for d in dists}
        if names & extra_only and not names & closure and module.isidentifier():
            modules.add(module)
    return sorted(modules)


EXTRA_ONLY = _extra_only_modules()


def _run(code: str, blocked=EXTRA_ONLY) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=blocked) + code], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_the_blocked_modules_are_the_extras():
    assert {"tensorflow_datasets", "matplotlib", "gensim", "pymunk", "miniworld", "ml_collections", "mido",
            "tensorboardX", "pytest", "dynamax", "nltk"} <= set(EXTRA_ONLY)
    assert not {"jax", "flax", "optax", "distrax", "numpy", "scipy", "yaml", "absl", "orbax"} & set(EXTRA_ONLY)


def _expand(extra: str) -> set[str]:
    """The distribution names an extra installs, self-references expanded."""
    names = set()
    for req in EXTRAS[extra]:
        name = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
        if name == "seqvi":
            for inner in re.search(r"\[(.*)\]", req).group(1).split(","):
                names |= _expand(inner.strip())
        else:
            names.add(name.lower().replace("_", "-"))
    return names


def test_every_optional_import_names_a_declared_extra_that_installs_it():
    assert len(REQUIRES) >= 10
    distributions = importlib.metadata.packages_distributions()
    for module, extra in REQUIRES:
        assert extra in EXTRAS, f"require({module!r}, {extra!r}): no such extra in pyproject.toml"
        dists = {d.lower().replace("_", "-") for d in distributions[module.split(".")[0]]}
        assert dists & _expand(extra), f"{module} comes from {dists}, which the '{extra}' extra does not install"


def test_core_imports_without_any_extra():
    code = """
import importlib, pkgutil
import seqvi
for name in ["seqvi.core", "seqvi.smc", "seqvi.bounds", "seqvi.ssm", "seqvi.models", "seqvi.nn", "seqvi.dist",
             "seqvi.imputation", "seqvi.diagnostics", "seqvi.train", "seqvi.data", "seqvi.datasets", "seqvi.generation",
             "seqvi.metrics"]:
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + "."):
        if name in ("seqvi.ssm", "seqvi.models", "seqvi.nn", "seqvi.smc"):
            importlib.import_module(info.name)
from seqvi.train import Trainer
print("core ok", seqvi.__version__)
"""
    out = _run(code)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"core ok {importlib.metadata.version('seqvi')}" in out.stdout


@pytest.mark.parametrize("module, extra", [("seqvi.plot", "plots"), ("seqvi.data.tfds_polyphonic", "data"),
                                           ("seqvi.train.experiment", "experiments")])
def test_a_missing_extra_is_one_line_naming_it(module, extra):
    out = _run(f"import {module}")
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("seqvi._extras.MissingExtraError: ") and f"pip install 'seqvi[{extra}]'" in last, last


def test_the_pipeline_names_its_extra_on_first_use():
    out = _run("import seqvi.train as t\nt.train_and_evaluate")
    assert out.returncode == 1 and "pip install 'seqvi[experiments]'" in out.stderr.strip().splitlines()[-1]


def test_version_in_one_place():
    from seqvi import __version__
    from seqvi._version import __version__ as written

    assert __version__ == written == importlib.metadata.version("seqvi")
    assert "version" in PYPROJECT["project"]["dynamic"] and "version" not in PYPROJECT["project"]
    assert pathlib.Path(ROOT / "seqvi" / "py.typed").exists()


def test_the_release_files_name_this_version():
    from seqvi import __version__

    assert f"\nversion: {__version__}\n" in (ROOT / "CITATION.cff").read_text()
    assert f"\n## {__version__} (" in (ROOT / "CHANGELOG.md").read_text()
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "END OF TERMS AND CONDITIONS" in (
        ROOT / "LICENSE").read_text()


def test_the_trainer_checkpoints_and_logs_without_the_experiments_extra(tmp_path):
    out = _run(f"""
import jax.numpy as jnp, optax
from seqvi.train import Trainer
loss = lambda params, batch, key, step: (jnp.sum((params - batch["xs"].mean(0)) ** 2), {{}})
trainer = Trainer(loss, optax.sgd(0.1), workdir={str(tmp_path)!r}, checkpoint_every=1)
state = trainer.init_state(jnp.ones(3))
for _ in range(2):
    state, metrics = trainer.step(state, {{"xs": jnp.zeros((2, 3))}})
trainer.close()
print("trained", float(metrics["loss"]))
""")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "trained" in out.stdout
    assert (tmp_path / "checkpoints").is_dir() and not (tmp_path / "tensorboard").exists()
