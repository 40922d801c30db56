"""The hop record: one vacancy hop and its environment, as NEB datasets store it and the
SDM/CNN consume it.

Positions are relative to the vacancy's lattice site (A, the sample's frame);
``env_positions`` holds every atom within ``env_cutoff`` of the vacancy, the mover included.
``barrier_forward`` is the energy of the saddle above the initial state (NaN when no NEB was
run, e.g. a hop made from a structure for prediction).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from ..errors import InputError

NAN = float("nan")


@dataclass
class HopRecord:
    vacancy_site: int                     # atom index whose site is the vacancy
    neighbor_site: int                    # atom index of the moving atom
    moving_species: str
    hop_vector: np.ndarray                # (3,) vacancy -> mover (A)
    env_positions: np.ndarray             # (M, 3) relative to the vacancy site (A)
    env_species: list                     # (M,) element of each environment atom
    env_cutoff: float                     # radius of the environment (A)
    lattice: str = ""                     # "bcc" / "fcc" ("" when unknown)
    lattice_parameter: float = NAN        # conventional a of the sample (A)
    sample_id: str = ""
    composition: dict = field(default_factory=dict)
    barrier_forward: float = NAN          # eV
    barrier_backward: float = NAN         # eV
    energy_initial: float = NAN
    energy_final: float = NAN
    converged: bool = False
    flag: str = ""
    extra: dict = field(default_factory=dict)   # anything else (NEB path, settings, ...)

    def __post_init__(self):
        self.hop_vector = np.asarray(self.hop_vector, float).reshape(3)
        self.env_positions = np.asarray(self.env_positions, float).reshape(-1, 3)
        self.env_species = list(self.env_species)
        if len(self.env_species) != len(self.env_positions):
            raise InputError(f"hop record: {len(self.env_positions)} environment positions but "
                             f"{len(self.env_species)} species")
        self.vacancy_site, self.neighbor_site = int(self.vacancy_site), int(self.neighbor_site)
        self.env_cutoff = float(self.env_cutoff)

    @property
    def usable(self) -> bool:
        """A converged NEB with a finite barrier and no flag."""
        return bool(self.converged) and not self.flag and math.isfinite(self.barrier_forward)

    @classmethod
    def from_dict(cls, d: dict) -> "HopRecord":
        """From a plain dict (a dataset row, a JSON line); unknown keys go to ``extra``."""
        names = {f.name for f in fields(cls)} - {"extra"}
        missing = [k for k in ("vacancy_site", "neighbor_site", "moving_species", "hop_vector",
                               "env_positions", "env_species", "env_cutoff") if k not in d]
        if missing:
            raise InputError(f"hop record: missing field(s) {', '.join(missing)}")
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("barrier_forward", "barrier_backward", "energy_initial", "energy_final", "lattice_parameter"):
            if kw.get(k) is None:
                kw.pop(k, None)
        extra = dict(d.get("extra") or {})
        extra.update({k: v for k, v in d.items() if k not in names and k != "extra"})
        return cls(**kw, extra=extra)

    def to_dict(self) -> dict:
        """A flat JSON-ready dict (``extra`` merged in, arrays as lists)."""
        d = asdict(self)
        extra = d.pop("extra")
        d["hop_vector"] = self.hop_vector.tolist()
        d["env_positions"] = self.env_positions.tolist()
        d.update(extra)
        return d
