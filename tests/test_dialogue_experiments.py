"""The dialogue binaries end to end on the embedded chatterbot conversations at
tiny sizes: train, resume, evaluate (sampling, beam, a GloVe file); VMED trained
with FIVO and KL annealing; every dialogue config builds its model."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def _run(*args):
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout


@pytest.mark.slow
def test_train_resume_and_evaluate_dialogue(tmp_path):
    workdir = tmp_path / "seq2seq"
    tiny = ["--config=experiments/configs/seq2seq.py:chatterbot,attention", f"--workdir={workdir}",
            "--config.num_steps=4", "--config.eval_every=4", "--config.log_every=2", "--config.batch_size=4",
            "--config.model.embed_dim=8", "--config.model.hidden_dim=8", "--config.max_context=6",
            "--config.max_response=6", "--config.vocab_size=60"]
    first = _run("experiments/train.py", *tiny, "--stop_at=2")
    assert "vocabulary 60" in first and "step 2/4" in first
    second = _run("experiments/train.py", *tiny)
    assert "resumed from checkpoint at step 2" in second and "eval at step 4" in second
    out = _run("experiments/evaluate.py", f"--workdir={workdir}", "--method=sample", "--num_samples=2",
               "--max_pairs=6", "--show=1")
    result = json.loads((workdir / "eval_test.json").read_text())
    assert result["num_pairs"] == 6 and result["responses_per_context"] == 2
    assert 0.0 <= result["bleu1"] <= 1.0 and 0.0 <= result["distinct2"] <= 1.0 and result["perplexity"] > 1.0
    assert "test bleu4:" in out and "context:" in out
    samples = (workdir / "samples_test.txt").read_text()
    assert samples.count("response:") == 12
    _run("experiments/evaluate.py", f"--workdir={workdir}", "--method=beam", "--beam_size=2",
         "--max_pairs=3", f"--embeddings={ROOT.parent / 'shared' / 'data' / 'glove' / 'glove.6B.50d.subset.txt'}")
    assert json.loads((workdir / "eval_test.json").read_text())["method"] == "beam"


@pytest.mark.slow
def test_vmed_trains_with_fivo_and_annealing_and_evaluates(tmp_path):
    workdir = tmp_path / "vmed"
    out = _run("experiments/train.py", "--config=experiments/configs/vmed.py", f"--workdir={workdir}",
               "--config.bound=fivo", "--config.num_particles=2", "--config.num_steps=2", "--config.eval_every=2", "--config.log_every=1",
               "--config.batch_size=2", "--config.model.embed_dim=8", "--config.model.hidden_dim=8",
               "--config.model.num_slots=4", "--config.model.num_reads=3", "--config.model.latent_dim=2",
               "--config.max_context=5", "--config.max_response=5", "--config.vocab_size=40")
    assert "kl_weight" in out and "resample_rate" in out and "eval at step 2" in out
    out = _run("experiments/evaluate.py", f"--workdir={workdir}", "--method=sample", "--num_samples=2",
               "--max_pairs=3", "--show=1", "--num_particles=3")
    result = json.loads((workdir / "eval_test.json").read_text())
    assert result["loss_kind"] == "negative ELBO" and "negative ELBO per token" in out and "FIVO(3)" in out
    assert set(result["step_bounds"]) == {"elbo", "iwae", "fivo"} and result["step_bounds_particles"] == 3
    assert all(-50.0 < v < 0.0 for v in result["step_bounds"].values())


def test_each_model_names_the_bounds_it_trains_with():
    from seqvi.train import experiment

    config = experiment.dialogue_config("chatterbot", dict(name="seq2seq", embed_dim=4, hidden_dim=4))
    config.bound = "iwae"
    model = experiment.build_model(config, 6)
    with pytest.raises(ValueError, match="Seq2Seq trains with bound in \\('nll',\\), got 'iwae'"):
        model.objective(experiment.objective_options(config))


@pytest.mark.parametrize("config, name", [
    ("seq2seq.py:chatterbot", "seq2seq"), ("seq2seq.py:cornell,attention", "seq2seq"), ("vmed.py:cornell", "vmed"),
    ("vmed.py:chatterbot,dnc", "dnc"), ("cvae.py:cornell", "cvae"), ("cvae.py:chatterbot,vlstm", "vlstm")])
def test_dialogue_configs_build_their_models(config, name):
    import importlib.util

    from seqvi.train import experiment

    file, _, argument = config.partition(":")
    spec = importlib.util.spec_from_file_location("cfg", ROOT / "experiments" / "configs" / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    c = module.get_config(argument)
    assert c.model.name == name and c.dataset == argument.partition(",")[0]
    model = experiment.build_model(c, 6)
    assert model.vocab_size == 6
    model.objective(experiment.objective_options(c))  # the config's bound is one the model trains with
    if c.kl_anneal_steps:  # annealing covers the first half of whatever num_steps becomes
        c.num_steps = 10
        assert c.kl_anneal_steps == 5
    with pytest.raises(ValueError, match="variant"):
        module.get_config(argument.partition(",")[0] + ",nonsense")
