"""The dialogue binaries end to end on the embedded chatterbot conversations at
tiny sizes: train, resume, evaluate (sampling, beam, a GloVe file); VMED trained
with FIVO and KL annealing; every dialogue config builds its model."""

import json

import pytest

from binaries import binary_error, run_binary
from conftest import ROOT, load_config


@pytest.mark.slow
def test_train_resume_and_evaluate_dialogue(tmp_path):
    workdir = tmp_path / "seq2seq"
    tiny = ["--config=experiments/configs/seq2seq.py:chatterbot,attention", f"--workdir={workdir}",
            "--config.num_steps=4", "--config.eval_every=4", "--config.log_every=2", "--config.batch_size=4",
            "--config.model.embed_dim=8", "--config.model.hidden_dim=8", "--config.max_context=6",
            "--config.max_response=6", "--config.vocab_size=60"]
    first = run_binary("experiments/train.py", *tiny, "--stop_at=2")
    assert "vocabulary 60" in first and "step 2/4" in first
    second = run_binary("experiments/train.py", *tiny)
    assert "resumed from checkpoint at step 2" in second and "eval at step 4" in second
    out = run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--method=sample", "--num_samples=2",
                     "--max_pairs=6", "--show=1")
    result = json.loads((workdir / "eval_test.json").read_text())
    assert result["num_pairs"] == 6 and result["responses_per_context"] == 2
    assert 0.0 <= result["bleu1"] <= 1.0 and 0.0 <= result["distinct2"] <= 1.0 and result["perplexity"] > 1.0
    assert "test bleu4:" in out and "context:" in out
    samples = (workdir / "samples_test.txt").read_text()
    assert samples.count("response:") == 12
    run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--method=beam", "--beam_size=2",
               "--max_pairs=3", f"--embeddings={ROOT.parent / 'shared' / 'data' / 'glove' / 'glove.6B.50d.subset.txt'}")
    assert json.loads((workdir / "eval_test.json").read_text())["method"] == "beam"


@pytest.mark.slow
def test_vmed_trains_with_fivo_and_annealing_and_evaluates(tmp_path):
    workdir = tmp_path / "vmed"
    out = run_binary("experiments/train.py", "--config=experiments/configs/vmed.py", f"--workdir={workdir}",
                     "--config.bound=fivo", "--config.num_particles=2", "--config.num_steps=2",
                     "--config.eval_every=2", "--config.log_every=1",
                     "--config.batch_size=2", "--config.model.embed_dim=8", "--config.model.hidden_dim=8",
                     "--config.model.num_slots=4", "--config.model.num_reads=3", "--config.model.latent_dim=2",
                     "--config.max_context=5", "--config.max_response=5", "--config.vocab_size=40")
    assert "kl_weight" in out and "resample_rate" in out and "eval at step 2" in out
    out = run_binary("experiments/evaluate.py", f"--workdir={workdir}", "--method=sample", "--num_samples=2",
                     "--max_pairs=3", "--show=1", "--num_particles=3", "--bleu_smoothing=7")
    result = json.loads((workdir / "eval_test.json").read_text())
    assert result["bleu_smoothing"] == 7 and 0.0 <= result["bleu4"] <= 1.2  # NLTK's method 7 may exceed 1
    assert result["loss_kind"] == "negative ELBO" and "negative ELBO per token" in out and "FIVO(3)" in out
    assert set(result["step_bounds"]) == {"elbo", "iwae", "fivo"} and result["step_bounds_particles"] == 3
    assert all(-50.0 < v < 0.0 for v in result["step_bounds"].values())


@pytest.mark.slow
def test_adversarial_models_start_from_a_pretrained_seq2seq_and_evaluate(tmp_path):
    """Seq2Seq pretraining, then LocalGAN from it (its generator groups copied, its
    DBM fitted, diversity logged at evaluation), evaluation with MMI-bidi
    reranking by a backward model; a vocabulary mismatch is refused."""
    sizes = ["--config.model.embed_dim=8", "--config.model.hidden_dim=8", "--config.max_context=6",
             "--config.max_response=6", "--config.vocab_size=60", "--config.batch_size=4", "--config.log_every=1"]
    pre = tmp_path / "pre"
    run_binary("experiments/train.py", "--config=experiments/configs/seq2seq.py", f"--workdir={pre}",
               "--config.num_steps=2", *sizes)
    backward = tmp_path / "backward"
    run_binary("experiments/train.py", "--config=experiments/configs/seq2seq.py", f"--workdir={backward}",
               "--config.num_steps=2", "--config.swap_pairs=True", *sizes)
    gan = tmp_path / "localgan"
    out = run_binary("experiments/train.py", "--config=experiments/configs/localgan.py", f"--workdir={gan}",
                     f"--config.init_from={pre}", "--config.num_steps=2", "--config.eval_every=2",
                     "--config.eval.num_generated=5", "--config.model.word_dim=4", "--config.model.dbm_hidden=(5,5)",
                     "--config.model.mean_field_iterations=3", *sizes)
    assert "starting from" in out and "decoder" in out and "fitting LocalGAN's constants" in out
    assert "valid_ent4" in out and "hinge_active" in out
    assert not (gan / "best").exists() or not any((gan / "best").iterdir())  # the last parameters are kept
    run_binary("experiments/evaluate.py", f"--workdir={gan}", "--max_pairs=3", "--show=0")  # its config read back
    assert json.loads((gan / "eval_test.json").read_text())["params"].startswith("checkpoint at step 2")
    out = run_binary("experiments/evaluate.py", f"--workdir={pre}", "--method=mmi", "--beam_size=3",
                     f"--backward={backward}", "--tag=mmi", "--max_pairs=4", "--show=1")
    result = json.loads((pre / "eval_test_mmi.json").read_text())
    assert result["method"] == "mmi" and result["num_pairs"] == 4 and "rel" in result
    assert (pre / "samples_test_mmi.txt").exists() and not (pre / "eval_test.json").exists()
    mismatch = binary_error(
        "experiments/train.py", "--config=experiments/configs/localgan.py", f"--workdir={tmp_path / 'other'}",
        f"--config.init_from={pre}", "--config.num_steps=1", *[a for a in sizes if "vocab_size" not in a],
        "--config.vocab_size=50", "--config.model.word_dim=4", "--config.model.dbm_hidden=(5,5)")
    assert "vocabulary differs" in mismatch


def test_each_model_names_the_bounds_it_trains_with():
    from seqvi.train import experiment

    config = experiment.dataset_config("chatterbot", dict(name="seq2seq", embed_dim=4, hidden_dim=4))
    config.bound = "iwae"
    model = experiment.build_model(config, 6)
    with pytest.raises(ValueError, match="Seq2Seq trains with bound in \\('nll',\\), got 'iwae'"):
        model.objective(experiment.objective_options(config))


@pytest.mark.parametrize("config, name", [
    ("seq2seq.py:chatterbot", "seq2seq"), ("seq2seq.py:cornell,attention", "seq2seq"), ("vmed.py:cornell", "vmed"),
    ("vmed.py:chatterbot,dnc", "dnc"), ("cvae.py:cornell", "cvae"), ("cvae.py:chatterbot,vlstm", "vlstm"),
    ("localgan.py:cornell", "localgan"), ("localgan.py:chatterbot,gan_ael", "gan_ael"),
    ("localgan.py:cornell,adver_regs", "adver_regs")])
def test_dialogue_configs_build_their_models(config, name):
    from seqvi.train import experiment

    file, _, argument = config.partition(":")
    c = load_config(file, argument)
    assert c.model.name == name and c.dataset == argument.partition(",")[0]
    model = experiment.build_model(c, 6)
    assert model.vocab_size == 6
    model.objective(experiment.objective_options(c))  # the config's bound is one the model trains with
    if c.kl_anneal_steps:  # annealing covers the first half of whatever num_steps becomes
        c.num_steps = 10
        assert c.kl_anneal_steps == 5
    with pytest.raises(ValueError, match="variant"):
        load_config(file, argument.partition(",")[0] + ",nonsense")


def test_generator_embeddings_start_from_a_word_vector_file():
    import jax
    import numpy as np

    from seqvi import metrics
    from seqvi.data import dialogue
    from seqvi.models.seq2seq import Seq2Seq
    from seqvi.core import ConfigError
    from seqvi.train.tasks import initial_word_vectors

    path = ROOT.parent / "shared" / "data" / "glove" / "glove.6B.50d.subset.txt"
    vocab = dialogue.Vocabulary(dialogue.SPECIALS + ("the", "zzzunseen", "of"))
    params = Seq2Seq(len(vocab), embed_dim=50, hidden_dim=4).init(jax.random.key(0))
    out = initial_word_vectors(params, path, vocab)
    table, before = np.asarray(out["embed"]["params"]["embedding"]), np.asarray(params["embed"]["params"]["embedding"])
    glove = metrics.load_embeddings(path, ["the", "of"])
    np.testing.assert_allclose(table[vocab.encode(["the"])[0]], glove.vectors[glove.index["the"]])
    np.testing.assert_allclose(table[vocab.encode(["zzzunseen"])[0]], before[vocab.encode(["zzzunseen"])[0]])
    small = Seq2Seq(len(vocab), embed_dim=8, hidden_dim=4).init(jax.random.key(0))
    with pytest.raises(ConfigError, match="50-d vectors"):
        initial_word_vectors(small, path, vocab)
