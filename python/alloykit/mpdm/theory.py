"""The most probable distribution of meta-structures (He & Lu, Eqs. 1-11), for k species.

Derivation (Eq. 9 of the paper is garbled as printed, so the constraints are re-derived
here). Let type l have centre species s_l, degeneracy omega_l and species content
eta_{l,t} = delta(s_l, t)/2 + n_{l,t}/(2z) (centre weight 1/2, each of the z shell atoms
1/(2z); for binary BCC eta_{l,B} is Table 1's eta). Maximise

    ln Omega = sum_s N_s ln N_s - sum_l a_l ln(a_l / omega_l)                     (Eq. 2)

under, for every species s and every species t,

    sum_{l: s_l = s} a_l = N_s        (multiplier alpha_s: each atom centres one type)
    sum_l eta_{l,t} a_l  = N_t        (multiplier beta_t: atom t counted 1/2 as a centre
                                       and z times 1/(2z) as a shell atom)

The second set sums over t to the sum of the first, so only k-1 of them are independent:
fix beta_0 = 0. Stationarity gives a_l = omega_l exp(-1 - alpha_{s_l} - beta . eta_l)
(Eqs. 6-7), and the first constraints fix alpha:

    a_l / N = c_{s_l} omega_l exp(-beta . eta_l) / Z_{s_l}(beta),
    Z_s(beta) = sum_{l: s_l = s} omega_l exp(-beta . eta_l)                  (Eqs. 10-11)

Substituting into the second constraints leaves k-1 equations for beta (the correct form
of Eq. 9; for binary, one equation in beta):

    c_t = sum_s c_s <eta_t>_s(beta),   <eta_t>_s = sum_{l in s} eta_{l,t} omega_l e^{-beta.eta_l} / Z_s

These are the stationarity conditions of the convex function
G(beta) = sum_s c_s ln Z_s(beta) + beta . c, whose Hessian sum_s c_s Cov_s(eta) is positive
definite, so damped Newton on G converges from beta = 0 for any composition inside the
simplex. The second variation of ln Omega is -1/a_l < 0 (Eq. 12): a maximum.

Closed form: the shell part of exp(-beta . eta_l) is prod_t x_t^{n_{l,t}} with
x_t = exp(-beta_t / (2z)), and summing omega_l over one centre gives the multinomial
(sum_t x_t)^z, so a_l/N = c_{s_l} omega_l prod_t q_t^{n_{l,t}} with q_t = x_t / sum x. The
beta constraints then read c_t/2 + q_t/2 = c_t, i.e. q = c: the most probable distribution
is exactly that of independent site occupancy (the ideal random alloy),

    a_l / N = c_{s_l} omega_l prod_t c_t^{n_{l,t}},    beta_t = -2z ln(c_t / c_0).

``most_probable_distribution`` solves the Lagrange equations numerically (it is what the
paper does and what generalises if eta or the constraints change); ``ideal_random``
evaluates the closed form; the tests compare the two.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .enumerate import MetaTable


@dataclass
class Distribution:
    """fractions: (T,) a_l / N; beta: (k,) with beta[0] = 0; alpha: (k,) for N = 1;
    iterations of Newton and the final max constraint residual."""
    composition: np.ndarray
    fractions: np.ndarray
    beta: np.ndarray
    alpha: np.ndarray
    iterations: int
    residual: float


def check_composition(composition, n_species: int) -> np.ndarray:
    """Composition as a (k,) array of fractions strictly inside (0, 1) summing to 1.

    A scalar c means the binary (1 - c, c) (c = fraction of species 1, "B")."""
    c = np.atleast_1d(np.asarray(composition, dtype=float))
    if c.size == 1 and n_species == 2:
        c = np.array([1.0 - c[0], c[0]])
    if c.shape != (n_species,):
        raise InputError(f"composition: needs {n_species} fractions, got {c.size}")
    if not np.all(np.isfinite(c)) or abs(c.sum() - 1.0) > 1e-9:
        raise InputError(f"composition: {c.tolist()} does not sum to 1")
    if np.any(c <= 0.0) or np.any(c >= 1.0):
        raise InputError(f"composition: {c.tolist()}: every fraction must be strictly between 0 "
                         "and 1 (at 0 or 1 the Lagrange multipliers diverge: theory undefined)")
    return c / c.sum()


def _log_weights(table: MetaTable, beta: np.ndarray):
    """ln(omega_l e^{-beta.eta_l}) and ln Z_s for every centre s (log-sum-exp)."""
    lw = np.log(table.omega) - table.eta @ beta
    k = table.n_species
    lz = np.empty(k)
    for s in range(k):
        x = lw[table.centre == s]
        m = x.max()
        lz[s] = m + np.log(np.exp(x - m).sum())
    return lw, lz


def _fractions(table, c, beta):
    lw, lz = _log_weights(table, beta)
    return c[table.centre] * np.exp(lw - lz[table.centre]), lz


def most_probable_distribution(table: MetaTable, composition, tol: float = 1e-15,
                               max_iter: int = 200) -> Distribution:
    """Solve the Lagrange equations for the most probable {a_l / N} by damped Newton on
    the convex dual G(beta) (see the module docstring). ``composition``: (k,) fractions, or
    for binary the scalar c_B. Raises InputError at a composition of 0 or 1."""
    k = table.n_species
    c = check_composition(composition, k)
    eta = table.eta[:, 1:]               # beta_0 = 0 gauge: unknowns beta_1..beta_{k-1}
    b = np.zeros(k - 1)

    def dual(b):
        a, lz = _fractions(table, c, np.concatenate([[0.0], b]))
        g = c @ lz + b @ c[1:]
        grad = c[1:] - a @ eta
        return g, grad, a

    g, grad, a = dual(b)
    it = 0
    for it in range(1, max_iter + 1):
        if np.abs(grad).max() <= tol:
            break
        # Hessian of G: sum_s c_s Cov_s(eta) = sum_l a_l eta eta^T - sum_s c_s m_s m_s^T
        hess = (eta * a[:, None]).T @ eta
        for s in range(k):
            sel = table.centre == s
            m = a[sel] @ eta[sel] / c[s]
            hess -= c[s] * np.outer(m, m)
        step = -np.linalg.solve(hess + 1e-300 * np.eye(k - 1), grad)
        t, gmax = 1.0, np.abs(grad).max()
        while True:
            g_new, grad_new, a_new = dual(b + t * step)
            # Armijo on G; near the solution G's decrease drops below its rounding, and
            # then a smaller gradient (without G rising beyond rounding) is the test
            if g_new <= g + 1e-4 * t * (grad @ step):
                break
            if np.abs(grad_new).max() < gmax and g_new <= g + 1e-14 * (1.0 + abs(g)):
                break
            t *= 0.5
            if t < 1e-10:
                break
        if t < 1e-10:
            break                         # no further progress at machine precision
        b, g, grad, a = b + t * step, g_new, grad_new, a_new
    beta = np.concatenate([[0.0], b])
    _, lz = _log_weights(table, beta)
    alpha = -1.0 - np.log(c) + lz        # exp(-1 - alpha_s) = N c_s / Z_s with N = 1
    return Distribution(c, a, beta, alpha, it, float(np.abs(grad).max()))


def ideal_random(table: MetaTable, composition) -> np.ndarray:
    """Closed form a_l / N = c_{s_l} omega_l prod_t c_t^{n_{l,t}} (independent site
    occupancy), which is the Lagrange solution (module docstring)."""
    c = check_composition(composition, table.n_species)
    return c[table.centre] * table.omega * np.prod(c[None, :] ** table.shell_counts, axis=1)


def closed_form_beta(table: MetaTable, composition) -> np.ndarray:
    """beta_t = -2z ln(c_t / c_0), the multipliers of the closed form."""
    c = check_composition(composition, table.n_species)
    return -2.0 * table.z * np.log(c / c[0])


def expected_counts(table: MetaTable, composition, n_atoms: float) -> np.ndarray:
    """Most probable a_l for a system of n_atoms."""
    return n_atoms * most_probable_distribution(table, composition).fractions


def chi_square(observed, table: MetaTable, composition, min_expected: float = 5.0) -> dict:
    """Pearson chi^2 of observed counts against the most probable distribution.

    Types whose expected count is below ``min_expected`` are pooled into one bin. The
    meta-structures of neighbouring atoms overlap, so the counts are not independent
    multinomial draws and the p-value is only indicative; ``max_abs_z`` is the largest
    (O - E)/sqrt(E) over the types, for a quick look at which type deviates."""
    from scipy.stats import chi2 as chi2_dist

    o = np.asarray(observed, dtype=float)
    p = most_probable_distribution(table, composition).fractions
    e = o.sum() * p
    big = e >= min_expected
    o_b, e_b = list(o[big]), list(e[big])
    if (~big).any():
        o_small, e_small = o[~big].sum(), e[~big].sum()
        if e_small >= min_expected or not e_b:
            o_b.append(o_small)
            e_b.append(e_small)
        else:                       # the pooled bin is small too: add it to the smallest bin
            k = int(np.argmin(e_b))
            o_b[k] += o_small
            e_b[k] += e_small
    o_b, e_b = np.array(o_b), np.array(e_b)
    keep = e_b > 0
    dof = int(keep.sum()) - 1
    z = (o - e)[e > 0] / np.sqrt(e[e > 0])
    base = {"max_abs_z": float(np.abs(z).max()) if z.size else None, "n_counted": int(o.sum()),
            "bins_pooled": int((~big).sum())}
    if dof < 1:       # one bin (or none): the test is empty, never "chi2/dof = 0"
        return {"chi2": None, "dof": 0, "chi2_per_dof": None, "p_value": None, **base,
                "note": f"not enough data for a chi-square test ({int(o.sum())} atoms counted; "
                        f"{int(big.sum())} types expected {min_expected:g} times or more)"}
    stat = float((((o_b - e_b) ** 2)[keep] / e_b[keep]).sum())
    return {"chi2": stat, "dof": dof, "chi2_per_dof": stat / dof, "p_value": float(chi2_dist.sf(stat, dof)),
            **base}
