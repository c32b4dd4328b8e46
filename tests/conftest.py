"""Shared fixtures. Paths to the real benchmark data beside the checkout.

The suite is dominated by XLA compile time of tiny configs, so XLA's backend
optimisation is turned down here (before JAX starts): it changes code
generation, not results.
"""

import gc
import os
import pathlib

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_code():
    """Drop XLA's compiled executables after each test module. Each holds a few
    memory mappings, and a worker that runs many modules reached the kernel's
    vm.max_map_count (65530: 60419 mappings were seen in one worker) and crashed
    inside the compiler with a segmentation fault."""
    yield
    jax.clear_caches()
    gc.collect()


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
