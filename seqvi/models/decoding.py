"""Decoding a response from any decoder step ``step(carry, token) -> (carry, logits [V])``:
greedy, sampling with a temperature, and beam search. Each starts from <go>, runs
``max_length`` steps (static) and returns token ids [max_length] that end with
<eos> and are padded with <pad> after it (``seqvi.data.dialogue`` ids).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from seqvi.data.dialogue import EOS_ID, GO_ID, PAD_ID

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


def _finish(tokens: jax.Array) -> jax.Array:
    """<pad> after the first <eos>."""
    ended = jnp.cumsum(tokens == EOS_ID) - (tokens == EOS_ID) > 0
    return jnp.where(ended, PAD_ID, tokens)


def greedy(step: Step, carry: Any, max_length: int) -> jax.Array:
    """w_t = argmax_w p(w | w_{<t})."""
    return sample(step, carry, None, max_length, temperature=0.0)


def sample(step: Step, carry: Any, key: jax.Array | None, max_length: int, temperature: float = 1.0) -> jax.Array:
    """w_t ~ softmax(logits / temperature); temperature 0 is greedy (``key`` unused)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")

    def body(state, t):
        carry, token = state
        carry, logits = step(carry, token)
        if temperature == 0.0:
            token = jnp.argmax(logits).astype(jnp.int32)
        else:
            token = jax.random.categorical(jax.random.fold_in(key, t), logits / temperature).astype(jnp.int32)
        return (carry, token), token

    _, tokens = jax.lax.scan(body, (carry, jnp.asarray(GO_ID, jnp.int32)), jnp.arange(max_length))
    return _finish(tokens)


def beam_search(step: Step, carry: Any, beam_size: int, max_length: int) -> tuple[jax.Array, jax.Array]:
    """The ``beam_size`` highest-scoring responses by sum of token log-probabilities
    (no length normalisation): (tokens [K, max_length], scores [K]), best first. A
    beam that has emitted <eos> keeps its score and emits <pad>."""
    k = beam_size
    if k < 1:
        raise ValueError(f"beam_size must be >= 1, got {k}")
    carries = jax.tree.map(lambda x: jnp.broadcast_to(x, (k,) + jnp.shape(x)), carry)
    scores = jnp.full((k,), -jnp.inf).at[0].set(0.0)  # one live beam at the start: no duplicates
    state0 = (carries, jnp.full((k,), GO_ID, jnp.int32), scores, jnp.zeros((k,), bool),
              jnp.full((k, max_length), PAD_ID, jnp.int32))

    def body(state, t):
        carries, last, scores, done, tokens = state
        new_carries, logits = jax.vmap(step)(carries, last)
        log_p = jax.nn.log_softmax(logits)  # [K, V]
        vocab = log_p.shape[-1]
        # A finished beam continues only with <pad>, at no cost.
        stay = jnp.full((vocab,), -jnp.inf).at[PAD_ID].set(0.0)
        candidates = scores[:, None] + jnp.where(done[:, None], stay[None, :], log_p)
        top, flat = jax.lax.top_k(candidates.reshape(-1), k)
        beam, word = flat // vocab, (flat % vocab).astype(jnp.int32)
        carries = jax.tree.map(lambda c: c[beam], new_carries)
        tokens = tokens[beam].at[:, t].set(word)
        done = done[beam] | (word == EOS_ID)
        return (carries, word, top, done, tokens), None

    (_, _, scores, _, tokens), _ = jax.lax.scan(body, state0, jnp.arange(max_length))
    return jax.vmap(_finish)(tokens), scores
