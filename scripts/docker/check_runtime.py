"""Build-time check of the Docker image's Python environment (run by the Dockerfile after pip install).

The image keeps PyPI's CUDA build of torch (the only x86_64 build on PyPI) and the NVIDIA libraries it links,
but scripts/docker/trim_cuda.sh drops what is never loaded on the CPU and swaps the GUI build of OpenCV for
the pinned headless one. This fails the build, with the error, if that left anything the app needs unable to
import or compute on the CPU.
"""

from __future__ import annotations

import importlib.metadata as metadata

import numpy as np


def main() -> None:
    import cv2
    import torch
    import torchvision

    assert not torch.cuda.is_available()  # the CUDA runtime loads, finds no device, and says so quietly
    assert torch.backends.cudnn.version() >= 90000  # cuDNN's shim and the sub-library it opens for this are kept
    x = torch.rand(1, 3, 32, 32)
    y = torch.nn.functional.conv2d(x, torch.rand(4, 3, 3, 3), padding=1)
    assert y.shape == (1, 4, 32, 32) and torch.isfinite(y).all()
    assert torch.linalg.solve(torch.eye(3) * 2, torch.ones(3)).allclose(torch.full((3,), 0.5))  # CPU LAPACK
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    assert torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]  # compiled ops

    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    assert cv2.GaussianBlur(image, (5, 5), 0).shape == image.shape
    owners = [dist.metadata["Name"] for dist in metadata.distributions()
              if any(str(file) == "cv2/__init__.py" for file in dist.files or [])]
    assert owners == ["opencv-python-headless"], f"cv2 belongs to {owners}"

    import pyiqa

    metric = pyiqa.create_metric("piqe", device="cpu")
    score = float(metric(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255))
    assert np.isfinite(score), score
    print(f"runtime ok: torch {torch.__version__} (CUDA available: {torch.cuda.is_available()}), "
          f"torchvision {torchvision.__version__}, opencv {cv2.__version__} (headless), pyiqa {pyiqa.__version__}, "
          f"piqe of a noise image {score:.2f}")


if __name__ == "__main__":
    main()
