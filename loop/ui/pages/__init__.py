"""The pages of `loop ui`, one module each, each exposing ``render() -> None`` (see :mod:`loop.ui`)."""
