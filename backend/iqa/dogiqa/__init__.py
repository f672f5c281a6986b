"""Dog-IQA (paper 003): standard-guided scoring of the whole image and of object-centred crops, aggregated.

Parts (each swappable, like a diffusers pipeline): ``algorithm`` (Alg. 1: masks, area threshold, the
remainder mask, bounding-box crops of the original pixels), ``standard`` (the K-level scoring standard of
Sec. 3.1 and the digit-logit readout of any transformers VLM), ``offline`` (any registry no-reference
model mapped onto 1..K by quantiles of a reference set), ``aggregate`` (Sec. 3.2 and the public code's
variant), ``model`` (the pipeline behind the registry's ``score`` protocol), ``service`` (what the UI,
``/dogiqa`` and the CLI call), ``overlay`` (the Fig. 5 picture) and ``calibrate`` (reference quantiles
and c_max).
"""
