"""HarmonyLab backend: everything that is not layout. Never imports gradio.

The flow is one way: ``ui`` -> a service function here -> a registry model -> numpy/torch.
"""

from backend.errors import HarmonyLabError, InputError, ModelUnavailableError

__all__ = ["HarmonyLabError", "InputError", "ModelUnavailableError"]
