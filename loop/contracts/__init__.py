"""Contracts at the edge: one pydantic module per raw source.

Each module defines the raw record as a pydantic model (the single source of truth for field names, types,
required fields, allowed values and ranges) plus a :class:`Source` describing how it lands: its pillar, file
formats, natural key and the cross-record checks landing applies. :mod:`loop.landing` derives its vectorized
DuckDB checks from these models, and the same models explain any rejected record in Python.
"""

from __future__ import annotations

from loop.contracts._source import RowRule, Source
from loop.contracts.ad_performance import SOURCE as AD_PERFORMANCE
from loop.contracts.campaigns import SOURCE as CAMPAIGNS
from loop.contracts.consent import SOURCE as CONSENT
from loop.contracts.currency_rates import SOURCE as CURRENCY_RATES
from loop.contracts.events import SOURCE as EVENTS
from loop.contracts.feedback import SOURCE as FEEDBACK
from loop.contracts.releases import SOURCE as RELEASES
from loop.contracts.touches import SOURCE as TOUCHES

#: Every source, in landing order (the campaign catalog lands before anything that references it).
SOURCES: tuple[Source, ...] = (CAMPAIGNS, AD_PERFORMANCE, CURRENCY_RATES, TOUCHES, CONSENT, EVENTS, FEEDBACK, RELEASES)


def sources_of(pillar: str) -> tuple[Source, ...]:
    """The sources of one pillar, in landing order."""
    return tuple(source for source in SOURCES if source.pillar == pillar)


def source_named(name: str) -> Source:
    """The source called ``name``; a clear error for an unknown one."""
    for source in SOURCES:
        if source.name == name:
            return source
    raise KeyError(f"unknown source {name!r}; known sources: {', '.join(s.name for s in SOURCES)}")


__all__ = ["SOURCES", "RowRule", "Source", "source_named", "sources_of"]
