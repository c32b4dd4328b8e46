"""FIVO with the particles sharded over devices: ``shard_map`` over a mesh axis.

One sequence, N = S * n particles on S devices along ``axis`` (n per device).
Each device moves its n particles; at every step the log-weights [N] are
all-gathered (N floats), so every device computes the same log Z-hat, ESS and
resampling decision, and draws the same global ancestors from the same key.
When the ancestors are drawn, the particle states are all-gathered and each
device takes the rows of its own ancestors. Particle i uses the key it would
use on one device, so the result equals ``bounds.fivo`` with N particles up to
floating-point summation order. Memory per device is O(n) for the move and
O(N) for the weights and, on resampling steps, the gathered states.
"""

from typing import Any

import jax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from seqvi.bounds import BoundResult
from seqvi.models.base import StepModel
from seqvi.smc import smc
from seqvi.smc.resampling import get_resampler


def particle_mesh(devices=None, axis: str = "particles") -> Mesh:
    """A 1-D mesh over ``devices`` (default: all) named ``axis``."""
    import numpy as np

    return Mesh(np.asarray(jax.devices() if devices is None else devices), (axis,))


def fivo(
    model: StepModel,
    params: Any,
    xs: jax.Array,
    length: jax.Array,
    key: jax.Array,
    *,
    num_particles: int,
    mesh: Mesh,
    axis: str = "particles",
    resampling: str = "systematic",
    ess_threshold: float = 0.5,
    inputs: Any = None,
) -> BoundResult:
    """``bounds.fivo`` with ``num_particles`` (divisible by the axis size) sharded
    over ``mesh[axis]``. The diagnostics' ancestors [T, N], final states and final
    log-weights come back sharded along their particle axis; the rest replicated."""
    shards = mesh.shape[axis]
    if num_particles % shards:
        raise ValueError(f"num_particles={num_particles} is not divisible by the {shards} devices of axis {axis!r}")
    resampler = get_resampler(resampling)

    def per_shard(params, xs, length, key, inputs):
        r = smc.run(model, params, xs, length, key, num_particles=num_particles // shards, resampler=resampler,
                    ess_threshold=ess_threshold, inputs=inputs, axis_name=axis)
        return BoundResult(r.log_z, r.log_z_increments, r)

    replicated, sharded = P(), P(axis)
    diagnostics = smc.SMCResult(
        log_z=replicated, log_z_increments=replicated, ess=replicated, resampled=replicated,
        ancestors=P(None, axis), log_px=replicated, kl=replicated, final_states=sharded,
        final_log_weights=sharded, trace=None,
    )
    out_specs = BoundResult(replicated, replicated, diagnostics)
    run = jax.shard_map(per_shard, mesh=mesh, in_specs=(replicated,) * 5, out_specs=out_specs, check_vma=False)
    return run(params, xs, length, key, inputs)
