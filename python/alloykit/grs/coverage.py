"""How well a set of GRS cells covers a target (Goff et al., Secs. IV.3 and IV.5).

- Eq. 18: the volume ratio V_set / V_target of the convex hulls of the two descriptor
  clouds in the target's PCA space (components reaching 99 % explained variance). The
  ratio alone can exceed 1 by covering space the target never visits, so
  :func:`hull_fraction` also estimates vol(hull(set) & hull(target)) / vol(hull(target))
  by seeded Monte Carlo: the part of the target's hull the set actually covers.
- The MAE of the first and second moments of the descriptors (Sec. IV.5; well-converged
  SQS score 0.1-0.2 there).

Descriptors are divided by the target's per-rank RMS (``Target.scale``, the unit of the
GRS loss) before PCA and moments, so no rank dominates by its units and the numbers are
comparable between targets. qhull's cost grows steeply with the dimension: PCA keeps at
most ``max_dims`` components (see :data:`MAX_DIMS`) and reports the variance it kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError

# measured on Ta_AIMD (10,800 environments, 2 loaded cores): the target's hull and the
# Delaunay split of its vertices take 0.4 s in 5 dims, 15 s in 6 (1e5 facets; 36 s for
# hull_fraction with 20,000 samples), and the hull alone 29 s in 7 (1e6 facets)
MAX_DIMS = 6


def descriptors(structures, ace, scale=None, element: str | None = None) -> np.ndarray:
    """(n_env, nB) ACE descriptors of every atom of ``structures`` (ase.Atoms or a list),
    divided by ``scale`` ((nB,), e.g. ``Target.scale``) when given; ``element``: only the
    atoms of that element."""
    from ase import Atoms

    structures = [structures] if isinstance(structures, Atoms) else list(structures)
    rows = []
    with torch.no_grad():
        for atoms in structures:
            b = ace.compute(atoms).cpu().numpy()
            if element is not None:
                b = b[np.asarray(atoms.get_chemical_symbols()) == element]
            rows.append(b)
    out = np.concatenate(rows) if rows else np.zeros((0, ace.ndescriptors))
    return out / np.asarray(scale) if scale is not None else out


@dataclass
class PCASpace:
    mean: np.ndarray            # (nB,) target mean
    components: np.ndarray      # (dims, nB) principal axes kept
    explained: np.ndarray       # (dims,) explained-variance fraction of each axis kept
    dims_needed: int            # components that reach the asked variance
    variance_asked: float

    @property
    def dims(self) -> int:
        return len(self.components)

    @property
    def variance_kept(self) -> float:
        return float(self.explained.sum())

    def project(self, x) -> np.ndarray:
        return (np.asarray(x) - self.mean) @ self.components.T


def pca_space(target_descriptors, variance: float = 0.99, max_dims: int = MAX_DIMS) -> PCASpace:
    """PCA (numpy SVD) fitted on the target: the fewest components reaching ``variance``
    of the explained variance, at most ``max_dims`` (qhull's limit) and at least 2 (its
    floor: an MD snapshot of one crystal can reach 99 % with one)."""
    x = np.asarray(target_descriptors, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise InputError(f"target_descriptors: need (n_env >= 2, nB) rows, got shape {x.shape}")
    if not 0 < variance <= 1:
        raise InputError(f"variance: {variance} must be in (0, 1]")
    if max_dims < 1:
        raise InputError(f"max_dims: {max_dims} must be >= 1")
    mean = x.mean(axis=0)
    _, sv, vt = np.linalg.svd(x - mean, full_matrices=False)
    ratio = sv ** 2 / max((sv ** 2).sum(), 1e-300)
    needed = int(np.searchsorted(np.cumsum(ratio), variance - 1e-12) + 1)
    needed = min(needed, len(ratio))
    dims = min(max(needed, 2), max_dims, len(ratio))    # qhull needs 2 dimensions at least
    return PCASpace(mean, vt[:dims], ratio[:dims], needed, float(variance))


def hull_fraction(target_pts, set_pts, samples: int = 20000, seed: int = 0) -> dict:
    """Eq. 18 and the covered fraction, for points already in the target's PCA space.

    volume_ratio: vol(hull(set)) / vol(hull(target)); covered_fraction: the share of
    ``samples`` points drawn uniformly in the target's hull (Delaunay simplices of its
    vertices, chosen by volume, and flat Dirichlet weights within) that the set's hull
    holds. A set with fewer than dims + 1 points, or flat, has no volume: both 0.
    """
    from scipy.spatial import ConvexHull, Delaunay, QhullError

    t, s = np.asarray(target_pts, dtype=float), np.asarray(set_pts, dtype=float)
    if t.ndim != 2 or s.ndim != 2 or t.shape[1] != s.shape[1]:
        raise InputError(f"set_pts: shape {s.shape} does not match target_pts {t.shape}")
    dims = t.shape[1]
    try:
        t_hull = ConvexHull(t)
    except QhullError as e:
        raise InputError(f"target_pts: no {dims}-d hull ({str(e).splitlines()[0]})") from None
    try:
        s_hull = ConvexHull(s)
    except (QhullError, ValueError):
        return {"volume_ratio": 0.0, "covered_fraction": 0.0, "samples": int(samples)}
    tri = Delaunay(t[t_hull.vertices])
    corners = tri.points[tri.simplices]                          # (S, d + 1, d)
    volumes = np.abs(np.linalg.det(corners[:, 1:] - corners[:, :1]))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(volumes), size=samples, p=volumes / volumes.sum())
    weights = rng.dirichlet(np.ones(dims + 1), size=samples)     # uniform in a simplex
    pts = np.einsum("nk,nkd->nd", weights, corners[pick])
    tol = 1e-12 * max(np.abs(t).max(), 1.0)
    normals, offsets = s_hull.equations[:, :-1].T, s_hull.equations[:, -1]
    chunk = max(1, 10 ** 7 // len(offsets))    # a 6-d hull of 10^4 points has ~10^5 facets: bound the memory
    inside = np.concatenate([(pts[a:a + chunk] @ normals + offsets <= tol).all(axis=1)
                             for a in range(0, samples, chunk)])
    return {"volume_ratio": float(s_hull.volume / t_hull.volume), "covered_fraction": float(inside.mean()),
            "samples": int(samples)}


def moment_mae(target_desc, set_desc, per_moment: bool = False):
    """Mean absolute error of the mean and the variance of each descriptor component
    (Sec. IV.5), averaged over both moments (or the pair, ``per_moment``). Pass
    descriptors divided by ``Target.scale`` (see :func:`descriptors`) for the loss's
    units: the variance error is then in scale^2, like the loss's second term."""
    t, s = np.asarray(target_desc, dtype=float), np.asarray(set_desc, dtype=float)
    if t.ndim != 2 or s.ndim != 2 or t.shape[1] != s.shape[1] or not len(t) or not len(s):
        raise InputError(f"set_desc: shape {s.shape} does not match target_desc {t.shape}")
    errors = (float(np.abs(t.mean(0) - s.mean(0)).mean()), float(np.abs(t.var(0) - s.var(0)).mean()))
    return errors if per_moment else float(np.mean(errors))


def coverage_report(target, cells, target_structures=None, variance: float = 0.99, max_dims: int = MAX_DIMS,
                    samples: int = 20000, seed: int = 0, histograms=None) -> dict:
    """The coverage of ``target`` by ``cells`` (ase.Atoms), in the target's units.

    target: a :class:`~alloykit.grs.target.Target` (descriptor set and scale) with its
    ``target_structures``, or the structures themselves (a Target with the default ACE
    is built from them). Hull and MAE pool the environments of all centre elements.
    Without structures only the moment MAE is known (from the target's power sums, per
    element, weighted by composition); hull entries are None. histograms: a PNG path for
    :func:`histogram_figure` of the same descriptors (with structures).
    """
    from .target import Target, central_moments

    if not isinstance(target, Target):
        target_structures = target
        target = Target.from_structures(target_structures)
    ace = target.descriptor()
    s_desc = descriptors(cells, ace, target.scale)
    report = {"n_set": len(s_desc), "n_target": target.natoms, "variance_asked": variance, "dims": None,
              "dims_needed": None, "variance_kept": None, "volume_ratio": None, "covered_fraction": None}
    if target_structures is None:
        sums, counts = target.sums[:, :2], target.counts
        t_mom = central_moments(torch.from_numpy(sums), torch.from_numpy(counts)).numpy()
        s_sym = np.concatenate([np.asarray(c.get_chemical_symbols()) for c in cells])
        weights, maes = [], []
        for e, el in enumerate(target.elements):    # elements in both, weighted by the target's counts
            mine = s_desc[s_sym == el]
            if counts[e] > 0 and len(mine):
                mean, var = t_mom[e, 0] / target.scale, t_mom[e, 1] / target.scale ** 2
                weights.append(counts[e])
                maes.append(np.mean([np.abs(mean - mine.mean(0)).mean(), np.abs(var - mine.var(0)).mean()]))
        report["moment_mae"] = float(np.dot(weights, maes) / np.sum(weights)) if maes else None
        return report
    t_desc = descriptors(target_structures, ace, target.scale)
    space = pca_space(t_desc, variance, max_dims)
    report.update(n_target=len(t_desc), dims=space.dims, dims_needed=space.dims_needed,
                  variance_kept=space.variance_kept, moment_mae=moment_mae(t_desc, s_desc))
    report.update(hull_fraction(space.project(t_desc), space.project(s_desc), samples, seed))
    if histograms is not None:
        import matplotlib.pyplot as plt

        plt.close(histogram_figure(t_desc, s_desc, path=histograms))
    return report


def histogram_figure(target_desc, set_desc, columns=None, labels=None, path=None, bins: int = 40):
    """Histograms (density) of a few descriptor components, target vs set (the paper's SI
    Fig. 1); default: the 4 components with the largest target variance. Saves a PNG to
    ``path`` when given; returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t, s = np.asarray(target_desc), np.asarray(set_desc)
    columns = list(columns) if columns is not None else list(np.argsort(t.var(0))[::-1][:4])
    fig, axes = plt.subplots(1, len(columns), figsize=(3.2 * len(columns), 2.8), squeeze=False)
    for ax, c in zip(axes[0], columns):
        lo, hi = min(t[:, c].min(), s[:, c].min()), max(t[:, c].max(), s[:, c].max())
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        ax.hist(t[:, c], edges, density=True, alpha=0.5, label="target")
        ax.hist(s[:, c], edges, density=True, histtype="step", lw=1.5, label="set")
        ax.set_title(labels[c] if labels is not None else f"B[{c}]", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
