"""The sample world: a deterministic, streaming generator of landing files for a period (``loop generate``) that
reacts to the actions the loop records (``loop demo``)."""

from loop.sample.actions import Action, Actions, read_actions
from loop.sample.generator import BAD_KINDS, CAMPAIGNS, GenerationSummary, generate

__all__ = ["BAD_KINDS", "CAMPAIGNS", "Action", "Actions", "GenerationSummary", "generate", "read_actions"]
