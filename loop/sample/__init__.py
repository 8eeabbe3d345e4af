"""The sample world: a deterministic, streaming generator of landing files for a period (``loop generate``)."""

from loop.sample.generator import BAD_KINDS, CAMPAIGNS, GenerationSummary, generate

__all__ = ["BAD_KINDS", "CAMPAIGNS", "GenerationSummary", "generate"]
