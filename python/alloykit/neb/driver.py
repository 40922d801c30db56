"""All first-neighbour hops into one vacancy: relax the initial state once (positions and
box to zero pressure), relax each final state (positions, in the initial state's box, as
LAMMPS NEB needs one box for all replicas; then shifted to the initial state's mean
position, see inputs/in.neb_relax), run a climbing-image NEB per hop, and turn each into
an :class:`alloykit.structures.HopRecord`, flagged when it cannot be trusted. The first
neighbours are those of the lattice (:mod:`alloykit.neb.sites`); each record carries the
lattice kind and parameter of the unrelaxed sample.

Flags (comma-separated in ``record.flag``; "" when fine):

- ``unconverged``: LAMMPS's NEB stopped at its step budget above ftol.
- ``initial_unstable``: relaxing the vacancy moved an atom more than 0.4 d1 off its site.
- ``final_unstable``: the final state relaxed away (moving atom more than 0.4 d1 from the
  vacancy site, or another atom off its site).
- ``climber_at_minimum``: the climbing image sits on a minimum along the path (the
  energy rises both ways along the tangent): a double hump resolved by too few replicas
  (Fe_mm with 5 replicas), not a saddle.
- ``path_too_long``: the band's length exceeds twice the straight end-to-end distance
  (images slid into other, equivalent basins).
- ``intermediate_minimum``: the path has a local minimum more than 0.01 eV below the
  state a barrier is measured from (the initial state forward, the final one backward),
  with a well deeper than 0.01 eV: the band crosses a third state, so it is two hops and
  neither barrier is that of one hop (e.g. ``[0, 0.06, -0.04, -0.02, -0.14]``: the
  0.06 eV "barrier" leads into a state 0.04 eV below the start). Such records are kept,
  flagged, and not usable; they are not split (the intermediate state is not relaxed).
- ``nonpositive_barrier``: forward or backward barrier <= 0.
- ``lammps_error``: LAMMPS failed; the barriers are NaN.

MPI: every rank of ``comm`` calls :func:`vacancy_hops` together. Rank 0 writes the files
and builds the records; final states are relaxed in parallel, one rank each; the NEB runs
on all ranks (one replica per rank). With ``comm=None`` (or one rank) everything runs here
and each NEB starts its own ``mpiexec -n replicas``.
"""
from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.lammps import Prism

from ..errors import InputError, one_line
from ..lmp import LammpsError, evaluate, get_potential
from ..structures import (HopRecord, LatticeSites, composition_of, lattice_sites, points_within, read_structure,
                          write_lammps_data)
from . import scripts
from .sites import hop_neighbours

OFF_SITE = 0.4          # x d1: an atom further than this from its site has left it
MIN_DROP = 0.01         # eV: a minimum this far below an end state (and this deep) is another state
CURV_STEP = 0.02        # A: step along the tangent for the climbing-image check
MAX_REPLICAS = 64       # one MPI rank each: more is a typo, not a finer path for a vacancy hop
MAX_STEPS = 1_000_000   # NEB step budget per stage


@dataclass(frozen=True)
class NebSettings:
    """How barriers are computed (the paper's values by default)."""

    potential: str               # a named potential (a file-based Potential object works too): no default
    replicas: int = 11           # outside datasets (those store the name)
    spring: float = 5.0          # eV/A
    etol: float = 0.0
    ftol: float = 0.001          # eV/A, 2-norm of a replica's force (LAMMPS's default norm)
    n1: int = 1000               # steps, plain NEB
    n2: int = 1000               # steps, climbing image
    relax_ftol: float = 1e-6     # eV/A, end states
    box: str = "aniso"           # initial state's box relaxation: aniso, iso or none
    env_cutoff: float = 8.0      # A

    def check(self) -> "NebSettings":
        if not isinstance(self.replicas, (int, float)) or int(self.replicas) != self.replicas \
                or not 3 <= self.replicas <= MAX_REPLICAS:
            raise InputError(f"replicas: {self.replicas}; need an integer from 3 (initial, one image, final) "
                             f"to {MAX_REPLICAS} (one MPI rank each)")
        if self.box not in ("aniso", "iso", "none"):
            raise InputError(f"box: {self.box!r} is not aniso, iso or none")
        for name in ("spring", "ftol", "relax_ftol", "env_cutoff"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"{name}: must be a finite number > 0, got {v}")
        if not (isinstance(self.etol, (int, float)) and math.isfinite(self.etol) and self.etol >= 0):
            raise InputError(f"etol: must be a finite number >= 0, got {self.etol}")
        for name in ("n1", "n2"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 1 <= v <= MAX_STEPS:
                raise InputError(f"{name}: step budget must be an integer from 1 to {MAX_STEPS}, got {v}")
        potential(self.potential)
        return self

    def asdict(self) -> dict:
        return asdict(self)

    @classmethod
    def protocol(cls, name: str, potential, **overrides) -> "NebSettings":
        """Settings of a named protocol (:data:`PROTOCOLS`), with ``overrides`` (None
        values ignored) on top."""
        if name not in PROTOCOLS:
            raise InputError(f"protocol: {name!r} is not one of {', '.join(PROTOCOLS)}")
        given = {k: v for k, v in overrides.items() if v is not None}
        return cls(potential=potential, **{**PROTOCOLS[name], **given}).check()


# Named protocols. "reference" is the paper's (the defaults above). "fast" was validated
# against it on Ta-Nb-Mo with MoNbTaW (benchmarks/bench_neb_protocol.py,
# results/neb_protocol.json): one climbing image between the end states finds the same
# saddle as eleven replicas for these single-humped vacancy hops, a force tolerance of
# 0.01 eV/A moves the saddle energy by well under a meV (the error is second order in the
# residual force) and end states relaxed to 1e-4 eV/A are far below the NEB's tolerance.
# Paths with two humps (Fe_mm's split vacancy) need the reference: with one image the
# path has no interior points and intermediate minima cannot be seen.
PROTOCOLS = {
    "reference": {},
    "fast": {"replicas": 3, "ftol": 0.01, "relax_ftol": 1e-4},
}


def potential(name, elements=None):
    """The named potential (checked for ``elements``) as the NEB scripts need it: with
    potential files. alloykit.lmp says what is wrong as a ValueError; here it is an
    InputError, the user's to fix."""
    try:
        pot = get_potential(name)
        if elements is not None:
            pot.check(sorted(set(elements)))
    except InputError:
        raise
    except ValueError as e:
        raise InputError(one_line(e)) from None
    if getattr(pot, "model", None) is not None or not pot.files:
        raise InputError(f"potential: {name} has no potential files; NEB scripts need a "
                         "file-based pair style (see 'alloykit potentials')")
    return pot


def idle_wait(comm, poll: float = 0.005) -> None:
    """A barrier that sleeps while it waits. MPI's own collectives poll the CPU, and the
    waiting ranks of a group (one per replica, usually more ranks than cores) would take
    it from the rank doing the work: relaxing, writing the dataset, or another group."""
    if comm is None or comm.Get_size() == 1:
        return
    import time

    req = comm.Ibarrier()
    while not req.Test():
        time.sleep(poll)


def _self_comm():
    from mpi4py import MPI

    return MPI.COMM_SELF


def _mic(vectors: np.ndarray, cell: np.ndarray) -> np.ndarray:
    frac = np.linalg.solve(cell.T, np.atleast_2d(vectors).T).T
    return (frac - np.round(frac)) @ cell


def prepare(atoms: Atoms, site: int, settings: NebSettings, sites: LatticeSites | None = None):
    """Checks and geometry common to all ranks: (lattice, neighbours, potential, species).
    sites: ``lattice_sites(atoms, 1)`` if at hand (one per sample serves all its vacancies)."""
    pot = potential(settings.potential, atoms.get_chemical_symbols())
    sites = sites or lattice_sites(atoms, 1)
    return sites.lattice, hop_neighbours(atoms, sites, site), pot, list(pot.elements)


def vacancy_hops(atoms: Atoms, site: int, settings: NebSettings, comm=None, workdir=None, sample_id: str = "0",
                 sites: LatticeSites | None = None, keep: bool = False, neighbors=None):
    """Every hop of a first neighbour of ``site`` into the vacancy left by removing it
    (or only those of ``neighbors``, a list of sample indices of first neighbours).

    Returns (vacancy, records) on rank 0 (``None, None`` on other ranks): ``vacancy`` holds
    the initial state's energy and environment, ``records`` one
    :class:`~alloykit.structures.HopRecord` per hop, with ``lattice`` and
    ``lattice_parameter`` of the unrelaxed sample (see the package docstring).
    sites: ``lattice_sites(atoms, 1)``, if at hand. workdir: where the LAMMPS files go (a
    fresh temporary folder by default, removed unless ``keep``).
    """
    settings.check()
    size = comm.Get_size() if comm is not None else 1
    rank = comm.Get_rank() if comm is not None else 0
    if size > 1 and size != settings.replicas:
        raise InputError(f"replicas: {settings.replicas} but the communicator has {size} ranks")
    bcast = (lambda v: comm.bcast(v, root=0)) if size > 1 else (lambda v: v)
    prep = None
    if rank == 0:    # neighbour search on one rank; every rank raises the same error
        try:
            prep = prepare(atoms, site, settings, sites)
        except InputError as e:
            prep = e
    idle_wait(comm if size > 1 else None)
    prep = bcast(prep)
    if isinstance(prep, Exception):
        raise prep
    lattice, neigh, pot, species = prep
    if neighbors is not None:
        known = {j for j, _ in neigh}
        bad = [j for j in neighbors if j not in known]
        if bad:
            raise InputError(f"neighbors: atom {bad[0]} is not a first neighbour of site {site} "
                             f"(those are {sorted(known)})")
        neigh = [(j, v) for j, v in neigh if j in set(neighbors)]
    wd = None
    if rank == 0:
        base = Path(workdir) if workdir else Path(tempfile.gettempdir())
        base.mkdir(parents=True, exist_ok=True)
        wd = Path(tempfile.mkdtemp(prefix=f"v{site}-", dir=base))
    wd = Path(bcast(str(wd) if wd else None))
    try:
        return _run(atoms, site, settings, comm, size, rank, bcast, wd, sample_id, lattice, neigh, pot, species)
    finally:
        if size > 1:
            idle_wait(comm)
        if rank == 0 and not keep:
            shutil.rmtree(wd, ignore_errors=True)


def _run(atoms, site, settings, comm, size, rank, bcast, wd, sample_id, lattice, neigh, pot, species):
    keep_idx = np.array([k for k in range(len(atoms)) if k != site])
    ident = {int(orig): k + 1 for k, orig in enumerate(keep_idx)}     # sample index -> LAMMPS ID
    prism = Prism(atoms.cell.array, pbc=atoms.pbc)
    # fractional positions in the LAMMPS box: the vacancy site follows the box relaxation
    cell0 = _lammps_cell(prism)
    frac0 = np.linalg.solve(cell0.T, prism.vector_to_lammps(atoms.positions).T).T
    frac0 -= np.floor(frac0)
    potfile, init = wd / "pot.in", wd / "initial"
    vac = None
    if rank == 0:
        scripts.write_potential(potfile, pot, species)
        # LAMMPS ids 1..N in the sample's order without the vacancy; types: the potential's species
        write_lammps_data(atoms[keep_idx], wd / "vacancy.data", species=species)
        vac = _relax_initial(wd, potfile, init, settings, frac0, site, keep_idx, lattice, species)
    idle_wait(comm if size > 1 else None)
    vac = bcast(vac)

    # final states: one rank each (none when the initial state could not be relaxed)
    mine = {}
    for j, _ in (neigh[rank::size] if "error" not in vac else []):
        # the hop as a displacement (LAMMPS frame): relaxed position -> vacancy site
        hop = _mic(vac["site_x"] - vac["x"][ident[j] - 1], vac["cell"])[0]
        dx, dy, dz = (repr(float(v)) for v in hop)
        try:
            mine[j] = scripts.run_relax({"data": str(init) + ".data", "potential": str(potfile),
                                         "out": str(wd / f"final{j}"), "box": "none", "move": str(ident[j]),
                                         "dx": dx, "dy": dy, "dz": dz, "ftol": repr(settings.relax_ftol)},
                                        comm=_self_comm())
        except LammpsError as e:
            mine[j] = {"error": f"final state: {_line(e)}"}
    finals = {j: vac for j, _ in neigh} if "error" in vac else {}
    idle_wait(comm if size > 1 else None)
    for part in (comm.allgather(mine) if size > 1 else [mine]):
        finals.update(part)

    env = _environment(atoms, keep_idx, vac, settings.env_cutoff, prism) if rank == 0 else None
    common = {"sample_id": str(sample_id), "vacancy_site": int(site), "lattice": lattice.name,
              "lattice_parameter": lattice.a, "d1": lattice.d1, "composition": composition_of(atoms), "pot": pot,
              "species": species, "settings": settings, "env": env}
    records = []
    neb_comm = comm if size > 1 else None
    for j, vec in neigh:
        prefix = wd / f"neb{j}"
        error = finals[j].get("error")    # the same on every rank: skip together
        if error is None:
            variables = {"initial": str(init) + ".data", "final": str(wd / f"final{j}.neb"),
                         "potential": str(potfile), "out": str(prefix), "k": repr(settings.spring),
                         "etol": repr(settings.etol), "ftol": repr(settings.ftol), "n1": str(settings.n1),
                         "n2": str(settings.n2),
                         # LAMMPS wants both budgets to be multiples of the print interval
                         "nevery": str(math.gcd(settings.n1, settings.n2, 50))}
            idle_wait(neb_comm)    # rank 0 may still be reading the previous NEB's files
            try:
                scripts.run_neb(variables, settings.replicas, wd / f"log.neb{j}", comm=neb_comm)
            except LammpsError as e:
                error = f"NEB: {_line(e)}"
            idle_wait(neb_comm)    # every replica has written its files
        if rank == 0:
            records.append(_record(atoms, j, vec, ident, vac, finals[j], prefix, error, common))
    if rank != 0:
        return None, None
    return {"sample_id": str(sample_id), "vacancy_site": site, "energy_initial": vac.get("energy", float("nan")),
            "unstable": vac.get("unstable", True), "lattice": lattice.name, **env}, records


def _line(e: Exception) -> str:
    return (str(e).strip().splitlines() or ["LAMMPS failed"])[0]


def _read_state(path, species) -> Atoms:
    """A state in.neb_relax wrote (write_data): atoms in LAMMPS id order, unwrapped with
    the image flags, positions from the box origin, in the LAMMPS frame."""
    return read_structure(path, species=species)


def _relax_initial(wd, potfile, init, settings, frac0, site, keep_idx, lattice, species) -> dict:
    """Relax the vacancy (positions and box); the site's position in the relaxed box."""
    try:
        res = scripts.run_relax({"data": str(wd / "vacancy.data"), "potential": str(potfile), "out": str(init),
                                 "box": settings.box, "ftol": repr(settings.relax_ftol)}, comm=_self_comm())
    except LammpsError as e:
        return {"error": f"initial state: {_line(e)}"}
    relaxed = _read_state(str(init) + ".data", species)
    cell = relaxed.cell.array
    site_x = frac0[site] @ cell    # the lattice site, carried with the box
    # how far each atom is from its own site after the relaxation
    drift = np.linalg.norm(_mic(relaxed.positions - frac0[keep_idx] @ cell, cell), axis=1)
    return {"energy": res["energy"], "site_x": site_x, "cell": cell, "x": relaxed.positions,
            "unstable": bool(drift.max() > OFF_SITE * lattice.d1)}


def _lammps_cell(prism) -> np.ndarray:
    lx, ly, lz, xy, xz, yz = prism.get_lammps_prism()
    return np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])


def _environment(atoms, keep_idx, vac, cutoff, prism) -> dict:
    """Atoms within ``cutoff`` of the vacancy site in the relaxed initial state (every
    periodic image), in the sample's frame, sorted by distance then index."""
    if "error" in vac:
        return {"positions": np.zeros((0, 3)), "species": [], "indices": []}
    state = Atoms(positions=vac["x"], cell=vac["cell"], pbc=True)
    idx, vec = points_within(state, cutoff, points=[vac["site_x"]])[0]
    symbols = np.array(atoms.get_chemical_symbols())[keep_idx]
    return {"positions": prism.vector_to_ase(vec) if len(vec) else np.zeros((0, 3)),
            "species": symbols[idx].tolist(), "indices": keep_idx[idx].tolist()}


def _moving_index(env, j, hop_vector) -> int:
    cand = [k for k, i in enumerate(env["indices"]) if i == j]
    return min(cand, key=lambda k: np.linalg.norm(env["positions"][k] - hop_vector)) if cand else -1


def _record(atoms, j, vec, ident, vac, final, prefix, error, common) -> HopRecord:
    settings, pot, env = common["settings"], common["pot"], common["env"]
    hop_vector = np.asarray(vec, float)
    flags = ["initial_unstable"] if vac.get("unstable") else []
    if "error" not in vac:
        cell, k = vac["cell"], ident[j] - 1
        hop = _mic(vac["x"][k] - vac["site_x"], cell)[0]
        hop_vector = Prism(atoms.cell.array, pbc=atoms.pbc).vector_to_ase(hop[None])[0]
    if "error" not in final:
        xf = _read_state(prefix.parent / f"final{j}.data", common["species"]).positions
        moved = np.linalg.norm(_mic(xf - vac["x"], cell), axis=1)
        moved[k] = np.linalg.norm(_mic(xf[k] - vac["site_x"], cell)[0])
        if moved.max() > OFF_SITE * common["d1"]:
            flags.append("final_unstable")
    rec = HopRecord(vacancy_site=common["vacancy_site"], neighbor_site=int(j), moving_species=atoms[j].symbol,
                    hop_vector=hop_vector, env_positions=env["positions"], env_species=env["species"],
                    env_cutoff=settings.env_cutoff, lattice=common["lattice"],
                    lattice_parameter=common["lattice_parameter"], sample_id=common["sample_id"],
                    composition=dict(common["composition"]),
                    extra={"replicas": settings.replicas, "potential": pot.name, "env_indices": list(env["indices"]),
                           "env_moving_index": _moving_index(env, j, hop_vector)})
    nan = float("nan")
    if error is not None:
        rec.energy_initial = vac.get("energy", nan)
        rec.energy_final = final.get("energy", nan) if final is not vac else nan
        rec.flag = ",".join(flags + ["lammps_error"])
        rec.extra.update(mep_energies=[], mep_coords=[], error=error, neb_steps=0, max_force=nan, path_length=nan,
                         climbing_replica=-1)
        return rec
    out = scripts.read_neb(prefix.parent / f"log.neb{j}", str(prefix), settings.replicas)
    e = out.energies
    top = float(e.max())
    fwd, bwd = top - e[0], top - e[-1]
    converged = out.max_force <= settings.ftol * (1 + 1e-9)
    if not converged:
        flags.append("unconverged")
    if out.path_length > 2 * np.linalg.norm(_mic(xf - vac["x"], cell)):
        flags.append("path_too_long")
    if intermediate_minimum(e) is not None:
        flags.append("intermediate_minimum")
    if fwd <= 0 or bwd <= 0:
        flags.append("nonpositive_barrier")
    c = int(np.argmax(e))
    if 0 < c < len(e) - 1 and _climber_at_minimum(prefix, c, cell, common["species"], pot):
        flags.append("climber_at_minimum")
    rec.barrier_forward, rec.barrier_backward = float(fwd), float(bwd)
    rec.energy_initial, rec.energy_final = float(e[0]), float(e[-1])
    rec.converged, rec.flag = bool(converged), ",".join(flags)
    rec.extra.update(mep_energies=(e - e[0]).tolist(), mep_coords=list(out.coords), error="", neb_steps=out.steps,
                     max_force=out.max_force, path_length=out.path_length, climbing_replica=out.climber)
    return rec


def intermediate_minimum(energies, tol: float = MIN_DROP) -> int | None:
    """Index of the first image that is a third state along the path, or None: a local
    minimum more than ``tol`` below either end state (the start of the forward or of the
    backward saddle path) whose well, up to the lower of the highest images on either
    side, is deeper than ``tol`` (a smaller wiggle is NEB noise). A shallow minimum above
    both ends (Fe_mm's split vacancy between two humps) is no such state."""
    e = np.asarray(energies, float)
    for k in range(1, len(e) - 1):
        if not (e[k] < e[k - 1] and e[k] <= e[k + 1]):
            continue
        well = min(e[:k].max(), e[k + 1:].max()) - e[k]
        if e[k] < max(e[0], e[-1]) - tol and well > tol:
            return k
    return None


def _climber_at_minimum(prefix, c, cell, species, pot) -> bool:
    """Energy of the top image moved +-CURV_STEP along the path tangent: a saddle has its
    maximum along the path there, a minimum (split vacancy between two humps) does not."""
    reps = {}
    for k in (c - 1, c, c + 1):
        _, reps[k] = scripts.read_neb_coords(f"{prefix}.replica.{k + 1}")
    tangent = _mic(reps[c + 1] - reps[c - 1], cell)
    tangent /= np.linalg.norm(tangent)
    symbols = _read_state(prefix.parent / "initial.data", species).get_chemical_symbols()
    energies = []
    for s in (-CURV_STEP, 0.0, CURV_STEP):
        a = Atoms(symbols, positions=reps[c] + s * tangent, cell=cell, pbc=True)
        energies.append(evaluate(a, pot, species=species, comm=_self_comm())["energy"])
    return energies[0] > energies[1] and energies[2] > energies[1]
