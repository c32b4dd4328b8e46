"""Sequential Monte Carlo: resampling schemes and the one particle engine."""

from seqvi.smc import resampling
from seqvi.smc.resampling import RESAMPLERS, effective_sample_size, get_resampler
from seqvi.smc.smc import SMCCarry, SMCResult, continue_sequence, initial_carry, run, zero_padding

__all__ = [
    "resampling",
    "RESAMPLERS",
    "get_resampler",
    "effective_sample_size",
    "SMCResult",
    "SMCCarry",
    "initial_carry",
    "run",
    "continue_sequence",
    "zero_padding",
]
