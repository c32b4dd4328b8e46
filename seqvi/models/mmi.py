"""Maximum mutual information reranking of N-best responses (Li et al. 2016, "A
Diversity-Promoting Objective Function for Neural Conversation Models", eqs. 3-4
and section 4.3), the Seq2Seq-MMI baseline of LocalGAN's Table 1.

For a query S and candidate responses T_1..T_N (an N-best list of the forward
Seq2Seq p(T | S), from beam search):

  MMI-bidi    score(T) = log p(T | S) + lambda log p(S | T) + gamma |T|
  MMI-antiLM  score(T) = log p(T | S) - lambda log U(T) + gamma |T|

p(S | T) is a backward Seq2Seq trained on (response, query) pairs
(``config.swap_pairs``), U(T) a language model; |T| counts T's words and gamma
rewards length. The list is reordered by score, best first.
"""

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

KINDS = ("bidi", "antilm")


def mmi_scores(log_p_forward: Float[Array, " N"], log_p_other: Float[Array, " N"], lengths: Int[Array, " N"],
               weight: float, length_bonus: float = 0.0, kind: str = "bidi") -> Float[Array, " N"]:
    """The scores of the module docstring: ``log_p_other`` is log p(S | T) for
    'bidi', log U(T) for 'antilm'. ValueError for another kind or a negative weight."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if weight < 0:
        raise ValueError(f"the MMI weight lambda must be >= 0, got {weight}")
    sign = 1.0 if kind == "bidi" else -1.0
    return log_p_forward + sign * weight * log_p_other + length_bonus * lengths


def rerank(scores: Float[Array, " N"]) -> Int[Array, " N"]:
    """Candidate indices by decreasing score (ties keep the N-best order)."""
    return jnp.argsort(-scores, stable=True)


def candidate_lengths(tokens: Int[Array, "N T"], eos_id: int, pad_id: int) -> Int[Array, " N"]:
    """Words of each candidate: the tokens before its first <eos> that are not padding."""
    before_eos = jnp.cumsum(tokens == eos_id, axis=1) == 0
    return jnp.sum(before_eos & (tokens != pad_id), axis=1)


def backward_log_likelihood(model, params, candidates: Int[Array, "N T"], query: Int[Array, " L"],
                            query_length: Int[Array, ""], *, go_id: int, eos_id: int, pad_id: int
                            ) -> Float[Array, " N"]:
    """log p(S | T_n) under a backward Seq2Seq (``model.response_terms``): the
    query S (its first ``query_length`` ids, then <eos>) scored as the response
    to each candidate T_n read as the context."""
    lengths = candidate_lengths(candidates, eos_id, pad_id)
    contexts = jnp.where(jnp.arange(candidates.shape[1])[None] < lengths[:, None], candidates, pad_id)
    steps = query.shape[0] + 1
    position = jnp.arange(steps)
    padded = jnp.concatenate([query, jnp.full((1,), pad_id, query.dtype)])
    response_out = jnp.where(position < query_length, padded, jnp.where(position == query_length, eos_id, pad_id))
    response_in = jnp.concatenate([jnp.full((1,), go_id, query.dtype), response_out[:-1]])
    response_in = jnp.where(position <= query_length, response_in, pad_id)

    def one(context, length):
        log_p, _ = model.response_terms(params, context, jnp.maximum(length, 1), response_in, response_out,
                                        query_length + 1, jax.random.key(0))
        return jnp.sum(jnp.where(position <= query_length, log_p, 0.0))

    return jax.vmap(one)(contexts, lengths)
