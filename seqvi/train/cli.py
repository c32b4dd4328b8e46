"""How every binary in experiments/ runs: a user error is one line on stderr and
exit status 2, never a traceback.

User errors are a bad flag value (absl's flag parsing and validators), a model
option under its old name (``--config.model.OLD=``), and the errors a binary
raises for its input: ``ConfigError``, ``MissingExtraError``, a
``CheckpointError`` (no readable checkpoint, or no space to write one) and absl's
``app.UsageError``; and a full disk anywhere (an OSError ENOSPC: the file and the
space left). ``--traceback`` shows the Python traceback instead.
"""

import errno
import pathlib
import shutil
import sys

from absl import app, flags

from seqvi._extras import MissingExtraError
from seqvi.core import ConfigError
from seqvi.models.parts import renamed_options_message
from seqvi.train.trainer import CheckpointError, megabytes

USER_ERRORS = (ConfigError, MissingExtraError, CheckpointError, app.UsageError)

_TRACEBACK = flags.DEFINE_bool("traceback", False, "Show the traceback of a user error.")


def no_space_message(error: OSError) -> str:
    """One line for a write that found the disk full: the file and the space left there."""
    path = pathlib.Path(error.filename or ".")
    folder = next((p for p in [path, *path.parents] if p.is_dir()), pathlib.Path("."))
    return (f"no space left on device writing {error.filename or 'a file'}: "
            f"{megabytes(shutil.disk_usage(folder).free)} free in {folder}")


def define_config_file(name: str, default: str, help_string: str):
    """``ml_collections.config_flags.DEFINE_config_file``, whose overrides
    (``--<name>.FIELD=...``) are read from the command line when it is defined: one
    that names a field the config lacks is one line and exit status 2 (it was an
    AttributeError traceback), naming the field."""
    from ml_collections import config_flags

    try:
        return config_flags.DEFINE_config_file(name, default, help_string)
    except (AttributeError, KeyError) as e:
        field = str(e).strip("\"'")
        given = [a.split("=", 1)[0] for a in sys.argv if a.startswith(f"--{name}.") and field in a]
        fail(f"{given[0] if given else field}: the config has no field {field!r}")


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
        except OSError as e:
            if e.errno != errno.ENOSPC or _TRACEBACK.value:
                raise
            fail(no_space_message(e))

    app.run(guarded, argv=argv, flags_parser=lambda _: remaining)
