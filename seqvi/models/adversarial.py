"""Adversarial training of a Seq2Seq response generator G against a discriminator
D(q, r), the common frame of LocalGAN (``seqvi.models.localgan``) and of its
adversarial baselines (LocalGAN document, section 5.1):

  GAN-AEL    (Xu et al. 2017)  D is a CNN over word vectors; G's response enters it
             through the "approximate embedding layer": at each step the soft
             one-hot p_t = softmax(logits_t / tau) times D's embedding matrix, so
             gradients reach G through the sampled response's distributions.
  Adver-REGS (Li et al. 2017)  the same CNN reads G's sampled tokens; G is trained by
             REINFORCE with the reward D(q, r~) (one reward per response, the batch
             mean as baseline) plus teacher forcing (the NLL of the gold response).

The game (eq. 1 of the LocalGAN document, non-saturating generator):

  J_D = -log D(q, r) - log(1 - D(q, r~))        r gold, r~ ~ G(. | q)
  J_G = -log D(q, r~)                            (GAN-AEL; LocalGAN adds its local loss)

Both players move in every training step: the step's loss is J_G + J_D, where
J_G sees D's parameters through stop_gradient and J_D sees G's sample through
stop_gradient, so one gradient of the sum is (dJ_G/dG, dJ_D/dD), the simultaneous
update with a D:G ratio of 1:1, inside the trainer's one jitted step. A response
r~ is drawn by running G's decoder freely from <go>: w_t ~ softmax(logits_t) (temperature 1,
<pad>, <go> and <unk> forbidden) fed back as the next input, up to the first <eos> or
the batch's response length; its words are the steps before <eos>.

Every adversarial model starts from a pretrained Seq2Seq of the same sizes
(``config.init_from``, ``seqvi.train.experiment``) and is evaluated like a Seq2Seq:
the NLL per token of the gold responses under G, and generated responses.
"""

import dataclasses
from typing import ClassVar, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from seqvi.core import ObjectiveOptions
from seqvi.models import parts
from seqvi.models.objectives import ResponseObjective, check_bound
from seqvi.models.registry import register
from seqvi.models.seq2seq import Seq2Seq, response_loss
from seqvi.nn.mlp import MLP
from seqvi.nn.text_cnn import TextCNN

GENERATOR_NETS = ("embed", "encoder", "decoder", "output", "score", "combine")  # a Seq2Seq's nets
SPECIAL_IDS = (0, 1, 2, 3)  # (pad, go, eos, unk): those of seqvi.data.dialogue.Vocabulary
_NEG = -1e9  # the logit of a forbidden token


class Generated(NamedTuple):
    """One response drawn from G by free running (one pair; batched: a leading B)."""

    tokens: Int[Array, " T"]  # sampled ids; <pad> after the first <eos>
    soft: Float[Array, "T V"]  # softmax(logits_t / tau): the approximate embedding's weights
    log_p: Float[Array, " T"]  # log p(w_t | w_<t, q) of the sampled tokens (temperature 1)
    words: Bool[Array, " T"]  # the steps before the first <eos>
    scored: Bool[Array, " T"]  # the words and the <eos> (the steps REINFORCE scores)


class AdversarialObjective(ResponseObjective):
    """Trains with ``model.adversarial_loss`` (J_G + J_D, see the module docstring);
    evaluates like a Seq2Seq: the NLL per gold response token under G."""

    def loss(self, params, batch, key, step):
        del step
        return self.model.adversarial_loss(params, batch, key)


def free_run(model: Seq2Seq, params, context: Int[Array, " L"], context_length: Int[Array, ""], key: jax.Array,
             num_steps: int, soft_temperature: float, special_ids: tuple[int, int, int, int] = SPECIAL_IDS
             ) -> Generated:
    """A response of at most ``num_steps`` steps sampled from G (module docstring);
    ``special_ids`` the vocabulary's (pad, go, eos, unk)."""
    pad_id, go_id, eos_id, unk_id = special_ids
    encoded = model.encode(params, context, context_length)
    forbidden = jnp.asarray((pad_id, go_id, unk_id), jnp.int32)

    def body(state, t):
        carry, token, ended = state
        carry, logits = model.decode_step(params, carry, token, encoded)
        logits = logits.at[forbidden].set(_NEG)
        token = jax.random.categorical(jax.random.fold_in(key, t), logits).astype(jnp.int32)
        log_p = jax.nn.log_softmax(logits)[token]
        soft = jax.nn.softmax(logits / soft_temperature)
        scored = ~ended
        word = scored & (token != eos_id)
        return (carry, token, ended | (token == eos_id)), (token, soft, log_p, word, scored)

    start = (model.start(params, encoded, key), jnp.asarray(go_id, jnp.int32), jnp.asarray(False))
    _, (tokens, soft, log_p, words, scored) = jax.lax.scan(body, start, jnp.arange(num_steps))
    return Generated(jnp.where(scored, tokens, pad_id), soft, log_p, words, scored)


def generate_batch(model, params, batch: dict, key: jax.Array, soft_temperature: float) -> Generated:
    """``free_run`` for every pair of a dialogue batch, as long as its responses
    (``response_out``'s steps), with the model's ``special_ids``; leaves [B, ...]."""
    keys = jax.random.split(key, batch["context"].shape[0])
    steps = batch["response_out"].shape[1]
    return jax.vmap(lambda c, cl, k: free_run(model, params, c, cl, k, steps, soft_temperature, model.special_ids))(
        batch["context"], batch["context_length"], keys)


def gold_words(batch: dict) -> tuple[Int[Array, "B T"], Bool[Array, "B T"]]:
    """The gold responses' ids (``response_out``) and the mask of their words (<eos> excluded)."""
    ids = batch["response_out"]
    return ids, jnp.arange(ids.shape[1])[None] < batch["response_length"][:, None] - 1


def generator_params(params: dict) -> dict:
    """The generator's groups of a parameter dict (a Seq2Seq's nets)."""
    return {k: v for k, v in params.items() if k in GENERATOR_NETS}


@dataclasses.dataclass(frozen=True)
class AdversarialSeq2Seq(Seq2Seq):
    """A Seq2Seq generator G (hidden 256, as the documents' GAN generators) in a game
    with a discriminator D; trained by ``adversarial_loss`` (J_G + J_D, the
    subclass's) and evaluated by the NLL per token. ``soft_temperature`` tau > 0
    of G's soft word distributions; ``special_ids`` the vocabulary's (pad, go,
    eos, unk) ids, distinct and below ``vocab_size`` (ValueError otherwise).

    A base class: a model is a subclass that names its ``discriminator_groups`` and
    defines ``adversarial_loss`` (GANAEL, AdverREGS, LocalGAN); building one that does
    not raises TypeError."""

    hidden_dim: int = 256
    soft_temperature: float = 1.0
    special_ids: tuple[int, int, int, int] = SPECIAL_IDS

    loss_kind: ClassVar[str] = "NLL"

    def __post_init__(self):
        super().__post_init__()
        name = type(self).__name__
        if not hasattr(self, "adversarial_loss") or not hasattr(self, "discriminator_groups"):
            raise TypeError(f"{name} is a base class without a discriminator or a game to train by: build one of "
                            "its models (GANAEL, AdverREGS, LocalGAN)")
        if not self.soft_temperature > 0:
            raise ValueError(f"{name}.soft_temperature (tau) must be > 0, got {self.soft_temperature}")
        if len(self.special_ids) != 4 or len(set(self.special_ids)) != 4 or not all(
                0 <= int(i) < self.vocab_size for i in self.special_ids):
            raise ValueError(f"{name}.special_ids must be four distinct ids (pad, go, eos, unk) below the "
                             f"vocabulary size {self.vocab_size}, got {self.special_ids}")

    def objective(self, options: ObjectiveOptions = ObjectiveOptions(bound="adversarial")) -> AdversarialObjective:
        """J_G + J_D per step ('adversarial'); evaluated by the NLL per token."""
        check_bound(type(self).__name__, options.bound, ("adversarial",))
        return AdversarialObjective(self)


@dataclasses.dataclass(frozen=True)
class CNNDiscriminated(AdversarialSeq2Seq):
    """A Seq2Seq generator with a CNN discriminator D(q, r) = sigmoid(MLP([f(q), f(r)])),
    f a ``TextCNN`` over D's own word embeddings (``disc_embed_dim``), filter
    widths 1-4 with ``num_filters`` each. Subclasses give the generator's loss."""

    disc_embed_dim: int = 64
    num_filters: int = 128
    disc_hidden: int = 128

    discriminator_groups: ClassVar[tuple[str, ...]] = ("disc_embed", "disc_cnn", "disc_head")

    def __post_init__(self):
        super().__post_init__()
        parts.check_config(type(self).__name__, {n: getattr(self, n) for n in ("disc_embed_dim", "num_filters",
                                                                                "disc_hidden")})

    @property
    def nets(self) -> dict[str, nn.Module]:
        return dict(super().nets, disc_embed=nn.Embed(self.vocab_size, self.disc_embed_dim),
                    disc_cnn=TextCNN(num_filters=self.num_filters),
                    disc_head=MLP((self.disc_hidden, 1), activate_final=False))

    def init(self, key: jax.Array) -> dict:
        k_gen, k_embed, k_cnn, k_head = jax.random.split(key, 4)
        features = 4 * self.num_filters
        return dict(super().init(k_gen),
                    disc_embed=self.nets["disc_embed"].init(k_embed, jnp.zeros((1,), jnp.int32)),
                    disc_cnn=self.nets["disc_cnn"].init(k_cnn, jnp.zeros((4, self.disc_embed_dim)), jnp.asarray(4)),
                    disc_head=self.nets["disc_head"].init(k_head, jnp.zeros(features), jnp.zeros(features)))

    def discriminator_logit(self, params, context, context_length, response_vectors, response_length):
        """logit D(q, r) for one pair: the context's ids and the response's word
        vectors [T, E] in D's embedding space (one-hot or soft rows)."""
        query = self.apply_net(params, "disc_cnn", self.apply_net(params, "disc_embed", context), context_length)
        reply = self.apply_net(params, "disc_cnn", response_vectors, response_length)
        return self.apply_net(params, "disc_head", query, reply)[0]

    def _logits(self, params, batch, vectors, lengths):
        return jax.vmap(lambda c, cl, v, n: self.discriminator_logit(params, c, cl, v, n))(
            batch["context"], batch["context_length"], vectors, lengths)

    def _gold_logits(self, params, batch):
        ids, words = gold_words(batch)
        vectors = self.apply_net(params, "disc_embed", ids) * words[..., None]
        return self._logits(params, batch, vectors, words.sum(1))


@register("gan_ael", test_size=dict(embed_dim=6, hidden_dim=8, disc_embed_dim=5, num_filters=3, disc_hidden=4),
          task="dialogue", data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class GANAEL(CNNDiscriminated):
    """GAN-AEL (Xu et al. 2017): D reads G's response through the approximate
    embedding layer sum_w softmax(logits_t / tau)_w e_D(w); J_G = -log D(q, r~)."""

    def adversarial_loss(self, params, batch, key) -> tuple[jax.Array, dict]:
        generated = generate_batch(self, params, batch, key, self.soft_temperature)
        table = params["disc_embed"]["params"]["embedding"]
        words, lengths = generated.words[..., None], generated.words.sum(1)
        logit_for_g = self._logits(jax.lax.stop_gradient(params), batch,
                                   generated.soft @ jax.lax.stop_gradient(table) * words, lengths)
        logit_fake = self._logits(params, batch, jax.lax.stop_gradient(generated.soft) @ table * words, lengths)
        logit_gold = self._gold_logits(params, batch)
        j_g = jnp.mean(jax.nn.softplus(-logit_for_g))
        j_d = jnp.mean(jax.nn.softplus(-logit_gold) + jax.nn.softplus(logit_fake))
        return j_g + j_d, {"generator_loss": j_g, "discriminator_loss": j_d,
                           "d_gold": jnp.mean(jax.nn.sigmoid(logit_gold)),
                           "d_generated": jnp.mean(jax.nn.sigmoid(logit_fake)),
                           "generated_length": jnp.mean(lengths)}


@register("adver_regs", test_size=dict(embed_dim=6, hidden_dim=8, disc_embed_dim=5, num_filters=3, disc_hidden=4),
          task="dialogue", data="tokens", dim_arg="vocab_size")
@dataclasses.dataclass(frozen=True)
class AdverREGS(CNNDiscriminated):
    """Adver-REGS (Li et al. 2017): D reads G's sampled tokens; G minimises
    -(D(q, r~) - b) sum_t log p(w~_t | .) (REINFORCE, b the batch's mean reward)
    plus ``teacher_forcing`` times the NLL per token of the gold responses."""

    teacher_forcing: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        if self.teacher_forcing < 0:
            raise ValueError(f"AdverREGS.teacher_forcing must be >= 0, got {self.teacher_forcing}")

    def adversarial_loss(self, params, batch, key) -> tuple[jax.Array, dict]:
        k_sample, k_nll = jax.random.split(key)
        generated = generate_batch(self, params, batch, k_sample, self.soft_temperature)
        lengths = generated.words.sum(1)
        vectors = self.apply_net(params, "disc_embed", jax.lax.stop_gradient(generated.tokens))
        logit_fake = self._logits(params, batch, vectors * generated.words[..., None], lengths)
        logit_gold = self._gold_logits(params, batch)
        reward = jax.lax.stop_gradient(jax.nn.sigmoid(logit_fake))
        log_p = jnp.where(generated.scored, generated.log_p, 0.0).sum(1)
        j_reinforce = -jnp.mean((reward - reward.mean()) * log_p)
        nll = response_loss(self, params, batch, k_nll)[0]
        j_d = jnp.mean(jax.nn.softplus(-logit_gold) + jax.nn.softplus(logit_fake))
        j_g = j_reinforce + self.teacher_forcing * nll
        return j_g + j_d, {"generator_loss": j_g, "discriminator_loss": j_d, "reward": jnp.mean(reward),
                           "nll_per_token": nll, "d_gold": jnp.mean(jax.nn.sigmoid(logit_gold)),
                           "generated_length": jnp.mean(lengths)}
