"""VHRNN: configuration errors, a hand count of its parameters, the hypernetwork
input options, and one FIVO training step for each of them."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from seqvi import bounds
from seqvi.models.parts import num_params, param_counts
from seqvi.models.vhrnn import HYPER_INPUTS, VHRNN

D, T, LENGTH = 2, 7, 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(hyper_input="z"), "hyper_input"),
        (dict(cell_type="rnn"), "cell_type"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(omega_hidden=2.5), "omega_hidden"),
        (dict(emission_type="poisson"), "emission_type"),
    ],
)
def test_bad_configuration_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        VHRNN(D, **kwargs)


def test_parameter_count_matches_a_hand_count():
    """All sizes 1, D = 2, Gaussian emission, hypernetwork input [z_t, h_{t-1}] (2 dims)."""
    model = VHRNN(2, latent_dim=1, rnn_dim=1, hidden_dim=1, hyper_dim=1, omega_hidden=1, emission_type="gaussian")
    counts = param_counts(model.init(jax.random.key(0)))
    dense = lambda n_in, n_out: n_in * n_out + n_out  # noqa: E731
    head = lambda n_in: dense(n_in, 1) + 2 * dense(1, 1)  # noqa: E731  hidden layer of 1, then mean and scale
    hand = {
        "phi_x": dense(2, 1),  # x (2) -> 1
        "phi_z": dense(1, 1),
        "rnn": dense(2, 4) + dense(1, 4),  # W_x over [phi_x, phi_z] and W_h, 4 gates of 1 unit
        # theta: LSTM of 1 unit over v (2): input kernels 4 * 2, hidden kernels and biases 4 * (1 + 1);
        # then d_x, d_h and b_dyn, each Dense(1 -> 4)
        "theta": 4 * 2 + 4 * 2 + 3 * dense(1, 4),
        "prior": head(1),  # from h_{t-1}
        "proposal": head(2),  # from [h_{t-1}, phi_x(x_t)]
        # omega's hidden layer over v (2); per decoder layer (hidden 1, mean 2, scale 2) a scale and a
        # shift Dense from omega's 1 unit, and the modulated layer itself (input [phi_z, h] = 2, then 1)
        "emission": dense(2, 1) + (2 * dense(1, 1) + dense(2, 1)) + 2 * (2 * dense(1, 2) + dense(1, 2)),
    }
    assert counts == hand
    assert num_params(model.init(jax.random.key(0))) == sum(hand.values()) == 112


def test_hyper_input_options():
    z, h = jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0, 5.0])
    expect = {"both": [1.0, 2.0, 3.0, 4.0, 5.0], "latent": [1.0, 2.0], "hidden": [3.0, 4.0, 5.0]}
    for option in HYPER_INPUTS:
        model = VHRNN(D, latent_dim=2, rnn_dim=3, hyper_input=option)
        np.testing.assert_array_equal(model.hyper_input_of(z, h), expect[option])


@pytest.fixture(scope="module")
def data():
    xs = jax.random.normal(jax.random.key(0), (2, T, D))
    return xs, jnp.array([LENGTH, T])


@pytest.mark.parametrize("option, cell_type", [("both", "lstm"), ("latent", "gru"), ("hidden", "lstm")])
def test_one_fivo_training_step(data, option, cell_type):
    xs, lengths = data
    model = VHRNN(D, latent_dim=2, rnn_dim=3, hidden_dim=4, hyper_dim=3, omega_hidden=5, hyper_input=option,
                  cell_type=cell_type)
    params = model.init(jax.random.key(1), xs.mean((0, 1)))
    loss_fn = bounds.batch_loss(bounds.get_bound("fivo", num_particles=3), model)
    batch = {"xs": xs, "lengths": lengths}
    loss_and_grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
    (loss, _), grads = loss_and_grad(params, batch, jax.random.key(2))
    assert np.isfinite(float(loss))
    for name in ("theta", "emission", "rnn", "prior", "proposal"):
        norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads[name])]
        assert all(np.isfinite(norms)) and max(norms) > 0, name
    opt = optax.adam(1e-2)
    updates, _ = opt.update(grads, opt.init(params), params)
    new = optax.apply_updates(params, updates)
    (new_loss, _), _ = loss_and_grad(new, batch, jax.random.key(2))
    assert np.isfinite(float(new_loss)) and float(new_loss) != float(loss)
