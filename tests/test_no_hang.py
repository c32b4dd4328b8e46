"""No seqvi call stops forever: the calls that wedged jaxlib 0.10 on two cores run
in subprocesses with a generous limit, on every environment CI tests, so a hang
fails the suite instead of stalling it.

The probe is GTM-SM's KVAE baseline: batches of 16 navigation walks of 288 steps,
batched Kalman smoothing, with its gradient (two training steps, one evaluation),
with no CPU affinity set. On jaxlib 0.10 with two cores its first step never
finished (a deadlock of the batched LAPACK kernels on XLA's thread pool; see
docs/how-to/building.md) until ``import seqvi`` gave that pool one thread there
(``seqvi._jaxlib``); on jaxlib 0.12 it takes under a minute. The field cases are
the gradient of both Kalman filters against central finite differences and the
parallel smoother of a 50-state model in float32.
"""

import importlib.metadata
import os
import subprocess
import sys

import pytest

from conftest import ROOT

LIMIT_S = 600

# The field's two cases: jax.grad of lgssm.filter and lgssm_parallel.filter (4 states with
# inputs, biases and a random mask, T = 50, float64) beside central finite differences, then
# lgssm_parallel.smoother in float32 on 50 states (A = 0.999 x a random orthogonal matrix,
# Q = 1e-6 I, R = 1e-4 I, P0 = 1e4 I, 50 observed dimensions, T = 200).
FIELD_CASES = """
import warnings
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
from seqvi.ssm import lgssm, lgssm_parallel

rng = np.random.default_rng(0)
n, m, k, T = 4, 3, 2, 50
q, _ = np.linalg.qr(rng.normal(size=(n, n)))
p = lgssm.Params(np.zeros(n), np.eye(n), 0.9 * q, 0.1 * np.eye(n), rng.normal(size=(m, n)), 0.2 * np.eye(m),
                 rng.normal(size=(n, k)), 0.1 * rng.normal(size=n), 0.1 * rng.normal(size=m))
ys, us, mask = rng.normal(size=(T, m)), rng.normal(size=(T, k)), rng.random((T, m)) > 0.3
for module in (lgssm, lgssm_parallel):
    f = lambda a: module.filter(p._replace(transition_matrix=a), ys, us, mask).log_likelihood
    grad = np.asarray(jax.grad(f)(p.transition_matrix))
    for i, j in [(0, 1), (2, 3)]:
        e = np.zeros((n, n))
        e[i, j] = 1e-6
        fd = (f(p.transition_matrix + e) - f(p.transition_matrix - e)) / 2e-6
        assert abs(fd - grad[i, j]) < 1e-5 * max(1.0, abs(fd)), (module.__name__, fd, grad[i, j])
print("gradients agree")

n, T = 50, 200
q, _ = np.linalg.qr(rng.normal(size=(n, n)))
f32 = lambda x: np.asarray(x, np.float32)
p = lgssm.Params(f32(np.zeros(n)), f32(1e4 * np.eye(n)), f32(0.999 * q), f32(1e-6 * np.eye(n)), f32(np.eye(n)),
                 f32(1e-4 * np.eye(n)))
with warnings.catch_warnings():
    warnings.simplefilter("ignore", lgssm.PrecisionWarning)
    s = lgssm_parallel.smoother(p, f32(rng.normal(size=(T, n))))
assert s.smoothed_covs.dtype == np.float32 and np.isfinite(float(s.log_likelihood))
print("smoother done")
"""


def _finishes(command: list[str]) -> subprocess.CompletedProcess:
    try:
        out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=LIMIT_S,
                             env=dict(os.environ, JAX_PLATFORMS="cpu"))
    except subprocess.TimeoutExpired:
        pytest.fail(f"{[c[:80] for c in command[1:3]]} did not finish in {LIMIT_S} s on {os.cpu_count()} cores "
                    f"(jaxlib {importlib.metadata.version('jaxlib')}): it hangs")
    assert out.returncode == 0, out.stderr[-3000:]
    return out


@pytest.mark.slow
def test_kvae_navigation_probe_finishes_on_all_cores(tmp_path):
    out = _finishes([sys.executable, "experiments/train.py", "--config=experiments/configs/gtmsm.py:kvae",
                     f"--workdir={tmp_path / 'probe'}", "--config.num_steps=2", "--config.log_every=1",
                     "--config.eval_every=1000", "--config.batch_size=16", "--config.navigation.num_steps=288",
                     "--config.navigation.num_train=32", "--config.navigation.num_valid=2",
                     "--config.navigation.num_test=2", "--config.eval.batch_size=2"])
    assert "step 2/2" in out.stdout and "eval at step 2" in out.stdout, out.stdout[-2000:]


@pytest.mark.slow  # a probe in a subprocess, up to LIMIT_S
def test_kalman_gradients_and_the_float32_parallel_smoother_finish():
    out = _finishes([sys.executable, "-c", FIELD_CASES])
    assert "gradients agree" in out.stdout and "smoother done" in out.stdout


def test_seqvi_gives_jaxlib_010_one_xla_thread_unless_told_otherwise():
    """On jaxlib 0.10 ``import seqvi`` sets NPROC=1 (XLA's CPU pool size) before
    XLA starts and leaves a user's own NPROC or PJRT_NPROC; on later jaxlib it sets nothing."""
    script = "import os, seqvi; print(os.environ.get('NPROC'))"
    env = {k: v for k, v in os.environ.items() if k != "NPROC"}
    unset = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, env=env)
    own = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                         env=dict(env, NPROC="3"))
    pjrt = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                          env=dict(env, PJRT_NPROC="2"))  # XLA's other name for it, read first
    jaxlib_010 = importlib.metadata.version("jaxlib").startswith("0.10.")
    assert unset.stdout.split() == (["1"] if jaxlib_010 else ["None"]), unset.stderr[-2000:]
    assert own.stdout.split() == ["3"] and pjrt.stdout.split() == ["None"]
