"""Segmentation behind one interface (paper 002 Sec. 3.2, paper 003 Alg. 1): SAM 2 and an offline segmenter.

``get_segmenter(name=None)`` returns SAM 2 when its weights are present and the offline region segmenter
otherwise; both give ``segment(image, min_area) -> Segmentation`` (bool masks + scores) and
``segment_prompt(image, mask)``. The registry (task ``segment``) lists both with their status.
"""
