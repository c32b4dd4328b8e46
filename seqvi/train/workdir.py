"""What a workdir holds belongs to one run, on the data that run recorded.

* ``lock``: a training run holds an advisory lock (``fcntl.flock``) on
  ``<workdir>/.lock`` while it trains; a second run on the same workdir is refused
  naming the holder. The kernel drops the lock when its process ends, however it
  ends, so the lock of a killed run is stale by construction and the next run
  takes it over.
* ``data_mismatch``: the data a run is about to read, compared with the record
  its training wrote (``data.json``: sizes and SHA-256 of the files, or the spec
  the data were generated from), paths aside, so a moved file still matches.
"""

import contextlib
import fcntl
import json
import os
import pathlib
import socket
import time
from collections.abc import Iterator

from seqvi.core import ConfigError

LOCK_FILE = ".lock"
DATA_RECORD = "data.json"
_PATH_KEYS = ("path", "folder")  # where the data lie, not what they are
# What the data are called ('read_as': the config's name for a file of another data set).
# Compared apart: the names match when the two records share one, so that a run recorded
# before data.json named the data set its file holds still resumes on the same file.
_NAME_KEYS = ("dataset", "read_as")


@contextlib.contextmanager
def lock(workdir) -> Iterator[pathlib.Path]:
    """Hold ``workdir``'s lock for the ``with`` block (the workdir is made if
    missing); yields the lock file. ConfigError naming the holder (pid, host,
    start time) while another process holds it."""
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{workdir} is in use by {_holder(path)}: wait for that run to end, or use "
                              "another --workdir") from None
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _holder(path: pathlib.Path) -> str:
    try:
        holder = json.loads(path.read_text())
        return f"the run of process {holder['pid']} on {holder['host']} (started {holder['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another run"


def _content(record: dict) -> dict:
    """``record`` without what its data are called (its top-level ``_NAME_KEYS``,
    compared by ``_names``) and where they lie (``_PATH_KEYS``, at any depth)."""
    return _unplaced({k: v for k, v in record.items() if k not in _NAME_KEYS})


def _unplaced(record):
    """``record`` without the keys ``_PATH_KEYS``, at any depth."""
    if isinstance(record, dict):
        return {k: _unplaced(v) for k, v in record.items() if k not in _PATH_KEYS}
    if isinstance(record, list):
        return [_unplaced(v) for v in record]
    return record


def _names(record: dict) -> set[str]:
    """The names a record gives its data (its data set and the config's name for it)."""
    return {record[k] for k in _NAME_KEYS if record.get(k)} or {None}


def _places(record) -> list[str]:
    """Every path in ``record``, in order."""
    if isinstance(record, dict):
        return [str(v) for k, v in record.items() if k in _PATH_KEYS] + [
            p for k, v in record.items() if k not in _PATH_KEYS for p in _places(v)]
    if isinstance(record, list):
        return [p for v in record for p in _places(v)]
    return []


def differences(old, new, prefix: str = "") -> list[str]:
    """Where two records (nested dicts of JSON values) differ, one ``"key.path: old -> new"``
    per differing leaf, in key order; values longer than 24 characters are shortened."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [d for k in sorted(set(old) | set(new)) for d in differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    if old == new:
        return []
    short = lambda v: (s if len(s := repr(v)) <= 24 else s[:21] + "...")  # noqa: E731
    return [f"{prefix.rstrip('.')}: {short(old)} -> {short(new)}"]


def data_mismatch(workdir, record: dict) -> str | None:
    """One line saying how the data of ``record`` (``Dataset.record`` of the data
    about to be read) differ from those the run in ``workdir`` recorded (its
    data.json), naming both places; None when they are the same data (wherever
    they lie) or the workdir has no record."""
    path = pathlib.Path(workdir) / DATA_RECORD
    if not path.is_file():
        return None
    recorded = json.loads(path.read_text())
    changes = differences(_content(recorded), _content(record))
    if not _names(recorded) & _names(record):
        changes.insert(0, f"dataset: {recorded.get('dataset')!r} -> {record.get('dataset')!r}")
    if not changes:
        return None
    recorded_at = ", ".join(_places(recorded)) or recorded.get("dataset", "?")
    now_at = ", ".join(_places(record)) or record.get("dataset", "?")
    return (f"the data differ from those the run in {workdir} trained on ({path.name}): {'; '.join(changes[:3])}"
            f"; recorded {recorded_at}, now {now_at}")
