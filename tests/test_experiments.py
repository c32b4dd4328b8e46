"""The binaries end to end on a tiny dataset: train (stop, resume), evaluate, sample."""

import json

import numpy as np
import pytest

from seqvi.data import embedded_jsb_path, load_polyphonic

from binaries import run_binary
from conftest import ROOT, load_config

TINY = [
    "--config.model.latent_dim=2",
    "--config.model.rnn_dim=4",
    "--config.model.hidden_dim=4",
    "--config.num_particles=2",
    "--config.eval.num_particles=2",
    "--config.log_every=2",
    "--config.checkpoint_every=2",
    "--config.eval_every=2",
    "--config.warmup_steps=0",
]


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    rolls = load_polyphonic(embedded_jsb_path())
    notes = {
        split: [[np.flatnonzero(step).tolist() for step in r[:12]] for r in rolls[split][:6]]
        for split in rolls
    }
    path = tmp_path_factory.mktemp("data") / "tiny.json"
    path.write_text(json.dumps({s: [[[n + 21 for n in st] for st in seq] for seq in v] for s, v in notes.items()}))
    return path


@pytest.mark.slow
def test_train_resume_evaluate_sample(tmp_path, tiny_data):
    workdir = tmp_path / "run"
    common = ["experiments/train.py", f"--workdir={workdir}", f"--config.data_path={tiny_data}",
              "--config.num_steps=4", *TINY]
    first = run_binary(*common, "--stop_at=2")
    assert "step 2/4" in first
    second = run_binary(*common)
    assert "resumed from checkpoint at step 2" in second and "step 4/4" in second
    assert "eval at step 4" in second
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert {r["step"] for r in rows} == {2, 4}

    out = run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--num_particles=3", "--split=valid")
    for name in ("ELBO(1)", "IWAE(3)", "FIVO(3)"):
        assert f"valid {name} per timestep" in out
    results = json.loads((workdir / "eval_valid.json").read_text())["results"]
    assert [r["num_steps"] for r in results] == [72, 72, 72]
    assert all(r["per_step"] < 0 for r in results)

    out = run_binary("experiments/sample.py", f"--workdir={workdir}", "--num_samples=1", "--num_steps=8",
                     "--prefix_steps=4")
    assert (workdir / "samples" / "samples.png").stat().st_size > 1000
    assert (workdir / "samples" / "sample_0.mid").exists()
    assert (workdir / "samples" / "continuation_0.mid").exists()

    out = run_binary("experiments/impute.py", f"--workdir={workdir}", "--split=valid", "--num_sequences=2",
                     "--gap_start=3", "--gap_length=4", "--num_particles=4")
    errors = json.loads((workdir / "imputation" / "errors.json").read_text())
    assert 0.0 <= errors["imputed"] <= 1.0 and errors["num_sequences"] == 2 and "denoised" not in errors
    assert (workdir / "imputation" / "imputation.png").stat().st_size > 1000


ZOO = ["vrnn", "srnn", "dmm", "vae_rnn", "vrae", "vosp", "vhrnn"]


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize("dataset", ["jsb", "nottingham", "piano_midi"])
def test_every_config_builds_its_model(name, dataset):
    """Each shipped config loads, names its model and initialises it (no training)."""
    _check_config_builds(name, dataset, data_dim=88)


@pytest.mark.parametrize("name", ["vrnn", "vhrnn"])
def test_synthetic_configs_build_their_model(name):
    config = _check_config_builds(name, "synthetic", data_dim=2)
    assert config.model.emission_type == "gaussian" and config.dataset == "synthetic"


def _check_config_builds(name, dataset, data_dim):
    import jax

    from seqvi.models import registry
    from seqvi.models.parts import num_params
    from seqvi.train import experiment

    config = load_config(f"{name}.py", dataset)
    assert config.model.name == name and config.bound in ("elbo", "iwae", "fivo")
    model = experiment.build_model(config, data_dim)
    assert type(model) is registry.get(name).cls
    assert num_params(model.init(jax.random.key(0))) > 1000
    return config


@pytest.mark.slow
def test_vhrnn_on_the_synthetic_suite(tmp_path):
    """Train a tiny VHRNN on a tiny suite, evaluate FIVO on a test setting and
    draw the diagnostic figures."""
    workdir = tmp_path / "vhrnn"
    tiny_suite = ["--config.synthetic.length=8", "--config.synthetic.num_train=8", "--config.synthetic.num_valid=4",
                  "--config.synthetic.num_test=4"]
    tiny_model = ["--config.model.hyper_dim=3", "--config.model.omega_hidden=4", "--config.eval.batch_size=4"]
    run_binary("experiments/train.py", "--config=experiments/configs/vhrnn.py", f"--workdir={workdir}",
               "--config.num_steps=2", *tiny_suite, *TINY, *tiny_model)
    out = run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--num_particles=3", "--split=switch",
                     "--bounds=fivo")
    result = json.loads((workdir / "eval_switch.json").read_text())["results"][0]
    assert "switch FIVO(3) per timestep" in out and result["num_steps"] == 4 * 24
    out = run_binary("experiments/diagnose.py", f"--workdirs={workdir}", "--labels=VHRNN", f"--out_dir={tmp_path}",
                     "--settings=switch,add")
    assert "switch" in out and "VHRNN: KL" in out
    assert (tmp_path / "vhrnn_diagnostics_switch.png").stat().st_size > 1000


@pytest.mark.slow
def test_vrae_trains_evaluates_and_samples(tmp_path, tiny_data):
    """The whole-sequence model through the same binaries: ELBO training, IWAE
    evaluation, FIVO skipped with a message, samples without continuations."""
    workdir = tmp_path / "vrae"
    run_binary("experiments/train.py", "--config=experiments/configs/vrae.py", f"--workdir={workdir}",
               f"--config.data_path={tiny_data}", "--config.num_steps=2", *TINY)
    out = run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--num_particles=3", "--split=valid")
    assert "valid ELBO(1) per timestep" in out and "valid IWAE(3) per timestep" in out
    assert "FIVO does not apply" in out
    out = run_binary("experiments/sample.py", f"--workdir={workdir}", "--num_samples=1", "--num_steps=8")
    assert (workdir / "samples" / "sample_0.mid").exists()
    assert not (workdir / "samples" / "continuation_0.mid").exists()
    run_binary("experiments/impute.py", f"--workdir={workdir}", "--split=valid", "--num_sequences=1",
               "--gap_start=3", "--gap_length=4", "--iterations=2")
    errors = json.loads((workdir / "imputation" / "errors.json").read_text())
    assert 0.0 <= errors["denoised"] <= 1.0 and 0.0 <= errors["noisy"] <= 1.0


@pytest.mark.parametrize("environment", ["box", "gravity", "polygon", "pong", "pendulum"])
def test_kvae_configs_build_their_model(environment):
    import jax

    from seqvi.models.parts import num_params
    from seqvi.train import experiment

    config = load_config("kvae.py", environment)
    assert config.bound == "elbo" and config.physics.environment == environment
    side = 16 if environment == "pendulum" else 32
    model = experiment.build_model(config, side * side + (environment == "pendulum"))
    assert model.row_dim == side * side + model.input_dim
    assert num_params(model.init(jax.random.key(0))) > 1000


@pytest.mark.parametrize("variant", ["memory", "state", "landmark"])
def test_gtmsm_configs_build_their_model(variant):
    from seqvi.train import experiment

    model = experiment.build_model(load_config("gtmsm.py", variant), 8 * 8 + 5)
    assert model.prior_type == ("state" if variant == "state" else "memory")
    assert model.state_inference == ("landmark" if variant == "landmark" else "transition")
    assert ("landmark_gate" in model.nets) == (variant == "landmark")
    with pytest.raises(ValueError, match="the variant must be"):
        load_config("gtmsm.py", "obstacles")


@pytest.mark.slow
def test_kvae_trains_and_imputes_against_a_baseline(tmp_path):
    """A tiny KVAE and a tiny VAE-RNN on a few pendulum videos, then the
    imputation comparison with its figures and GIF."""
    tiny_data = ["--config.physics.num_train=6", "--config.physics.num_valid=2", "--config.physics.num_test=3",
                 "--config.batch_size=3", "--config.eval.batch_size=3", "--config.num_steps=2",
                 "--config.log_every=1", "--config.eval_every=2", "--config.checkpoint_every=2"]
    kvae = tmp_path / "kvae"
    out = run_binary("experiments/train.py", "--config=experiments/configs/kvae.py:pendulum", f"--workdir={kvae}",
                     "--config.model.hidden_dim=8", "--config.model.alpha_rnn_dim=4", "--config.frozen_steps=1",
                     *tiny_data)
    assert "valid_elbo_per_frame" in out
    out = run_binary("experiments/evaluate.py", f"--workdir={kvae}", "--split=test", "--batch_size=3")
    result = json.loads((kvae / "eval_test.json").read_text())["results"][0]
    assert "test ELBO(1) per frame" in out and result["num_frames"] == 3 * 15 and result["elbo_per_frame"] < 0
    base = tmp_path / "vae_rnn"
    run_binary("experiments/train.py", "--config=experiments/configs/vae_rnn.py:physics_pendulum", f"--workdir={base}",
               "--config.model.latent_dim=2", "--config.model.rnn_dim=4", "--config.model.hidden_dim=4", *tiny_data)
    out = run_binary("experiments/kvae_impute.py", f"--workdir={kvae}", f"--baselines={base}", "--num_sequences=3",
                     "--drop_probs=0.5", "--missing_lengths=4", "--num_particles=4", "--num_generations=2",
                     f"--out_dir={tmp_path / 'out'}")
    results = json.loads((tmp_path / "out" / "imputation.json").read_text())["results"]
    row = results["consecutive"]["4"]
    assert set(row) == {"all pixels off", "KVAE filtering", "KVAE smoothing", "VAE-RNN (SMC)"}
    assert all(0.0 <= v <= 1.0 for v in row.values())
    for name in ("imputation.png", "example.png", "trajectories.png", "generations.gif"):
        assert (tmp_path / "out" / name).stat().st_size > 500


def test_zoo_projection_recovers_a_known_budget_curve(tmp_path):
    """Runs whose test ELBO follows f(S) = -4.5 - 40 S^-0.5 exactly: fitted on the
    budgets up to 3000, the saturating fit finds a = -4.5 and c = 0.5, the log-linear
    projection carries on the last doubling's gain, and the 12000-step run is held out."""
    f = lambda steps: -4.5 - 40.0 * steps**-0.5  # noqa: E731
    for steps in (375, 750, 1500, 3000, 12000):
        wd = tmp_path / str(steps) / "srnn-jsb"
        wd.mkdir(parents=True)
        (wd / "config.json").write_text(json.dumps({"num_steps": steps}))
        (wd / "eval_test.json").write_text(json.dumps({"results": [{"bound": "elbo", "per_step": f(steps)}]}))
    figure = tmp_path / "projection.png"
    out = run_binary("experiments/zoo_projection.py", "--fit_max_steps=3000", f"--figure={figure}",
                     *(str(p) for p in sorted(tmp_path.glob("[0-9]*"))))
    row = next(line for line in out.splitlines() if line.startswith("| SRNN (smooth, Res_q) | JSB"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    gain = f(3000) - f(1500)
    assert float(cells[3]) == pytest.approx(gain, abs=1e-3)
    assert float(cells[5]) == pytest.approx(3000 * 2 ** ((-4.74 - f(3000)) / gain), rel=0.02)  # published -4.74
    assert cells[6] == "-4.50 (0.50), 0.000"
    assert float(cells[8]) == pytest.approx((40 / 0.24) ** 2, rel=0.02)  # S* = (b / (a - published))^(1/c)
    log_linear_12000 = f(3000) + 2 * gain
    assert cells[10] == f"{f(12000):.3f} (12000: {log_linear_12000:.2f}, {f(12000):.2f})"
    assert figure.stat().st_size > 0


@pytest.mark.slow
def test_random_search_picks_the_best_validation_sample(tmp_path, tiny_data):
    """Two samples, the better one by validation retrained and evaluated on test."""
    workdir = tmp_path / "search"
    out = run_binary("experiments/random_search.py", "--config=experiments/configs/vosp.py:nottingham",
                     f"--workdir={workdir}", f"--data_path={tiny_data}", "--num_samples=2", "--search_steps=2",
                     "--final_steps=2", "--num_particles=2", "--set=model.prior_type=wiener", "--set=log_every=1",
                     "--set=checkpoint_every=2", "--set=warmup_steps=0")
    search = json.loads((workdir / "search.json").read_text())
    scores = [s["best_validation"] for s in search["samples"]]
    assert search["chosen"] == int(np.argmax(scores)) and len(scores) == 2
    final = json.loads((workdir / "final" / "config.json").read_text())
    chosen = search["samples"][search["chosen"]]
    assert final["model"]["latent_dim"] == chosen["model.latent_dim"] and final["model"]["prior_type"] == "wiener"
    assert "test ELBO(1) per timestep" in out and (workdir / "final" / "eval_test.json").exists()


@pytest.mark.slow
def test_vhrnn_curves_train_at_the_named_sizes_and_report(tmp_path, tiny_data):
    """Two points of the Figure 5 / Figure 9 sweep, trained at once, then the table and figures."""
    runs = tmp_path / "curves"
    out = run_binary("experiments/vhrnn_curves.py", f"--runs_dir={runs}", "--only=jsb-vrnn-gru-16,jsb-vhrnn-lstm-4",
                     "--jobs=2", "--steps=2", "--eval_every=2", "--num_particles=2", f"--set=data_path={tiny_data}",
                     "--set=num_particles=2", "--set=eval.num_particles=2", "--set=warmup_steps=0")
    assert "2 runs, 2 at a time" in out and out.count("test FIVO(2)") == 2, out
    gru = json.loads((runs / "jsb-vrnn-gru-16" / "config.json").read_text())["model"]
    assert (gru["cell_type"], gru["latent_dim"], gru["rnn_dim"], gru["hidden_dim"]) == ("gru", 16, 16, 16)
    assert json.loads((runs / "jsb-vhrnn-lstm-4" / "config.json").read_text())["model"]["hyper_dim"] == 4
    report = run_binary("experiments/vhrnn_curves.py", f"--runs_dir={runs}", "--report", f"--figures={tmp_path}")
    assert "| jsb | GRU | VRNN | 16 | 7976 | 2 (2) |" in report and "| jsb | LSTM | VHRNN | 4 | 14196 |" in report
    assert (tmp_path / "vhrnn_curves_jsb_gru.png").exists() and (tmp_path / "vhrnn_curves_jsb_lstm.png").exists()
    again = run_binary("experiments/vhrnn_curves.py", f"--runs_dir={runs}", "--only=jsb-vrnn-gru-16", "--steps=2")
    assert "jsb-vrnn-gru-16: done before" in again  # a finished run is not trained again


@pytest.mark.slow
def test_speech_rows_train_evaluate_and_report(tmp_path):
    """A tiny SRNN on a few real FSDD recordings with truncated BPTT, evaluated on
    whole test recordings, then the report: the table, Figure 5.3, a generated WAV
    and its spectrogram."""
    import shutil

    from conftest import SHARED_DATA
    from seqvi.data import speech

    source = SHARED_DATA / "speech" / "fsdd" / "recordings"
    folder = tmp_path / "fsdd"
    folder.mkdir()
    for digit in (0, 1):
        for take in range(8):
            shutil.copy(source / f"{digit}_jackson_{take}.wav", folder)
    runs = tmp_path / "runs"
    tiny = ["--config.model.latent_dim=2", "--config.model.rnn_dim=4", "--config.model.hidden_dim=4",
            "--config.speech.valid_takes=1", "--config.tbptt_length=8", "--config.batch_size=2",
            "--config.eval.num_particles=2", "--config.eval.batch_size=4", "--config.log_every=1",
            "--config.eval_every=2", "--config.warmup_steps=0"]
    out = run_binary("experiments/train.py", "--config=experiments/configs/speech.py:srnn_smooth_resq",
                     f"--config.data_path={folder}", f"--workdir={runs / 'srnn_smooth_resq'}", "--config.num_steps=2",
                     *tiny)
    assert "train 4, valid 2, test 10" in out and "kl_weight 0.2" in out
    out = run_binary("experiments/evaluate.py", f"--workdir={runs / 'srnn_smooth_resq'}", "--split=test",
                     "--num_particles=2")
    results = json.loads((runs / "srnn_smooth_resq" / "eval_test.json").read_text())["results"]
    frames = sum(speech.read_wav(folder / f"{d}_jackson_{t}.wav")[0].shape[0] // 100 for d in (0, 1) for t in range(5))
    assert [r["num_steps"] for r in results] == [frames] * 3  # whole recordings, 12.5 ms frames
    out = run_binary("experiments/speech_report.py", f"--runs={runs}", f"--figures={tmp_path / 'fig'}",
                     f"--audio={tmp_path / 'audio'}", "--recordings=0_jackson_0.wav,1_jackson_2.wav",
                     "--sample_rows=srnn_smooth_resq", "--sample_seconds=0.1")
    assert "| SRNN (smooth+Res_q) |" in out and "| RNN-Gauss | | not run |" in out and "train KL / frame" in out
    assert "VRNN-Gauss above VRNN-I-Gauss: not run" in out
    assert (tmp_path / "fig" / "speech_figure_5_3.png").stat().st_size > 1000
    assert (tmp_path / "fig" / "speech_spectrograms.png").stat().st_size > 1000
    samples, rate = speech.read_wav(tmp_path / "audio" / "srnn_smooth_resq_sample.wav")
    assert rate == 8000 and samples.shape == (800,)
    out = run_binary("experiments/sample.py", f"--workdir={runs / 'srnn_smooth_resq'}", "--num_samples=1",
                     "--num_steps=5", "--prefix_steps=3")
    written = runs / "srnn_smooth_resq" / "samples"
    assert "2 WAV files (8000 Hz)" in out and (written / "spectrograms.png").stat().st_size > 1000
    assert speech.read_wav(written / "sample_0.wav")[0].shape == (5 * 100,)  # 100 samples a frame at 8 kHz
    assert speech.read_wav(written / "continuation_0.wav")[0].shape == ((3 + 5) * 100,)


@pytest.mark.slow
def test_first_person_gtmsm_trains_and_reports(tmp_path):
    """GTM-SM's rotating agent end to end at a tiny size: the videos rendered into
    a TFDS directory once, trained with the rotating transition and the network
    prior, then the report (ELBO, horizon errors, the heading's R^2, Figure 7.3)."""
    workdir, data = tmp_path / "rotating", tmp_path / "tfds"
    tiny = ["--config=experiments/configs/gtmsm_first_person.py", f"--workdir={workdir}",
            f"--config.first_person.data_dir={data}", "--config.first_person.size=8",
            "--config.first_person.num_train=4", "--config.first_person.num_valid=2",
            "--config.first_person.num_test=2", "--config.model.hidden=(8,)", "--config.model.latent_dim=3",
            "--config.model.prior_hidden=4", "--config.num_steps=2", "--config.eval_every=2",
            "--config.batch_size=2", "--config.eval.batch_size=2"]
    out = run_binary("experiments/train.py", *tiny)
    assert "sequences train 4, test 2, valid 2" in out and "eval at step 2" in out
    assert (data / "first_person_navigation").is_dir()
    out = run_binary("experiments/gtmsm_report.py", str(workdir), f"--out={tmp_path / 'fig'}")
    summary = json.loads((workdir / "gtmsm_test.json").read_text())
    assert "heading's affine R^2" in out and summary["r2_position_mean"] is None  # the agent turns in place
    assert 0.0 < summary["fraction_revisited"] < 1.0 and np.isfinite(summary["error_unvisited_h1"])
    assert (tmp_path / "fig" / "gtmsm_rotating_figure_7_3.png").stat().st_size > 1000


@pytest.mark.slow
def test_walking_agent_regresses_its_displacements(tmp_path):
    """The walking agent (section 7.4.2.2) at a tiny size: rows carry the true
    displacements, training logs their regression error beside the ELBO, and the
    report fits the memorised positions."""
    workdir, data = tmp_path / "walking", tmp_path / "tfds"
    out = run_binary("experiments/train.py", "--config=experiments/configs/gtmsm_first_person.py:walking",
                     f"--workdir={workdir}", f"--config.first_person.data_dir={data}", "--config.first_person.size=8",
                     "--config.first_person.num_steps=12", "--config.first_person.test_steps=20",
                     "--config.first_person.num_train=4", "--config.first_person.num_valid=2",
                     "--config.first_person.num_test=2", "--config.model.memory_length=8",
                     "--config.model.num_neighbours=8",
                     "--config.prediction_start=8", "--config.model.hidden=(8,)", "--config.model.latent_dim=3",
                     "--config.model.prior_hidden=4", "--config.num_steps=2", "--config.eval_every=2",
                     "--config.batch_size=2", "--config.eval.batch_size=2")
    assert "displacement_mse" in out and "eval at step 2" in out
    out = run_binary("experiments/gtmsm_report.py", str(workdir), f"--out={tmp_path / 'fig'}")
    summary = json.loads((workdir / "gtmsm_test.json").read_text())
    assert summary["r2_position_mean"] is not None and np.isfinite(summary["r2_position_mean"])
    assert "memorised positions' affine R^2 mean" in out


@pytest.mark.slow
def test_kvae_baseline_smooths_navigation_walks(tmp_path):
    """GTM-SM's KVAE baseline (configs/gtmsm.py:kvae; actions as the LGSSM's inputs) trains on
    navigation walks; the report smooths with the views after tau missing and fits
    the positions from the smoothed states."""
    workdir = tmp_path / "kvae"
    out = run_binary("experiments/train.py", "--config=experiments/configs/gtmsm.py:kvae", f"--workdir={workdir}",
                     "--config.navigation.num_train=8", "--config.navigation.num_valid=2",
                     "--config.navigation.num_test=3",
                     "--config.navigation.num_steps=12", "--config.navigation.test_steps=20",
                     "--config.prediction_start=10",
                     "--config.num_steps=2", "--config.eval_every=2", "--config.batch_size=4",
                     "--config.frozen_steps=1",
                     "--config.model.hidden_dim=6", "--config.model.alpha_rnn_dim=3", "--config.model.latent_dim=3",
                     "--config.model.a_dim=2")
    assert "model kvae" in out and "eval at step 2" in out
    generator = json.loads((workdir / "data.json").read_text())["generator"]
    assert generator["num_steps"] == 12 and generator["avoid_walls"] is False
    out = run_binary("experiments/gtmsm_report.py", str(workdir), f"--out={tmp_path / 'fig'}")
    summary = json.loads((workdir / "gtmsm_test.json").read_text())
    assert "action-conditioned KVAE (no memory)" in out and "affine R^2 mean" in out
    assert "the same map on the predicted steps' states" in out and "its own, all frames" in out
    assert np.isfinite(summary["r2_mean"]) and np.isfinite(summary["r2_untrained_mean"])
    assert np.isfinite(summary["r2_predicted_mean"]) and np.isfinite(summary["r2_predicted_median"])
    assert any(summary[k] is not None for k in ("error_unvisited_h1", "error_revisited_h1"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vrnn", "srnn"])
def test_action_conditioned_baseline_predicts_navigation_walks(tmp_path, name):
    """GTM-SM's VRNN and SRNN baselines (configs/gtmsm.py:vrnn, :srnn; actions as inputs) train on
    navigation walks and the report filters its first tau views and predicts the
    rest from the actions alone."""
    workdir = tmp_path / name
    out = run_binary("experiments/train.py", f"--config=experiments/configs/gtmsm.py:{name}", f"--workdir={workdir}",
                     "--config.navigation.num_train=8", "--config.navigation.num_valid=2",
                     "--config.navigation.num_test=3",
                     "--config.navigation.num_steps=12", "--config.navigation.test_steps=20",
                     "--config.prediction_start=10",
                     "--config.num_steps=2", "--config.eval_every=2", "--config.batch_size=4",
                     "--config.model.rnn_dim=6", "--config.model.hidden_dim=6", "--config.model.latent_dim=2")
    assert f"model {name}" in out and "eval at step 2" in out
    out = run_binary("experiments/gtmsm_report.py", str(workdir), f"--out={tmp_path / 'fig'}")
    summary = json.loads((workdir / "gtmsm_test.json").read_text())
    assert f"action-conditioned {name.upper()} (no memory)" in out and "no states to localise" in out
    assert summary["r2_mean"] is None
    assert any(summary[k] is not None for k in ("error_unvisited_h1", "error_revisited_h1"))
    assert (tmp_path / "fig" / "gtmsm_horizon.png").stat().st_size > 1000
