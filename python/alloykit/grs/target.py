"""GRS targets: the descriptor distribution of any structures, kept as per-element power
sums so that moments of any order up to ``max_moment`` can be matched, and saved as a
small JSON file.

The power sums S_k = sum_i B_i^k over the atoms of each centre element are additive:
targets built from many structures, descriptors split over MPI ranks, and ensembles of
GRS cells all combine by addition, and their gradients stay exact.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..descriptors import ACE
from ..errors import InputError

FORMAT = "alloykit.grs.target"


def read_structures(paths, index=":", species=None) -> list:
    """Every frame ``index`` of each file (see :func:`alloykit.structures.read_frames`;
    ``species`` names the LAMMPS types of dumps and data files that carry no elements)."""
    from ..structures import read_frames

    out = []
    for p in [paths] if isinstance(paths, (str, Path)) else paths:
        frames = list(read_frames(p, species=species, index=index))
        if not frames:
            raise InputError(f"{p}: no frame selected by index {index!r}")
        out.extend(frames)
    return out


def read_tagged_json(path: Path, tag: str, refusal: str) -> dict:
    """The JSON object in ``path`` whose "format" is ``tag``; InputError "``refusal`` (why)" otherwise."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise InputError(f"{refusal} ({e})") from None
    if not isinstance(data, dict) or data.get("format") != tag:
        raise InputError(f"{refusal} (no '{tag}' tag)")
    return data


def power_sums(b: torch.Tensor, elem: torch.Tensor, nel: int, kmax: int):
    """(nel, kmax, nB) sums of B^k per centre element, and (nel,) counts."""
    powers = torch.stack([b ** k for k in range(1, kmax + 1)], dim=1)    # (N, K, nB)
    sums = torch.zeros(nel, kmax, b.shape[1], dtype=b.dtype, device=b.device).index_add(0, elem, powers)
    counts = torch.zeros(nel, dtype=b.dtype, device=b.device).index_add(0, elem, torch.ones_like(elem, dtype=b.dtype))
    return sums, counts


def central_moments(sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Mean and central moments 2..K per element from power sums: (nel, K, nB)."""
    n = counts.clip(min=1.0)[:, None]    # numpy arrays or torch tensors alike
    raw = [sums[:, k] / n for k in range(sums.shape[1])]    # E[B^(k+1)]
    mu = raw[0]
    out = [mu]
    if len(raw) > 1:
        out.append(raw[1] - mu ** 2)
    if len(raw) > 2:
        out.append(raw[2] - 3 * mu * raw[1] + 2 * mu ** 3)
    if len(raw) > 3:
        out.append(raw[3] - 4 * mu * raw[2] + 6 * mu ** 2 * raw[1] - 3 * mu ** 4)
    if len(raw) > 4:
        raise InputError("moments above the 4th are not supported")
    return (np.stack if isinstance(sums, np.ndarray) else torch.stack)(out, 1)


def min_distances(structures, elements) -> np.ndarray:
    """Shortest distance seen for each element pair (inf where the pair never occurs)."""
    from ..structures import neighbour_pairs
    from ..structures.species import index_of

    nel = len(elements)
    dmin = np.full((nel, nel), np.inf)
    for atoms in structures:
        i, j, d, _ = neighbour_pairs(atoms, 4.0, sort=False)
        if len(d) == 0:
            continue
        el = index_of(atoms.get_chemical_symbols(), elements, "target elements")
        for a in range(nel):
            for b in range(nel):
                sel = (el[i] == a) & (el[j] == b)
                if sel.any():
                    dmin[a, b] = min(dmin[a, b], d[sel].min())
    return dmin


def pair_order_of(structures, ace, nshells: int = 3):
    """(radii, alpha) of the first ``nshells`` shells over all ``structures`` if every one
    sits on ideal sites of one lattice (same shell radii); (None, None) otherwise."""
    from .pairorder import distance_shells, shell_alpha

    nel = len(ace.elements)
    radii, counts = None, np.zeros((nshells, nel, nel))
    for s in structures:
        if not all(s.pbc) or len(s) == 0:
            return None, None
        try:
            i, j, shell, r = distance_shells(s, nshells)
        except InputError:
            return None, None
        if radii is not None and (len(r) != len(radii) or not np.allclose(r, radii, rtol=1e-3)):
            return None, None
        radii = r
        el = ace.element_index(s.get_chemical_symbols())
        np.add.at(counts, (shell, el[i], el[j]), 1)
    return radii, shell_alpha(counts)


@dataclass
class Target:
    """A target distribution of ACE descriptors.

    sums: (nel, K, nB) power sums per centre element; counts: (nel,) atoms per element;
    scale: (nB,) the RMS over the target of the descriptors of each rank (their unit, so
    that no component dominates by its units); dmin: (nel, nel) shortest pair distances in the target (core repulsion).
    """

    descriptor_config: dict
    sums: np.ndarray
    counts: np.ndarray
    scale: np.ndarray
    dmin: np.ndarray
    natoms: int
    volume: float = 0.0    # total volume of the periodic target structures, A^3
    # Warren-Cowley alpha (S, nel, nel) of the first distance shells (radii (S,), A), when
    # every target structure sits on ideal lattice sites or the target is analytic (an
    # ideal random alloy: alpha = 0); None otherwise
    pair_radii: np.ndarray | None = None
    pair_alpha: np.ndarray | None = None

    @property
    def density(self) -> float:
        """Atoms per A^3 (0 if no target structure was periodic)."""
        return self.natoms / self.volume if self.volume > 0 else 0.0

    @property
    def elements(self) -> list[str]:
        return list(self.descriptor_config["elements"])

    @property
    def max_moment(self) -> int:
        return self.sums.shape[1]

    @property
    def composition(self) -> dict:
        return {e: float(c / self.counts.sum()) for e, c in zip(self.elements, self.counts)}

    def descriptor(self, **kwargs) -> ACE:
        return ACE.from_config(self.descriptor_config, **kwargs)

    @classmethod
    def from_structures(cls, structures, ace: ACE | None = None, max_moment: int = 2, **ace_kwargs) -> "Target":
        """The distribution over all atoms of ``structures`` (Atoms, a list of them, or files)."""
        from ase import Atoms

        if isinstance(structures, (Atoms, str, Path)):
            structures = [structures]
        structures = [x for s in structures for x in ([s] if isinstance(s, Atoms) else read_structures([s]))]
        if not structures or sum(len(s) for s in structures) == 0:
            raise InputError("target: no atoms")
        if ace is None:
            elements = sorted({e for s in structures for e in s.get_chemical_symbols()})
            ace = ACE(elements, **ace_kwargs)
        nel = len(ace.elements)
        sums = torch.zeros(nel, max_moment, ace.ndescriptors, dtype=torch.float64)
        counts = torch.zeros(nel, dtype=torch.float64)
        sq = torch.zeros(ace.ndescriptors, dtype=torch.float64)
        with torch.no_grad():
            for s in structures:
                b = ace.compute(s)
                el = torch.from_numpy(ace.element_index(s.get_chemical_symbols()))
                ps, c = power_sums(b, el, nel, max_moment)
                sums += ps.cpu()
                counts += c.cpu()
                sq += (b ** 2).sum(dim=0).cpu()
        natoms = int(counts.sum())
        # one unit per rank: descriptors of rank N are products of N atomic-base functions,
        # so they share units; a per-descriptor RMS would blow up every descriptor that
        # happens to vanish in the target (e.g. l > 0 invariants of a cubic crystal)
        scale = torch.ones_like(sq)
        for sl in ace.rank_slices():
            rms = torch.sqrt(sq[sl].mean() / natoms)
            scale[sl] = rms if rms > 1e-12 else 1.0
        volume = sum(s.get_volume() for s in structures if all(s.pbc))
        radii, alpha = pair_order_of(structures, ace)
        return cls(ace.config(), sums.numpy(), counts.numpy(), scale.numpy(),
                   min_distances(structures, ace.elements), natoms, float(volume), radii, alpha)

    # --- small plain file -------------------------------------------------------------
    def save(self, path) -> Path:
        path = Path(path)
        data = {"format": FORMAT, "version": 1, "descriptor": self.descriptor_config,
                "sums": self.sums.tolist(), "counts": self.counts.tolist(), "scale": self.scale.tolist(),
                "dmin": [[None if not np.isfinite(v) else float(v) for v in row] for row in self.dmin],
                "natoms": self.natoms, "volume": self.volume}
        if self.pair_alpha is not None:
            data.update(pair_radii=np.asarray(self.pair_radii).tolist(),
                        pair_alpha=np.asarray(self.pair_alpha).tolist())
        path.write_text(json.dumps(data))
        return path

    @classmethod
    def load(cls, path) -> "Target":
        path = Path(path)
        data = read_tagged_json(path, FORMAT, f"{path}: not a GRS target file")
        dmin = np.array([[np.inf if v is None else v for v in row] for row in data["dmin"]], dtype=float)
        return cls(data["descriptor"], np.array(data["sums"]), np.array(data["counts"]), np.array(data["scale"]),
                   dmin, int(data["natoms"]), float(data.get("volume", 0.0)),
                   *(np.array(data[k]) if data.get(k) is not None else None for k in ("pair_radii", "pair_alpha")))
