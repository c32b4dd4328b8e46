"""Shared fixtures. Paths to the real benchmark data beside the checkout."""

import pathlib

import jax
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


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
