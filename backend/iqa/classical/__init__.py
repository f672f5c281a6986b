"""Classical IQA metrics (PSNR, SSIM, MS-SSIM, FSIM, VSI, GMSD, VIF, NLPD, CW-SSIM; PIQE, entropy, NIQE, BRISQUE).

``registration`` registers one card per metric; ``pyiqa_metric`` runs a metric through pyiqa (Chen et al.,
IQA-PyTorch), the reference implementation. NIQE's and BRISQUE's fitted parameter files come from pyiqa's
weight repository on the hub (``backend.weights.hub_file``) or a local file named by the settings.
"""
