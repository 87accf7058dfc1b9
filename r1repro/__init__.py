"""r1repro: R1-Zero-style RL with verifiable rewards, small enough to read in an afternoon."""

__version__ = "0.1.0"
