"""The trainer: one jit-compiled optimisation step over any objective
(``seqvi.core.Objective``, or a bare ``loss(params, batch, key, step) ->
(loss, metrics)``), data parallel over a
``jax.sharding.Mesh`` with a 'data' axis, with orbax checkpoints, a NaN/Inf
guard, metrics (JSON lines + TensorBoard) and progress lines.

Determinism: the PRNG key of step s is ``fold_in(key(seed), s)`` and the batch of
step s comes from a ``BatchSchedule``, so a run resumed from a checkpoint at step s
produces exactly the parameters an uninterrupted run would.

The loop does not wait for the device between steps: metrics stay on the device
and are read (with the NaN/Inf guard) only at log, evaluation and checkpoint
steps, where a non-finite step is still named exactly.
"""

import contextlib
import errno
import json
import logging
import pathlib
import shutil
import time
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from seqvi.core import Objective
from seqvi.train.logging import MetricsWriter, Progress


def describe_error(error: Exception) -> str:
    """``Type: first line of the message`` (at most 200 characters) of ``error``."""
    message = str(error).strip()
    return f"{type(error).__name__}: {message.splitlines()[0][:200]}" if message else type(error).__name__


class CheckpointError(RuntimeError):
    """No checkpoint of the workdir can be read, or one cannot be written for want of disk space."""


def disk_full(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, says the disk is full: an
    OSError with errno ENOSPC, or tensorstore's 'No space left on device' /
    os_error_code 28 (how orbax reports a full disk, inside a RESOURCE_EXHAUSTED
    error that out-of-memory errors share)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(error) or f"os_error_code='{errno.ENOSPC}'" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


# The disk space a checkpoint takes against its arrays' bytes: measured, orbax's files of the
# default VRNN's train state (312 KB of arrays) took 468 KB, its parameters alone (104 KB)
# 208 KB; 1.25 x the arrays + 256 KB covers both.
_CHECKPOINT_SCALE, _CHECKPOINT_OVERHEAD = 1.25, 256 * 1024


class _DiskFullRecords(logging.Filter):
    """Drops the log records (orbax's, with their tracebacks) of a write that found the
    disk full: the CheckpointError that follows says it in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (disk_full(error) if error else "No space left on device" in record.getMessage())


def megabytes(num_bytes: float) -> str:
    """``num_bytes`` as ``"12.3 MB"``."""
    return f"{num_bytes / 1e6:.1f} MB"


class NonFiniteError(FloatingPointError):
    """The loss or the parameters became NaN/Inf; no checkpoint was written for it."""


class TrainState(NamedTuple):
    step: jax.Array  # [] int32
    params: Any
    opt_state: Any


def all_finite(tree) -> jax.Array:
    """True iff every leaf of ``tree`` is finite."""
    leaves = [jnp.isfinite(x).all() for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.asarray(True)


def data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: all) with axis name 'data'."""
    devices = jax.devices() if devices is None else devices
    return Mesh(np.asarray(devices), ("data",))


class Trainer:
    """Builds and runs the jit-compiled step.

    Args:
      objective: a ``seqvi.core.Objective`` or ``loss(params, batch, key, step) ->
        (scalar loss, metrics dict)`` (step-dependent weights such as KL
        annealing are the objective's).
      optimizer: an optax transformation.
      workdir: where checkpoints, metrics.jsonl and TensorBoard events go (None:
        nothing is written).
      mesh: a Mesh with a 'data' axis; batches are sharded along it and params
        replicated. Default: all local devices.
      seed: base PRNG seed.
      checkpoint_every: steps between checkpoints; max_to_keep: how many to keep.
      tensorboard: write TensorBoard events (None: when tensorboardX, of the
        ``experiments`` extra, is installed).
      write_metrics: write any metrics (an evaluation that only restores
        checkpoints writes neither metrics nor TensorBoard events).
    """

    def __init__(
        self,
        objective: Objective | Callable,
        optimizer: optax.GradientTransformation,
        workdir: str | pathlib.Path | None,
        *,
        mesh: Mesh | None = None,
        seed: int = 0,
        checkpoint_every: int = 500,
        max_to_keep: int = 2,
        tensorboard: bool | None = None,
        write_metrics: bool = True,
    ):
        self.loss_fn = objective.loss if isinstance(objective, Objective) else objective
        self.optimizer = optimizer
        self.workdir = pathlib.Path(workdir) if workdir is not None else None
        self.mesh = mesh if mesh is not None else data_mesh()
        self.seed = seed
        self.checkpoint_every = checkpoint_every
        self._replicated = NamedSharding(self.mesh, P())
        self._batch_sharding = NamedSharding(self.mesh, P("data"))
        self._step_fn = jax.jit(
            self._step,
            in_shardings=(self._replicated, self._batch_sharding),
            out_shardings=(self._replicated, self._replicated),
            donate_argnums=(0,),
        )
        self._manager = None
        self._best = None
        self._best_value = -np.inf
        self._writer = None
        if self.workdir is not None:
            self._manager = ocp.CheckpointManager(
                (self.workdir / "checkpoints").absolute(),
                options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
            )
            self._best = ocp.CheckpointManager(
                (self.workdir / "best").absolute(),
                options=ocp.CheckpointManagerOptions(max_to_keep=1, create=True),
            )
            if write_metrics and jax.process_index() == 0:  # one writer when several hosts train together
                self._writer = MetricsWriter(self.workdir, tensorboard=tensorboard)

    # ---- the step ---------------------------------------------------------------
    def _step(self, state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        key = jax.random.fold_in(jax.random.key(self.seed), state.step)
        (loss, metrics), grads = jax.value_and_grad(self.loss_fn, has_aux=True)(state.params, batch, key, state.step)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        metrics = dict(metrics, loss=loss, grad_norm=optax.global_norm(grads))
        metrics["finite"] = jnp.isfinite(loss) & all_finite(params)
        return TrainState(state.step + 1, params, opt_state), metrics

    def init_state(self, params) -> TrainState:
        """Step 0 with a copy of ``params`` (the step donates its state's buffers,
        so the caller's arrays must not be aliased)."""
        params = jax.tree.map(lambda x: jnp.array(x, copy=True), params)
        state = TrainState(jnp.asarray(0, jnp.int32), params, self.optimizer.init(params))
        return jax.device_put(state, self._replicated)

    def shard_batch(self, batch: dict) -> dict:
        num_devices = self.mesh.shape["data"]
        size = next(iter(batch.values())).shape[0]
        if size % num_devices:
            raise ValueError(f"batch size {size} is not divisible by the {num_devices} devices of the 'data' axis")
        return jax.device_put(batch, self._batch_sharding)

    def lower(self, state: TrainState, batch: dict) -> jax.stages.Lowered:
        """The step lowered for these shapes (ahead of time): ``.compile()`` it to
        time compilation, or read its ``cost_analysis()``."""
        return self._step_fn.lower(state, self.shard_batch(batch))

    def step(self, state: TrainState, batch: dict) -> tuple[TrainState, dict]:
        """One optimisation step on a host batch; donates ``state``."""
        return self._step_fn(state, self.shard_batch(batch))

    # ---- checkpoints ----------------------------------------------------------------
    def save(self, state: TrainState) -> None:
        if self._manager is None:
            return
        if not bool(all_finite(state.params)):
            raise NonFiniteError(f"refusing to checkpoint non-finite parameters at step {int(state.step)}")
        with self._room_for("checkpoint", int(state.step), state._asdict(), self._manager):
            self._manager.save(int(state.step), args=ocp.args.StandardSave(state._asdict()))
            self._manager.wait_until_finished()

    @contextlib.contextmanager
    def _room_for(self, what: str, step: int, tree, manager):
        """Write ``tree`` (the ``what`` of ``step``) with orbax's ``manager`` inside this
        context only if its folder's disk has room (``_CHECKPOINT_SCALE`` x the arrays'
        bytes + ``_CHECKPOINT_OVERHEAD``; checked on one host: several hosts checking
        apart could leave one outside orbax's barrier). A full disk, found before or
        while writing, is one CheckpointError naming the folder, the space free and
        the space needed (orbax's own log records of it are dropped). orbax writes a
        checkpoint beside the old ones, so the last complete one survives either way."""
        folder = pathlib.Path(str(manager.directory))
        arrays = sum(leaf.nbytes for leaf in jax.tree.leaves(tree) if hasattr(leaf, "nbytes"))
        need = int(_CHECKPOINT_SCALE * arrays) + _CHECKPOINT_OVERHEAD
        if jax.process_count() == 1 and shutil.disk_usage(folder).free < need:
            raise self._no_space(what, step, need, manager)
        quiet = _DiskFullRecords()
        logging.getLogger("absl").addFilter(quiet)
        try:
            yield
        except Exception as e:
            if not disk_full(e):
                raise
            raise self._no_space(what, step, need, manager) from e
        finally:
            logging.getLogger("absl").removeFilter(quiet)

    @staticmethod
    def _no_space(what: str, step: int, need: int, manager) -> CheckpointError:
        folder = pathlib.Path(str(manager.directory))
        try:
            free = f"{megabytes(shutil.disk_usage(folder).free)} free"
        except OSError:
            free = "free space unknown"
        last = manager.latest_step()
        kept = (f"the last complete one (step {last}) is kept" if last is not None else "none was written before")
        return CheckpointError(
            f"no space left on the disk of {folder} to write the {what} of step {step}: {free}, about "
            f"{megabytes(need)} needed; {kept}: free some space (a partial '*.orbax-checkpoint-tmp' folder there "
            "may be deleted) and run the same command to resume")

    def save_if_best(self, step: int, params, value: float) -> bool:
        """Keep ``params`` under workdir/best when ``value`` (higher is better) is the
        best seen by this trainer or stored there; returns whether it was."""
        if self._best is None or not np.isfinite(value):
            return False
        record = self.workdir / "best.json"
        if self._best_value == -np.inf and record.exists():
            self._best_value = json.loads(record.read_text())["value"]
        if value <= self._best_value:
            return False
        with self._room_for("best parameters", step, params, self._best):
            self._best.save(step, args=ocp.args.StandardSave(params), force=True)
            self._best.wait_until_finished()
            if jax.process_index() == 0:
                record.write_text(json.dumps({"step": int(step), "value": float(value)}))
        self._best_value = float(value)
        return True

    def restore_best(self, params_template):
        """The parameters kept by ``save_if_best`` (FileNotFoundError if none)."""
        step = None if self._best is None else self._best.latest_step()
        if step is None:
            raise FileNotFoundError(f"no best parameters in {self.workdir}/best")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, params_template)
        restored = self._best.restore(step, args=ocp.args.StandardRestore(abstract))
        return jax.tree.unflatten(jax.tree.structure(params_template), jax.tree.leaves(restored))

    def latest_step(self) -> int | None:
        return None if self._manager is None else self._manager.latest_step()

    def restore(self, template: TrainState, step: int | None = None) -> TrainState:
        """The checkpoint at ``step`` (default: latest), shaped like ``template``."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.workdir}/checkpoints")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template._asdict())
        restored = self._manager.restore(step, args=ocp.args.StandardRestore(abstract))
        leaves = jax.tree.leaves(restored)
        state = jax.tree.unflatten(jax.tree.structure(template._asdict()), leaves)
        return jax.device_put(TrainState(**state), self._replicated)

    def restore_or_init(self, params) -> TrainState:
        """Resume from the newest readable checkpoint in the workdir, if any.

        A checkpoint that cannot be read (bytes overwritten, files truncated,
        metadata deleted) is named in one warning line and moved aside to
        ``checkpoints/<step>.unreadable`` (never deleted); the run resumes from the
        newest intact one. CheckpointError if none of them can be read.
        """
        template = self.init_state(params)
        state = self._newest_readable(template, set_aside=True)
        if state is None:
            return template
        print(f"resumed from checkpoint at step {int(state.step)} in {self.workdir}", flush=True)
        return state

    def restore_readable(self, template: TrainState) -> TrainState:
        """The newest checkpoint that can be read, moving nothing (evaluation reads a
        workdir without changing it): one warning line names each unreadable one.
        CheckpointError if there is none or none can be read."""
        state = self._newest_readable(template, set_aside=False)
        if state is None:
            aside = sorted(p.name for p in (self.workdir / "checkpoints").glob("*.unreadable"))
            raise CheckpointError(f"{self.workdir} holds no readable checkpoint"
                                  + (f" (set aside as unreadable: {', '.join(aside)})" if aside else " yet"))
        return state

    def _newest_readable(self, template: TrainState, set_aside: bool) -> TrainState | None:
        """The newest checkpoint that can be read (None if there is none), each
        unreadable one named in a warning and, with ``set_aside``, moved aside.
        CheckpointError if none of them can be read."""
        steps = [] if self._manager is None else sorted(self._manager.all_steps(), reverse=True)
        for step in steps:
            try:
                return self.restore(template, step)
            except Exception as e:  # noqa: BLE001 - any failure to read the files of this step
                self._unreadable(step, e, set_aside)
        if steps:
            raise CheckpointError(f"none of the checkpoints {steps} in {self.workdir}/checkpoints can be read; "
                                  "start the run in a new --workdir")
        return None

    def _unreadable(self, step: int, error: Exception, set_aside: bool) -> None:
        folder = self.workdir / "checkpoints" / str(step)
        aside = folder.with_name(f"{step}.unreadable")
        where = f"moved to {aside} and " if set_aside else ""
        print(f"warning: the checkpoint at step {step} cannot be read ({describe_error(error)}); "
              f"{where}falling back to the previous one", flush=True)
        if set_aside:
            if jax.process_index() == 0 and folder.exists():
                folder.rename(aside)
            self._manager.reload()

    # ---- the loop ---------------------------------------------------------------------
    def fit(
        self,
        state: TrainState,
        batch_at: Callable[[int], dict],
        num_steps: int,
        *,
        log_every: int = 50,
        eval_fn: Callable[[Any], dict] | None = None,
        eval_every: int = 0,
        best_metric: str | None = None,
        stop_at: int | None = None,
    ) -> TrainState:
        """Train until step ``num_steps`` (or ``stop_at``, to simulate an interruption).

        ``batch_at(step)`` gives the host batch of a step. Every ``log_every`` steps
        the averaged metrics are written and a progress line logged; every
        ``eval_every`` steps ``eval_fn(params)`` is logged under 'eval/', and the
        parameters with the highest ``evaluated[best_metric]`` are kept under
        workdir/best (early stopping on a validation bound). A
        non-finite loss or parameter raises NonFiniteError naming the step; the
        checkpoints already written stay the last good ones.
        """
        end = num_steps if stop_at is None else min(stop_at, num_steps)
        step = int(state.step)
        progress = Progress(num_steps, step)
        window: list[tuple[int, dict]] = []  # (step, metrics on the device) since the last read

        def check_window() -> None:
            for at, metrics in window:
                if not bool(metrics["finite"]):
                    raise NonFiniteError(
                        f"non-finite loss or parameters at step {at} (loss={float(metrics['loss'])}); "
                        f"no checkpoint written; last good checkpoint: step {self.latest_step()}"
                    )

        shapes_seen = set()
        while step < end:
            batch = batch_at(step)
            shapes = (jax.tree.structure(batch), tuple(np.shape(x) for x in jax.tree.leaves(batch)))
            compiles = shapes not in shapes_seen  # the step of a new batch shape compiles: kept out of the rate
            if compiles:
                shapes_seen.add(shapes)
                jax.block_until_ready(state)
                started = time.perf_counter()
            state, metrics = self.step(state, batch)
            step += 1
            window.append((step, metrics))
            if compiles:
                jax.block_until_ready(metrics)
                progress.exclude(time.perf_counter() - started)
            logging = step % log_every == 0 or step == end
            evaluating = eval_fn is not None and eval_every and (step % eval_every == 0 or step == num_steps)
            saving = step % self.checkpoint_every == 0 or step == end
            if not (logging or evaluating or saving):
                continue
            check_window()
            if logging:
                averaged = jax.tree.map(lambda *v: float(np.mean(v)),
                                        *[{k: v for k, v in m.items() if k != "finite"} for _, m in window])
                window = []
                progress.log(step, averaged)
                if self._writer:
                    self._writer.write(step, {f"train/{k}": v for k, v in averaged.items()})
            if evaluating:
                evaluated = eval_fn(state.params)
                print(f"eval at step {step}: " + ", ".join(f"{k} {float(v):.4f}" for k, v in evaluated.items()), flush=True)
                if self._writer:
                    self._writer.write(step, {f"eval/{k}": v for k, v in evaluated.items()})
                if best_metric is not None:
                    self.save_if_best(step, state.params, float(evaluated[best_metric]))
                progress.reset(step)
            if saving:
                self.save(state)
        return state

    def close(self) -> None:
        for manager in (self._manager, self._best):
            if manager is not None:
                manager.close()
        if self._writer is not None:
            self._writer.close()
