"""Spatial density maps (SDMs, Eq. 1 of Fan, Xing & Cao) of vacancy hops.

For a vacancy and one of its first neighbours, the local configuration is rotated so that the
vacancy -> moving-atom vector lies along +x (:mod:`.frame`), atoms within r_c are kept and a
Gaussian of width Delta per atom is summed, one channel per species, on a cubic grid of
half-edge l_c (:mod:`.density`). Settings follow the lattice's g(r) shells (:mod:`.shells`):
BCC Fe (a = 2.8665 A), 6 shells -> r_c 6.72 A, Delta 0.44 A, 32^3 voxels, the paper's choice
scaled by the lattice parameter. Hops are :class:`alloykit.structures.HopRecord`s.

Typical use::

    from alloykit.sdm import hop_records, describe_lattice, sdm_spec, lattice_symmetries, HopSet
    recs = list(hop_records(atoms))                      # or an NEB dataset's records
    lattice, a = describe_lattice(recs)
    spec = sdm_spec(["Cr", "Fe"], lattice, a, n_shells=6)
    hops = HopSet.from_records(recs, spec, lattice_symmetries(lattice, a, spec.r_c), target=None)
    x = hops.sdms(range(64), augment="rotation", generator=torch.Generator().manual_seed(0))

Importing this package imports torch.
"""
from .density import sdm_batch, sdm_reference
from .environment import hop_records
from .frame import hop_rotation, hop_symmetries, hop_template, site_permutations
from .hopset import AUGMENTS, HopSet, as_records, describe_lattice, lattice_symmetries, record_lattice
from .shells import SDMSpec, cutoff_for_shells, peak_shells, sdm_spec, sites_within

__all__ = [
    "AUGMENTS", "HopSet", "SDMSpec", "as_records", "cutoff_for_shells", "describe_lattice", "hop_records",
    "hop_rotation", "hop_symmetries", "hop_template", "lattice_symmetries", "peak_shells", "record_lattice",
    "sdm_batch", "sdm_reference", "sdm_spec", "site_permutations", "sites_within",
]
