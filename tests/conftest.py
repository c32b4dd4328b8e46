"""Shared fixtures. Paths to the real benchmark data beside the checkout.

The suite is dominated by XLA compile time of tiny configs, so before JAX
starts (here, and in every subprocess a test starts, through the environment):

* XLA's backend optimisation is turned down and, on the jaxlib versions where
  it was measured, the CPU's legacy (non-MLIR) fusion emitters are used: code
  generation only, not results (the golden values hold at rtol 1e-5); together
  they halve the compile time of a tiny VRNN/SRNN/DMM/VHRNN train step (7.0 s
  against 14.6 s for eight of them);
* compiled executables go to a persistent compilation cache in ``.cache/jax``
  (ignored by git), so a computation compiled again after ``jax.clear_caches``
  below, or by a training subprocess, is read back instead of recompiled. A
  fresh clone starts with it empty.

Compiled code is kept across test modules until a worker nears the kernel's
limit on memory mappings (``_release_compiled_code``).
"""

import gc
import importlib.metadata
import importlib.util
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

_FLAGS = ["--xla_backend_optimization_level=0"]
if importlib.metadata.version("jaxlib").startswith("0.10."):  # an unknown XLA flag aborts the process
    _FLAGS.append("--xla_cpu_use_fusion_emitters=false")
os.environ["XLA_FLAGS"] = " ".join([os.environ.get("XLA_FLAGS", ""), *_FLAGS]).strip()
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(ROOT / ".cache" / "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

import jax  # noqa: E402
import pytest  # noqa: E402


# The longest test files, longest first: they start first, so that two workers finish
# together instead of one running a long file alone at the end.
LONGEST_FIRST = ["tests/test_wheel.py", "tests/test_experiments.py", "tests/test_dialogue_experiments.py",
                 "tests/benchmarks/test_ssm.py", "tests/benchmarks/test_hardware.py", "tests/test_docs.py",
                 "tests/benchmarks/test_multidevice.py", "tests/benchmarks/test_pipeline.py", "tests/test_golden.py",
                 "tests/models/test_latent_dialogue.py", "tests/models/test_zoo_contract.py"]


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


def load_config(file: str, argument: str | None = None, overrides: dict | None = None):
    """The shipped config ``experiments/configs/<file>`` (``get_config(argument)``, or
    ``get_config()`` without one), with dotted ``overrides`` {'physics.num_train': 64} applied."""
    path = ROOT / "experiments" / "configs" / file
    spec = importlib.util.spec_from_file_location(f"config_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = module.get_config() if argument is None else module.get_config(argument)
    for field, value in (overrides or {}).items():
        node = config
        *path_, last = field.split(".")
        for part in path_:
            node = node[part]
        node[last] = value
    return config


# Compiled executables hold memory mappings; a worker that ran many modules reached the
# kernel's vm.max_map_count (65530: 60419 mappings were seen in one worker) and crashed inside
# the compiler with a segmentation fault. Past this many, they are dropped after a module.
MAX_MAPPINGS = 30000


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """After a test module, drop XLA's compiled executables once the process holds
    ``MAX_MAPPINGS`` memory mappings. Kept until then, the executables of the small
    operations every module runs eagerly (initialisers, arithmetic) are compiled
    once per worker, not once per module (eight model test files in one process:
    268 s dropping them after every module, 237 s and 210 s keeping them)."""
    yield
    if _mappings() > MAX_MAPPINGS:
        jax.clear_caches()
        gc.collect()


def _mappings() -> int:
    """The number of memory mappings of this process (/proc/self/maps; without it, as if at the limit)."""
    try:
        with open("/proc/self/maps") as f:
            return sum(1 for _ in f)
    except OSError:
        return MAX_MAPPINGS + 1


@pytest.fixture
def x64():
    """Run the test body with float64 enabled (numerics tests)."""
    with jax.enable_x64(True):
        yield


@pytest.fixture(scope="session")
def polyphonic_dir():
    path = SHARED_DATA / "polyphonic"
    if not path.is_dir():
        pytest.fail(f"benchmark data not found at {path}: the tests need ../shared/data beside the checkout")
    return path
