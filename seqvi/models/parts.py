"""Pieces every network-backed model shares: configuration checks, initialising
a dict of Flax networks, the training-data constants and the emission heads.

Parameters of such a model are a dict {net name: Flax params} plus
``constants`` = {'input_mean': [D]}, the training mean of x. Models read the
constants through ``stop_gradient`` (so an optimiser leaves them unchanged),
centre their RNN inputs with them and, for Bernoulli emissions, start the output
bias at logit(mean).
"""

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from seqvi import dist
from seqvi.nn import BernoulliHead, DiagGaussianHead, GMMHead
from seqvi.nn.heads import logit

EMISSIONS = ("bernoulli", "gaussian", "gmm")

# One name per concept across every model: option names that were renamed, old -> new.
RENAMED_OPTIONS = {"proposal_type": "posterior_type", "rnn_type": "cell_type", "likelihood": "emission_type",
                   "prior_kind": "prior_type", "transition_kind": "transition_type", "z_dim": "latent_dim"}


def renamed_options_message(names, prefix: str = "") -> str | None:
    """``"<prefix>OLD is now <prefix>NEW; ..."`` for the old option names (``RENAMED_OPTIONS``)
    among ``names`` (constructor arguments, config keys or flags, spelt with ``prefix``),
    sorted; None when there are none."""
    old = sorted(set(names) & set(RENAMED_OPTIONS))
    return "; ".join(f"{prefix}{n} is now {prefix}{RENAMED_OPTIONS[n]}" for n in old) or None


def refuse_renamed_options(owner: str, names) -> None:
    """TypeError naming the new name when ``names`` (constructor arguments or
    config keys of ``owner``) hold an old option name of ``RENAMED_OPTIONS``."""
    if renamed := renamed_options_message(names):
        raise TypeError(f"{owner}: option renamed ({renamed}); use the new name")


class Networks:
    """Base of models whose parameters are {net name: Flax params} (``self.nets``
    names the Flax modules): the one way a model applies one of its networks.
    Constructing one with an old option name (``RENAMED_OPTIONS``) is a TypeError
    naming the new one."""

    def __new__(cls, *args, **kwargs):
        refuse_renamed_options(cls.__name__, kwargs)
        return super().__new__(cls)

    def apply_net(self, params: dict, name: str, *args):
        """``self.nets[name].apply(params[name], *args)``."""
        return self.nets[name].apply(params[name], *args)


class TakesInputs:
    """Mixin of step models conditioned on external inputs u_t of size
    ``self.input_dim`` (0: none), whose data rows are [x_t (``data_dim``), u_t]."""

    def check_input_dim(self) -> None:
        """ValueError unless ``input_dim`` is a non-negative int."""
        if isinstance(self.input_dim, bool) or not isinstance(self.input_dim, int) or self.input_dim < 0:
            raise ValueError(f"{type(self).__name__}.input_dim must be a non-negative int, got {self.input_dim!r}")

    @property
    def row_dim(self) -> int:
        """D + k: a data row holds x_t, then the inputs u_t."""
        return self.data_dim + self.input_dim

    def bound_batch(self, batch: dict) -> dict:
        """Rows [B, T, D + k] as the bounds' {'xs': [B, T, D], 'inputs': [B, T, k]}
        (unchanged without inputs). ValueError on rows of another width."""
        if not self.input_dim:
            return batch
        rows = batch["xs"]
        if rows.shape[-1] != self.row_dim:
            raise ValueError(f"{type(self).__name__} rows must hold x_t and u_t, D + k = {self.row_dim} "
                             f"entries, got {rows.shape[-1]}")
        return dict(batch, xs=rows[..., : self.data_dim], inputs=rows[..., self.data_dim:])

    def checked_inputs(self, inputs, num_steps: int, what: str = "needs"):
        """``inputs`` [num_steps, k] (None without inputs); ValueError on another shape."""
        if not self.input_dim:
            return None
        if inputs is None or jnp.shape(inputs) != (num_steps, self.input_dim):
            raise ValueError(f"{type(self).__name__} with input_dim={self.input_dim} {what} inputs of shape "
                             f"({num_steps}, {self.input_dim}), got {None if inputs is None else jnp.shape(inputs)}")
        return inputs

    def data_mean_of_x(self, data_mean):
        """The x part of a training mean given over whole rows [D + k] (unchanged otherwise)."""
        if data_mean is not None and self.input_dim and jnp.shape(data_mean)[-1] == self.row_dim:
            return jnp.asarray(data_mean)[: self.data_dim]
        return data_mean


def check_config(owner: str, positive: dict[str, Any], choices: dict[str, tuple[Any, tuple]] = ()) -> None:
    """Raise ValueError naming ``owner.field`` for a non-positive-int size or a
    value outside its allowed choices (``choices``: field -> (value, allowed))."""
    for name, value in positive.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{owner}.{name} must be a positive int, got {value!r}")
    for name, (value, allowed) in dict(choices).items():
        if value not in allowed:
            raise ValueError(f"{owner}.{name} must be one of {allowed}, got {value!r}")


def init_nets(nets: dict[str, nn.Module], example_inputs: dict[str, tuple], key: jax.Array) -> dict:
    """{name: net.init(key_name, *example_inputs[name])}, one key per net in name order."""
    keys = jax.random.split(key, len(nets))
    return {name: nets[name].init(k, *example_inputs[name]) for k, name in zip(keys, sorted(nets))}


def with_constants(params: dict, data_dim: int, data_mean: jax.Array | None, emission_type: str,
                   emission_net: str = "emission") -> dict:
    """Add ``constants`` (the training mean, zeros if None) and, for Bernoulli
    emissions with a given mean, set ``params[emission_net]``'s output bias to
    logit(mean) (the network's final layer is BernoulliHead's 'logits')."""
    mean = jnp.zeros(data_dim) if data_mean is None else jnp.asarray(data_mean, jnp.float32)
    if mean.shape != (data_dim,):
        raise ValueError(f"data_mean must have shape ({data_dim},), got {mean.shape}")
    params = dict(params, constants={"input_mean": mean})
    if data_mean is not None and emission_type == "bernoulli":
        params[emission_net]["params"]["logits"]["bias"] = logit(mean)
    return params


def centre(params: dict, x: jax.Array) -> jax.Array:
    """x - (training mean), the mean held constant."""
    return x - jax.lax.stop_gradient(params["constants"]["input_mean"])


def emission_head(emission_type: str, data_dim: int, hidden: tuple[int, ...], components: int = 1) -> nn.Module:
    """The emission network over x_t in R^D for ``emission_type`` (one of ``EMISSIONS``):
    'bernoulli' logits, 'gaussian' (mean, scale), or 'gmm' (logits, means, scales)
    of a ``components``-component mixture of diagonal Gaussians (the GMM output of
    Chung et al. 2015; thesis, section 5.4)."""
    if emission_type == "bernoulli":
        return BernoulliHead(data_dim, hidden=hidden)
    if emission_type == "gmm":
        return GMMHead(data_dim, components, hidden=hidden)
    return DiagGaussianHead(data_dim, hidden=hidden)


def emission_distribution(emission_type: str, out):
    """The distribution over x_t for an ``emission_head``'s output."""
    if emission_type == "bernoulli":
        return dist.bernoulli(out)
    return dist.diag_gmm(*out) if emission_type == "gmm" else dist.diag_gaussian(*out)


def param_counts(params) -> dict[str, int]:
    """Number of trained scalars per network ({net name: count}, ``constants`` excluded)."""
    return {
        name: sum(int(jnp.size(leaf)) for leaf in jax.tree.leaves(net))
        for name, net in params.items()
        if name != "constants"
    }


def num_params(params) -> int:
    """Number of trained scalars (``constants`` excluded)."""
    return sum(param_counts(params).values())
