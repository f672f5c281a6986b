"""Image-quality models: classical metrics (pyiqa), and the paper models (HarmonyIQA, Compare2Score,
Dog-IQA, PromptIQA) behind the registry's ``score`` protocol (``backend.protocols``)."""
