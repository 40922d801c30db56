"""KMC with the Fe-Cr barrier CNN: jump statistics against direct NEB, and ordering kinetics.

1. Train a CPU-sized barrier CNN (4 convolutions x 16 filters, 16^3 SDM, six shells) on the
   committed Fe-Cr NEB datasets (``results/cnn_neb_fecr*.sqlite``, FeCr.cdeam, 128-site BCC
   samples), holding out every Fe-20Cr hop; report its MAE on them next to guessing the
   training mean.
2. Jump statistics: every held-out Fe-20Cr vacancy whose 8 NEB hops all converged, in its
   stored sample: one KMC step with the CNN in ``--replicas`` identical replicas at
   ``--temperature``; the first-jump counts against the NEB probabilities
   exp(-E/kT) / sum (total-variation distance, chi^2) and against the CNN's own.
3. Ordering kinetics of Fe-20Cr at ``--order-temperature`` (FeCr.cdeam separates Cr below
   ~700 K): Warren-Cowley alpha_1, alpha_2 against simulated time in KMC with the CNN,
   next to a short hybrid MC/MD run (``alloykit.csro.run_mcmd``) on a cell of the same size.
   KMC time is that of one vacancy in the cell (c_v = 1/sites), not of the equilibrium c_v.

The CNN is :class:`alloykit.kmc.CNNBarrier` with its memory of seen environments (the
library default): each distinct vacancy environment is predicted once (a vacancy that jumps
back and forth revisits environments; the fraction predicted is reported).

The NEB datasets are only read. Everything is seeded (``--seed``). Writes
results/kmc_fecr.json and results/kmc_fecr.png.

Usage: python benchmarks/bench_kmc_fecr.py [--quick] [--seed N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, write  # noqa: E402

A = 2.8665
DATASETS = ["cnn_neb_fecr.sqlite", "cnn_neb_fecr_b.sqlite", "cnn_neb_fecr_csro.sqlite"]
HELD_OUT = "Fe=0.8,Cr=0.2"
PAIRS = ["Cr-Cr", "Fe-Cr"]


def train(args):
    from alloykit.cnn import TrainConfig, evaluate_model, open_records, train_model
    from alloykit.structures import composition_key

    recs = [r for name in DATASETS for r in open_records(RESULTS / name)]
    cfg = TrainConfig(epochs=args.epochs, batch_size=32, augment="symmetry", seed=args.seed,
                      stop_patience=10, plateau_patience=4)
    model, rep = train_model(recs, n_shells=6, n=1, width=16, grid6=16, split_by="composition", test=[HELD_OUT],
                             config=cfg, progress=False)
    held = set(rep["test_groups"])
    test = [r for r in recs if composition_key(r.composition) in held]
    seen = [r for r in recs if composition_key(r.composition) not in held]
    res = evaluate_model(model, test)
    y = res["true"]
    mean = float(np.mean([r.barrier_forward for r in seen]))
    by_sp = {s: float(np.mean([r.barrier_forward for r in seen if r.moving_species == s]))
             for s in {r.moving_species for r in seen}}
    info = {"datasets": DATASETS, "architecture": {"n": 1, "width": 16, "grid6": 16, "n_shells": 6},
            "held_out": sorted(held), "n_train": rep["n_train"], "n_val": rep["n_val"], "n_test": res["n"],
            "epochs_run": rep["epochs_run"], "val_mae": rep["best_val_mae"], "train_seconds": rep["seconds"],
            "test_mae": res["mae"], "mae_training_mean": float(np.abs(y - mean).mean()),
            "mae_species_mean": float(np.abs(y - np.array([by_sp[s] for s in res["moving_species"]])).mean()),
            "test_mae_by_moving_species": res["by_moving_species"]}
    print(f"CNN: held-out {info['held_out']} MAE {info['test_mae']:.4f} eV vs training mean "
          f"{info['mae_training_mean']:.4f} (n={res['n']}, {rep['seconds']:.0f} s)", flush=True)
    return model, info


def tvd(p, q) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def jump_statistics(model, args, held) -> dict:
    """First-jump counts of KMC with the CNN from each held-out Fe-20Cr vacancy of the datasets."""
    from alloykit.neb import open_dataset
    from alloykit.structures import composition_key

    T, R = args.temperature, args.replicas
    rows = []
    for name in DATASETS:
        with open_dataset(RESULTS / name) as ds:
            by_vac = {}
            for r in ds.records(converged_only=False):
                by_vac.setdefault((r.sample_id, r.vacancy_site), []).append(r)
            for (sid, vsite), recs in by_vac.items():
                if composition_key(recs[0].composition) not in held:
                    continue
                ok = len(recs) == 8 and all(r.converged and not r.flag and np.isfinite(r.barrier_forward)
                                            for r in recs)
                if not ok:
                    continue
                if args.max_vacancies and len(rows) == args.max_vacancies:
                    break
                rows.append(_one_vacancy(model, ds.sample(sid), sid, vsite, recs, T, R, args.seed + len(rows)))
    e_neb = np.concatenate([r["barrier_neb"] for r in rows])
    e_cnn = np.concatenate([r["barrier_cnn"] for r in rows])
    out = {"temperature_K": T, "replicas": R, "n_vacancies": len(rows),
           "mae_kmc_cnn_vs_neb": float(np.abs(e_cnn - e_neb).mean()),
           "mean_tvd_kmc_vs_neb": float(np.mean([r["tvd_kmc_neb"] for r in rows])),
           "median_max_tvd_kmc_vs_neb": [float(f([r["tvd_kmc_neb"] for r in rows])) for f in (np.median, np.max)],
           "mean_tvd_cnn_vs_neb": float(np.mean([r["tvd_cnn_neb"] for r in rows])),
           "mean_tvd_kmc_vs_cnn": float(np.mean([r["tvd_kmc_cnn"] for r in rows])),
           "mean_tvd_uniform_vs_neb": float(np.mean([r["tvd_uniform_neb"] for r in rows])),
           "chi2_kmc_vs_cnn_pass_fraction": float(np.mean([r["chi2_kmc_cnn"] < r["chi2_crit"] for r in rows])),
           "chi2_kmc_vs_neb_pass_fraction": float(np.mean([r["chi2_kmc_neb"] < r["chi2_crit"] for r in rows])),
           "top_hop_agrees": float(np.mean([np.argmax(r["p_neb"]) == np.argmax(r["p_kmc"]) for r in rows])),
           "tvd_cnn_vs_neb_other_T": {}, "vacancies": rows}
    for t in (600.0, 900.0):       # the same barriers at other temperatures (analytic)
        out["tvd_cnn_vs_neb_other_T"][f"{t:g}"] = float(np.mean(
            [tvd(_probs(r["barrier_cnn"], t), _probs(r["barrier_neb"], t)) for r in rows]))
    print(f"jumps at {T:g} K, {len(rows)} vacancies x {R} replicas: mean TVD KMC-NEB {out['mean_tvd_kmc_vs_neb']:.3f}, "
          f"CNN-NEB {out['mean_tvd_cnn_vs_neb']:.3f}, KMC-CNN {out['mean_tvd_kmc_vs_cnn']:.3f}, "
          f"uniform-NEB {out['mean_tvd_uniform_vs_neb']:.3f}", flush=True)
    return out


def _probs(e, T):
    from alloykit.kmc import K_B

    w = np.exp(-(np.asarray(e) - np.min(e)) / (K_B * T))
    return w / w.sum()


def _one_vacancy(model, atoms, sid, vsite, recs, T, R, seed) -> dict:
    """One KMC step from vacancy ``vsite`` of ``atoms`` in R replicas; its NEB ``recs``."""
    from scipy.stats import chi2 as chi2_dist

    from alloykit.kmc import CNNBarrier, Kmc, state_from_atoms
    from alloykit.structures import lattice_sites

    state = state_from_atoms(atoms, vacancies=[vsite], replicas=R)
    kmc = Kmc(state, CNNBarrier(model), T, 1e13, seed=seed)
    table = lattice_sites(atoms, 1)
    hop_of = {int(table.site[r.neighbor_site]): i for i, r in enumerate(recs)}
    order = [hop_of[int(t)] for t in kmc.target[0, 0]]             # KMC direction k -> NEB record
    e_neb = np.array([recs[i].barrier_forward for i in order])
    e_cnn = kmc.barrier[0, 0].copy()
    t = kmc.target[0, 0].copy()
    kmc.step()
    counts = np.array([(state.vac_site[:, 0] == s).sum() for s in t])
    p_neb, p_cnn, p_kmc = _probs(e_neb, T), _probs(e_cnn, T), counts / R

    def chi2(p):            # over the hops with enough expected counts
        expected = R * p
        seen = expected > 5
        return float((((counts - expected) ** 2 / expected)[seen]).sum()), int(seen.sum())

    c_cnn, dof_cnn = chi2(p_cnn)
    c_neb, _ = chi2(p_neb)

    return {"sample_id": sid, "vacancy_site": int(vsite),
            "moving_species": [recs[i].moving_species for i in order],
            "barrier_neb": e_neb.round(4).tolist(), "barrier_cnn": e_cnn.round(4).tolist(),
            "counts": counts.tolist(), "p_neb": p_neb.round(5).tolist(), "p_cnn": p_cnn.round(5).tolist(),
            "p_kmc": p_kmc.round(5).tolist(), "tvd_kmc_neb": tvd(p_kmc, p_neb), "tvd_cnn_neb": tvd(p_cnn, p_neb),
            "tvd_kmc_cnn": tvd(p_kmc, p_cnn), "tvd_uniform_neb": tvd(np.full(8, 1 / 8), p_neb),
            "chi2_kmc_cnn": c_cnn, "chi2_kmc_neb": c_neb,
            "chi2_crit": float(chi2_dist.ppf(0.999, max(dof_cnn - 1, 1)))}


def ordering_kmc(model, args) -> dict:
    """``--order-replicas`` independent random cells, stepped together; alpha per replica
    every 1/50 of the run, reported as the mean and its standard error over replicas."""
    from alloykit.csro.sro import random_sigma
    from alloykit.kmc import CNNBarrier, Kmc, random_state, warren_cowley
    from alloykit.kmc.observables import shell_steps

    state = random_state("bcc", A, args.order_size, "Fe=0.8,Cr=0.2", vacancies=1, replicas=args.order_replicas,
                         seed=args.seed)
    barrier = CNNBarrier(model)
    shells = shell_steps(state.lattice, 2)
    every = max(1, args.order_jumps // 50)
    R = state.replicas

    def sample():
        per = warren_cowley(state, shells, by_replica=True)
        a = {p: np.array(per[p], float) for p in PAIRS}                       # R x shells
        return {"step": int(state.steps_done), "time": float(state.time.mean()),
                "alpha": {p: a[p].mean(0).round(5).tolist() for p in PAIRS},
                "alpha_sem": {p: (a[p].std(0, ddof=1) / np.sqrt(R) if R > 1 else 0 * a[p][0]).round(5).tolist()
                              for p in PAIRS}}

    t0 = time.perf_counter()
    kmc = Kmc(state, barrier, args.order_temperature, 1e13, seed=args.seed)
    samples, seconds = [sample()], 0.0
    while state.steps_done < args.order_jumps:
        t1 = time.perf_counter()
        kmc.run(min(every, args.order_jumps - state.steps_done))
        seconds += time.perf_counter() - t1
        samples.append(sample())
    wall = time.perf_counter() - t0
    # alpha's spread over random arrangements of this cell: how far from 0 counts as order
    conc = np.bincount(state.occ[state.occ >= 0], minlength=len(state.species)) / state.occ[state.occ >= 0].size
    sigma = random_sigma(conc, state.lattice.n_sites - 1, [8, 6])
    ix = {s: i for i, s in enumerate(state.species)}
    out = {"temperature_K": args.order_temperature, "sites": state.lattice.n_sites, "replicas": R,
           "jumps_per_replica": args.order_jumps, "jumps_per_site": args.order_jumps / state.lattice.n_sites,
           "wall_s": round(wall, 1), "ms_per_jump": 1e3 * seconds / (args.order_jumps * R),
           "cnn_predictions_fraction": barrier.predicted / max(barrier.asked, 1),
           "random_sigma": {p: sigma[:, ix[p.split("-")[0]], ix[p.split("-")[1]]].round(4).tolist() for p in PAIRS},
           "samples": samples}
    a, e = samples[-1]["alpha"], samples[-1]["alpha_sem"]
    print(f"KMC {state.lattice.n_sites} sites x {R} at {args.order_temperature:g} K, "
          f"{args.order_jumps} jumps ({wall:.0f} s, {out['ms_per_jump']:.3f} ms/jump): t = {samples[-1]['time']:.3e} s, "
          f"alpha_1 Cr-Cr {a['Cr-Cr'][0]:+.4f} +- {e['Cr-Cr'][0]:.4f}, Fe-Cr {a['Fe-Cr'][0]:+.4f} +- {e['Fe-Cr'][0]:.4f}",
          flush=True)
    return out


def ordering_mcmd(args) -> dict:
    from alloykit.csro import run_mcmd
    from alloykit.csro.mcmd import McmdSettings, fecr_default

    atoms = fecr_default((args.order_size,) * 3, seed=args.seed, a=A)
    settings = McmdSettings(temperature=args.order_temperature, steps=args.mcmd_steps, swap_every=10,
                            swap_trials=30, record_every=max(10, args.mcmd_steps // 20),
                            checkpoint_every=args.mcmd_steps, shells=2, seed=args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        res = run_mcmd(atoms, "FeCr", Path(tmp) / "mcmd", settings, species=["Fe", "Cr"], progress=False)
    wall = time.perf_counter() - t0
    records = [{"step": r["step"], "pe_per_atom": r["pe_per_atom"],
                "alpha": {p: r["sro"]["alpha"][p] for p in PAIRS},
                "swaps_accepted": r.get("swaps", {}).get("Fe-Cr", {}).get("accepted")}
               for r in res.records if "sro" in r]
    out = {"temperature_K": args.order_temperature, "atoms": len(atoms), "steps": args.mcmd_steps,
           "protocol": "Nose-Hoover NVT, fix atom/swap Fe-Cr 30 trials every 10 steps, FeCr.cdeam",
           "wall_s": round(wall, 1), "records": records}
    a = records[-1]["alpha"]
    print(f"MC/MD {len(atoms)} atoms at {args.order_temperature:g} K, {args.mcmd_steps} steps ({wall:.0f} s): "
          f"alpha_1 Cr-Cr {a['Cr-Cr'][0]:+.4f}, Fe-Cr {a['Fe-Cr'][0]:+.4f}", flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--temperature", type=float, default=700.0, help="K, jump statistics")
    p.add_argument("--replicas", type=int, default=20000, help="replicas per vacancy, jump statistics")
    p.add_argument("--max-vacancies", type=int, default=0, help="at most this many vacancies (0: all)")
    p.add_argument("--order-temperature", type=float, default=600.0)
    p.add_argument("--order-size", type=int, default=10, help="cubes per axis (2 L^3 sites)")
    p.add_argument("--order-replicas", type=int, default=4)
    p.add_argument("--order-jumps", type=int, default=1000000)
    p.add_argument("--mcmd-steps", type=int, default=6000)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--quick", action="store_true", help="a smoke run: few epochs, replicas and jumps")
    p.add_argument("--skip", nargs="*", default=[], choices=["jumps", "kmc", "mcmd"])
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.replicas, args.max_vacancies = 3, 2000, 3
        args.order_jumps, args.mcmd_steps, args.order_size = 500, 400, 6
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.perf_counter()
    out = {"argv": sys.argv[1:] if argv is None else list(argv), "seed": args.seed, "torch_threads": args.threads}
    model, out["cnn"] = train(args)
    if "jumps" not in args.skip:
        out["jumps"] = jump_statistics(model, args, out["cnn"]["held_out"])
    if "kmc" not in args.skip:
        out["kmc_ordering"] = ordering_kmc(model, args)
    if "mcmd" not in args.skip:
        out["mcmd_ordering"] = ordering_mcmd(args)
    out["wall_s"] = round(time.perf_counter() - t0, 1)
    out["load_average"] = os.getloadavg()
    write("kmc_fecr", out)
    plot(out)
    return 0


def plot(out) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 8.5))
    if "jumps" in out:
        j = out["jumps"]
        rows = j["vacancies"]
        for sp, c in (("Fe", "C0"), ("Cr", "C3")):
            x = [e for r in rows for e, s in zip(r["barrier_neb"], r["moving_species"]) if s == sp]
            y = [e for r in rows for e, s in zip(r["barrier_cnn"], r["moving_species"]) if s == sp]
            ax[0, 0].plot(x, y, "o", ms=3, color=c, alpha=0.7, label=f"{sp} moves")
        lo, hi = ax[0, 0].get_xlim()
        ax[0, 0].plot([lo, hi], [lo, hi], "k:", lw=1)
        ax[0, 0].set_xlabel("NEB barrier (eV)")
        ax[0, 0].set_ylabel("CNN barrier in KMC (eV)")
        c = out["cnn"]
        ax[0, 0].set_title(f"held-out Fe-20Cr hops, MAE {1e3 * j['mae_kmc_cnn_vs_neb']:.0f} meV "
                           f"(CNN test MAE {1e3 * c['test_mae']:.0f}, mean {1e3 * c['mae_training_mean']:.0f})",
                           fontsize=9)
        ax[0, 0].legend(fontsize=8)
        pn = np.concatenate([r["p_neb"] for r in rows])
        pc = np.concatenate([r["p_cnn"] for r in rows])
        pk = np.concatenate([r["p_kmc"] for r in rows])
        ax[0, 1].plot(pn, pk, "o", ms=3, color="C2", label=f"KMC counts (TVD {j['mean_tvd_kmc_vs_neb']:.3f})")
        ax[0, 1].plot(pn, pc, "x", ms=3, color="C1", label=f"CNN rates (TVD {j['mean_tvd_cnn_vs_neb']:.3f})")
        ax[0, 1].plot([0, 1], [0, 1], "k:", lw=1)
        ax[0, 1].set_xlabel("NEB first-jump probability")
        ax[0, 1].set_ylabel("KMC frequency / CNN probability")
        ax[0, 1].set_title(f"{j['n_vacancies']} vacancies x {j['replicas']} replicas, {j['temperature_K']:g} K "
                           f"(uniform: TVD {j['mean_tvd_uniform_vs_neb']:.3f})", fontsize=9)
        ax[0, 1].legend(fontsize=8)
    if "kmc_ordering" in out:
        k = out["kmc_ordering"]
        t = np.array([s["time"] for s in k["samples"]])
        for p, c in zip(PAIRS, ("C3", "C0")):
            for shell, ls in ((0, "-"), (1, "--")):
                m = np.array([s["alpha"][p][shell] for s in k["samples"][1:]])
                ax[1, 0].plot(t[1:], m, ls, color=c, label=f"{p} shell {shell + 1}")
                if "alpha_sem" in k["samples"][-1]:
                    e = np.array([s["alpha_sem"][p][shell] for s in k["samples"][1:]])
                    ax[1, 0].fill_between(t[1:], m - e, m + e, color=c, alpha=0.2, lw=0)
        if "mcmd_ordering" in out:
            last = out["mcmd_ordering"]["records"][-1]["alpha"]
            for p, c in zip(PAIRS, ("C3", "C0")):
                for shell, ls in ((0, "-"), (1, "--")):
                    ax[1, 0].axhline(last[p][shell], color=c, ls=ls, lw=0.8, alpha=0.5)
        sig = k["random_sigma"]["Cr-Cr"][0]
        ax[1, 0].axhspan(-sig, sig, color="0.85", zorder=0, label="random: 1 sigma, Cr-Cr 1")
        ax[1, 0].set_xlabel("KMC time (s)")
        ax[1, 0].set_ylabel("Warren-Cowley alpha")
        ax[1, 0].set_title(f"KMC + CNN, {k['sites']} sites x {k['replicas']}, {k['temperature_K']:g} K, "
                           f"{k['jumps_per_replica']} jumps (band: s.e.; thin: MC/MD end)", fontsize=9)
        ax[1, 0].legend(fontsize=7, ncol=2)
    if "mcmd_ordering" in out:
        m = out["mcmd_ordering"]
        st = [r["step"] for r in m["records"]]
        for p, c in zip(PAIRS, ("C3", "C0")):
            for shell, ls in ((0, "-"), (1, "--")):
                ax[1, 1].plot(st, [r["alpha"][p][shell] for r in m["records"]], ls, marker="o", ms=2, color=c,
                              label=f"{p} shell {shell + 1}")
        ax[1, 1].axhline(0, color="0.6", lw=0.8, ls=":")
        ax[1, 1].set_xlabel("MC/MD step")
        ax[1, 1].set_ylabel("Warren-Cowley alpha")
        ax[1, 1].set_title(f"hybrid MC/MD, {m['atoms']} atoms, {m['temperature_K']:g} K", fontsize=9)
        ax[1, 1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(RESULTS / "kmc_fecr.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
