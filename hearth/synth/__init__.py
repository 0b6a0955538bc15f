"""Synthetic Hearth world: a landing tree of six agencies' extracts and the exact truth.

See docs/synthetic-world.md for the generative model and every parameter.
"""

from hearth.synth.world import SynthSummary, synthesise

__all__ = ["SynthSummary", "synthesise"]
