"""Meta-structure energy fits: an exactly representable pair model, the gauge, LAMMPS cells."""
import json

import numpy as np
from ase.neighborlist import neighbor_list

from alloykit.cli import main
from alloykit.mpdm.energies import (chemical_potentials, count_matrix, fit_energies, gauge_vector,
                                    random_bcc_cells, relax_cells)
from alloykit.mpdm.enumerate import meta_table

FECR = ["Fe", "Cr"]
ONSITE = {"Fe": -2.0, "Cr": -1.7}
PAIR = {("Fe", "Fe"): -0.26, ("Fe", "Cr"): -0.25, ("Cr", "Fe"): -0.25, ("Cr", "Cr"): -0.27}


def pair_energy(atoms):
    """On-site + first-neighbour pair energy, from ASE's neighbour list (independent of
    the meta-structure counter). Each bond is listed twice, hence the 1/2."""
    i, j = neighbor_list("ij", atoms, 0.93 * 2.87)
    s = np.array(atoms.get_chemical_symbols())
    return sum(ONSITE[x] for x in s) + 0.5 * sum(PAIR[(a, b)] for a, b in zip(s[i], s[j]))


def labelled_cells(n, seed):
    cells = random_bcc_cells(n, 3, FECR, seed=seed)
    for c in cells:
        c.info["mpdm_energy"] = pair_energy(c)
    return cells


def test_pair_model_is_recovered_exactly():
    table = meta_table("bcc", 2)
    A, E, N, kept, skipped = count_matrix(labelled_cells(120, 0))
    assert A.shape == (120, 44) and not skipped
    for method in ("lstsq", "ridge"):
        fit = fit_energies(A, E, N, table, method=method, ridge=1e-6, seed=1)
        assert fit.rank == 43                               # one gauge direction
        assert np.abs(fit.test_error).max() < 1e-6          # meV/atom
    torch_fit = fit_energies(A, E, N, table, method="torch", seed=1, epochs=400)
    assert np.abs(torch_fit.test_error).max() < 2.0
    # E(c) is gauge-free: for the pair model it is known in closed form
    c = np.array([0.1, 0.35, 0.8])
    mu = chemical_potentials(table, fit.e, c)
    exact = ((1 - c) * ONSITE["Fe"] + c * ONSITE["Cr"]
             + 4 * ((1 - c) ** 2 * PAIR["Fe", "Fe"] + 2 * c * (1 - c) * PAIR["Fe", "Cr"] + c ** 2 * PAIR["Cr", "Cr"]))
    assert np.allclose(mu["energy_per_atom"], exact, atol=1e-9)
    assert np.allclose((1 - c) * np.array(mu["mu_A"]) + c * np.array(mu["mu_B"]), exact, atol=1e-9)


def test_gauge_direction_changes_no_energy_only_the_split():
    table = meta_table("bcc", 2)
    A, E, N, _, _ = count_matrix(labelled_cells(30, 2))
    g = gauge_vector(table)
    assert np.abs(A @ g).max() < 1e-9
    e = fit_energies(A, E, N, table, seed=0).e
    c = np.array([0.2, 0.6])
    m0, m1 = chemical_potentials(table, e, c), chemical_potentials(table, e + 0.3 * g, c)
    assert np.allclose(np.array(m1["mu_A"]) - m0["mu_A"], 0.3 * c / 2)
    assert np.allclose(np.array(m1["mu_B"]) - m0["mu_B"], -0.3 * (1 - c) / 2)
    assert np.allclose(m1["mu_A_partial_molar"], m0["mu_A_partial_molar"])


def test_cells_with_unclassified_atoms_are_skipped_not_forced():
    cells = labelled_cells(6, 3)
    del cells[2][0]
    cells[2].info["mpdm_energy"] = 0.0
    A, E, N, kept, skipped = count_matrix(cells)
    assert kept == [0, 1, 3, 4, 5] and len(skipped) == 1 and "cell 2: 8 unclassified" in skipped[0]


def test_lammps_relaxed_cells_fit_within_10_mev():
    table = meta_table("bcc", 2)
    cells = relax_cells(random_bcc_cells(80, 3, FECR, seed=4), "FeCr", progress=False)
    A, E, N, _, skipped = count_matrix(cells)
    assert not skipped
    fit = fit_energies(A, E, N, table, method="ridge", ridge=10.0, seed=5)
    s = fit.summary()
    assert s["test_meV_per_atom"]["max"] < 10.0
    assert s["test_meV_per_atom"]["rmse"] < 5.0 < s["composition_only_test_rmse"]


def test_cli_energies_on_user_data(tmp_path, capsys):
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    cells = labelled_cells(80, 6)          # 64 training cells for 43 independent e_l
    for c in cells:
        c.calc = SinglePointCalculator(c, energy=c.info.pop("mpdm_energy"))
    data = tmp_path / "dft.extxyz"
    ase.io.write(data, cells, format="extxyz")
    out = tmp_path / "out"
    assert main(["mpdm", "energies", "--structure", str(data), "--method", "lstsq", "--out", str(out)]) == 0
    report = json.loads((out / "mpdm_energies.json").read_text())
    assert report["cells_used"] == 80
    assert report["fits"]["lstsq"]["test_meV_per_atom"]["max"] < 1e-6
    assert (out / "mpdm_energies.png").stat().st_size > 0
    cells[3].calc = None
    ase.io.write(data, cells, format="extxyz")
    assert main(["mpdm", "energies", "--structure", str(data), "--out", str(out)]) == 2
    assert f"{data} frame 3: no energy" in capsys.readouterr().err
