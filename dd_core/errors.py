"""User-facing errors: one readable line, no traceback (the CLI and the UI show ``str(err)``)."""


class DDError(Exception):
    """Base class for every error caused by user input or the environment (bad option, missing file, ...)."""


class ConfigError(DDError, ValueError):
    """A hyper-parameter or option is invalid; the message says which and how to fix it."""


class DatasetError(DDError):
    """A dataset is missing, corrupt or malformed; the message names the file/row and the fix."""


class SyntheticSetError(DDError):
    """A synthetic-set file is unreadable, not a synthetic set, or does not match the dataset it claims."""
