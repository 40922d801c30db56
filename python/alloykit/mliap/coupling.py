"""The Python half of ``pair_style mliap/unified``.

The plugin (``lammps_plugin/pair_mliap_unified.cpp``) calls :func:`connect` once per
``pair_style`` command and :meth:`Interface.compute` once per force evaluation, lending
its buffers as memoryviews. Everything a model sees is a numpy view of LAMMPS memory;
nothing is copied except what the model itself returns.

Conventions are LAMMPS's ML-IAP unified ones: pairs come from a full neighbour list
(each bond once per direction), ``rij = x_j - x_i``, ``pair_i`` is a local atom,
``pair_j`` may be a ghost; ``update_pair_energy(eij)`` gives half of ``eij`` to atom i;
``update_pair_forces(fij)`` adds ``fij`` (= dE/drij) to f[i] and subtracts it from f[j].
"""
from __future__ import annotations

import ctypes

import numpy as np

# models handed over with load_unified (pair) and load_peratom (compute), by LAMMPS instance address
_LOADED: dict[int, object] = {}
_LOADED_PERATOM: dict[int, object] = {}


def _address(lmp) -> int:
    """The LAMMPS* of a lammps.lammps, an alloykit.lmp.Lammps, or a plain int."""
    if isinstance(lmp, int):
        return lmp
    inner = getattr(lmp, "raw", lmp)    # alloykit.lmp.Lammps wraps a lammps.lammps as .raw
    handle = getattr(inner, "lmp", None)
    value = getattr(handle, "value", None)
    if not value:
        raise TypeError(f"load_unified: expected a LAMMPS instance, got {type(lmp).__name__}")
    return int(value)


def load_unified(lmp, model) -> None:
    """Hand ``model`` to ``lmp``; ``pair_style mliap/unified LATER`` (or ``EXISTS``, the
    native keyword) then uses it. Mirrors ``lammps.mliap.load_unified`` for one instance."""
    check_model(model)
    _LOADED[_address(lmp)] = model


def load_peratom(lmp, model) -> None:
    """Hand a per-atom ``model`` to ``lmp`` for ``compute ID group mliap/unified/atom LATER El...``."""
    check_peratom_model(model)
    _LOADED_PERATOM[_address(lmp)] = model


def forget(lmp) -> None:
    """Drop the models handed to ``lmp`` (called when an alloykit session closes)."""
    _LOADED.pop(_address(lmp), None)
    _LOADED_PERATOM.pop(_address(lmp), None)


def check_model(model) -> None:
    name = type(model).__name__
    if not callable(getattr(model, "compute_forces", None)):
        raise TypeError(f"model {name} has no compute_forces(data) method")
    _check_elements_and_cutoff(model)
    for attr in ("ndescriptors", "nparams"):
        _positive_int(model, attr)


def check_peratom_model(model) -> None:
    """A per-atom model: ``element_types``, ``rcutfac``, ``n_outputs`` (columns per atom)
    and ``compute_peratom(data)``, which sets ``data.peratom``."""
    if not callable(getattr(model, "compute_peratom", None)):
        raise TypeError(f"model {type(model).__name__} has no compute_peratom(data) method "
                        "(compute mliap/unified/atom needs a per-atom model)")
    _check_elements_and_cutoff(model)
    _positive_int(model, "n_outputs")


def _positive_int(model, attr):
    v = getattr(model, attr, None)
    if not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"model {type(model).__name__}: {attr} must be a positive int, got {v!r}")


def _check_elements_and_cutoff(model) -> None:
    name = type(model).__name__
    et = getattr(model, "element_types", None)
    if not et or not isinstance(et, (list, tuple)) or not all(isinstance(e, str) and e.strip() == e and e for e in et):
        raise ValueError(f"model {name}: element_types must be a non-empty list of element names, got {et!r}")
    from ..lmp.commands import check_word

    for e in et:    # element names become pair_coeff / compute arguments
        check_word(e, f"model {name}: element_types")
    if len(set(et)) != len(et):
        raise ValueError(f"model {name}: element_types has duplicates: {et!r}")
    rc = getattr(model, "rcutfac", None)
    if not isinstance(rc, (int, float, np.floating)) or not rc > 0:
        raise ValueError(f"model {name}: rcutfac must be a positive number, got {rc!r}")


def connect(lmp_address: int, spec: str) -> "Interface":
    """Called by the plugin for ``pair_style mliap/unified SPEC``."""
    if spec in ("LATER", "EXISTS"):
        model = _LOADED.get(lmp_address)
        if model is None:
            raise ValueError(f"{spec}: no model was given to this LAMMPS instance with alloykit.mliap.load_unified(lmp, model)")
    else:
        from .store import load_model

        model = load_model(spec)
    check_model(model)
    return Interface(model)


def connect_peratom(lmp_address: int, spec: str) -> "PerAtomInterface":
    """Called by the plugin for ``compute ID group mliap/unified/atom SPEC El...``."""
    if spec in ("LATER", "EXISTS"):
        model = _LOADED_PERATOM.get(lmp_address)
        if model is None:
            raise ValueError(f"{spec}: no per-atom model was given to this LAMMPS instance with "
                             "alloykit.mliap.load_peratom(lmp, model)")
    else:
        from .store import load_model

        model = load_model(spec)
    check_peratom_model(model)
    return PerAtomInterface(model)


_KERNELS = None


def _kernels():
    """The plugin's C scatter loops (the plugin is already loaded: LAMMPS opened it)."""
    global _KERNELS
    if _KERNELS is None:
        from .plugin import plugin_file

        lib = ctypes.CDLL(plugin_file())
        vp, i = ctypes.c_void_p, ctypes.c_int
        lib.alloykit_update_pair_energy.argtypes = [i, vp, vp, i, vp, i, vp, vp]
        lib.alloykit_update_pair_forces.argtypes = [i, vp, vp, vp, vp, vp, vp, vp]
        lib.alloykit_update_pair_energy.restype = lib.alloykit_update_pair_forces.restype = None
        _KERNELS = lib
    return _KERNELS


def _ptr(arr: np.ndarray) -> int:
    return arr.ctypes.data


def _as_float64(value, shape, what):
    arr = np.asarray(value)
    if arr.dtype != np.float64:
        raise TypeError(f"data.{what}: expected float64 values, got {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"data.{what}: expected shape {shape}, got {arr.shape}")
    return arr


def _tags(buf, n):
    """LAMMPS's tagint: 4 bytes by default, 8 in a -DLAMMPS_BIGBIG build."""
    size = len(memoryview(buf).cast("B")) // n if n else 4
    return np.frombuffer(buf, {4: np.int32, 8: np.int64}[size])


class MLIAPData:
    """What a unified model sees: LAMMPS's ``MLIAPDataPy`` attributes, as numpy views."""

    def __init__(self, ints, bufs, model):
        (self.nlistatoms, self.nlocal, self.ntotal, self.npairs,
         self.eflag, self.vflag, self._vflag_global, self._vflag_atom) = ints
        f, eatoms, energy, virial, vatom = bufs[9:]
        self._read_pairs(bufs[:9], model)
        self.f = np.frombuffer(f, np.float64).reshape(self.ntotal, 3)
        self._eatoms = np.frombuffer(eatoms, np.float64)
        self._energy = np.frombuffer(energy, np.float64)
        self._virial = np.frombuffer(virial, np.float64)
        self._vatom = np.frombuffer(vatom, np.float64).reshape(-1, 6)

    def _read_pairs(self, bufs, model):
        """The neighbour pairs and elements (shared with the per-atom compute)."""
        rij, pair_i, jatoms, jelems, jtags, iatoms, ielems, numneighs, elems = bufs
        i32 = np.int32
        self.rij = np.frombuffer(rij, np.float64).reshape(self.npairs, 3)
        self.pair_i = np.frombuffer(pair_i, i32)
        self.jatoms = np.frombuffer(jatoms, i32)
        self.jelems = np.frombuffer(jelems, i32)
        # atom tags are LAMMPS's tagint: 4 bytes by default, 8 in a -DLAMMPS_BIGBIG build
        self.jtags = _tags(jtags, self.npairs)
        self.iatoms = np.frombuffer(iatoms, i32)
        self.ielems = np.frombuffer(ielems, i32)
        self.numneighs = np.frombuffer(numneighs, i32)
        self.elems = np.frombuffer(elems, i32)
        self.ndescriptors = int(getattr(model, "ndescriptors", 1))    # per-atom models may have none
        self.nparams = int(getattr(model, "nparams", 1))
        self.nelements = len(model.element_types)
        self.natomneigh = self.nlistatoms
        self._descriptors = self._betas = None

    # --- read-only aliases kept by LAMMPS ---------------------------------------------
    @property
    def pair_j(self):
        return self.jatoms

    # --- results ----------------------------------------------------------------------
    def _set_eatoms(self, value):
        self._eatoms[:] = _as_float64(value, (self.nlistatoms,), "eatoms")

    eatoms = property(fset=_set_eatoms, doc="per-atom energies of the list atoms (write-only)")

    def _set_energy(self, value):
        try:
            self._energy[0] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"data.energy: expected a number, got {type(value).__name__}") from None

    energy = property(fset=_set_energy, doc="total energy of this rank's atoms (write-only)")

    def _set_descriptors(self, value):
        self._descriptors = _as_float64(value, (self.nlistatoms, self.ndescriptors), "descriptors")

    descriptors = property(fset=_set_descriptors)

    def _set_betas(self, value):
        self._betas = _as_float64(value, (self.nlistatoms, self.ndescriptors), "betas")

    betas = property(fset=_set_betas)

    def update_pair_energy(self, eij):
        """Half of each pair energy to atom i; sets ``eatoms`` and ``energy``."""
        eij = np.ascontiguousarray(_as_float64(eij, (self.npairs,), "update_pair_energy(eij)"))
        _kernels().alloykit_update_pair_energy(self.npairs, _ptr(self.pair_i), _ptr(eij), self.nlistatoms,
                                               _ptr(self.iatoms), self.ntotal, _ptr(self._eatoms), _ptr(self._energy))

    def update_pair_forces(self, fij):
        """f[i] += fij, f[j] -= fij (fij = dE/drij), and the virial from (fij, rij)."""
        fij = np.ascontiguousarray(_as_float64(fij, (self.npairs, 3), "update_pair_forces(fij)"))
        _kernels().alloykit_update_pair_forces(
            self.npairs, _ptr(self.pair_i), _ptr(self.jatoms), _ptr(fij), _ptr(self.rij), _ptr(self.f),
            _ptr(self._virial) if self._vflag_global else None,
            _ptr(self._vatom) if self._vflag_atom and self._vatom.size else None)


class Interface:
    """One per ``pair_style mliap/unified`` command; holds the model."""

    def __init__(self, model):
        self.model = model
        self.rcutfac = float(model.rcutfac)
        self.element_types = [str(e) for e in model.element_types]

    def compute(self, ints, *bufs):
        """One force evaluation: ``ints`` are the counts and flags, ``bufs`` the plugin's memory."""
        data = MLIAPData(ints, bufs, self.model)
        model = self.model
        for step in ("compute_descriptors", "compute_gradients"):
            fn = getattr(model, step, None)
            if fn is not None:
                fn(data)
        model.compute_forces(data)


class PerAtomData(MLIAPData):
    """What a per-atom model sees: the pair data of :class:`MLIAPData` (no forces, no
    energies), ``itags`` (the list atoms' LAMMPS ids), ``n_outputs``, and the write-only
    ``peratom`` (nlistatoms, n_outputs) that becomes the compute's per-atom array."""

    def __init__(self, ints, bufs, model):
        self.nlistatoms, self.nlocal, self.ntotal, self.npairs, self.n_outputs = ints
        self.eflag = self.vflag = 0
        self._read_pairs(bufs[:9], model)
        self.itags = _tags(bufs[9], self.nlistatoms)
        self._peratom = np.frombuffer(bufs[10], np.float64).reshape(self.nlistatoms, self.n_outputs)

    def _set_peratom(self, value):
        self._peratom[:] = _as_float64(value, (self.nlistatoms, self.n_outputs), "peratom")

    peratom = property(fset=_set_peratom, doc="per-atom outputs of the list atoms (write-only)")


class PerAtomInterface:
    """One per ``compute mliap/unified/atom`` command; holds the model."""

    def __init__(self, model):
        self.model = model
        self.rcutfac = float(model.rcutfac)
        self.element_types = [str(e) for e in model.element_types]
        self.n_outputs = int(model.n_outputs)

    def compute(self, ints, *bufs):
        self.model.compute_peratom(PerAtomData(ints, bufs, self.model))
