"""File-level failures: the run cannot go on, and says why in one line."""


class InputError(Exception):
    """Bad input or settings that stop a run; `str()` is one line without donor data."""
