"""seqvi.ssm against its peers, side by side in one run.

  Kalman filter and RTS smoother, sequential and parallel: seqvi vs dynamax and vs
    cuthbert (square-root form) (T = 100, 1000, 10000; state dims 4 and 16; and
    cuthbert's published case, state 20, T = 1000; observation dim n / 2).
  Bootstrap particle filter: seqvi vs tensorflow_probability.substrates.jax's
    experimental particle_filter (1000 and 10000 particles, systematic
    resampling when ESS < N / 2, both tracing the weighted mean and covariance),
    and vs cuthbert's on Lorenz-63 (125 particles, T = 200, cuthbert's published case).

Both sides are jitted and return the same quantities; each time is the median
of 9 samples taken alternately with the peer's, after a warm-up call; the compile
time of each side is measured apart. A row whose peer is not installed, or whose
process did not finish, is written with the reason. Writes
benchmarks/results/ssm.json and prints one line per row.

  python benchmarks/ssm.py [--quick] [--out_dir=DIR]
"""

import json
import pathlib
import subprocess
import sys
import tempfile

import jax
import jax.numpy as jnp
from absl import app, flags

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import common  # noqa: E402

common.single_threaded_eigen()  # before any computation: the parallel filters wedged without it

from seqvi.ssm import lgssm, lgssm_parallel, particle  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string("case", None, "internal: run one case in this process (kalman:T:dim[:row name], "
                    "particle:N or lorenz:N:T)")
flags.DEFINE_string("case_out", None, "internal: where the one case writes its rows")


def dynamax_params(p: lgssm.Params):
    from dynamax.linear_gaussian_ssm.inference import make_lgssm_params

    return make_lgssm_params(p.initial_mean, p.initial_cov, p.transition_matrix, p.transition_cov,
                             p.emission_matrix, p.emission_cov)


def _same_outputs(fn):
    """Keep the fields both libraries return (log-likelihood, filtered moments, and
    for smoothers the smoothed moments and lag-one cross terms), so unused extras
    (seqvi's predicted moments) are dropped by jit on both sides alike."""

    def run(params, ys):
        out = fn(params, ys)
        return tuple(v for k, v in out._asdict().items() if not k.startswith(("predicted", "step_")))

    return run


def kalman_rows(num_steps: int, state_dim: int, only: str | None = None) -> list[dict]:
    from dynamax.linear_gaussian_ssm import inference as dyn_seq
    from dynamax.linear_gaussian_ssm import parallel_inference as dyn_par

    params = lgssm.random_params(jax.random.PRNGKey(0), state_dim, max(1, state_dim // 2))
    _, ys = lgssm.sample(jax.random.PRNGKey(1), params, num_steps)
    dparams = dynamax_params(params)
    pairs = {
        "kalman_filter_sequential": (lgssm.filter, dyn_seq.lgssm_filter),
        "kalman_smoother_sequential": (lgssm.smoother, dyn_seq.lgssm_smoother),
        "kalman_filter_parallel": (lgssm_parallel.filter, dyn_par.lgssm_filter),
        "kalman_smoother_parallel": (lgssm_parallel.smoother, dyn_par.lgssm_smoother),
    }
    cuthbert = cuthbert_lgssm(params)
    rows = []
    for name, (ours, theirs) in pairs.items():
        if only is not None and name != only:
            continue
        ours, ours_seconds = common.compiled(jax.jit(_same_outputs(ours)), (params, ys))
        sizes = dict(T=num_steps, state_dim=state_dim)
        peers = [("dynamax 1.0.3", jax.jit(_same_outputs(theirs)), (dparams, ys))]
        if cuthbert is None:
            rows.append(common.missing_row(name, "cuthbert", "cuthbert is not installed (make bench installs it)",
                                           **sizes))
        else:
            peers.append((f"cuthbert {_version('cuthbert')}", jax.jit(cuthbert[name]), (ys,)))
        for peer, jitted, args in peers:
            theirs, theirs_seconds = common.compiled(jitted, args)
            if peer.startswith("cuthbert"):
                _same_log_likelihood(name, ours(params, ys)[0], theirs(*args)[0], num_steps)
            t_ours, t_theirs = common.compare(ours, (params, ys), theirs, args)
            rows.append(common.row(name, t_ours, peer, t_theirs, (ours_seconds, theirs_seconds), **sizes))
            common.print_row(rows[-1])
    return rows


def _same_log_likelihood(name: str, ours, theirs, num_steps: int) -> None:
    """The two libraries solve the same problem: their log p(y_{1:T}) agree to float32 rounding,
    1e-3 nats a step (1.4e-4 measured at state 20; one observation more or less moves it by
    about one step's log-likelihood, 23 nats there)."""
    ours, theirs = float(ours), float(theirs)
    print(f"{name}: log-likelihood seqvi {ours:.3f} | peer {theirs:.3f}", flush=True)
    if abs(ours - theirs) > 1e-3 * num_steps:
        raise AssertionError(f"{name}: log-likelihoods differ: seqvi {ours}, peer {theirs}")


def _version(package: str) -> str:
    import importlib.metadata

    return importlib.metadata.version(package)


def cuthbert_lgssm(p: lgssm.Params) -> dict | None:
    """cuthbert's square-root Kalman filter and smoother for the LGSSM ``p``, as functions of
    ys [T, m] keyed like ``kalman_rows``'s pairs (None without cuthbert). cuthbert filters
    from a state x_0 that emits nothing; its first transition here is p(x_1) itself (F = 0,
    c = the initial mean, chol Q = chol of the initial covariance), so both libraries score
    the same p(y_{1:T}). Each returns the log-likelihood and the filtered (or smoothed) mean
    and Cholesky factor at every step: the quantities seqvi's return, in factor form."""
    try:
        import cuthbert
        from cuthbert.gaussian import kalman
    except ImportError:
        return None
    n = p.initial_mean.shape[0]
    chol_p0, chol_q, chol_r = (jnp.linalg.cholesky(c) for c in (p.initial_cov, p.transition_cov, p.emission_cov))

    def dynamics(inputs):
        first = inputs["t"] == 0
        return (jnp.where(first, 0.0, p.transition_matrix), jnp.where(first, p.initial_mean, 0.0),
                jnp.where(first, chol_p0, chol_q))

    def observation(inputs):
        return p.emission_matrix, jnp.zeros(p.emission_matrix.shape[0]), chol_r, inputs["y"]

    kalman_filter = kalman.build_filter(jnp.zeros(n), jnp.eye(n), dynamics, observation)
    kalman_smoother = kalman.build_smoother(dynamics)

    def run(parallel: bool, smooth: bool):
        def fn(ys):
            inputs = {"t": jnp.arange(ys.shape[0]), "y": ys}
            states = cuthbert.filter(kalman_filter, inputs, kalman_filter.init_prepare(), parallel=parallel)
            log_likelihood = states.log_normalizing_constant[-1]
            if smooth:
                states = cuthbert.smoother(kalman_smoother, states, inputs, parallel=parallel)
            return log_likelihood, states.mean[1:], states.chol_cov[1:]
        return fn

    return {"kalman_filter_sequential": run(False, False), "kalman_smoother_sequential": run(False, True),
            "kalman_filter_parallel": run(True, False), "kalman_smoother_parallel": run(True, True)}


def tfp_particle_filter(params: lgssm.Params, ys, num_particles: int):
    import tensorflow_probability.substrates.jax as tfp

    tfd = tfp.distributions
    chol = jnp.linalg.cholesky

    def trace(state, results):
        w = jax.nn.softmax(state.log_weights)
        mean = w @ state.particles
        centred = state.particles - mean
        return mean, (w[:, None] * centred).T @ centred, results.accumulated_log_marginal_likelihood

    def run(key):
        return tfp.experimental.mcmc.particle_filter(
            observations=ys,
            initial_state_prior=tfd.MultivariateNormalTriL(params.initial_mean, chol(params.initial_cov)),
            transition_fn=lambda _, x: tfd.MultivariateNormalTriL(x @ params.transition_matrix.T,
                                                                  chol(params.transition_cov)),
            observation_fn=lambda _, x: tfd.MultivariateNormalTriL(x @ params.emission_matrix.T,
                                                                   chol(params.emission_cov)),
            num_particles=num_particles,
            resample_fn=tfp.experimental.mcmc.resample_systematic,
            resample_criterion_fn=tfp.experimental.mcmc.ess_below_threshold,  # ESS < N / 2
            unbiased_gradients=False,
            trace_fn=trace,
            seed=key,
        )

    return run


def particle_rows(num_particles: int, num_steps: int = 100, state_dim: int = 4) -> list[dict]:
    params = lgssm.random_params(jax.random.PRNGKey(0), state_dim, state_dim // 2)
    _, ys = lgssm.sample(jax.random.PRNGKey(1), params, num_steps)
    model = particle.from_lgssm(params)
    ours = jax.jit(lambda k: particle.bootstrap_filter(k, model, ys, num_particles=num_particles,
                                                      resampling="systematic", ess_threshold=0.5))
    theirs = jax.jit(tfp_particle_filter(params, ys, num_particles))
    key = jax.random.PRNGKey(2)
    # Same model, same estimator: the two log Z-hats must agree within Monte Carlo error.
    ll_ours, ll_theirs = float(ours(key).log_likelihood), float(theirs(key)[2][-1])
    exact = float(lgssm.filter(params, ys).log_likelihood)
    print(f"log Z: exact {exact:.2f} | seqvi {ll_ours:.2f} | tfp {ll_theirs:.2f}", flush=True)
    t_ours, t_theirs = common.compare(ours, (key,), theirs, (key,))
    r = common.row("particle_filter_bootstrap", t_ours, "tfp particle_filter", t_theirs, T=num_steps,
                   state_dim=state_dim, num_particles=num_particles)
    common.print_row(r)
    return [r]


LORENZ_DT, LORENZ_PROCESS_SD, LORENZ_OBSERVATION_SD = 0.02, 1.0, 1.0


def lorenz63_drift(x):
    """Lorenz-63 (sigma 10, rho 28, beta 8/3): dx/dt for x [3]."""
    return jnp.stack([10.0 * (x[1] - x[0]), x[0] * (28.0 - x[2]) - x[1], x[0] * x[1] - 8.0 / 3.0 * x[2]])


def lorenz63_model() -> particle.Model:
    """Euler-Maruyama Lorenz-63 with step ``LORENZ_DT``: x_t ~ N(x + dt f(x), dt s_x^2 I), x_1 ~
    N((1, 1, 1), I), y_t ~ N(x_t, s_y^2 I), all three coordinates observed."""
    import distrax

    step_sd = LORENZ_PROCESS_SD * LORENZ_DT**0.5
    return particle.Model(
        initial=lambda: distrax.MultivariateNormalDiag(jnp.ones(3), jnp.ones(3)),
        transition=lambda x, u: distrax.MultivariateNormalDiag(x + LORENZ_DT * lorenz63_drift(x),
                                                               jnp.full(3, step_sd)),
        emission=lambda x: distrax.MultivariateNormalDiag(x, jnp.full(3, LORENZ_OBSERVATION_SD)))


def lorenz63_data(key, num_steps: int):
    model = lorenz63_model()
    k0, k1 = jax.random.split(key)

    def step(x, k):
        kx, ky = jax.random.split(k)
        x = model.transition(x, None).sample(seed=kx)
        return x, (x, model.emission(x).sample(seed=ky))

    kx, ky = jax.random.split(k0)
    x1 = model.initial().sample(seed=kx)
    _, (xs, ys) = jax.lax.scan(step, x1, jax.random.split(k1, num_steps - 1))
    return jnp.concatenate([model.emission(x1).sample(seed=ky)[None], ys])


def cuthbert_lorenz63(num_particles: int):
    """cuthbert's bootstrap particle filter (systematic resampling when ESS < N / 2) on the
    same Lorenz-63 model; like ``cuthbert_lgssm``, its first transition draws x_1 from
    p(x_1). Returns log Z-hat and the weighted mean at every step. None without cuthbert."""
    try:
        import cuthbert
        from cuthbert.smc import particle_filter
        from cuthbertlib.resampling import adaptive, systematic
    except ImportError:
        return None
    model = lorenz63_model()

    def propagate(key, x, inputs):  # a real branch, as seqvi's first step: inputs are not batched
        return jax.lax.cond(inputs["t"] == 0, lambda: model.initial().sample(seed=key),
                            lambda: model.transition(x, None).sample(seed=key))

    def log_potential(x_prev, x, inputs):
        return model.emission(x).log_prob(inputs["y"])

    pf = particle_filter.build_filter(
        init_sample=lambda key: jnp.zeros(3), propagate_sample=propagate, log_potential=log_potential,
        n_filter_particles=num_particles,
        resampling_fn=adaptive.ess_decorator(systematic.resampling, 0.5))

    def run(key, ys):
        inputs = {"t": jnp.arange(ys.shape[0]), "y": ys}
        init_key, filter_key = jax.random.split(key)
        states = cuthbert.filter(pf, inputs, pf.init_prepare(key=init_key), key=filter_key)
        weights = jax.nn.softmax(states.log_weights[1:], axis=-1)
        return states.log_normalizing_constant[-1], jnp.einsum("tn,tnd->td", weights, states.particles[1:])

    return run


def lorenz_rows(num_particles: int, num_steps: int = 200) -> list[dict]:
    sizes = dict(T=num_steps, state_dim=3, num_particles=num_particles, model="lorenz63")
    theirs = cuthbert_lorenz63(num_particles)
    if theirs is None:
        return [common.missing_row("particle_filter_lorenz63", "cuthbert",
                                   "cuthbert is not installed (make bench installs it)", **sizes)]
    ys = lorenz63_data(jax.random.PRNGKey(1), num_steps)
    model = lorenz63_model()
    ours = jax.jit(lambda k, ys: (lambda r: (r.log_likelihood, r.filtered_means))(particle.bootstrap_filter(
        k, model, ys, num_particles=num_particles, resampling="systematic", ess_threshold=0.5)))
    theirs = jax.jit(theirs)
    key = jax.random.PRNGKey(2)
    ours, ours_seconds = common.compiled(ours, (key, ys))
    theirs, theirs_seconds = common.compiled(theirs, (key, ys))
    # Same model, same estimator: the two log Z-hats differ by Monte Carlo error only (printed;
    # equal in mean over keys at 1000 and 10000 particles, measured).
    print(f"log Z-hat: seqvi {float(ours(key, ys)[0]):.2f} | cuthbert {float(theirs(key, ys)[0]):.2f}", flush=True)
    t_ours, t_theirs = common.compare(ours, (key, ys), theirs, (key, ys))
    r = common.row("particle_filter_lorenz63", t_ours, f"cuthbert {_version('cuthbert')}", t_theirs,
                   (ours_seconds, theirs_seconds), **sizes)
    common.print_row(r)
    return [r]


def run_case(case: str) -> list[dict]:
    kind, *sizes = case.split(":")
    if kind == "kalman":
        return kalman_rows(int(sizes[0]), int(sizes[1]), sizes[2] if len(sizes) > 2 else None)
    if kind == "particle":
        return particle_rows(int(sizes[0]))
    if kind == "lorenz":
        return lorenz_rows(int(sizes[0]), int(sizes[1]))
    raise ValueError(f"unknown case {case!r}")


def run_isolated(case: str, timeout_s: int = 600, attempts: int = 1) -> list[dict]:
    """One case in a fresh process: no compiled-program or allocator state carries
    over between cases, and a wedged XLA runtime (seen on this CPU, every thread parked
    on a futex, while timing dynamax's T = 10000 parallel filter) costs that one row, which is
    reported as missing, not the run."""
    why = f"its process did not finish in {timeout_s} s ({attempts} attempts)"
    for attempt in range(1, attempts + 1):
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "rows.json"
            cmd = [sys.executable, __file__, f"--case={case}", f"--case_out={out}"]
            try:
                subprocess.run(cmd, check=True, timeout=timeout_s, stderr=subprocess.PIPE, text=True)
                return json.loads(out.read_text())
            except subprocess.TimeoutExpired:
                print(f"case {case} did not finish in {timeout_s} s (attempt {attempt} of {attempts})", flush=True)
            except subprocess.CalledProcessError as e:
                lines = e.stderr.strip().splitlines() or [""]
                why = f"its process failed (exit status {e.returncode}): {lines[-1][:200]}"
                print(f"case {case}: {why}", flush=True)
                break
    return [common.missing_row(name, "all", why, **sizes) for name, sizes in _case_rows(case)]


def _case_rows(case: str) -> list[tuple[str, dict]]:
    """The names and sizes of the rows ``case`` writes (for the rows that say it did not run)."""
    kind, *sizes = case.split(":")
    if kind == "kalman":
        names = sizes[2:] or ["kalman_filter_sequential", "kalman_smoother_sequential", "kalman_filter_parallel",
                              "kalman_smoother_parallel"]
        return [(n, dict(T=int(sizes[0]), state_dim=int(sizes[1]))) for n in names]
    if kind == "particle":
        return [("particle_filter_bootstrap", dict(T=100, state_dim=4, num_particles=int(sizes[0])))]
    return [("particle_filter_lorenz63", dict(T=int(sizes[1]), state_dim=3, num_particles=int(sizes[0]),
                                              model="lorenz63"))]


def main(argv):
    del argv
    if FLAGS.case:
        pathlib.Path(FLAGS.case_out).write_text(json.dumps(run_case(FLAGS.case)))
        return
    lengths, dims, particles = ([100], [4], [100]) if FLAGS.quick else ([100, 1000, 10000], [4, 16], [1000, 10000])
    print(f"device: {common.device()}", flush=True)
    pairs = ["kalman_filter_sequential", "kalman_smoother_sequential", "kalman_filter_parallel",
             "kalman_smoother_parallel"]
    published = ["kalman:100:20", "lorenz:25:20"] if FLAGS.quick else ["kalman:1000:20", "lorenz:125:200"]
    cases = ([f"kalman:{t}:{d}:{p}" for d in dims for t in lengths for p in pairs]
             + [f"{published[0]}:{p}" for p in pairs] + [f"particle:{n}" for n in particles] + published[1:])
    rows = [r for case in cases for r in run_isolated(case)]
    path = common.write("ssm", rows, FLAGS.out_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
