"""Writes notebooks/ball_tracking.ipynb: tracking a thrown ball from noisy
positions with the Kalman filter and RTS smoother, imputing a stretch of
missing observations (the worked example of the thesis, section 3.4).
Run: python notebooks/make_ball_tracking.py"""

from nbformat.v4 import new_code_cell, new_markdown_cell
from notebook_writer import write

cells = [
    new_markdown_cell(
        "# Tracking a ball with a linear-Gaussian state-space model\n\n"
        "A ball is thrown; a sensor reports its 2-D position with noise, and for a while it "
        "reports nothing. The state is position and velocity, x = (p_x, p_y, v_x, v_y); gravity "
        "enters as a known input u = (0, -g):\n\n"
        "x_t = A x_{t-1} + B u_t + q_t,   y_t = C x_t + r_t,\n\n"
        "with A the constant-velocity move over dt, B the effect of gravity over dt, and C "
        "reading the position. `seqvi.ssm.lgssm` filters (what we know at t), smooths (what we "
        "know after the whole throw) and samples paths through the gap."
    ),
    new_code_cell(
        "import jax, jax.numpy as jnp, numpy as np\n"
        "import matplotlib.pyplot as plt\n"
        "from seqvi.ssm import lgssm, lgssm_parallel\n"
        "jax.config.update('jax_enable_x64', True)\n"
        "\n"
        "dt, g, T = 0.05, 9.81, 60\n"
        "eye2, zero2 = jnp.eye(2), jnp.zeros((2, 2))\n"
        "params = lgssm.Params(\n"
        "    initial_mean=jnp.array([0.0, 1.0, 4.0, 6.0]),\n"
        "    initial_cov=jnp.diag(jnp.array([0.1, 0.1, 1.0, 1.0])),\n"
        "    transition_matrix=jnp.block([[eye2, dt * eye2], [zero2, eye2]]),\n"
        "    transition_cov=1e-3 * jnp.block([[dt**3 / 3 * eye2, dt**2 / 2 * eye2], [dt**2 / 2 * eye2, dt * eye2]]),\n"
        "    emission_matrix=jnp.hstack([eye2, zero2]),\n"
        "    emission_cov=0.05**2 * eye2,\n"
        "    input_matrix=jnp.vstack([dt**2 / 2 * eye2, dt * eye2]),\n"
        ")\n"
        "inputs = jnp.tile(jnp.array([0.0, -g]), (T, 1))\n"
        "states, ys = lgssm.sample(jax.random.PRNGKey(0), params, T, inputs)\n"
        "mask = np.ones(T, bool)\n"
        "mask[25:40] = False  # the sensor is blind for 15 steps\n"
        "print('observed steps:', mask.sum(), 'of', T)"
    ),
    new_markdown_cell(
        "Filtering and smoothing with the missing stretch masked out. A fully missing step is a "
        "pure prediction; the smoother then pulls the prediction towards where the ball reappears."
    ),
    new_code_cell(
        "f = lgssm.filter(params, ys, inputs, mask)\n"
        "s = lgssm.smoother(params, ys, inputs, mask)\n"
        "gap = ~mask\n"
        "err = lambda est: float(jnp.sqrt(jnp.mean(jnp.sum((est[gap, :2] - states[gap, :2]) ** 2, -1))))\n"
        "print(f'log p(y_obs) = {float(f.log_likelihood):.2f}')\n"
        "print(f'position error in the gap: filter {err(f.filtered_means):.3f}, smoother {err(s.smoothed_means):.3f}')\n"
        "par = lgssm_parallel.smoother(params, ys, inputs, mask)\n"
        "print('parallel smoother agrees:', bool(jnp.allclose(par.smoothed_means, s.smoothed_means, atol=1e-8)))"
    ),
    new_markdown_cell("Imputation: paths drawn from p(x_{1:T} | y_obs) by forward filtering, backward sampling."),
    new_code_cell(
        "keys = jax.random.split(jax.random.PRNGKey(1), 20)\n"
        "paths = jax.vmap(lambda k: lgssm.posterior_sample(k, params, ys, inputs, mask))(keys)\n"
        "\n"
        "fig, ax = plt.subplots(figsize=(8, 4.5))\n"
        "for p in paths:\n"
        "    ax.plot(p[:, 0], p[:, 1], color='tab:green', alpha=0.15, lw=1)\n"
        "ax.plot(states[:, 0], states[:, 1], 'k-', lw=1, label='true path')\n"
        "ax.plot(ys[mask, 0], ys[mask, 1], 'o', ms=3, color='tab:gray', label='observed positions')\n"
        "ax.plot(f.filtered_means[:, 0], f.filtered_means[:, 1], '--', color='tab:orange', label='filtered mean')\n"
        "ax.plot(s.smoothed_means[:, 0], s.smoothed_means[:, 1], color='tab:blue', label='smoothed mean')\n"
        "sd = jnp.sqrt(s.smoothed_covs[:, 1, 1])\n"
        "ax.fill_between(s.smoothed_means[:, 0], s.smoothed_means[:, 1] - 2 * sd, s.smoothed_means[:, 1] + 2 * sd,\n"
        "                color='tab:blue', alpha=0.15, label='smoothed +- 2 sd (height)')\n"
        "ax.axvspan(float(states[25, 0]), float(states[39, 0]), color='k', alpha=0.05, label='sensor blind')\n"
        "ax.set_xlabel('x'); ax.set_ylabel('height'); ax.legend(fontsize=8); fig.tight_layout()"
    ),
    new_markdown_cell(
        "Uncertainty over time: the filter's grows through the gap (prediction only), the "
        "smoother's is largest in the middle of it."
    ),
    new_code_cell(
        "fig, ax = plt.subplots(figsize=(8, 2.5))\n"
        "ax.plot(jnp.sqrt(f.filtered_covs[:, 1, 1]), label='filtered sd of height')\n"
        "ax.plot(jnp.sqrt(s.smoothed_covs[:, 1, 1]), label='smoothed sd of height')\n"
        "ax.axvspan(25, 39, color='k', alpha=0.05)\n"
        "ax.set_xlabel('t'); ax.legend(); fig.tight_layout()"
    ),
]
write(cells, "ball_tracking.ipynb")
