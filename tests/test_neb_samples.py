"""Sample sets: composition grids over a simplex, seeded random solid solutions, samples
from files (CSRO output), site choice. No LAMMPS."""
import ase.io
import numpy as np
import pytest

from alloykit.neb import choose_sites, composition_grid, file_samples, grid_samples
from alloykit.neb.samples import structures_digest


def test_composition_grid_over_a_ternary_simplex():
    grid = composition_grid(["Fe", "Cr", "Ni"], 0.25)
    assert len(grid) == 15                                   # C(4 + 2, 2)
    assert all(abs(sum(c.values()) - 1) < 1e-12 for c in grid)
    interior = composition_grid(["Fe", "Cr", "Ni"], 0.25, min_fraction=0.25)
    assert sorted(tuple(sorted(c.items())) for c in interior) == sorted(
        tuple(sorted(c.items())) for c in ({"Fe": .5, "Cr": .25, "Ni": .25}, {"Fe": .25, "Cr": .5, "Ni": .25},
                                           {"Fe": .25, "Cr": .25, "Ni": .5}))
    with pytest.raises(ValueError, match="step: 0.3"):
        composition_grid(["Fe", "Cr"], 0.3)
    with pytest.raises(ValueError, match="'Xx' is not an element symbol"):
        composition_grid(["Fe", "Xx"], 0.5)


def test_grid_samples_are_seeded_and_exact():
    a = grid_samples(["Fe", "Cr"], 0.5, "bcc", size=3, seed=4, per_composition=2)
    b = grid_samples(["Fe", "Cr"], 0.5, "bcc", size=3, seed=4, per_composition=2)
    assert [s for s, _ in a] == ["Cr1.00-0", "Cr1.00-1", "Fe0.50Cr0.50-0", "Fe0.50Cr0.50-1", "Fe1.00-0", "Fe1.00-1"]
    assert structures_digest(a) == structures_digest(b)
    half = [atoms for sid, atoms in a if sid.startswith("Fe0.50")]
    assert all(atoms.get_chemical_symbols().count("Cr") == 27 for atoms in half)
    assert half[0].get_chemical_symbols() != half[1].get_chemical_symbols()    # independent seeds
    assert structures_digest(grid_samples(["Fe", "Cr"], 0.5, "bcc", size=3, seed=5)) != structures_digest(a[::2])


def test_sites_and_file_samples(tmp_path):
    assert choose_sites(54, "all", 0, 0) == list(range(54))
    assert choose_sites(54, 5, 1, 0) == choose_sites(54, 5, 1, 0) != choose_sites(54, 5, 1, 1)
    with pytest.raises(ValueError, match="site: 60 out of range"):
        choose_sites(54, [1, 60], 0, 0)
    frames = [atoms for _, atoms in grid_samples(["Fe", "Cr"], 0.5, "bcc", size=2, seed=0)]
    ase.io.write(tmp_path / "csro.extxyz", frames)
    got = file_samples([tmp_path / "csro.extxyz"], "-1")
    assert [s for s, _ in got] == ["csro:2"]
    assert np.allclose(got[0][1].positions, frames[-1].positions)
    assert len(file_samples([tmp_path / "csro.extxyz"], "::2")) == 2
