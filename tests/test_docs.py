"""The documentation site: built strict, every Python block of every page runs,
every public module has an API page, and the commands name files that exist.

A page's Python blocks run in order in one namespace. Blocks that open with a
file's path (``# seqvi/models/my_model.py``) are that file's contents: the
"Adding a model" pair is written where it goes and trained through the binary.
"""

import json
import os
import pathlib
import pkgutil
import re
import shutil
import subprocess
import sys

import pytest

import seqvi
from conftest import ROOT

DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "notebooks" not in p.parts)
FILE_BLOCK = re.compile(r"# (seqvi|experiments)/\S+\.py\n")


def _blocks(path: pathlib.Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


PYTHON_PAGES = [p for p in PAGES if any(not FILE_BLOCK.match(b) for b in _blocks(p, "python"))]
# What some pages' blocks must print.
PRINTS = {"getting-started.md": ["(8, 88) (8, 88)", "'fivo16_per_step'"],
          "concepts/bounds-and-smc.md": ["FIVO(1) is the ELBO: True"]}


def test_the_site_has_runnable_pages():
    names = {p.relative_to(DOCS).as_posix() for p in PYTHON_PAGES}
    assert {"getting-started.md", "models/zoo.md", "models/ssm.md", "concepts/bounds-and-smc.md"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_snippets_run(page, tmp_path):
    """In a fresh process, as a reader would (a page may set JAX options before JAX starts)."""
    script = tmp_path / "page.py"
    script.write_text("\n".join(b for b in _blocks(page, "python") if not FILE_BLOCK.match(b)))
    out = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"{page.relative_to(ROOT)}:\n{out.stderr[-3000:]}"
    for text in PRINTS.get(page.relative_to(DOCS).as_posix(), []):
        assert text in out.stdout, (text, out.stdout[-2000:])


def test_every_public_module_has_an_api_page():
    referenced = set(re.findall(r"^::: ([\w.]+)", "\n".join(p.read_text() for p in (DOCS / "api").glob("*.md")),
                                re.M))
    public = {m.name for m in pkgutil.walk_packages(seqvi.__path__, "seqvi.")
              if not any(part.startswith("_") for part in m.name.split("."))}
    assert len(public) > 50
    assert not public - referenced, f"modules without an API page: {sorted(public - referenced)}"


def test_commands_name_files_that_exist():
    """Every repository path a shell block of the site or the README names exists
    (a config's ':variant' after the file is not part of the path)."""
    texts = [(p, b) for p in [*PAGES, ROOT / "README.md"] for b in _blocks(p, "bash")]
    assert len(texts) > 10
    for page, block in texts:
        for path in re.findall(r"(?<![\w/.])((?:experiments|benchmarks|notebooks|tests|seqvi)/[\w/.-]+\.(?:py|sh|ipynb))",
                               block):
            assert (ROOT / path).exists(), f"{page.relative_to(ROOT)} names {path}, which does not exist"


@pytest.mark.slow
def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs tools are in the primary environment's lock only")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert out.returncode == 0, out.stderr[-4000:]
    site = tmp_path / "site"
    for page in ["index.html", "api/models/index.html", "notebooks/vrnn_quickstart/index.html",
                 "concepts/bounds-and-smc/index.html", "changelog/index.html"]:
        assert (site / page).is_file(), page
    assert 'id="seqvi.models.vrnn.VRNN"' in (site / "api/models/index.html").read_text()
    assert seqvi.__version__ in (site / "changelog/index.html").read_text()


@pytest.mark.slow
def test_adding_a_model_takes_its_module_and_config(tmp_path):
    """The how-to's model and config, written where they go, train through the binary."""
    blocks = _blocks(DOCS / "how-to" / "adding-a-model.md", "python")
    module = next(b for b in blocks if b.startswith("# seqvi/models/my_model.py"))
    config = next(b for b in blocks if b.startswith("# experiments/configs/my_model.py"))
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


@pytest.mark.slow
def test_a_users_data_set_trains_and_evaluates_through_the_binaries(tmp_path):
    """own-data.md's data set, in a module of the user's, trains through
    experiments/train.py and is found again by experiments/evaluate.py (a new
    process) through config.dataset_module."""
    block = next(b for b in _blocks(DOCS / "how-to" / "own-data.md", "python") if "class Sines" in b)
    (tmp_path / "my_sines.py").write_text(block)
    (tmp_path / "my_config.py").write_text(
        "import my_sines\nfrom seqvi.train.experiment import dataset_config\n\n\n"
        "def get_config():\n"
        "    return dataset_config('sines', dict(name='vrnn', latent_dim=2, rnn_dim=8, hidden_dim=8))\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    workdir = tmp_path / "run"
    train = subprocess.run(
        [sys.executable, "experiments/train.py", f"--config={tmp_path / 'my_config.py'}", f"--workdir={workdir}",
         "--config.num_steps=2", "--config.log_every=1", "--config.eval_every=2", "--config.num_particles=2",
         "--config.eval.num_particles=2", "--config.sines.num_train=8", "--config.sines.num_steps=12"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert train.returncode == 0, train.stdout[-2000:] + train.stderr[-3000:]
    assert "eval at step 2" in train.stdout
    record = json.loads((workdir / "data.json").read_text())
    assert record["dataset"] == "sines" and record["generator"]["num_train"] == 8
    evaluate = subprocess.run(
        [sys.executable, "experiments/evaluate.py", f"--workdir={workdir}", "--num_particles=2", "--split=valid",
         "--bounds=fivo"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert evaluate.returncode == 0, evaluate.stdout[-2000:] + evaluate.stderr[-3000:]
    assert "valid FIVO(2) per timestep" in evaluate.stdout
