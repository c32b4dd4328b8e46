"""The README's Python blocks run as written, in order, in one namespace."""

import math
import re

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


@pytest.mark.slow
def test_readme_snippets_run():
    namespace: dict = {}
    for block in BLOCKS:
        exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102
    r, x = namespace["r"], namespace["x"]
    assert math.isfinite(float(r.bound)) and float(r.bound) < 0
    assert r.increments.shape == (x.shape[0],) and r.diagnostics.ess.shape == (x.shape[0],)


def test_readme_is_a_front_door():
    """About 200 lines at most, no commit hashes, every relative link resolves."""
    assert len(README.splitlines()) <= 200
    assert not re.search(r"\b[0-9a-f]{7,40}\b", README), "a commit hash in the README"
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
