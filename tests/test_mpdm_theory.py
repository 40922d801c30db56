"""The most probable distribution: Lagrange solution vs the ideal-random closed form."""
import numpy as np
import pytest

from alloykit.mpdm.enumerate import meta_table
from alloykit.mpdm.theory import (chi_square, closed_form_beta, ideal_random,
                                  most_probable_distribution)


def closed_form_by_hand(table, c):
    """a_l/N = c_centre * omega_l * prod_t c_t^(n_t), written out independently."""
    out = np.empty(table.n_types)
    for l in range(table.n_types):
        p = c[table.centre[l]] * table.omega[l]
        for t, n in enumerate(table.shell_counts[l]):
            p *= c[t] ** n
        out[l] = p
    return out


@pytest.mark.parametrize("c_b", [1e-6, 0.01, 0.1, 0.2, 0.3, 0.4, 0.5, 0.77, 0.999, 0.999999])
def test_binary_bcc_matches_closed_form(c_b):
    t = meta_table("bcc", 2)
    d = most_probable_distribution(t, c_b)
    c = np.array([1 - c_b, c_b])
    assert np.abs(d.fractions - closed_form_by_hand(t, c)).max() <= 1e-12
    assert np.abs(d.fractions - ideal_random(t, c_b)).max() <= 1e-12
    # beta of the closed form, -16 ln(c_B / c_A)
    assert d.beta[1] == pytest.approx(-16 * np.log(c_b / (1 - c_b)), rel=1e-8, abs=1e-8)
    assert d.beta[1] == pytest.approx(closed_form_beta(t, c_b)[1], rel=1e-8, abs=1e-8)


@pytest.mark.parametrize("lattice,k,seed", [("bcc", 3, 0), ("bcc", 4, 1), ("fcc", 2, 2), ("fcc", 3, 3)])
def test_k_species_matches_closed_form(lattice, k, seed):
    t = meta_table(lattice, k)
    for c in np.random.default_rng(seed).dirichlet(np.ones(k), size=3):
        d = most_probable_distribution(t, c)
        assert np.abs(d.fractions - closed_form_by_hand(t, c)).max() <= 1e-12


def test_solution_satisfies_constraints_and_stationarity():
    t = meta_table("bcc", 3)
    c = np.array([0.6, 0.3, 0.1])
    d = most_probable_distribution(t, c)
    a = d.fractions
    for s in range(3):                                        # each atom centres one type
        assert a[t.centre == s].sum() == pytest.approx(c[s], abs=1e-14)
    assert np.allclose(a @ t.eta, c, atol=1e-14)              # species content
    # dF/da_l = -(ln(a_l/omega_l) + 1) - alpha_centre - beta . eta_l = 0 (Eqs. 4-5, N = 1)
    grad = -(np.log(a / t.omega) + 1) - d.alpha[t.centre] - t.eta @ d.beta
    assert np.abs(grad).max() < 1e-10


def test_solution_is_a_maximum_of_ln_omega():
    t = meta_table("bcc", 2)
    c = 0.3
    a = most_probable_distribution(t, c).fractions

    def ln_omega(x):     # Eq. 2 per atom, up to the constant N_s ln N_s terms
        return -(x * np.log(x / t.omega)).sum()

    # constraint matrix: per-centre sums and the B content; perturb in its null space
    cons = np.stack([t.centre == 0, t.centre == 1, t.eta[:, 1]]).astype(float)
    null = np.linalg.svd(cons)[2][3:]
    rng = np.random.default_rng(0)
    best = ln_omega(a)
    for _ in range(50):
        step = rng.normal(size=len(null)) @ null
        x = a + 1e-3 * step / np.abs(step / a).max()       # every a_l moves by <= 0.1 %
        assert np.allclose(cons @ x, cons @ a, atol=1e-15)
        # second order: -sum (da)^2 / (2a), far above rounding at this size
        drop = best - ln_omega(x)
        assert drop > 0
        assert drop == pytest.approx(((x - a) ** 2 / (2 * a)).sum(), rel=1e-2)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.2, [0.5, 0.6], [0.2, 0.3, 0.5]])
def test_composition_outside_the_simplex_is_refused(bad):
    with pytest.raises(ValueError):
        most_probable_distribution(meta_table("bcc", 2), bad)


def test_chi_square_zero_for_exact_and_large_for_wrong():
    t = meta_table("bcc", 2)
    p = ideal_random(t, 0.25)
    assert chi_square(p * 1e6, t, 0.25)["chi2"] < 1e-12
    wrong = chi_square(ideal_random(t, 0.35) * 1e4, t, 0.25)
    assert wrong["chi2"] > 100 and wrong["p_value"] < 1e-6


def test_chi_square_never_reports_an_empty_test():
    """Three species, 54 atoms spread over 801 types: every expected count is below 5, so
    all bins pool into one -- no degrees of freedom, so no statistic (issue 15: it used to
    print chi2/dof = 0.000 for random and ordered samples alike)."""
    t = meta_table("bcc", 3)
    c = np.array([0.5, 0.3, 0.2])
    counts = np.zeros(t.n_types)
    counts[:54] = 1
    r = chi_square(counts, t, c)
    assert r["chi2"] is None and r["chi2_per_dof"] is None and r["dof"] == 0
    assert "not enough data" in r["note"]
    # with enough atoms the test has degrees of freedom again, and a small pooled bin is
    # merged into a real one rather than counted as a bin of its own
    p = most_probable_distribution(t, c).fractions
    r = chi_square(p * 2e4, t, c)
    assert r["dof"] >= 1 and r["chi2"] < 1e-9 and r["p_value"] > 0.99
