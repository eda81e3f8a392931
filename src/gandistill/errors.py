"""User-facing errors: raised for bad input; the CLI prints the message without a traceback."""
from __future__ import annotations


class GandistillError(Exception):
    """Base class for errors whose message tells the user what is wrong and how to fix it."""


class DataError(GandistillError, ValueError):
    """A dataset, image, audio file or caption cannot be used (the message names the file)."""


class CheckpointError(GandistillError, ValueError):
    """A model directory, training state or foreign checkpoint is missing, corrupt or incompatible."""


class OptionError(GandistillError, ValueError):
    """A command-line option or a config value is invalid (the message names the option or field and file)."""


class DownloadError(GandistillError):
    """A checkpoint could not be fetched or failed its hash check (the message names the URL and the cache path)."""


class GandistillWarning(UserWarning):
    """Something the user should know (inputs resized, small samples, ...); the CLI prints it on one line."""


def one_line_warnings() -> None:
    """Make ``warnings`` print every warning as one ``warning: ...`` line; the CLI calls it. Only the format
    changes (not ``showwarning``), so ``catch_warnings(record=True)`` and ``pytest.warns`` keep working."""
    import warnings

    previous = warnings.formatwarning
    if getattr(previous, "_gandistill", False):
        return

    def fmt(message, category, filename, lineno, line=None) -> str:
        return f"warning: {message}\n"

    fmt._gandistill = True  # type: ignore[attr-defined]
    warnings.formatwarning = fmt
