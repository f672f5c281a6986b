"""PromptIQA (paper 004)."""
