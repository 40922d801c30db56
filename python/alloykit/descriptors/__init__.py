"""ACE descriptors (atomic cluster expansion) in torch.

``ACE(elements, nmax=(8, 2, 2, 1), lmax=(0, 2, 2, 1))`` gives rotation-, translation- and
permutation-invariant per-atom descriptors up to rank 4 (5-body), with element channels,
per-element-pair cutoffs and only linearly independent functions; ``.compute(atoms)``
works on ase.Atoms and ``.from_pairs(...)`` on the pairs LAMMPS hands to an ML-IAP model.
"""
from .ace import ACE, PAPER_LMAX, PAPER_NMAX, Pairs, default_cutoff

__all__ = ["ACE", "Pairs", "PAPER_NMAX", "PAPER_LMAX", "default_cutoff"]
