"""The HarmonyIQA VLM of paper 000 Sec. III (``model``: LoRA-tuned VLM + score decoder; ``data``: training rows
from CSV files or rating campaigns; ``train``: the two-stage training; ``folder``: where a trained model lives
and whether it can be built here)."""
