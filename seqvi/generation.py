"""Responses of a trained dialogue model to contexts given as text: greedy,
sampled or beam-search decoding (``seqvi.models.decoding``) under one compiled
decoder per (model, method, sizes), and MMI-bidi reranking of a beam with a
backward model (Li et al. 2016; ``seqvi.models.mmi``)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from seqvi.data import dialogue
from seqvi.models import decoding, mmi


def _encoded_contexts(contexts, vocab, config) -> dialogue.Batch:
    """The contexts as padded ids (``config.max_context`` tokens), each with a dummy response."""
    return dialogue.encode_pairs([(c, ".") for c in contexts], vocab, config.max_context, 1)


def _decoder(model, params, context, context_length):
    """(the encoded context, the decoder's step (carry, token) -> (carry, log-probabilities))."""
    encoded = model.encode(params, context, context_length)
    return encoded, lambda carry, token: model.decode_step(params, carry, token, encoded)


def responses(model, params, contexts, vocab, config, *, method: str = "greedy", key=None, num_samples: int = 1,
              temperature: float = 1.0, beam_size: int = 5, forbidden_ids=None) -> list[list[list[str]]]:
    """For each context, ``num_samples`` responses (token lists): 'greedy', 'sample'
    (with ``temperature``) or 'beam' (the best of ``beam_size``). ``forbidden_ids``:
    token ids never generated (default: <unk> and <pad>; ``()`` allows every id).
    The compiled decoder is kept per (model, method, sizes), so calls with new
    parameters (a training run's diversity evaluations) do not recompile it."""
    if method not in ("greedy", "sample", "beam"):
        raise ValueError(f"method must be 'greedy', 'sample' or 'beam', got {method!r}")
    ids = _encoded_contexts(contexts, vocab, config)
    forbidden = (vocab.unk_id, vocab.pad_id) if forbidden_ids is None else tuple(int(i) for i in forbidden_ids)
    special = (vocab.go_id, vocab.eos_id, vocab.pad_id, forbidden)
    sampled = method == "sample"  # only the settings the method reads key the compiled decoder
    decode = _response_decoder(model, method, config.max_response + 1, special, num_samples if sampled else 1,
                               float(temperature) if sampled else 1.0, beam_size if method == "beam" else 0)
    key = jax.random.key(0) if key is None else key
    out = decode(params, ids.context, ids.context_length, jax.random.split(key, len(contexts)))
    return [[vocab.decode(row) for row in np.asarray(per_context)] for per_context in out]


@functools.lru_cache(maxsize=16)
def _response_decoder(model, method: str, length: int, special: tuple, num_samples: int, temperature: float,
                      beam_size: int):
    """jit(vmap) of one context's decoding, (params, context [N, L], context_length [N],
    keys [N]) -> ids [N, num_samples or 1, length]; ``special`` = (go, eos, pad, forbidden ids)."""
    go_id, eos_id, pad_id, forbidden = special
    special_ids = dict(go_id=go_id, eos_id=eos_id, pad_id=pad_id, forbidden_ids=forbidden)

    def decode(params, context, context_length, k):
        encoded, step = _decoder(model, params, context, context_length)
        k_latent, k_words = jax.random.split(k)  # latent draws (VMED), word draws
        if method == "greedy":
            return decoding.greedy(step, model.start(params, encoded, k_latent), length, **special_ids)[None]
        if method == "beam":
            return decoding.beam_search(step, model.start(params, encoded, k_latent), beam_size, length,
                                        **special_ids)[0][:1]
        keys = jax.random.split(k_words, num_samples)
        latent = jax.random.split(k_latent, num_samples)
        return jax.vmap(lambda kl, kw: decoding.sample(step, model.start(params, encoded, kl), kw, length,
                                                       temperature, **special_ids))(latent, keys)

    return jax.jit(jax.vmap(decode, in_axes=(None, 0, 0, 0)))


def mmi_responses(model, params, backward_model, backward_params, contexts, vocab, config, *, beam_size: int = 10,
                  weight: float = 0.5, length_bonus: float = 0.0) -> list[list[list[str]]]:
    """For each context, the best of the forward model's ``beam_size``-best list
    reranked by MMI-bidi (``seqvi.models.mmi``) with the backward model p(S | T)."""
    ids = _encoded_contexts(contexts, vocab, config)
    special = dict(go_id=vocab.go_id, eos_id=vocab.eos_id, pad_id=vocab.pad_id)

    def decode(context, context_length):
        encoded, step = _decoder(model, params, context, context_length)
        tokens, forward = decoding.beam_search(step, model.start(params, encoded, jax.random.key(0)), beam_size,
                                               config.max_response + 1, forbidden_ids=(vocab.unk_id, vocab.pad_id),
                                               **special)
        backward = mmi.backward_log_likelihood(backward_model, backward_params, tokens, context, context_length,
                                               **special)
        lengths = mmi.candidate_lengths(tokens, vocab.eos_id, vocab.pad_id)
        forward = jnp.where(jnp.isfinite(forward), forward, -1e9)  # an impossible beam stays last
        return tokens[mmi.rerank(mmi.mmi_scores(forward, backward, lengths, weight, length_bonus))[0]]

    decode_chunk = jax.jit(jax.vmap(decode))
    chunk, out = 64, []  # contexts per call: the backward scores hold [chunk, beam, steps, V] log-probabilities
    for start in range(0, len(contexts), chunk):
        rows = np.take(np.arange(len(contexts)), np.arange(start, start + chunk), mode="clip")
        out.append(np.asarray(decode_chunk(ids.context[rows], ids.context_length[rows])))
    out = np.concatenate(out)[: len(contexts)]
    return [[vocab.decode(row)] for row in out]
