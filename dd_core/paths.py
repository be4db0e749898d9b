"""Where DistillLab keeps its data: the data home (``DD_HOME``, default ``~/.distilllab``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DDError

DEFAULT_HOME = Path.home() / ".distilllab"
HOME_ENV = "DD_HOME"


class DataHomeError(DDError):
    """The data home cannot be created or is not writable; the message names the folder and ``DD_HOME``."""


def not_writable(folder: Path, reason: str) -> str:
    """The one-line message for a folder of the data home that cannot be written."""
    return f"the folder {folder} is not writable ({reason}); set {HOME_ENV} to a writable folder"


def data_home(create: bool = True) -> Path:
    """The data home: ``$DD_HOME`` if set, else ``~/.distilllab``. Created on first use; raises
    :class:`DataHomeError` when it cannot be created or written. ``create=False`` only says where it is."""
    home = Path(os.environ.get(HOME_ENV) or DEFAULT_HOME).expanduser()
    if not create:
        return home
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataHomeError(not_writable(home, err.strerror or type(err).__name__)) from None
    if not os.access(home, os.W_OK | os.X_OK):
        raise DataHomeError(not_writable(home, "permission denied"))
    return home


def datasets_dir() -> Path:
    """Downloaded / user-copied datasets live in ``<data home>/datasets`` (torchvision layout). Created when
    possible; reading datasets works in a read-only data home too."""
    d = data_home(create=False) / "datasets"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # read-only data home: finding the files (or saying they are missing) still works
    return d


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` to write into; it replaces ``path`` when the block ends without an error (a
    reader never sees half a file, a crash never leaves one) and is removed otherwise."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
