"""Pseudonyms: customer ids in published datasets are replaced by a keyed hash, so pulls can be joined with each
other but not traced back to a customer without the key.

A pseudonym is ``HMAC-SHA256(key, customer_id as UTF-8)`` written as hex, cut to its first 32 hex characters
(128 bits: collisions are out of reach for any number of customers). The key is:

* ``LOOP_PSEUDONYM_KEY`` (its UTF-8 bytes), when set;
* otherwise the text of ``<data dir>/secrets/pseudonym.key``: 64 random hex characters made on the first
  publication (mode 0600, created atomically so that two processes never make two keys) and reused by every cycle.

The same key gives the same pseudonym for a customer in every publication and every pull: that is what makes pulls
joinable. Losing the key file (or changing ``LOOP_PSEUDONYM_KEY``) gives every customer a new pseudonym from the
next publication on, and pulls made before no longer join with pulls made after: back the file up with the data
directory. Copying its text into ``LOOP_PSEUDONYM_KEY`` keeps the same pseudonyms.

Only published files are pseudonymized; the warehouse keeps raw ids (the cycle's marts need them).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from loop.errors import LoopError
from loop.settings import Settings

#: Hex characters of the HMAC-SHA256 digest kept in a pseudonym (128 bits).
PSEUDONYM_HEX_CHARS = 32
#: Hex characters of a key made by loop (256 random bits).
KEY_HEX_CHARS = 64


def key_path(settings: Settings) -> Path:
    """Where the key made by loop is kept when ``LOOP_PSEUDONYM_KEY`` is unset."""
    return settings.root / "secrets" / "pseudonym.key"


def pseudonym_key(settings: Settings) -> bytes:
    """The key of the pseudonyms: ``LOOP_PSEUDONYM_KEY``, or the key file (made on first use)."""
    if settings.pseudonym_key is not None:
        return settings.pseudonym_key.get_secret_value().strip().encode("utf-8")
    path = key_path(settings)
    if not path.exists():
        _create_key(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise LoopError(f"The pseudonym key {path} cannot be read ({error}); restore it from a backup.") from None
    if len(text) < 32:
        raise LoopError(
            f"The pseudonym key {path} is empty or damaged. Restore it from a backup: a new key gives every "
            "customer a new pseudonym, and published pulls made before no longer join with later ones (delete the "
            "file to accept that and start new pseudonyms)."
        )
    return text.encode("ascii")


def _create_key(path: Path) -> None:
    """Write a new random key to ``path`` unless another process got there first (never two keys)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_HEX_CHARS // 2) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process made the key meanwhile: use that one
            os.link(partial, path)  # atomic, and fails rather than replace an existing key
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    finally:
        partial.unlink(missing_ok=True)


class Pseudonymizer:
    """Keyed hashes of customer ids with one key (build once per publication, call per id)."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    @classmethod
    def of(cls, settings: Settings) -> Pseudonymizer:
        return cls(pseudonym_key(settings))

    def __call__(self, customer_id: str) -> str:
        digest = self._keyed.copy()  # the key's inner and outer pads are computed once
        digest.update(customer_id.encode("utf-8"))
        return digest.hexdigest()[:PSEUDONYM_HEX_CHARS]

    def mapping(self, customer_ids: Iterable[str]) -> tuple[list[str], list[str]]:
        """(ids, pseudonyms) of distinct ids, for a frame the publication joins on."""
        ids = list(customer_ids)
        return ids, [self(value) for value in ids]
