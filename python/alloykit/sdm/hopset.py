"""Many hops in the hop frame, padded into tensors, turned into SDMs a batch at a time.

A :class:`HopSet` is built once from :class:`~alloykit.structures.HopRecord`s (from an NEB
dataset or :func:`~alloykit.sdm.environment.hop_records`): each environment is rotated into
its hop frame and cut at r_c (rotations about x keep |r|, so the cut never needs redoing).
SDMs are then made on demand, optionally augmented:

* ``"rotation"``: a uniform random angle about x, as in the paper;
* ``"symmetry"``: a random one of the lattice symmetries that fix the hop (C3v, 6 maps, for
  BCC <111>; C2v for FCC <110>), which move lattice sites onto lattice sites, so the grid sees
  the same site positions with the species permuted;
* ``"both"``: a symmetry, then a random rotation;
* ``"none"``: the hop frame as is (evaluation).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import InputError
from ..structures import HopRecord, Lattice, composition_key, environment_lattice, index_of
from .density import sdm_batch
from .frame import hop_rotation, hop_symmetries, hop_template
from .shells import SDMSpec

AUGMENTS = ("none", "rotation", "symmetry", "both")


def as_records(records) -> list[HopRecord]:
    """``records`` as a list of HopRecords (plain dicts, e.g. JSON lines, are converted)."""
    return [r if isinstance(r, HopRecord) else HopRecord.from_dict(r) for r in records]


def record_lattice(rec: HopRecord) -> Lattice:
    """The lattice of a record's sample: its own ``lattice``/``lattice_parameter`` when set
    (the NEB driver and :func:`~alloykit.sdm.hop_records` set them), else found from the
    relaxed environment (:func:`~alloykit.structures.environment_lattice`)."""
    if rec.lattice and np.isfinite(rec.lattice_parameter):
        return Lattice(rec.lattice, rec.lattice_parameter)
    return environment_lattice(rec.env_positions, rec.hop_vector, rec.lattice or None, rec.env_cutoff)


def describe_lattice(records, n: int = 20) -> tuple[str, float]:
    """(lattice, a) of a set of records: the median ``a`` over the records that carry one,
    plus up to ``n`` records spread over the rest whose lattice has to be found from the
    environment. InputError when they mix lattice kinds."""
    records = as_records(records)
    if not records:
        raise InputError("no records to find the lattice from")
    known = [r for r in records if r.lattice and np.isfinite(r.lattice_parameter)]
    rest = [r for r in records if not (r.lattice and np.isfinite(r.lattice_parameter))]
    pick = np.unique(np.linspace(0, len(rest) - 1, min(n, len(rest))).astype(int)) if rest else []
    found = [record_lattice(r) for r in known] + [record_lattice(rest[k]) for k in pick]
    kinds = sorted({f.name for f in found})
    if len(kinds) > 1:
        raise InputError(f"records mix lattices: {kinds}")
    return kinds[0], float(np.median([f.a for f in found]))


def lattice_symmetries(lattice: str, a: float, r_c: float) -> np.ndarray:
    """The symmetries that fix a first-neighbour hop, in the hop frame (see frame.py)."""
    return hop_symmetries(hop_template(lattice, a, r_c))


@dataclass
class HopSet:
    spec: SDMSpec
    positions: torch.Tensor               # (R, M, 3) float32, hop frame, padded with zeros
    species: torch.Tensor                 # (R, M) int8 channel, -1 for padding
    ops: torch.Tensor                     # (g, 3, 3) symmetries that fix the hop
    targets: torch.Tensor | None = None   # (R,) barriers (eV)
    meta: dict = field(default_factory=dict)

    @classmethod
    def from_records(cls, records, spec: SDMSpec, ops: np.ndarray, target: str | None = "barrier_forward",
                     lattice: str | None = None) -> "HopSet":
        """Rotate every record's environment into its hop frame and keep |r| < r_c.

        ``target``: the record attribute to learn (None: no targets). ``lattice``: the kind
        that sets the first shell of the frame (default: :func:`describe_lattice`).
        Raises InputError for a species outside ``spec.species`` or a record whose
        environment was cut closer than r_c (it would silently lose atoms).
        """
        records = as_records(records)
        lattice = lattice or (describe_lattice(records)[0] if records else None)
        frames, chans = [], []
        meta = {k: [] for k in ("composition", "sample_id", "moving_species", "vacancy_site", "neighbor_site")}
        for rec in records:
            if rec.env_cutoff < spec.r_c - 1e-9:
                raise InputError(f"record env_cutoff {rec.env_cutoff} A is below the SDM's r_c {spec.r_c:.3f} A")
            keep = np.linalg.norm(rec.env_positions, axis=1) < spec.r_c
            ch = index_of(rec.env_species, spec.species, "SDM channels").astype(np.int8)
            R = hop_rotation(rec.hop_vector, rec.env_positions[keep], ch[keep] + 1.0, lattice)
            frames.append(rec.env_positions[keep] @ R.T)
            chans.append(ch[keep])
            meta["composition"].append(composition_key(rec.composition))
            meta["sample_id"].append(str(rec.sample_id))
            meta["moving_species"].append(rec.moving_species)
            meta["vacancy_site"].append(rec.vacancy_site)
            meta["neighbor_site"].append(rec.neighbor_site)
        m = max((len(f) for f in frames), default=0)
        positions = np.zeros((len(frames), m, 3), np.float32)
        species = np.full((len(frames), m), -1, np.int8)
        for k, (f, c) in enumerate(zip(frames, chans)):
            positions[k, :len(f)], species[k, :len(c)] = f, c
        targets = None
        if target is not None:
            targets = torch.tensor([float(getattr(rec, target)) for rec in records], dtype=torch.float32)
        return cls(spec, torch.from_numpy(positions), torch.from_numpy(species),
                   torch.as_tensor(np.asarray(ops), dtype=torch.float32), targets, meta)

    def __len__(self) -> int:
        return self.positions.shape[0]

    def to(self, device) -> "HopSet":
        t = None if self.targets is None else self.targets.to(device)
        return HopSet(self.spec, self.positions.to(device), self.species.to(device), self.ops.to(device), t, self.meta)

    def rotations(self, n: int, augment: str, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """(n, 3, 3) augmentation maps (applied as r' = A r), or None for ``"none"``."""
        if augment not in AUGMENTS:
            raise InputError(f"augment: {augment!r} is not one of {', '.join(AUGMENTS)}")
        if augment == "none":
            return None
        dev = self.positions.device
        A = torch.eye(3).expand(n, 3, 3)
        if augment in ("symmetry", "both"):
            pick = torch.randint(len(self.ops), (n,), generator=generator)
            A = self.ops.cpu()[pick]
        if augment in ("rotation", "both"):
            theta = 2 * torch.pi * torch.rand(n, generator=generator, dtype=torch.float64)
            c, s = torch.cos(theta).float(), torch.sin(theta).float()
            R = torch.zeros(n, 3, 3)
            R[:, 0, 0] = 1.0
            R[:, 1, 1], R[:, 1, 2], R[:, 2, 1], R[:, 2, 2] = c, -s, s, c
            A = R @ A
        return A.to(dev)

    def sdms(self, index=None, augment: str = "none", generator: torch.Generator | None = None,
             op: int | None = None, method: str = "window") -> torch.Tensor:
        """SDMs (B, C, N, N, N) of the hops ``index`` (all by default) on this set's device.

        ``op`` applies symmetry number ``op`` to all of them (test-time averaging over the
        symmetries); ``augment`` draws random maps from ``generator`` instead.
        """
        index = torch.arange(len(self)) if index is None else torch.as_tensor(index)
        index = index.to(self.positions.device)
        pos, spc = self.positions[index], self.species[index]
        A = self.rotations(len(index), augment, generator)
        if op is not None:
            A = self.ops[op].expand(len(index), 3, 3) if A is None else A @ self.ops[op]
        if A is not None:
            pos = pos @ A.transpose(1, 2)
        return sdm_batch(pos, spc, self.spec, method)
