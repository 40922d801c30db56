"""Sets of GRS cells (Goff et al., Sec. IV.3, Eqs. 14-16): M small cells whose POOLED
descriptor distribution matches the target.

The loss of a set is the loss of the union of its cells' descriptors (Eq. 14, Q_intra).
Power sums are additive (:mod:`.target`), so a cell is optimised against the set by
handing its potential the sums of the other cells (``GRSPotential.ensemble_sums``): its
loss is then the set's loss, with exact forces. Cells are built one at a time, cell k
against cells 0..k-1, then optionally refined in joint passes (each cell re-annealed
with all the others fixed). Negative moment weights (reverse GRS, Sec. IV.4: the paper's
Fig. 6 uses -0.01, -0.01) push the set away from the target; :class:`GRSLoss` bounds each
such term below by its weight.

With ``directory`` every finished cell is written at once (``cell_000.extxyz`` ...,
atomically, with ``set.json``); a rerun with the same directory reuses them and grows
the set to ``ncells``. Cells pass through their extxyz text in memory too, so a resumed
set is the one an uninterrupted run makes. Under MPI (``comm``, size P > 1) each round
makes P cells at once, each against the same set so far.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..structures import sample_seed
from .target import Target, central_moments, read_tagged_json

FORMAT = "alloykit.grs.set"
WRITE_FORMATS = {"extxyz": "extxyz", "lammps-data": "data", "vasp": "vasp"}    # ase.io format -> file suffix


@dataclass
class GRSSet:
    cells: list                  # ase.Atoms
    cell_losses: list            # Q of each cell alone against the target (Eq. 13)
    loss: float                  # Q of the pooled descriptors of all cells (Eq. 14)
    moments: np.ndarray          # (nel, K, nB) pooled mean and central moments
    seeds: list = field(default_factory=list)
    refine_passes: int = 0       # joint passes done


def set_sums(cells, potential) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled power sums (nel, K, nB) and counts (nel,) of ``cells`` under ``potential``'s
    descriptors and moment order; add them to combine sets."""
    nel = len(potential.ace.elements)
    sums = torch.zeros(nel, potential.loss.kmax, potential.ace.ndescriptors, dtype=torch.float64)
    counts = torch.zeros(nel, dtype=torch.float64)
    with torch.no_grad():
        for atoms in cells:
            pairs = potential.ace.pairs(atoms)
            s, c = potential.loss.sums(potential.ace.from_pairs(pairs), pairs.ielem)
            sums, counts = sums + s.cpu(), counts + c.cpu()
    return sums, counts


def summarize(cells, potential, seeds=(), refine_passes: int = 0, per_cell=None) -> GRSSet:
    """The :class:`GRSSet` of ``cells``: losses and moments recomputed from their sums
    (``per_cell``: each cell's :func:`set_sums`, when already known)."""
    per_cell = per_cell if per_cell is not None else [set_sums([c], potential) for c in cells]
    sums, counts = _total(per_cell, potential)
    with torch.no_grad():
        losses = [float(potential.loss.from_sums(s, c)) for s, c in per_cell]
        loss = float(potential.loss.from_sums(sums, counts))
    return GRSSet(list(cells), losses, loss, central_moments(sums, counts).numpy(), list(seeds), refine_passes)


def target_fingerprint(target: Target) -> str:
    """A digest of everything the loss reads from the target (descriptors, sums, scale)."""
    h = hashlib.sha256(json.dumps(target.descriptor_config, sort_keys=True).encode())
    for a in (target.sums, target.counts, target.scale):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def generate_set(target: Target, ncells: int, natoms, composition: dict | None = None, parent=None,
                 steps: int = 2000, moves=None, seed: int = 0, weights=(1.0, 1.0), refine_passes: int = 0,
                 directory=None, comm=None, progress: bool = False, **generate_kwargs) -> GRSSet:
    """``ncells`` GRS cells whose pooled distribution matches ``target`` (Eqs. 14-16).

    natoms: an int, or a list of sizes cycled over the cells (mixed sizes). Cell k uses
    seed ``sample_seed(seed, k)``; the other arguments are :func:`alloykit.grs.generate`'s
    and apply to every cell. refine_passes: joint passes after the build, each cell
    re-annealed (``steps`` steps, same moves) with all the others fixed; a cell is kept
    only if the set's loss went down. directory: write/resume (see the module docstring).
    comm: an mpi4py communicator; P ranks make P cells per round, each against the set
    as it stood at the round's start (chemistry-only moves: the LAMMPS relaxations of free
    positions run on COMM_WORLD); rank 0 alone refines and writes. A directory holding
    more than ``ncells`` cells gives its first ``ncells``.
    """
    from . import GRSPotential

    ncells, sizes = _check_counts(ncells, natoms, refine_passes)
    pot = GRSPotential(target, weights)
    size, rank = (comm.Get_size(), comm.Get_rank()) if comm is not None else (1, 0)
    if size > 1 and _positions_free(parent, moves):
        raise InputError("comm: sets over MPI ranks need a parent lattice and chemical moves only "
                         "(LAMMPS relaxations would span all ranks)")
    record = _Record(directory, target, seed, weights, write=rank == 0)
    cells, seeds, passes = record.load(pot)
    cells, seeds = cells[:ncells], seeds[:ncells]    # a larger set on disk: its first ncells
    per_cell = [set_sums([c], pot) for c in cells]
    if len(cells) < ncells:
        passes = 0    # new cells: earlier refinement passes did not see them
    if any(w < 0 for w in weights):
        # reverse GRS: the loss goes below zero at once, so generate's default stop (Q <= 1e-10) would end every run
        # at step 0
        generate_kwargs.setdefault("stop_at", None)
    kwargs = dict(composition=composition, parent=parent, steps=steps, moves=moves, weights=weights,
                  progress=progress, **generate_kwargs)
    while len(cells) < ncells:
        batch = range(len(cells), min(len(cells) + size, ncells))
        others = _total(per_cell, pot)    # the set so far (the same on every rank)
        mine = None
        if rank < len(batch):
            k = batch[rank]
            res = _generate_against(target, others, natoms=sizes[k % len(sizes)], seed=sample_seed(seed, k), **kwargs)
            mine = _canonical(res.atoms)
        made = comm.allgather(mine) if size > 1 else [mine]
        for k, atoms in zip(batch, made):
            cells.append(atoms)
            per_cell.append(set_sums([atoms], pot))
            seeds.append(sample_seed(seed, k))
            record.save_cell(k, atoms, summarize(cells, pot, seeds, passes, per_cell))
    for p in range(passes, refine_passes):
        for k in range(len(cells)):    # serial: each cell sees the others' latest version
            others = _total(per_cell[:k] + per_cell[k + 1:], pot)
            if rank == 0:
                cells[k] = _refine(cells[k], others, pot, parent, moves, steps,
                                   sample_seed(sample_seed(seed, k), p + 1), generate_kwargs.get("minimize"),
                                   generate_kwargs.get("stop_at", 1e-10))
            if size > 1:    # rank 0 alone refines; all ranks return its set
                cells[k] = comm.bcast(cells[k], root=0)
            per_cell[k] = set_sums([cells[k]], pot)
            record.save_cell(k, cells[k], summarize(cells, pot, seeds, p + (k == len(cells) - 1), per_cell))
    return summarize(cells, pot, seeds, max(passes, refine_passes), per_cell)


def write_set(grs_set: GRSSet, directory, format: str = "extxyz", elements=None) -> list[Path]:
    """Write each cell as ``cell_000.<suffix>`` (ase.io; "extxyz", "lammps-data" or
    "vasp"); LAMMPS data files number types in the order of ``elements`` (default: the
    elements of all cells, sorted), the same in every file."""
    if format not in WRITE_FORMATS:
        raise InputError(f"format: {format!r} (extxyz, lammps-data or vasp)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    order = list(elements) if elements else sorted({e for c in grs_set.cells for e in c.get_chemical_symbols()})
    extra = {"lammps-data": {"specorder": order, "atom_style": "atomic", "masses": True},
             "vasp": {"direct": True, "sort": True}}
    return [_write_atomic(directory / f"cell_{k:03d}.{WRITE_FORMATS[format]}", cell, format, **extra.get(format, {}))
            for k, cell in enumerate(grs_set.cells)]


# --- pieces -----------------------------------------------------------------------------
def _check_counts(ncells, natoms, refine_passes):
    def whole(v, lo):
        return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= lo

    if not whole(ncells, 1):
        raise InputError(f"ncells: {ncells!r} must be a positive integer")
    sizes = [natoms] if not isinstance(natoms, (list, tuple)) else list(natoms)
    if not sizes or not all(whole(n, 1) for n in sizes):
        raise InputError(f"natoms: {natoms!r} must be a positive integer or a non-empty list of them")
    if not whole(refine_passes, 0):
        raise InputError(f"refine_passes: {refine_passes!r} must be an integer >= 0")
    return int(ncells), [int(n) for n in sizes]


def _total(per_cell, pot):
    sums, counts = set_sums([], pot)
    for s, c in per_cell:
        sums, counts = sums + s, counts + c
    return sums, counts


def _positions_free(parent, moves) -> bool:
    return parent is None or (moves is not None and not moves.chemical_only)


def _generate_against(target, others, **kwargs):
    """:func:`generate` with ``others`` as the potential's ensemble sums."""
    from . import generate

    return generate(target, ensemble_sums=others, **kwargs)


def _refine(cell, others, pot, parent, moves, steps, seed, minimize, stop_at):
    """``cell`` re-annealed against the sums ``others`` of the rest of the set; ``cell``
    itself if the set got no better."""
    from .anneal import Moves, anneal

    pot.ensemble_sums = others
    try:
        moves = moves or Moves.default(lattice=parent is not None)
        before = pot.energy(cell)
        res = anneal(cell, pot, steps=steps, moves=moves, seed=seed, stop_at=stop_at)
        atoms, loss = res.atoms, res.loss
        if minimize if minimize is not None else not moves.chemical_only:
            from ..lmp import Potential, relax

            atoms = relax(atoms, Potential.from_model(pot), box=moves.box, ftol=1e-6, maxiter=5000, min_style="cg")
            loss = float(atoms.get_potential_energy())
    finally:
        pot.ensemble_sums = None
    return _canonical(atoms) if loss < before else cell


def _canonical(atoms):
    """``atoms`` as its extxyz text reads back (no calculator): the cell a resumed run
    reloads, so that resumed and uninterrupted sets agree exactly."""
    from ase.io import read, write

    clean = atoms.copy()
    clean.calc = None
    buf = io.StringIO()
    write(buf, clean, format="extxyz")
    buf.seek(0)
    return read(buf, format="extxyz")


def _write_atomic(path: Path, atoms, format: str, **kwargs) -> Path:
    """ase.io.write to a temporary name, then os.replace: a killed run leaves the old file or the new one."""
    from ase.io import write

    tmp = path.with_name(path.name + ".tmp")
    write(tmp, atoms, format=format, **kwargs)
    os.replace(tmp, path)
    return path


class _Record:
    """``directory``'s cells and set.json: what a rerun resumes from."""

    def __init__(self, directory, target, seed, weights, write: bool):
        self.dir = Path(directory) if directory is not None else None
        self.write = write and self.dir is not None
        self.key = {"target": target_fingerprint(target), "seed": int(seed), "weights": [float(w) for w in weights]}
        if self.write:
            self.dir.mkdir(parents=True, exist_ok=True)

    def load(self, pot):
        """(cells, seeds, refine passes done) of an earlier run; empty without one."""
        from ase.io import read

        if self.dir is None or not (self.dir / "set.json").is_file():
            return [], [], 0
        path = self.dir / "set.json"
        data = read_tagged_json(path, FORMAT, f"directory: {path} is not a GRS set file")
        for name, value in self.key.items():
            if data.get(name) != value:
                raise InputError(f"{name}: {self.dir} holds a set made with {name} {data.get(name)!r}, "
                                 f"not {value!r} (use another directory)")
        cells = []
        for name in data["cells"]:
            if not (self.dir / name).is_file():
                raise InputError(f"directory: {self.dir / name} listed in set.json is missing")
            cells.append(read(self.dir / name, format="extxyz"))
        return cells, list(data["seeds"]), int(data.get("refine_passes", 0))

    def save_cell(self, k: int, atoms, summary: GRSSet) -> None:
        """Cell k, then set.json (so set.json never lists a cell not yet on disk)."""
        if not self.write:
            return
        _write_atomic(self.dir / f"cell_{k:03d}.extxyz", atoms, "extxyz")
        data = {"format": FORMAT, "version": 1, **self.key,
                "cells": [f"cell_{i:03d}.extxyz" for i in range(len(summary.cells))],
                "natoms": [len(c) for c in summary.cells], "seeds": summary.seeds,
                "cell_losses": summary.cell_losses, "loss": summary.loss, "refine_passes": summary.refine_passes,
                "moments": np.asarray(summary.moments).tolist()}    # (element, moment, descriptor), pooled
        tmp = self.dir / "set.json.tmp"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.dir / "set.json")
