"""loop's error types: their message is one clear sentence, shown to users without a traceback."""


class LoopError(Exception):
    """An error a user can act on; the CLI prints its message alone. Retrying the same step will not help."""

    retryable = False


class TransientError(LoopError):
    """A passing cause (the warehouse is busy, the Airflow API did not answer): retrying the step can succeed."""

    retryable = True
