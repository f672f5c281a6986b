"""Paired-comparison scaling and subjective-data statistics.

- ``pairwise``: Thurstone Case V MAP (paper 001 Eq. 6) and Bradley–Terry fits, batched MAP for
  Compare2Score, Laplace standard errors, vote tables, annotator bootstrap.
- ``mos``: ITU-R BT.500 subject screening and MOS by z-scores (paper 000 Sec. II-C, Eq. 1).
- ``correlation``: SRCC / KRCC / PLCC (after the VQEG 4-parameter logistic) with bootstrap intervals.
- ``active``: next-pair selection by expected information gain (ASAP-style) or uniform sampling.
- ``cli``: the ``scale`` and ``mos`` commands of ``python -m backend``.

Submodules are imported explicitly (``from backend.scaling import pairwise``) so that importing the
package stays cheap for the command line.
"""
