"""seqvi as a user installs it: the wheel and the sdist, installed into a clean
environment where jax was installed first.

One environment, in two stages. First the wheel alone: jax stays as it was, no
package that only an extra brings arrives, the README's example runs, and a
missing extra is one line naming it. Then the wheel with the ``experiments`` extra:
one tiny training through ``experiments/train.py``, and every notebook, executed by
a kernel of that environment (tiny budgets: SEQVI_NOTEBOOK_STEPS=3).

Packages come from the package registry, at the versions of the lock file of the
running interpreter (jax and jaxlib are left free once jax is in, so the test shows that seqvi's
ranges keep the jax the user has). Every command runs outside the checkout, so
the checkout's own seqvi is never imported.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile

import nbformat
import pytest
from nbclient import NotebookClient

import seqvi
from conftest import ROOT

pytestmark = pytest.mark.slow

# The lock of the environment running the tests (the oldest one's on Python 3.11).
LOCK = ROOT / ("requirements.lock" if sys.version_info >= (3, 12) else "requirements-oldest.lock")
JAX_PIN = next(line for line in LOCK.read_text().splitlines() if line.startswith("jax=="))
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]

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

# Lists, for every installed distribution, its name and the names its requirements
# without an extra marker name (a graph to walk from seqvi's core requirements).
DISTRIBUTIONS = """
import importlib.metadata, json, re
graph = {}
for d in importlib.metadata.distributions():
    reqs = [r for r in (d.requires or []) if "extra ==" not in r]
    graph[re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower()] = [
        re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", r).group(0)).lower() for r in reqs]
print(json.dumps(graph))
"""


# uv where the suite's environment has it (make install puts it there): it installs the lock's
# versions from the wheels its cache holds, where pip downloads jax and the rest again (the
# ``venv`` fixture: 48 s with pip in a fresh-clone CI run, 20 s with uv here). It byte-compiles,
# as pip does (without, the README example's first import took 14 s, not 6 s). pip otherwise.
UV = pathlib.Path(sys.executable).parent / "uv"


def _install(python, *requirements):
    """Install into the environment of ``python``, outside the checkout."""
    if UV.exists():
        installer = [UV, "pip", "install", "--compile-bytecode", "--python", python]
    else:
        installer = [python, "-m", "pip", "install"]
    return _run([*installer, "-q", *requirements], cwd=pathlib.Path(python).parents[2])


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _run(command, cwd, timeout=900, env=None):
    out = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env=env or _clean_env())
    assert out.returncode == 0, f"{command}\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out


def _clean_env():
    """The suite's environment without the virtualenv's and the checkout's paths."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out)
    wheel = next(out.glob(f"seqvi-{seqvi.__version__}-py3-none-any.whl"))
    sdist = next(out.glob(f"seqvi-{seqvi.__version__}.tar.gz"))
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(tmp_path_factory, dist):
    """A clean environment with jax first, then the wheel with no extra."""
    wheel, _ = dist
    root = tmp_path_factory.mktemp("venv")
    _run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", root / "env"], cwd=root)
    python = root / "env" / "bin" / "python"
    pins = root / "pins.txt"  # the lock without jax and jaxlib
    pins.write_text("\n".join(line for line in LOCK.read_text().splitlines()
                              if not line.startswith(("jax==", "jaxlib=="))))
    _install(python, "-c", pins, JAX_PIN)
    before = _run([python, "-c", "import jax, jaxlib; print(jax.__version__, jaxlib.__version__)"], cwd=root).stdout
    _install(python, "-c", pins, wheel)
    return python, root, pins, before


def test_wheel_and_sdist_hold_the_embedded_data_and_the_licence(dist):
    wheel, sdist = dist
    names = zipfile.ZipFile(wheel).namelist()
    for path in ["seqvi/data/embedded/JSB_Chorales.mat", "seqvi/data/embedded/README.md", "seqvi/py.typed",
                 "seqvi/_version.py"]:
        assert path in names, path
    assert any(n.startswith("seqvi/data/embedded/chatterbot_english/") and n.endswith(".yml") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "experiments/", "docs/")) for n in names)
    members = tarfile.open(sdist).getnames()
    prefix = f"seqvi-{seqvi.__version__}/"
    for path in ["seqvi/data/embedded/JSB_Chorales.mat", "LICENSE", "pyproject.toml", "seqvi/py.typed"]:
        assert prefix + path in members, path


def test_installing_the_wheel_keeps_jax_and_brings_no_extra(venv):
    python, root, _, before = venv
    after = _run([python, "-c", "import jax, jaxlib; print(jax.__version__, jaxlib.__version__)"], cwd=root).stdout
    assert after == before and before.split()[0] == JAX_PIN.split("==")[1]
    graph = json.loads(_run([python, "-c", DISTRIBUTIONS], cwd=root).stdout)
    reached, frontier = set(), ["seqvi"]
    while frontier:  # everything seqvi's core requirements bring, transitively
        name = frontier.pop()
        if name not in reached and name in graph:
            reached.add(name)
            frontier += graph[name]
    extra_only = {_norm(re.match(r"[A-Za-z0-9_.-]+", r).group(0)) for reqs in EXTRAS.values() for r in reqs} - reached
    assert {"tensorflow-datasets", "matplotlib", "gensim", "pymunk", "miniworld", "ml-collections"} <= extra_only
    assert not extra_only & set(graph), f"installed without being asked for: {sorted(extra_only & set(graph))}"


def test_readme_example_runs_from_the_wheel(venv):
    python, root, _, _ = venv
    example = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)[0]
    script = root / "example.py"
    script.write_text("import seqvi\nassert 'site-packages' in seqvi.__file__, seqvi.__file__\n" + example)
    out = _run([python, script], cwd=root)
    assert float(out.stdout.split()[0]) < 0  # log Z-hat in nats


def test_a_missing_extra_is_one_line_naming_it(venv):
    python, root, _, _ = venv
    out = subprocess.run([str(python), "-c", "import seqvi.plot"], cwd=root, capture_output=True, text=True,
                         timeout=300, env=_clean_env())
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == ("seqvi._extras.MissingExtraError: matplotlib is not installed; "
                                                   "this part of seqvi needs the 'plots' extra: "
                                                   "pip install 'seqvi[plots]'")


@pytest.fixture(scope="module")
def experiments_venv(venv, dist):
    """The same environment with seqvi taken out, then put back with the experiments extra by
    the notebooks' own first cell (SEQVI_SOURCE: the wheel), and a Jupyter kernel."""
    python, root, pins, _ = venv
    wheel, _ = dist
    _run([python, "-m", "pip", "uninstall", "-q", "-y", "seqvi"], cwd=root)
    install = nbformat.read(ROOT / "notebooks" / "vrnn_quickstart.ipynb", as_version=4).cells[0].source
    _run([python, "-c", install], cwd=root, env=dict(_clean_env(), SEQVI_SOURCE=str(wheel), PIP_CONSTRAINT=str(pins)))
    _run([python, "-c", "import seqvi.train.experiment, seqvi.plot, seqvi.data.tfds_polyphonic"], cwd=root)
    _install(python, "-c", pins, "ipykernel")
    _run([python, "-m", "ipykernel", "install", "--prefix", root / "jupyter", "--name", "seqvi-wheel"], cwd=root)
    return python, root


def test_the_binary_trains_from_the_wheel(experiments_venv):
    python, root = experiments_venv
    out = _run([python, ROOT / "experiments" / "train.py", f"--config={ROOT / 'experiments/configs/vrnn.py'}",
                f"--workdir={root / 'run'}", "--config.num_steps=2", "--config.log_every=1",
                "--config.eval_every=2", "--config.eval.batch_size=4"], cwd=root)
    assert "eval at step 2" in out.stdout
    assert (root / "run" / "metrics.jsonl").is_file()


@pytest.mark.parametrize("name", sorted(NOTEBOOKS))
def test_notebook_runs_from_the_wheel(name, experiments_venv, monkeypatch):
    python, root = experiments_venv
    monkeypatch.setenv("SEQVI_NOTEBOOK_STEPS", "3")
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter" / "share" / "jupyter"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    install = nbformat.read(ROOT / "notebooks" / "vrnn_quickstart.ipynb", as_version=4).cells[0].source
    assert nb.cells[0].source == install  # every notebook opens with the install cell the fixture ran
    nb.cells.insert(1, nbformat.v4.new_code_cell("import seqvi; print('seqvi from', seqvi.__file__)"))
    NotebookClient(nb, timeout=600, kernel_name="seqvi-wheel", resources={"metadata": {"path": str(root)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0].get("traceback", "")[-3:] if errors else ""
    outputs = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
    assert f"seqvi from {root}" in outputs
    for text in NOTEBOOKS[name]:
        assert text in outputs
