"""A classical metric computed by pyiqa (Chen et al., IQA-PyTorch); nothing here re-implements a metric.

pyiqa's default options are used (e.g. SSIM and MS-SSIM on the Y channel, PSNR on RGB), so values equal
``pyiqa.create_metric(name)`` on the same inputs: float tensors N x 3 x H x W in [0, 1] made from the RGB
``uint8`` images by ``/ 255``. Images of one size are scored in one call.
"""

from __future__ import annotations

import numpy as np

from backend.device import default_device
from backend.errors import InputError
from backend.protocols import ScoreResult, check_inputs
from backend.registry import ModelCard


def to_tensor(image: np.ndarray):
    """RGB uint8 HxWx3 -> float tensor 1x3xHxW in [0, 1] (pyiqa's input)."""
    import torch

    array = image if image.flags.writeable and image.flags.c_contiguous else image.copy()
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


class PyiqaMetric:
    """One pyiqa metric behind the registry's ``score`` protocol."""

    def __init__(self, card: ModelCard, device: str | None = None, parameter_file: str | None = None):
        import pyiqa

        self.card = card
        self.device = device or default_device()
        options = {} if parameter_file is None else {"pretrained_model_path": parameter_file}
        self.metric = pyiqa.create_metric(card.name, device=self.device, **options)

    def score(self, image: np.ndarray, reference: np.ndarray | None = None, mask: np.ndarray | None = None) -> ScoreResult:
        return self.score_batch([image], None if reference is None else [reference])[0]

    def score_batch(self, images: list[np.ndarray], references: list[np.ndarray] | None = None) -> list[ScoreResult]:
        """Score images of one size in a single pyiqa call (images of mixed sizes are scored one by one)."""
        import torch

        for index, image in enumerate(images):
            check_inputs(self.card, image, None if references is None else references[index], None)
        if len({im.shape for im in images}) != 1:
            return [self.score_batch([im], None if references is None else [references[i]])[0] for i, im in enumerate(images)]
        target = torch.cat([to_tensor(im) for im in images]).to(self.device)
        ref = torch.cat([to_tensor(im) for im in references]).to(self.device) if self.card.full_reference else None
        try:
            with torch.inference_mode():
                values = self.metric(target, ref) if ref is not None else self.metric(target)
        except (AssertionError, RuntimeError, ValueError, IndexError) as error:
            height, width = images[0].shape[:2]
            raise InputError(
                f"'{self.card.name}' could not score a {width}x{height} image ({error or type(error).__name__}); "
                "try a larger image or another metric."
            ) from error
        values = values.detach().double().cpu().reshape(-1).numpy()
        return [ScoreResult(float(v)) for v in values]
