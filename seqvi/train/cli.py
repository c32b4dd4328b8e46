"""How every binary in experiments/ runs: a user error is one line on stderr and
exit status 2, never a traceback.

User errors are a bad flag value (absl's flag parsing and validators), a model
option under its old name (``--config.model.OLD=``), and the errors a binary
raises for its input: ``ConfigError``, ``MissingExtraError``, a
``CheckpointError`` (no readable checkpoint) and absl's ``app.UsageError``. ``--traceback`` shows the Python
traceback instead.
"""

import sys

from absl import app, flags

from seqvi._extras import MissingExtraError
from seqvi.core import ConfigError
from seqvi.models.parts import renamed_options_message
from seqvi.train.trainer import CheckpointError

USER_ERRORS = (ConfigError, MissingExtraError, CheckpointError, app.UsageError)

_TRACEBACK = flags.DEFINE_bool("traceback", False, "Show the traceback of a user error.")


def fail(message: str) -> None:
    """``error: <message>`` on stderr, then exit status 2."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def run(main, argv: list[str] | None = None) -> None:
    """``absl.app.run(main)`` with every user error as one line and exit status 2."""
    argv = list(sys.argv if argv is None else argv)
    flag_names = [a.split("=", 1)[0].removeprefix("--config.model.") for a in argv if a.startswith("--config.model.")]
    if renamed := renamed_options_message(flag_names, prefix="--config.model."):
        fail(renamed)
    try:
        remaining = flags.FLAGS(argv)  # parsed here, once, so that a bad value is one line, not absl's usage text
    except flags.Error as e:
        fail(str(e))

    def guarded(args):
        try:
            return main(args)
        except USER_ERRORS as e:
            if _TRACEBACK.value:
                raise
            fail(str(e))

    app.run(guarded, argv=argv, flags_parser=lambda _: remaining)
