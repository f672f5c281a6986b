"""The tiny random LLaVA of ``tests/tiny_vlm.py`` with the words of Compare2Score's prompt and answers."""

from __future__ import annotations

from pathlib import Path

from tests.tiny_vlm import TOKENS_PER_IMAGE
from tests.tiny_vlm import build_tiny_llava as build_llava

WORDS = ("USER ASSISTANT : Compared with the first image , how is quality of second ? The "
         "inferior worse similar better superior to than .").split()

__all__ = ["TOKENS_PER_IMAGE", "WORDS", "build_tiny_llava"]


def build_tiny_llava(folder: Path, seed: int = 0) -> Path:
    return build_llava(folder, WORDS, seed)
