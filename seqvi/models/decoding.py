"""Decoding a response from any decoder step ``step(carry, token) -> (carry, logits [V])``:
greedy, sampling with a temperature, and beam search. Each starts from the token
``go_id``, runs ``max_length`` steps (static) and returns token ids [max_length]
that end with ``eos_id`` and are padded with ``pad_id`` after it.

The special ids are required keyword arguments (``go_id``, ``eos_id``,
``pad_id``): this module knows no vocabulary (for the dialogue data pass
``vocab.go_id``, ``vocab.eos_id``, ``vocab.pad_id``). ``forbidden_ids`` (a tuple
of ids, static; default none) are never emitted: their logits are set to -inf
before the softmax, so greedy picks, samples and beam scores are those of the
decoder's distribution renormalised over the allowed tokens. ``eos_id`` cannot be
forbidden (no response could end). An id that is not an int >= 0, or is >= V (the
logits' size, checked at trace time), raises a ValueError naming the argument.
"""

import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Step = Callable[[Any, jax.Array], tuple[Any, jax.Array]]


class _Ids(NamedTuple):
    go: int
    eos: int
    pad: int
    forbidden: tuple[int, ...]


def _as_id(name: str, value) -> int:
    """``value`` as a non-negative Python int, else a ValueError naming ``name``."""
    try:
        i = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a token id (an int >= 0), got {value!r}") from None
    if i < 0:
        raise ValueError(f"{name} must be a token id (an int >= 0), got {i}")
    return i


def _ids(go_id, eos_id, pad_id, forbidden_ids: Sequence[int]) -> _Ids:
    """The checked special and forbidden ids (ValueError: a bad id, or eos forbidden)."""
    if isinstance(forbidden_ids, (int, str)) or not isinstance(forbidden_ids, Sequence):
        raise ValueError(f"forbidden_ids must be a tuple of token ids, got {forbidden_ids!r}")
    forbidden = tuple(sorted({_as_id(f"forbidden_ids[{n}]", f) for n, f in enumerate(forbidden_ids)}))
    ids = _Ids(_as_id("go_id", go_id), _as_id("eos_id", eos_id), _as_id("pad_id", pad_id), forbidden)
    if ids.eos in forbidden:
        raise ValueError(f"forbidden_ids {forbidden} contain eos_id = {ids.eos}: no response could end")
    return ids


def _allowed(logits: jax.Array, ids: _Ids) -> jax.Array:
    """``logits`` [..., V] with the forbidden ids at -inf; a ValueError (at trace
    time) if any special or forbidden id is not below V."""
    vocab = logits.shape[-1]
    for name, i in (("go_id", ids.go), ("eos_id", ids.eos), ("pad_id", ids.pad),
                    ("forbidden_ids", max(ids.forbidden, default=0))):
        if i >= vocab:
            raise ValueError(f"{name} holds id {i}, but the step's logits have only V = {vocab} entries")
    if not ids.forbidden:
        return logits
    return logits.at[..., jnp.asarray(ids.forbidden)].set(-jnp.inf)


def _finish(tokens: jax.Array, eos_id: int, pad_id: int) -> jax.Array:
    """``pad_id`` after the first ``eos_id`` of tokens [T]."""
    ended = jnp.cumsum(tokens == eos_id) - (tokens == eos_id) > 0
    return jnp.where(ended, pad_id, tokens)


def greedy(step: Step, carry: Any, max_length: int, *, go_id: int, eos_id: int, pad_id: int,
           forbidden_ids: Sequence[int] = ()) -> jax.Array:
    """w_t = argmax over the allowed w of p(w | w_{<t}): token ids [max_length]."""
    return sample(step, carry, None, max_length, temperature=0.0, go_id=go_id, eos_id=eos_id, pad_id=pad_id,
                  forbidden_ids=forbidden_ids)


def sample(step: Step, carry: Any, key: jax.Array | None, max_length: int, temperature: float = 1.0, *,
           go_id: int, eos_id: int, pad_id: int, forbidden_ids: Sequence[int] = ()) -> jax.Array:
    """w_t ~ softmax(logits / temperature) over the allowed tokens: token ids
    [max_length]; temperature 0 is greedy (``key`` unused). ValueError for a
    negative temperature or a bad id (module docstring)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    ids = _ids(go_id, eos_id, pad_id, forbidden_ids)

    def body(state, t):
        carry, token = state
        carry, logits = step(carry, token)
        logits = _allowed(logits, ids)
        if temperature == 0.0:
            token = jnp.argmax(logits).astype(jnp.int32)
        else:
            token = jax.random.categorical(jax.random.fold_in(key, t), logits / temperature).astype(jnp.int32)
        return (carry, token), token

    _, tokens = jax.lax.scan(body, (carry, jnp.asarray(ids.go, jnp.int32)), jnp.arange(max_length))
    return _finish(tokens, ids.eos, ids.pad)


def beam_search(step: Step, carry: Any, beam_size: int, max_length: int, *, go_id: int, eos_id: int, pad_id: int,
                forbidden_ids: Sequence[int] = ()) -> tuple[jax.Array, jax.Array]:
    """The ``beam_size`` highest-scoring responses by sum of token log-probabilities
    under the allowed tokens (no length normalisation): (tokens [K, max_length],
    scores [K]), best first. A beam that has emitted ``eos_id`` keeps its score and
    emits ``pad_id`` (forbidden or not: it is padding). A beam of score -inf (fewer
    than K responses possible) is ``pad_id`` from its first impossible step.
    ValueError for beam_size < 1 or a bad id (module docstring)."""
    k = beam_size
    if k < 1:
        raise ValueError(f"beam_size must be >= 1, got {k}")
    ids = _ids(go_id, eos_id, pad_id, forbidden_ids)
    carries = jax.tree.map(lambda x: jnp.broadcast_to(x, (k,) + jnp.shape(x)), carry)
    scores = jnp.full((k,), -jnp.inf).at[0].set(0.0)  # one live beam at the start: no duplicates
    state0 = (carries, jnp.full((k,), ids.go, jnp.int32), scores, jnp.zeros((k,), bool),
              jnp.full((k, max_length), ids.pad, jnp.int32))

    def body(state, t):
        carries, last, scores, done, tokens = state
        new_carries, logits = jax.vmap(step)(carries, last)
        log_p = jax.nn.log_softmax(_allowed(logits, ids))  # [K, V]
        vocab = log_p.shape[-1]
        # A finished beam continues only with the pad id, at no cost.
        stay = jnp.full((vocab,), -jnp.inf).at[ids.pad].set(0.0)
        candidates = scores[:, None] + jnp.where(done[:, None], stay[None, :], log_p)
        top, flat = jax.lax.top_k(candidates.reshape(-1), k)
        beam, word = flat // vocab, (flat % vocab).astype(jnp.int32)
        possible = top > -jnp.inf
        word = jnp.where(possible, word, ids.pad)  # an impossible pick would be an arbitrary (maybe forbidden) id
        carries = jax.tree.map(lambda c: c[beam], new_carries)
        tokens = tokens[beam].at[:, t].set(word)
        done = done[beam] | (word == ids.eos) | ~possible
        return (carries, word, top, done, tokens), None

    (_, _, scores, _, tokens), _ = jax.lax.scan(body, state0, jnp.arange(max_length))
    return jax.vmap(lambda row: _finish(row, ids.eos, ids.pad))(tokens), scores
