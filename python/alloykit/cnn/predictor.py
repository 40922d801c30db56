"""A trained barrier model: the network plus everything needed to turn hops into its input.

:class:`BarrierModel` holds the CNN, the SDM settings (species channels, r_c, Delta, grid),
the lattice it was trained on (type, parameter, the hop's symmetries) and a summary of its
training. It predicts barriers for :class:`~alloykit.structures.HopRecord`s (e.g. an NEB
dataset's) or for every first-neighbour hop around chosen vacancy sites of a structure
(unrelaxed environments, first neighbours from the lattice; see :mod:`alloykit.sdm.environment`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import InputError
from ..progress import Progress
from ..sdm.environment import hop_records
from ..sdm.hopset import HopSet, lattice_symmetries
from ..sdm.shells import SDMSpec
from .train import predict


@dataclass
class BarrierModel:
    network: nn.Module
    spec: SDMSpec
    lattice: str
    a: float
    n_shells: int
    info: dict = field(default_factory=dict)     # training summary: MAEs, split, config, ...

    @property
    def species(self) -> list[str]:
        return list(self.spec.species)

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def to(self, device) -> "BarrierModel":
        self.network.to(device)
        return self

    def to_dict(self) -> tuple[dict, dict]:
        """(config, tensors): plain JSON-able settings and the network's state dict, for
        model files that hold no pickled objects (:mod:`alloykit.mliap.store`)."""
        net = self.network
        config = {"network": net.config, "target_mean": float(net.target_mean),
                  "target_scale": float(net.target_scale), "sdm": self.spec.to_dict(), "lattice": self.lattice,
                  "a": float(self.a), "n_shells": int(self.n_shells), "info": self.info}
        return config, {k: v.detach().cpu() for k, v in net.state_dict().items()}

    @classmethod
    def from_dict(cls, config: dict, tensors: dict) -> "BarrierModel":
        from .model import build

        net = build(config["network"], config["target_mean"], config["target_scale"])
        net.load_state_dict(tensors)
        net.eval()
        return cls(net, SDMSpec.from_dict(config["sdm"]), config["lattice"], float(config["a"]),
                   int(config["n_shells"]), config.get("info", {}))

    def symmetries(self) -> np.ndarray:
        return lattice_symmetries(self.lattice, self.a, self.spec.r_c)

    def hopset(self, records, target: str | None = None) -> HopSet:
        """Records -> HopSet on the model's device; InputError on unknown species."""
        return HopSet.from_records(records, self.spec, self.symmetries(), target, self.lattice).to(self.device)

    def predict_hops(self, hops: HopSet, index=None, average_symmetries: bool = False, batch: int = 256) -> np.ndarray:
        """Barriers (eV) of ``hops`` in the hop frame; ``average_symmetries`` averages the
        predictions over the lattice symmetries that fix the hop (exact invariances)."""
        index = torch.arange(len(hops)) if index is None else torch.as_tensor(index)
        ops = range(len(hops.ops)) if average_symmetries else [None]
        preds = [predict(self.network, lambda i, op=op: hops.sdms(i, op=op), index, batch) for op in ops]
        return torch.stack(preds).mean(0).numpy()

    def predict_records(self, records, average_symmetries: bool = False, batch: int = 256) -> np.ndarray:
        return self.predict_hops(self.hopset(records), None, average_symmetries, batch)

    def predict_structure(self, atoms, sites=None, average_symmetries: bool = False, batch: int = 256,
                          chunk: int = 4096, progress: bool = False) -> list[dict]:
        """All first-neighbour hop barriers into a vacancy at each of ``sites`` (default:
        every atom) of ``atoms``: one dict per hop (vacancy_site, neighbor_site,
        moving_species, hop_vector, barrier); 8 per BCC site, 12 per FCC site, fewer only
        next to a vacant site. Environments are unrelaxed. Sites are done ``chunk`` at a
        time, so memory stays bounded for large structures."""
        unknown = sorted(set(atoms.get_chemical_symbols()) - set(self.species))
        if unknown:
            raise InputError(f"structure has species {unknown} but the model's channels are {self.species}")
        sites = np.arange(len(atoms)) if sites is None else np.asarray(sites, int).reshape(-1)
        records = hop_records(atoms, sites, self.spec.r_c + 0.5, self.lattice)
        by_site = itertools.groupby(records, key=lambda r: r.vacancy_site)
        out: list[dict] = []
        with Progress("predict", total=len(sites), enabled=progress) as bar:
            while part := [list(g) for _, g in itertools.islice(by_site, chunk)]:   # each group read before the next
                recs = [r for hops in part for r in hops]
                barriers = self.predict_records(recs, average_symmetries, batch)
                out += [{"vacancy_site": r.vacancy_site, "neighbor_site": r.neighbor_site,
                         "moving_species": r.moving_species,
                         "hop_vector": [round(float(v), 6) for v in r.hop_vector], "barrier": float(b)}
                        for r, b in zip(recs, barriers)]
                bar.update(len(part))
        return out
