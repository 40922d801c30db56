"""Many hops in the hop frame, padded into tensors, turned into SDMs a batch at a time.

A :class:`HopSet` is built once from records (NEB dataset records or
:func:`~alloykit.sdm.environment.hop_records`): each environment is rotated into its hop
frame and cut at r_c (rotations about x keep |r|, so the cut never needs redoing). SDMs are
then made on demand, optionally augmented:

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

from .density import sdm_batch
from .frame import hop_rotation, hop_symmetries, hop_template
from .shells import SDMSpec, detect_lattice

AUGMENTS = ("none", "rotation", "symmetry", "both")


def composition_key(composition) -> str:
    """``{"Fe": 0.8, "Cr": 0.2}`` -> ``"Cr0.2000-Fe0.8000"``: a stable name for a composition."""
    if not composition:
        return "unknown"
    return "-".join(f"{el}{float(c):.4f}" for el, c in sorted(composition.items()) if float(c) > 0)


def describe_lattice(records, n: int = 20) -> tuple[str, float]:
    """(lattice, a) from the first ``n`` records' environments (median a)."""
    found = []
    for rec in records[:n]:
        found.append(detect_lattice(rec["env_positions"], float(np.linalg.norm(rec["hop_vector"]))))
    if not found:
        raise ValueError("no records to detect the lattice from")
    lattices = {f[0] for f in found}
    if len(lattices) > 1:
        raise ValueError(f"records mix lattices: {sorted(lattices)}")
    return found[0][0], float(np.median([f[1] for f in found]))


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
    def from_records(cls, records, spec: SDMSpec, ops: np.ndarray, target: str | None = "barrier_forward") -> "HopSet":
        """Rotate every record's environment into its hop frame and keep |r| < r_c.

        Raises ValueError for a species outside ``spec.species`` or a record whose
        environment was cut closer than r_c (it would silently lose atoms).
        """
        records = list(records)
        channel = {s: k for k, s in enumerate(spec.species)}
        frames, chans = [], []
        meta = {k: [] for k in ("composition", "sample_id", "moving_species", "vacancy_site", "neighbor_site")}
        for rec in records:
            if float(rec.get("env_cutoff", np.inf)) < spec.r_c - 1e-9:
                raise ValueError(f"record env_cutoff {rec['env_cutoff']} A is below the SDM's r_c {spec.r_c:.3f} A")
            pos = np.asarray(rec["env_positions"], float).reshape(-1, 3)
            unknown = set(rec["env_species"]) - set(channel)
            if unknown:
                raise ValueError(f"species {sorted(unknown)} not among the SDM channels {list(spec.species)}")
            keep = np.linalg.norm(pos, axis=1) < spec.r_c
            ch = np.array([channel[s] for s in rec["env_species"]], dtype=np.int8)
            R = hop_rotation(rec["hop_vector"], pos[keep], ch[keep] + 1.0)
            frames.append(pos[keep] @ R.T)
            chans.append(ch[keep])
            meta["composition"].append(composition_key(rec.get("composition")))
            meta["sample_id"].append(str(rec.get("sample_id", "")))
            meta["moving_species"].append(rec["moving_species"])
            meta["vacancy_site"].append(int(rec["vacancy_site"]))
            meta["neighbor_site"].append(int(rec["neighbor_site"]))
        m = max((len(f) for f in frames), default=0)
        positions = np.zeros((len(frames), m, 3), np.float32)
        species = np.full((len(frames), m), -1, np.int8)
        for k, (f, c) in enumerate(zip(frames, chans)):
            positions[k, :len(f)], species[k, :len(c)] = f, c
        targets = None
        if target is not None:
            targets = torch.tensor([float(rec[target]) for rec in records], dtype=torch.float32)
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
            raise ValueError(f"augment: {augment!r} is not one of {', '.join(AUGMENTS)}")
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
