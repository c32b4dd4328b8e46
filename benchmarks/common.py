"""Shared helpers for the benchmark scripts: timing, device description, results.

Every benchmark writes ``benchmarks/results/<name>.json``: a list of rows with
keys name, seqvi_seconds, peer, peer_seconds, ratio (= peer_seconds /
seqvi_seconds, so above 1 means seqvi is faster), sizes and device.
"""

import json
import os
import pathlib
import platform
import statistics
import time

import jax
from absl import flags

FLAGS = flags.FLAGS
flags.DEFINE_bool("quick", False, "tiny sizes: checks that the script runs (not a measurement)")
flags.DEFINE_string("out_dir", None, "where to write the results JSON (default benchmarks/results)")

RESULTS_DIR = pathlib.Path(__file__).resolve().parent / "results"


def single_threaded_eigen() -> None:
    """Run XLA's CPU kernels on one Eigen thread. Its multi-threaded pool can wedge
    (every thread parked on a futex) on large vmapped graphs; it happened here in the
    T = 10000 parallel Kalman filter. Applies to seqvi and its peer alike; call it
    before the first computation creates the CPU client."""
    if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false").strip()


def block(tree):
    return jax.tree.map(lambda x: x.block_until_ready() if hasattr(x, "block_until_ready") else x, tree)


def _calls_per_sample(fn, args, min_seconds):
    block(fn(*args))  # compile
    start = time.perf_counter()
    block(fn(*args))
    return max(1, int(min_seconds / max(time.perf_counter() - start, 1e-7)))


def _sample(fn, args, inner):
    start = time.perf_counter()
    for _ in range(inner):
        out = fn(*args)
    block(out)
    return (time.perf_counter() - start) / inner


SETTLE_SECONDS = 0.3


def compare(ours, our_args, peer, peer_args, repeats: int = 9, min_seconds: float = 0.2) -> tuple[float, float]:
    """Median seconds per call of two functions, sampled alternately (ours, peer,
    ours, ...) so that drift in machine load hits both alike. Before each sample
    the process sleeps ``SETTLE_SECONDS``: thread pools (OpenBLAS, OpenMP, Eigen)
    keep spinning for a while after their last call, and would otherwise take
    cores from whichever library runs next (measured here: a 2048 matmul in XLA
    ran at 205 GFLOP/s right after numpy's and 309 GFLOP/s alone)."""
    inner_a = _calls_per_sample(ours, our_args, min_seconds)
    inner_b = _calls_per_sample(peer, peer_args, min_seconds)
    a, b = [], []
    for _ in range(repeats):
        time.sleep(SETTLE_SECONDS)
        a.append(_sample(ours, our_args, inner_a))
        time.sleep(SETTLE_SECONDS)
        b.append(_sample(peer, peer_args, inner_b))
    return statistics.median(a), statistics.median(b)


def device() -> str:
    d = jax.devices()[0]
    return f"{d.platform}:{d.device_kind} x{jax.device_count()} ({os.cpu_count()} host cores, {platform.machine()})"


def row(name: str, seqvi_seconds: float, peer: str, peer_seconds: float, compile_seconds: tuple | None = None,
        **sizes) -> dict:
    """One result; ``compile_seconds`` (seqvi's, the peer's), where measured, is kept apart
    from the run times, which exclude it."""
    r = {
        "name": name,
        "seqvi_seconds": seqvi_seconds,
        "peer": peer,
        "peer_seconds": peer_seconds,
        "ratio": peer_seconds / seqvi_seconds,
        "sizes": sizes,
        "device": device(),
    }
    if compile_seconds is not None:
        r["compile_seconds"] = {"seqvi": compile_seconds[0], "peer": compile_seconds[1]}
    return r


def missing_row(name: str, peer: str, why: str, **sizes) -> dict:
    """A row that did not run, and why (shown in the table in place of its times)."""
    return {"name": name, "peer": peer, "missing": why, "sizes": sizes, "device": device()}


def compiled(jitted, args) -> tuple:
    """(the compiled executable of a jitted function for ``args``, seconds to lower and compile
    it). JAX's in-memory caches are cleared and its persistent cache is off, so the seconds are
    a compile, not a cache read; time the executable itself, so it is not compiled again."""
    jax.config.update("jax_enable_compilation_cache", False)
    jax.clear_caches()
    start = time.perf_counter()
    executable = jitted.lower(*args).compile()
    return executable, time.perf_counter() - start


def write(name: str, rows: list[dict], out_dir: str | os.PathLike | None = None) -> pathlib.Path:
    out = pathlib.Path(out_dir) if out_dir else RESULTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(rows, indent=1) + "\n")
    return path


def print_row(r: dict) -> None:
    sizes = " ".join(f"{k}={v}" for k, v in r["sizes"].items())
    if "missing" in r:
        print(f"{r['name']:<28} {sizes:<28} not run against {r['peer']}: {r['missing']}", flush=True)
        return
    compiled = (f" | compile {r['compile_seconds']['seqvi']:.2f} s vs {r['compile_seconds']['peer']:.2f} s"
                if "compile_seconds" in r else "")
    print(f"{r['name']:<28} {sizes:<28} seqvi {r['seqvi_seconds'] * 1e3:10.3f} ms | "
          f"{r['peer']:<22} {r['peer_seconds'] * 1e3:10.3f} ms | ratio {r['ratio']:6.2f}{compiled}", flush=True)


def time_call(fn, args=(), repeats: int = 9, min_seconds: float = 0.2) -> float:
    """Median seconds per call of ``fn(*args)`` after a warm-up (compile) call."""
    inner = _calls_per_sample(fn, args, min_seconds)
    return statistics.median(_sample(fn, args, inner) for _ in range(repeats))


def jsb_windows(num: int, num_steps: int):
    """``num`` windows of ``num_steps`` steps [num, T, 88] cut from the embedded JSB
    chorales' training set laid end to end (cycled if too short), and the training
    mean [88]: real piano rolls at a fixed length, so every sequence is full."""
    import numpy as np

    from seqvi.data import polyphonic

    train = polyphonic.load_polyphonic(polyphonic.embedded_jsb_path())["train"]
    stream = np.concatenate(train, 0)
    need = num * num_steps
    stream = np.tile(stream, (-(-need // len(stream)), 1))[:need]
    return stream.reshape(num, num_steps, -1).astype(np.float32), polyphonic.training_mean(train).astype(np.float32)
