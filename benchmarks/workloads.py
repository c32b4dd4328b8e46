"""The seqvi workloads several benchmarks time: VRNN-FIVO train steps at named sizes."""

import jax
import jax.numpy as jnp

import common

from seqvi import bounds
from seqvi.models import VRNN, parts
from seqvi.nn import LSTMCell
from seqvi.train import Trainer, make_optimizer

CONFIGS = {
    "jsb": dict(latent_dim=32, rnn_dim=64, hidden_dim=64, batch=4, particles=4, T=100),
    "large": dict(latent_dim=256, rnn_dim=256, hidden_dim=256, batch=32, particles=16, T=100),
    "quick": dict(latent_dim=4, rnn_dim=8, hidden_dim=8, batch=2, particles=2, T=10),
}


def vrnn_fivo_trainer(cfg: dict, data_dim: int, data_mean, mesh=None, model_class=VRNN) -> tuple[Trainer, dict]:
    """A Trainer (Adam, clipping at 10) for a VRNN with the filtering proposal
    trained with FIVO (systematic resampling at ESS < N / 2), and its parameters;
    ``cfg['emission']`` 'gaussian' for real data (default Bernoulli)."""
    model = model_class(data_dim=data_dim, latent_dim=cfg["latent_dim"], rnn_dim=cfg["rnn_dim"],
                        hidden_dim=cfg["hidden_dim"], emission_type=cfg.get("emission", "bernoulli"))
    params = model.init(jax.random.key(0), jnp.asarray(data_mean))
    loss = bounds.batch_loss(bounds.get_bound("fivo", num_particles=cfg["particles"]), model)
    return Trainer(loss, make_optimizer(3e-3, 1000, clip_norm=10.0), None, mesh=mesh), params


def vrnn_fivo_step(cfg: dict, xs, data_mean, model_class=VRNN):
    """A no-argument callable running one train step (threading the donated state),
    and the model's parameter count."""
    trainer, params = vrnn_fivo_trainer(cfg, xs.shape[-1], data_mean, model_class=model_class)
    state = [trainer.init_state(params)]
    batch = trainer.shard_batch({"xs": jnp.asarray(xs), "lengths": jnp.full((xs.shape[0],), xs.shape[1])})

    def step():
        state[0], metrics = trainer.step(state[0], batch)
        return metrics["loss"]

    return step, parts.num_params(params)


def vrnn_fivo_flops(cfg: dict, model_class=VRNN, data=None) -> float:
    """FLOPs of one train step: XLA's cost analysis of the step at T = 1 (no loop
    left for it to count once), times T. ``data``: (xs [B, T, D], mean [D]) to
    take the width from (default JSB windows)."""
    xs, mean = common.jsb_windows(cfg["batch"], 1) if data is None else (data[0][:, :1], data[1])
    trainer, params = vrnn_fivo_trainer(cfg, xs.shape[-1], mean, model_class=model_class)
    batch = {"xs": jnp.asarray(xs), "lengths": jnp.ones((cfg["batch"],), jnp.int32)}
    return float(trainer.lower(trainer.init_state(params), batch).compile().cost_analysis()["flops"]) * cfg["T"]


class LSTMInputInLoop(LSTMCell):
    """The LSTM as ``seqvi.nn.masked_scan`` ran it before the input projection left
    the time loop: whole steps, x_t W_x inside the loop (same parameters)."""

    scan_parts = None
