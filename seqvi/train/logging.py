"""Metrics to JSON lines and TensorBoard, and human progress lines."""

import json
import pathlib
import time

import numpy as np

from seqvi._extras import MissingExtraError, require


class MetricsWriter:
    """Appends ``{"step": s, **metrics}`` to ``workdir/metrics.jsonl`` and writes
    the same scalars as TensorBoard events under ``workdir/tensorboard``.

    tensorboard: True writes the events (MissingExtraError without tensorboardX, the
    ``experiments`` extra); None writes them when tensorboardX is installed; False never.
    """

    def __init__(self, workdir: str | pathlib.Path, tensorboard: bool | None = None):
        self.path = pathlib.Path(workdir) / "metrics.jsonl"
        self._tensorboardx = None  # the events file is made at the first write: nothing is written before
        self._tb = None
        if tensorboard is not False:
            try:
                self._tensorboardx = require("tensorboardX", "experiments")
            except MissingExtraError:
                if tensorboard:
                    raise

    def write(self, step: int, metrics: dict) -> None:
        scalars = {k: float(np.asarray(v)) for k, v in metrics.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps({"step": int(step), **scalars}) + "\n")
        if self._tensorboardx is not None and self._tb is None:
            self._tb = self._tensorboardx.SummaryWriter(str(self.path.parent / "tensorboard"))
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, int(step))
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(workdir: str | pathlib.Path) -> list[dict]:
    """The rows of ``workdir/metrics.jsonl``."""
    path = pathlib.Path(workdir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Progress:
    """Logs 'step s/N | x steps/s | metrics | ETA' lines. The rate counts the steps
    since the start (or the last ``reset``) less those set apart by ``exclude``
    (the steps that compiled a new batch shape), so the ETA is the remaining
    steps' time at the running rate."""

    def __init__(self, total_steps: int, first_step: int = 0):
        self.total = total_steps
        self._t0, self._s0 = time.perf_counter(), first_step

    def line(self, step: int, metrics: dict) -> str:
        elapsed = time.perf_counter() - self._t0
        rate = (step - self._s0) / elapsed if elapsed > 0 and step > self._s0 else 0.0
        eta = (self.total - step) / rate if rate > 0 else float("nan")
        shown = " | ".join(f"{k} {float(np.asarray(v)):.4g}" for k, v in sorted(metrics.items()))
        return f"step {step}/{self.total} | {rate:.2f} steps/s | {shown} | ETA {_fmt_seconds(eta)}"

    def log(self, step: int, metrics: dict) -> None:
        print(self.line(step, metrics), flush=True)

    def reset(self, step: int) -> None:
        self._t0, self._s0 = time.perf_counter(), step

    def exclude(self, seconds: float, steps: int = 1) -> None:
        """Leave ``steps`` steps that took ``seconds`` (compilation) out of the rate."""
        self._t0 += seconds
        self._s0 += steps


def _fmt_seconds(s: float) -> str:
    if not np.isfinite(s):
        return "?"
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
