"""The tiny random LLaVA of ``tests/tiny_vlm.py`` with the words of Dog-IQA's standard prompt (digits 1..9)."""

from __future__ import annotations

from pathlib import Path

from tests.tiny_vlm import CHAT_TEMPLATE
from tests.tiny_vlm import build_tiny_llava as build_llava

WORDS = ("SYSTEM USER ASSISTANT : You are a helpful assistant to evaluate image quality . Please the and score in "
         "[ ] , 1 2 3 4 5 6 7 8 9 Perfect Excellent Good Fair Bad Poor Very").split()
NO_SYSTEM_TEMPLATE = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
                      + CHAT_TEMPLATE)


def build_tiny_llava(folder: Path, seed: int = 0, chat_template: str = CHAT_TEMPLATE) -> Path:
    return build_llava(folder, WORDS, seed, chat_template)
