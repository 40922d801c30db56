"""KMC against direct NEB: on a small Fe-Cr cell, the barriers of the 8 hops of one vacancy
from alloykit.neb (LAMMPS, FeCr.cdeam) drive one KMC step in 20000 identical replicas; the
KMC's hop directions must reach the atoms the NEB moved, and the jump frequencies must
follow the NEB rates nu exp(-E / kT)."""
from __future__ import annotations

import numpy as np
import pytest

from alloykit.kmc import K_B, FunctionBarrier, Kmc, state_from_atoms
from alloykit.neb import NebSettings, vacancy_hops
from alloykit.structures import lattice_sites, random_solid_solution


def test_jump_frequencies_match_neb_rates():
    atoms = random_solid_solution("bcc", "Fe=0.6,Cr=0.4", size=3, a=2.8665, seed=4)
    _, recs = vacancy_hops(atoms, 0, NebSettings(potential="FeCr", replicas=5, box="none", n1=300, n2=300, ftol=0.01))
    assert len(recs) == 8
    barriers = np.array([r.barrier_forward for r in recs])
    vectors = np.array([r.hop_vector for r in recs])
    assert np.isfinite(barriers).all() and np.ptp(barriers) > 0.05    # hops the rates tell apart

    def neb(mover, env, pos, hop):
        k = np.linalg.norm(hop[:, None, :] - vectors[None], axis=2).argmin(1)
        return barriers[k]

    T = 900.0
    state = state_from_atoms(atoms, vacancies=[0], replicas=20000)
    kmc = Kmc(state, FunctionBarrier(neb, name="neb"), T, 1e13, seed=1)
    # each KMC direction reaches the atom that NEB moved along the same vector
    table = lattice_sites(atoms, 1)
    lat = state.lattice
    for rec in recs:
        k = np.linalg.norm(lat.to_cartesian(lat.steps) - rec.hop_vector, axis=1).argmin()
        assert kmc.target[0, 0, k] == table.site[rec.neighbor_site]
        assert state.species[state.occ[0, kmc.target[0, 0, k]]] == rec.moving_species
    rate = 1e13 * np.exp(-barriers / (K_B * T))
    site_of = {int(table.site[r.neighbor_site]): i for i, r in enumerate(recs)}
    kmc.step()
    counts = np.bincount([site_of[int(s)] for s in state.vac_site[:, 0]], minlength=8)
    expected = 20000 * rate / rate.sum()
    seen = expected > 5                              # chi^2 over hops with enough expected counts
    chi2 = (((counts - expected) ** 2 / expected)[seen]).sum()
    assert chi2 < 26.1, (counts.tolist(), expected.round(1).tolist())
    assert counts[~seen].sum() <= max(10, 3 * expected[~seen].sum())
    assert state.time.mean() * rate.sum() == pytest.approx(1.0, abs=4 / np.sqrt(20000))
