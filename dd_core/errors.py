"""User-facing errors: one readable line, no traceback (the CLI and the UI show ``str(err)``)."""


class DDError(Exception):
    """Base class for every error caused by user input or the environment (bad option, missing file, ...)."""


class ConfigError(DDError, ValueError):
    """A hyper-parameter or option is invalid; the message says which and how to fix it.

    ``field`` names the option in the engine's words (a config field such as ``"lr_img"``, ``"ipc"``), so that an
    interface can point at its own widget or flag: the dashboard shows the message next to the field with that name,
    the CLI names the flag. Messages themselves never name a flag or a widget.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class DatasetError(DDError):
    """A dataset is missing, corrupt or malformed; the message names the file/row and the fix."""


class SyntheticSetError(DDError):
    """A synthetic-set file is unreadable, not a synthetic set, or does not match the dataset it claims."""
