"""User-facing errors: raised for bad input; the CLI prints the message without a traceback."""
from __future__ import annotations


class GandistillError(Exception):
    """Base class for errors whose message tells the user what is wrong and how to fix it."""


class DataError(GandistillError, ValueError):
    """A dataset, image, audio file or caption cannot be used (the message names the file)."""


class CheckpointError(GandistillError, ValueError):
    """A model directory, training state or foreign checkpoint is missing, corrupt or incompatible."""


class DownloadError(GandistillError):
    """A checkpoint could not be fetched or failed its hash check (the message names the URL and the cache path)."""


class GandistillWarning(UserWarning):
    """Something the user should know (inputs resized, small samples, ...); the CLI prints it on one line."""


def one_line_warnings() -> None:
    """Make ``warnings`` print a GandistillWarning as one ``warning: ...`` line (others unchanged); the CLI calls it."""
    import warnings

    previous = warnings.formatwarning
    if getattr(previous, "_gandistill", False):
        return

    def fmt(message, category, filename, lineno, line=None) -> str:
        if issubclass(category, GandistillWarning):
            return f"warning: {message}\n"
        return previous(message, category, filename, lineno, line)

    fmt._gandistill = True  # type: ignore[attr-defined]
    warnings.formatwarning = fmt
