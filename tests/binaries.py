"""Run an experiments/ binary inside the test process, as ``python <binary> <args>``
would run it.

A binary started as a subprocess spends about 3 s importing JAX, Flax and seqvi
and about 3 s compiling the small eager operations of its initialisers before
its own work; a tiny training run is about 15 s in all. In the test process
these are paid once per worker. The binary runs as ``__main__`` (``runpy``), from
the project root, with ``sys.argv`` set, so its absl flags and config overrides
are defined and parsed as on the command line; afterwards the flags it defined
are removed and the rest reset, so the next binary starts from the same state.

How a binary behaves as a process (one-line errors on stderr for each binary,
simulated devices, hosts) is tested with real subprocesses: tests/train/test_cli.py
and the multi-device tests.
"""

import contextlib
import faulthandler
import os
import runpy
import sys
import tempfile
from unittest import mock

from absl import flags, logging

import seqvi.train.cli  # noqa: F401  (defines --traceback, which must outlive each run)
from conftest import ROOT


def run_binary(binary: str, *args: str) -> str:
    """Run ``binary`` (a path under the project root, e.g. 'experiments/train.py')
    with ``args``; return its stdout. An exit status other than 0, or an exception,
    fails the test with the end of what it printed."""
    status, stdout, stderr = _run(binary, args)
    if status not in (0, None):
        raise AssertionError(f"{binary} exited with status {status}:\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return stdout


def binary_error(binary: str, *args: str) -> str:
    """Run ``binary`` with ``args``, which must be a user error (exit status 2);
    return its stderr."""
    status, stdout, stderr = _run(binary, args)
    assert status == 2, f"{binary} exited with status {status}, not 2:\n{stdout[-2000:]}\n{stderr[-4000:]}"
    return stderr


# The modules under which absl registers the flags a binary defines, besides the binary's own
# file: the config file flag and one flag per ``--config.FIELD`` override. Flags a library
# defines when a binary first imports it (grain's) stay, as in any process.
_CONFIG_FLAG_MODULES = ("seqvi.train.cli", "absl.flags._flag")


def _run(binary: str, args: tuple[str, ...]) -> tuple[int | str | None, str, str]:
    """(exit status, stdout, stderr) of ``binary`` run with ``args``. Output is captured at
    the file descriptors, so that of the subprocesses a binary starts is included."""
    known = set(flags.FLAGS)
    argv, path, cwd, verbosity = sys.argv, sys.path, os.getcwd(), logging.get_verbosity()
    status, stdout, stderr = 0, [], []
    # absl's app.run enables faulthandler on sys.stderr, here the capture file: pytest's own
    # (on the real stderr) stays.
    with _captured(1, "stdout", stdout), _captured(2, "stderr", stderr), \
            mock.patch.object(faulthandler, "enable"):
        try:
            sys.argv, sys.path = [binary, *args], [str((ROOT / binary).parent), *sys.path]  # as python puts it
            os.chdir(ROOT)
            runpy.run_path(str(ROOT / binary), run_name="__main__")
        except SystemExit as e:
            status = e.code
        except Exception as e:
            status = e
        finally:
            sys.argv, sys.path = argv, path
            os.chdir(cwd)
            by_module = flags.FLAGS.flags_by_module_dict()
            modules = [str(ROOT / binary), *_CONFIG_FLAG_MODULES]
            for name in {f.name for module in modules for f in by_module.get(module, [])} - known:
                delattr(flags.FLAGS, name)
            flags.FLAGS.unparse_flags()
            logging.set_verbosity(verbosity)  # after unparse_flags, which resets it
    out, err = "".join(stdout), "".join(stderr)
    if isinstance(status, Exception):
        raise AssertionError(f"{binary} raised {type(status).__name__}:\n{out[-2000:]}\n{err[-4000:]}") from status
    return status, out, err


@contextlib.contextmanager
def _captured(fd: int, name: str, text: list[str]):
    """Point file descriptor ``fd`` and ``sys.<name>`` at a temporary file; what was
    written there is appended to ``text`` once they point back."""
    stream = getattr(sys, name)
    stream.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile("w+", errors="replace") as file:
        os.dup2(file.fileno(), fd)
        try:
            with (contextlib.redirect_stdout if fd == 1 else contextlib.redirect_stderr)(file):
                yield
                file.flush()
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            file.seek(0)
            text.append(file.read())
