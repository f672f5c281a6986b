"""Image harmonization (paper 002): iHarmony4 metrics, composite synthesis, harmonizers."""
