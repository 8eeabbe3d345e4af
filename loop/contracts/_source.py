"""How a contract lands: the metadata :mod:`loop.landing` needs besides the pydantic model."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class RowRule:
    """A rule across fields of one record.

    ``sql`` is a DuckDB predicate over the typed columns (field names) that must hold for a valid record; the
    pydantic model enforces the same rule in a ``model_validator``. ``message`` is the quarantine reason.
    """

    sql: str
    message: str


@dataclass(frozen=True)
class Source:
    """One raw source: where its files land and how its records are checked."""

    pillar: str
    name: str
    model: type[BaseModel]
    formats: tuple[str, ...]
    key: tuple[str, ...]
    """Natural key: a record whose key already landed (from this or another file) is quarantined as duplicate.
    An empty key means the source is a snapshot (the campaign catalog): duplicates only count within a file."""
    rules: tuple[RowRule, ...] = ()
    references_campaign: bool = False
    """True when ``campaign_id`` must exist in the landed campaign catalog."""
    event_time: str | None = None
    """Field checked against the landing date's lookback window (late and future records)."""
    description: str = field(default="")

    @property
    def table(self) -> str:
        return f"raw.{self.name}"
