"""Hand-crafted no-reference statistics: the inputs of the offline comparator (stand-in for paper 001 Sec. 3.3).

Classical NR-IQA measurements, each cheap on a <= 384 px image, that generalise across image content
better than a CNN trained on a few dozen photos can: brightness and clipping, RMS and percentile
contrast, colourfulness (Hasler & Suesstrunk 2003), mean chroma and colour cast (CIELAB a*, b* means),
sharpness (Laplacian and gradient energy at two scales, and their ratio), noise level (Immerkaer's
1996 fast estimate), JPEG blockiness (8x8 boundary vs interior differences),
pixel repetition (share of zero neighbour differences: pixelation / nearest upscaling), and BRISQUE-style
MSCN statistics (Mittal et al. 2012: variance, kurtosis and neighbour products at two scales).
"""

from __future__ import annotations

import numpy as np

FEATURE_NAMES = (
    "luma_mean", "dark_clip", "bright_clip", "luma_std", "luma_p95_p5", "colourfulness", "chroma_mean",
    "cast_a", "cast_b", "cast_norm", "laplacian_log_energy", "laplacian_log_energy_half", "sharpness_ratio",
    "gradient_mean", "noise_sigma", "blockiness", "repeat_h", "repeat_v",
    "mscn_var", "mscn_kurtosis", "mscn_pair_h", "mscn_pair_v", "mscn_var_half", "mscn_kurtosis_half",
    "mscn_pair_h_half", "mscn_pair_v_half",
)


def _mscn(gray: np.ndarray) -> np.ndarray:
    import cv2

    mu = cv2.GaussianBlur(gray, (7, 7), 7 / 6)
    sigma = np.sqrt(np.abs(cv2.GaussianBlur(gray * gray, (7, 7), 7 / 6) - mu * mu))
    return (gray - mu) / (sigma + 1.0 / 255.0)


def _mscn_stats(gray: np.ndarray) -> list[float]:
    m = _mscn(gray)
    variance = float(np.mean(m * m))
    kurtosis = float(np.mean(m**4) / max(variance**2, 1e-12))
    return [variance, np.log(kurtosis), float(np.mean(m[:, 1:] * m[:, :-1])), float(np.mean(m[1:, :] * m[:-1, :]))]


def _noise_sigma(gray: np.ndarray) -> float:
    """Immerkaer (1996): sigma = sqrt(pi / 2) / (6 (W - 2)(H - 2)) * sum |I * M|, M a Laplacian difference."""
    import cv2

    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(gray, cv2.CV_32F, kernel)[1:-1, 1:-1])
    return float(np.sqrt(np.pi / 2) * response.mean() / 6.0)


def _blockiness(gray: np.ndarray) -> float:
    horizontal = np.abs(np.diff(gray, axis=1))
    columns = np.arange(horizontal.shape[1])
    boundary = horizontal[:, columns % 8 == 7].mean()
    interior = horizontal[:, columns % 8 != 7].mean()
    return float(np.log((boundary + 1e-3) / (interior + 1e-3)))


def image_features(image: np.ndarray) -> np.ndarray:
    """The statistics of :data:`FEATURE_NAMES` for one RGB uint8 image (float64 vector)."""
    import cv2

    rgb = image.astype(np.float32) / 255.0
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg, yb = r - g, 0.5 * (r + g) - b
    colourfulness = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    a_mean, b_mean = float(lab[..., 1].mean()), float(lab[..., 2].mean())
    half = cv2.resize(gray, (max(8, gray.shape[1] // 2), max(8, gray.shape[0] // 2)), interpolation=cv2.INTER_AREA)
    lap = float(np.log(np.mean(cv2.Laplacian(gray, cv2.CV_32F) ** 2) + 1e-8))
    lap_half = float(np.log(np.mean(cv2.Laplacian(half, cv2.CV_32F) ** 2) + 1e-8))
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1)
    levels = np.round(gray * 255)
    values = [
        float(gray.mean()), float(np.mean(gray < 10 / 255)), float(np.mean(gray > 245 / 255)),
        float(gray.std()), float(np.percentile(gray, 95) - np.percentile(gray, 5)), float(colourfulness),
        float(np.hypot(lab[..., 1], lab[..., 2]).mean() / 100.0), a_mean / 100.0, b_mean / 100.0,
        float(np.hypot(a_mean, b_mean) / 100.0), lap, lap_half, lap - lap_half,
        float(np.hypot(gx, gy).mean()), float(np.log(_noise_sigma(gray) + 1e-4)),
        _blockiness(gray * 255.0),
        float(np.mean(np.diff(levels, axis=1) == 0)), float(np.mean(np.diff(levels, axis=0) == 0)),
        *_mscn_stats(gray), *_mscn_stats(half),
    ]
    return np.asarray(values, dtype=np.float64)
