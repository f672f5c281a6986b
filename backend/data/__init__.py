"""Shared data builders: real photos from Debian packages and deterministic distortions of them.

- ``photos``: which installed photos to use and their deterministic train/validation/test split.
- ``distortions``: distortion families applied at graded levels, and the MOS proxy derived from them.
- ``scored_set``: reading scored sets (CSV of images with MOS and its standard deviation).

Used by Compare2Score (paper 001) for its offline comparator and default anchors, and by PromptIQA
(paper 004) for image-score prompts.
"""
