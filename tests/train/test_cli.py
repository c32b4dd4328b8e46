"""Every binary answers a user error with one line and exit status 2: a bad
flag value, a model option under its old name, a missing workdir, a folder
given for a file and a file for a folder, a workdir another run holds."""

import subprocess
import sys

import pytest
from absl import flags

from seqvi.core import ConfigError
from seqvi.train import cli, workdir

from conftest import ROOT, SHARED_DATA

_COUNT = flags.DEFINE_integer("cli_test_count", 1, "A flag of this test.", lower_bound=1)


@pytest.fixture
def fresh_flags():
    yield
    flags.FLAGS.unparse_flags()


def _exit(main, argv, capsys) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as stop:
        cli.run(main, argv)
    return stop.value.code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


@pytest.mark.parametrize("argv, message", [
    (["prog", "--cli_test_count=0"], "error: flag --cli_test_count=0: 0 is not a positive integer"),
    (["prog", "--no_such_flag=3"], "error: Unknown command line flag 'no_such_flag'"),
    (["prog", "--config.model.rnn_type=lstm", "--config.model.latent_dim=2", "--config.model.z_dim=3"],
     "error: --config.model.rnn_type is now --config.model.cell_type; --config.model.z_dim is now "
     "--config.model.latent_dim"),
])
def test_bad_flags_are_one_line_and_status_2(argv, message, capsys, fresh_flags):
    code, err = _exit(lambda _: pytest.fail("main ran"), argv, capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(message), err


def test_a_full_disk_is_one_line_naming_the_file_and_the_space_left(tmp_path, capsys, fresh_flags):
    import errno

    target = tmp_path / "run" / "metrics.jsonl"

    def main(_):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    code, err = _exit(main, ["prog"], capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: no space left on device writing {target}: ") and err[0].endswith(
        f"MB free in {tmp_path}"), err  # the nearest folder that exists

    def other(_):
        raise OSError(errno.EACCES, "Permission denied", str(target))

    with pytest.raises(PermissionError):  # not a user error of this kind: the traceback stays
        cli.run(other, ["prog"])


def test_a_user_error_of_main_is_one_line_unless_traceback_is_asked(capsys, fresh_flags):
    def main(_):
        raise ConfigError("the data file is missing")

    assert _exit(main, ["prog"], capsys) == (2, ["error: the data file is missing"])
    with pytest.raises(ConfigError, match="the data file is missing"):
        cli.run(main, ["prog", "--traceback"])
    flags.FLAGS.unparse_flags()

    def crashes(_):
        raise KeyError("a bug")  # not a user error: its traceback is shown

    with pytest.raises(KeyError):
        cli.run(crashes, ["prog"])


def _binary(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # every binary, in a subprocess
def test_the_binaries_answer_bad_input_in_one_line(tmp_path):
    """Each binary with a bad input of each kind: exit status 2 and one line that
    says what the path is."""
    held, dialogue = tmp_path / "held", tmp_path / "dialogue"
    dialogue.mkdir()
    (dialogue / "config.json").write_text('{"dataset": "chatterbot"}')  # sample.py reads no more of it
    wav = SHARED_DATA / "speech" / "fsdd" / "recordings" / "0_jackson_0.wav"
    cases = [
        (["experiments/evaluate.py", f"--workdir={tmp_path / 'none'}"], f"{tmp_path / 'none'}: no such folder"),
        (["experiments/sample.py", f"--workdir={tmp_path}"], f"{tmp_path}: a folder without a training run"),
        (["experiments/sample.py", f"--workdir={dialogue}"],
         "a run on 'chatterbot' (dialogue); sample.py writes piano rolls (polyphonic music) and audio (speech): "
         "its responses are printed by experiments/evaluate.py"),
        (["experiments/impute.py", f"--workdir={wav}"], f"{wav}: a file; give the --workdir of a training run"),
        (["experiments/evaluate.py", f"--workdir={tmp_path}", "--num_particles=0"],
         "flag --num_particles=0: 0 is not a positive integer"),
        (["experiments/train.py", "--config=experiments/configs/vrnn.py:nottingham", f"--workdir={tmp_path / 'a'}",
          f"--config.data_path={tmp_path}"], f"--config.data_path={tmp_path}: a folder; 'nottingham' reads a file"),
        (["experiments/train.py", "--config=experiments/configs/speech.py:srnn_smooth_resq",
          f"--workdir={tmp_path / 'b'}", f"--config.data_path={wav}"], "0_jackson_0.wav: a file; 'fsdd' reads a folder"),
        (["experiments/train.py", f"--workdir={tmp_path / 'd'}", "--config.nosuch=1"],
         "--config.nosuch: the config has no field 'nosuch'"),
        (["experiments/train.py", f"--workdir={tmp_path / 'c'}", "--config.eval.split=nosuch"],
         "config.eval.split must be one of ['test', 'train', 'valid'], got 'nosuch'"),
        (["experiments/train.py", "--config=experiments/configs/vrnn.py:synthetic", f"--workdir={held}",
          "--config.synthetic.num_train=4", "--config.synthetic.num_valid=2", "--config.synthetic.num_test=2"],
         f"{held} is in use by the run of process"),
    ]
    with workdir.lock(held):
        for args, message in cases:
            out = _binary(*args)
            err = [line for line in out.stderr.splitlines() if line.strip()]
            assert out.returncode == 2 and len(err) == 1 and message in err[0], (args, out.returncode, err)
    assert not any((tmp_path / name).exists() for name in ("a", "b", "c", "d"))  # nothing written for a refused run
