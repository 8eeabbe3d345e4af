"""How a contract lands: the metadata :mod:`loop.landing` needs besides the pydantic model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel


@dataclass(frozen=True)
class RowRule:
    """A rule across fields of one record.

    ``sql`` is a DuckDB predicate over the typed columns (the contract's field names, double-quoted) that must
    hold for a valid record; values in it are named parameters (``$name``) given in ``params``, never literals
    pasted into the text. The pydantic model enforces the same rule in a ``model_validator``; ``message`` is the
    quarantine reason.
    """

    sql: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One raw source: where its files land and how its records are checked."""

    pillar: str
    name: str
    model: type[BaseModel]
    formats: tuple[str, ...]
    key: tuple[str, ...]
    """Natural key: a record whose key already landed is a duplicate. Whatever the order files land in, the copy
    from the earliest partition (then file name, then position) is kept and the others are quarantined. An empty
    key means the source is a snapshot (the campaign catalog): duplicates only count within a file."""
    rules: tuple[RowRule, ...] = ()
    references_campaign: bool = False
    """True when ``campaign_id`` must exist in the landed campaign catalog. A record whose campaign is not (yet)
    in the catalog is held in quarantine and released automatically when the catalog that names it lands."""
    export_shapes: bool = False
    """True when the source's files come in several export shapes (ad platforms' own CSV layouts): landing recognises
    each file's shape from its header and maps its rows into the contract's fields before the checks
    (:mod:`loop.landing.exports`)."""
    event_time: str | None = None
    """Field checked against the landing date's lookback window (late records)."""
    description: str = ""

    @property
    def table(self) -> str:
        return f"raw.{self.name}"
