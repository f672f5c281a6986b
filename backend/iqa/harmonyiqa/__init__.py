"""HarmonyIQA (paper 000, Sec. III): harmonization-quality scoring.

Two families share this package:

* the VLM model -- any transformers image-text-to-text model with peft LoRA on the vision tower and the
  LLM, a trainable projector and a 2-layer MLP score decoder, trained in two stages
  (``vlm_model``, ``train``, ``data``, ``vlm_folder``, ``cli``);
* HarmonyIQA-lite -- a small network trained here on synthesised composites, the offline default
  (``lite``, ``lite_network``, ``lite_data``, ``lite_train``, ``lite_cli``).

``registration`` registers both.
"""
