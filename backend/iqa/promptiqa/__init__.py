"""PromptIQA (paper 004, Chen et al., ECCV 2024): no-reference IQA that scores by an image-score-pair prompt.

A person shows the model n images with the score they would give each (an ISPP); the model scores new
images by that requirement, without fine-tuning. Parts (each a small module):

- ``model``: the network of Sec. 3.2 (ISP features, prompt encoder, ISPP fusion, image-prompt fusion,
  regression) with a configurable visual encoder: ``features`` (fixed quality statistics + MLP, the shipped
  embedded model), ``compact`` CNN, or ``monet`` (paper); one frozen config each, inside ``PromptIQAConfig``.
- ``weights``: the shipped weights (``model.safetensors`` + its card ``model.json``) and ``load_embedded``.
- ``features``: the no-reference quality statistics of the ``features`` encoder.
- ``monet``: the paper's MoNet visual encoder on a timm ViT-B/8; ``hub``: the authors' checkpoint, mapped.
- ``prompts``: validation, normalisation to [0, 1] and back, interval / random ISP sampling, prompt hash.
- ``scorer``: batched scoring with requirement tokens cached per prompt; registry protocol.
- ``data``, ``requirements``, ``train``: synthetic requirements from distorted real photos labelled by
  full-reference metrics and levels; mixed training with RS/RF (Eq. 4).
- ``evaluate``, ``report``: SRCC/PLCC on held-out photos and requirements (n, sampling, inversion, controls).
- ``service``: prompts from CSVs / uploads / campaigns, saved prompts, scoring; ``registration``, ``cli``.
"""
