"""Objectives of the models that are not "a StepModel under a bound": the
KVAE's own ELBO, the dialogue models' per-token losses, and the mixin that
gives every bound-trained model its ``objective``.

Each is a ``seqvi.core.Objective``: ``loss(params, batch, key, step)`` with the
KL weight beta(step) rising linearly over ``kl_anneal_steps`` (when > 0), and
evaluation terms summed over a split (ratios of sums).
"""

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from seqvi import bounds
from seqvi.core import Objective, ObjectiveOptions, StepModel


def check_bound(owner: str, bound: str, supported: tuple[str, ...]) -> None:
    """ValueError naming what ``owner`` trains with, unless ``bound`` is one of them."""
    if bound not in supported:
        raise ValueError(f"{owner} trains with bound in {supported}, got {bound!r}")


class TrainedByBounds:
    """Mixin of StepModels and SequenceModels: ``objective(options)`` is the model
    under ELBO / IWAE / FIVO (``seqvi.bounds.BoundObjective``)."""

    def objective(self, options: ObjectiveOptions | None = None) -> bounds.BoundObjective:
        """The model under ``options.bound`` (default: FIVO for a StepModel, else the ELBO)."""
        if options is None:
            options = ObjectiveOptions(bound="fivo" if isinstance(self, StepModel) else "elbo")
        return bounds.BoundObjective(self, options)


@dataclasses.dataclass(frozen=True)
class OwnELBOObjective(Objective):
    """A model with its own ``loss(params, batch, key, recon_weight=None,
    kl_weight=1.0)`` and an ``elbo_per_frame`` metric (the KVAE): trains on that
    loss, evaluates the ELBO per scored frame with the reconstruction unweighted
    (recon_weight 1). Batches: {'xs': [B, T, P], 'lengths': [B], ...}."""

    model: Any
    kl_anneal_steps: int = 0

    def loss(self, params, batch, key, step):
        return bounds.annealed_loss(self.model.loss, params, batch, key, step, self.kl_anneal_steps)

    def eval_terms(self, params, batch, key):
        frames = batch["lengths"].sum()
        elbo = self.model.loss(params, batch, key, recon_weight=1.0)[1]["elbo_per_frame"]
        return {"elbo": elbo * frames, "num_frames": frames, "num_sequences": (batch["lengths"] > 0).sum()}

    def summarise(self, sums):
        return {"elbo_per_frame": sums["elbo"] / sums["num_frames"],
                "elbo_per_sequence": sums["elbo"] / sums["num_sequences"],
                "num_frames": sums["num_frames"], "num_sequences": sums["num_sequences"]}

    @property
    def target(self) -> str:
        return "elbo_per_frame"

    @property
    def label(self) -> str:
        return "ELBO(1)"


@dataclasses.dataclass(frozen=True)
class ResponseObjective(Objective):
    """A dialogue model's ``loss(params, batch, key, kl_weight)`` per response
    token (``seqvi.models.seq2seq.response_loss``): the NLL, or for latent models
    the negative ELBO (an upper bound on it). Evaluation: the loss per token over
    the split (ratio of sums) and its exp (perplexity, or a bound on it); the
    target is its negative. Batches: ``seqvi.data.dialogue.Batch`` fields."""

    model: Any
    kl_anneal_steps: int = 0

    def loss(self, params, batch, key, step):
        return bounds.annealed_loss(self.model.loss, params, batch, key, step, self.kl_anneal_steps)

    def eval_terms(self, params, batch, key):
        tokens = batch["response_length"].sum()
        return {"loss": self.model.loss(params, batch, key)[0] * tokens, "num_tokens": tokens}

    def summarise(self, sums):
        per_token = sums["loss"] / sums["num_tokens"]
        return {"loss_per_token": per_token, "neg_loss_per_token": -per_token,
                "exp_loss_per_token": float(jnp.exp(per_token)), "num_tokens": sums["num_tokens"]}

    @property
    def target(self) -> str:
        return "neg_loss_per_token"

    @property
    def label(self) -> str:
        return self.model.loss_kind


@dataclasses.dataclass(frozen=True)
class TrainAndEvaluate(Objective):
    """Train on ``train``'s loss, evaluate (and keep the best parameters) by
    ``evaluate``'s terms: for example VMED trained with FIVO over its decoder
    but compared on its paper's loss per token."""

    train: Objective
    evaluate: Objective
    extra: tuple[Objective, ...] = ()  # also reported by the evaluation binary

    def loss(self, params, batch, key, step):
        return self.train.loss(params, batch, key, step)

    def eval_terms(self, params, batch, key):
        return self.evaluate.eval_terms(params, batch, key)

    def summarise(self, sums):
        return self.evaluate.summarise(sums)

    @property
    def target(self) -> str:
        return self.evaluate.target

    @property
    def label(self) -> str:
        return self.evaluate.label

    def evaluation_objectives(self, num_particles):
        return self.evaluate.evaluation_objectives(num_particles) + [
            o for extra in self.extra for o in extra.evaluation_objectives(num_particles)]
