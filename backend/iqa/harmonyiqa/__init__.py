"""HarmonyIQA (paper 000, Sec. III): harmonization-quality scoring.

Two families share this package:

* the VLM model -- any transformers image-text-to-text model with peft LoRA on the vision tower and the
  LLM, a trainable projector and a 2-layer MLP score decoder, trained in two stages
  (subpackage ``vlm``);
* HarmonyIQA-lite -- a small network trained here on synthesised composites, the offline default
  (subpackage ``lite``).

``registration`` registers both; ``cli`` is the ``harmonyiqa`` command of both.
"""
