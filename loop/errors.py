"""loop's error type: its message is one clear sentence, shown to users without a traceback."""


class LoopError(Exception):
    """An error a user can act on; the CLI prints its message alone."""
