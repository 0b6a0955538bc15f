"""Synthetic Hearth world: a landing tree of six agencies' extracts and the exact truth.

See docs/synthetic-world.md for the generative model and every parameter; `WorldParams` (and the
preset `REALISTIC`) switch on the mechanisms of a world that does not flatter the model.
"""

from hearth.synth.params import REALISTIC, WorldParams
from hearth.synth.world import SynthSummary, synthesise

__all__ = ["REALISTIC", "SynthSummary", "WorldParams", "synthesise"]
