"""HarmonyIQA-lite: the offline harmonization-quality model trained here (``model``: the scorer; ``network``:
the torch network; ``data``: the synthetic scored set; ``train``: training and evaluation; ``cli``)."""
