"""LocalGAN's local loss (LocalGAN document, section 4: eqs. 15-18), on the
deep Boltzmann machine of ``seqvi.nn.dbm`` over v = [q, r], the standardised
averaged word embeddings of a query and a response.

  r_c-hat(q)      the response the DBM expects for q: the mean-field estimate of
                  r with q clamped (``seqvi.nn.dbm.conditional_mean_field``),
                  the paper's "well-trained DBM mapping q to r_c" (Theorem 1)
  alpha(q, r)     = (F(q, r) - F(q, r_c-hat)) / |F(q, r_c-hat)|   (eq. 16)
  delta_alpha     = alpha(q, r) - alpha(q, r~)   gold r, generated r~ (eq. 17)
  J_G             = -log D(q, r~) + lambda ReLU(delta_alpha)     (eq. 18)
  J_D             = -log D(q, r) - log(1 - D(q, r~))             (eq. 1)

F is the mean-field free energy (an upper bound on the free energy, exact at
tiny sizes by ``free_energy_exact``). Eq. 16 divides by F(q, r_c-hat); seqvi
divides by its magnitude, which is the paper's formula when F > 0 and keeps its
meaning when F < 0 (as for the Gaussian DBM, whose free energy is negative near
the data): alpha = 0 at the centre and grows as r moves away from it, so
delta_alpha > 0 exactly when the generated response lies nearer the centre than
the gold one (phase 2 of section 4.3, when the hinge acts) and the hinge is 0
when it lies farther (phase 1).

The model (``LocalGAN``, registered 'localgan'), with the choices the document
leaves open:

  generator   a Seq2Seq (LSTM, hidden 256), pretrained by MLE (``config.init_from``);
              its response r~ enters the DBM as the standardised average of
              soft word vectors, sum_t softmax(logits_t / tau) W / n over its n
              words (W the fixed word vectors), so gradients cross the tokens
  word vectors W [V, De]: fixed, from the user's GloVe/word2vec file or word2vec
              trained on the training pairs; q and r standardised per dimension
              with the training set's means and deviations (appendix A)
  DBM         Gaussian visible [q, r] (2 De), binary hidden (128, 128), biases;
              trained before the game by persistent contrastive divergence on
              the training pairs (``seqvi.nn.dbm.fit_pcd``), then held fixed
  D(q, r)     sigmoid(MLP([mu1, mu2])): a learned head on the frozen DBM's
              mean-field posterior over its hidden layers, so the DBM "represents
              the semantics of queries and responses" for D (section 5.1)
  update      J_G + J_D in one jitted step, D:G 1:1 (``seqvi.models.adversarial``)
  lambda      ``local_weight``, 1 as in the text (the authors' code uses 10)

The authors' code replaces the DBM by two Gaussian-Bernoulli RBMs; that variant
is not offered.
"""

import dataclasses
from typing import ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from seqvi.models import parts
from seqvi.models.adversarial import AdversarialSeq2Seq, generate_batch, gold_words
from seqvi.models.registry import register
from seqvi.nn import dbm
from seqvi.nn.mlp import MLP


def response_centre(p: dbm.DBMParams, q: Float[Array, " Q"], num_iterations: int = 30) -> Float[Array, " R"]:
    """r_c-hat [R] for the query q [Q] (v = [q, r], V = Q + R)."""
    num_visible = p.b.shape[0]
    if q.shape[-1] >= num_visible:
        raise ValueError(f"the query has {q.shape[-1]} entries but the DBM's visible layer [q, r] has "
                         f"{num_visible}: the response would be empty")
    v = jnp.concatenate([q, jnp.zeros(num_visible - q.shape[-1], q.dtype)])
    observed = jnp.arange(num_visible) < q.shape[-1]
    return dbm.conditional_mean_field(p, v, observed, num_iterations)[0][q.shape[-1]:]


def radial_distribution(p: dbm.DBMParams, q: Float[Array, " Q"], r: Float[Array, " R"],
                        centre: Float[Array, " R"] | None = None, num_iterations: int = 30) -> Float[Array, ""]:
    """alpha(q, r) of eq. 16 (see the module docstring), with the centre
    r_c-hat(q) computed unless given."""
    if centre is None:
        centre = response_centre(p, q, num_iterations)
    free_energy = lambda response: dbm.free_energy_mean_field(  # noqa: E731
        p, jnp.concatenate([q, response]), num_iterations=num_iterations)
    at_centre = free_energy(centre)
    return (free_energy(r) - at_centre) / jnp.maximum(jnp.abs(at_centre), 1e-6)


def local_hinge(p: dbm.DBMParams, q: Float[Array, " Q"], gold: Float[Array, " R"], generated: Float[Array, " R"],
                num_iterations: int = 30) -> Float[Array, ""]:
    """ReLU(delta_alpha), delta_alpha = alpha(q, gold) - alpha(q, generated) (eqs. 17-18);
    the DBM's parameters are held fixed (the generator's loss does not train it)."""
    p = jax.lax.stop_gradient(p)
    centre = response_centre(p, q, num_iterations)
    delta = (radial_distribution(p, q, gold, centre, num_iterations)
             - radial_distribution(p, q, generated, centre, num_iterations))
    return jax.nn.relu(delta)


def generator_loss(log_d_generated: Float[Array, " B"], hinge: Float[Array, " B"], weight: float = 1.0
                   ) -> Float[Array, ""]:
    """J_G of eq. 18 averaged over a batch: -log D(q, r~) + lambda ReLU(delta_alpha)
    (lambda = ``weight`` >= 0: 1 in the paper's text, 10 in its authors' code)."""
    if weight < 0:
        raise ValueError(f"the local loss weight lambda must be >= 0, got {weight}")
    return jnp.mean(-log_d_generated + weight * hinge)


def discriminator_loss(logit_gold: Float[Array, " B"], logit_generated: Float[Array, " B"]) -> Float[Array, ""]:
    """J_D of eq. 1 from the discriminator's logits: -log D(q, r) - log(1 - D(q, r~)), averaged."""
    return jnp.mean(jax.nn.softplus(-logit_gold) + jax.nn.softplus(logit_generated))


def average_word_vectors(word_vectors: Float[Array, "V E"], ids: Int[Array, "N L"], lengths: Int[Array, " N"]
                         ) -> Float[Array, "N E"]:
    """The mean word vector of each of N token sequences (its first ``lengths`` ids).
    ValueError for an empty sequence (length 0): it has no meaning to average."""
    lengths = jnp.asarray(lengths)
    if int(jnp.min(lengths)) < 1:
        raise ValueError(f"{int(jnp.sum(lengths < 1))} of the {lengths.shape[0]} sequences are empty: "
                         "an empty query or response has no averaged word vector")
    mask = jnp.arange(ids.shape[1])[None] < lengths[:, None]
    return (word_vectors[ids] * mask[..., None]).sum(1) / lengths[:, None]


@register("localgan", test_size=dict(embed_dim=6, hidden_dim=8, word_dim=3, dbm_hidden=(4, 4), disc_hidden=16),
          task="dialogue", data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class LocalGAN(AdversarialSeq2Seq):
    """LocalGAN (module docstring). Attributes besides the AdversarialSeq2Seq's
    (soft_temperature tau, special_ids): local_weight (lambda >= 0); word_dim (De of
    the fixed word vectors; the DBM's visible layer is 2 De); dbm_hidden (its two
    hidden layers); disc_hidden (D's head); mean_field_iterations.

    Parameters: the generator's nets, 'discriminator' (D's head), and 'constants'
    (never trained): 'word_vectors' [V, De], the standardisation 'query_mean',
    'query_std', 'response_mean', 'response_std' [De], and 'dbm' (``DBMParams``
    fields) -- set from data by ``fit_to_data`` before training."""

    local_weight: float = 1.0
    word_dim: int = 50
    dbm_hidden: tuple[int, int] = (128, 128)
    disc_hidden: int = 128
    mean_field_iterations: int = 30

    discriminator_groups: ClassVar[tuple[str, ...]] = ("discriminator",)

    def __post_init__(self):
        super().__post_init__()
        parts.check_config("LocalGAN", {"word_dim": self.word_dim, "disc_hidden": self.disc_hidden,
                                        "mean_field_iterations": self.mean_field_iterations,
                                        "dbm_hidden[0]": self.dbm_hidden[0], "dbm_hidden[1]": self.dbm_hidden[1]})
        if self.local_weight < 0:
            raise ValueError(f"LocalGAN.local_weight (lambda) must be >= 0, got {self.local_weight}")

    @property
    def nets(self) -> dict[str, nn.Module]:
        return dict(super().nets, discriminator=MLP((self.disc_hidden, 1), activate_final=False))

    def init(self, key: jax.Array) -> dict:
        k_gen, k_disc, k_dbm, k_words = jax.random.split(key, 4)
        h1, h2 = self.dbm_hidden
        params = super().init(k_gen)
        params["discriminator"] = self.nets["discriminator"].init(k_disc, jnp.zeros(h1), jnp.zeros(h2))
        ones, zeros = jnp.ones(self.word_dim), jnp.zeros(self.word_dim)
        params["constants"] = {
            "word_vectors": jax.random.normal(k_words, (self.vocab_size, self.word_dim)),
            "query_mean": zeros, "query_std": ones, "response_mean": zeros, "response_std": ones,
            "dbm": dbm.init_params(k_dbm, 2 * self.word_dim, h1, h2, scale=0.1)._asdict()}
        return params

    # ---- data-fitted constants ---------------------------------------------------------
    def fit_to_data(self, params: dict, key: jax.Array, word_vectors: Float[Array, "V E"], pairs: dict,
                    pcd_steps: int = 2000, pcd_batch: int = 128, learning_rate: float = 1e-3) -> dict:
        """``params`` with the constants set from the training pairs (``pairs``:
        encoded 'context', 'context_length', 'response_out', 'response_length'
        [N, ...]): the word vectors, the standardisation, and the DBM trained by
        PCD on v = [q, r]. ValueError when the word vectors' rows do not match
        the generator's vocabulary or their width ``word_dim``."""
        if word_vectors.shape[0] != self.vocab_size:
            raise ValueError(f"the word vectors have {word_vectors.shape[0]} rows but the generator's vocabulary has "
                             f"{self.vocab_size} words: the DBM and the generator must share one vocabulary")
        if word_vectors.shape[1:] != (self.word_dim,):
            raise ValueError(f"the word vectors are {word_vectors.shape[1:]}-d but LocalGAN.word_dim is "
                             f"{self.word_dim}: set model.word_dim to the vectors' width")
        word_vectors = jnp.asarray(word_vectors, jnp.float32)
        q = average_word_vectors(word_vectors, pairs["context"], pairs["context_length"])
        r = average_word_vectors(word_vectors, pairs["response_out"], jnp.asarray(pairs["response_length"]) - 1)
        constants = {"word_vectors": word_vectors,
                     "query_mean": q.mean(0), "query_std": q.std(0) + 1e-6,
                     "response_mean": r.mean(0), "response_std": r.std(0) + 1e-6}
        data = jnp.concatenate([(q - constants["query_mean"]) / constants["query_std"],
                                (r - constants["response_mean"]) / constants["response_std"]], -1)
        k_init, k_fit = jax.random.split(key)
        start = dbm.init_params(k_init, data.shape[1], *self.dbm_hidden, scale=0.01)
        trained = dbm.fit_pcd(start, k_fit, data, pcd_steps, pcd_batch, learning_rate,
                              num_iterations=self.mean_field_iterations)
        return dict(params, constants=dict(constants, dbm=trained._asdict()))

    # ---- the game ----------------------------------------------------------------------
    def dbm_params(self, params) -> dbm.DBMParams:
        """The frozen DBM of the constants (stop_gradient)."""
        return dbm.DBMParams(**jax.lax.stop_gradient(params["constants"]["dbm"]))

    def pair_vectors(self, params, batch: dict, generated_soft, generated_words):
        """Standardised (q [B, De], gold r [B, De], generated r~ [B, De]); r~ from
        the soft word distributions of G's response (a response with no word
        has the zero vector before standardisation)."""
        c = jax.lax.stop_gradient(params["constants"])
        table = c["word_vectors"]
        mask = jnp.arange(batch["context"].shape[1])[None] < batch["context_length"][:, None]
        q = (table[batch["context"]] * mask[..., None]).sum(1) / jnp.maximum(batch["context_length"], 1)[:, None]
        ids, words = gold_words(batch)
        gold = (table[ids] * words[..., None]).sum(1) / jnp.maximum(words.sum(1), 1)[:, None]
        soft = ((generated_soft @ table) * generated_words[..., None]).sum(1)
        soft = soft / jnp.maximum(generated_words.sum(1), 1)[:, None]
        standard = lambda x: (x - c["response_mean"]) / c["response_std"]  # noqa: E731
        return (q - c["query_mean"]) / c["query_std"], standard(gold), standard(soft)

    def discriminator_logit(self, params, q: Float[Array, " E"], r: Float[Array, " E"]) -> Float[Array, ""]:
        """logit D(q, r): the head on the frozen DBM's mean field at v = [q, r]."""
        mu1, mu2 = dbm.mean_field(self.dbm_params(params), jnp.concatenate([q, r]), self.mean_field_iterations)
        return self.apply_net(params, "discriminator", mu1, mu2)[0]

    def adversarial_loss(self, params, batch, key) -> tuple[jax.Array, dict]:
        generated = generate_batch(self, params, batch, key, self.soft_temperature)
        q, gold, fake = self.pair_vectors(params, batch, generated.soft, generated.words)
        p = self.dbm_params(params)
        hinge = jax.vmap(lambda a, b, c: local_hinge(p, a, b, c, self.mean_field_iterations))(q, gold, fake)
        logits = jax.vmap(self.discriminator_logit, in_axes=(None, 0, 0))
        logit_for_g = logits(jax.lax.stop_gradient(params), q, fake)
        logit_fake = logits(params, q, jax.lax.stop_gradient(fake))
        logit_gold = logits(params, q, gold)
        j_g = generator_loss(-jax.nn.softplus(-logit_for_g), hinge, self.local_weight)
        j_d = discriminator_loss(logit_gold, logit_fake)
        return j_g + j_d, {"generator_loss": j_g, "discriminator_loss": j_d, "local_hinge": jnp.mean(hinge),
                           "hinge_active": jnp.mean(hinge > 0), "d_gold": jnp.mean(jax.nn.sigmoid(logit_gold)),
                           "d_generated": jnp.mean(jax.nn.sigmoid(logit_fake)),
                           "generated_length": jnp.mean(generated.words.sum(1))}
