"""The Ta-Nb-Mo barrier dataset (issue 13): random BCC solid solutions over the simplex,
computed with the validated fast NEB protocol and MoNbTaW, grown in rounds.

    python benchmarks/tanbmo_dataset.py plan      # samples + the first round (random sites)
    python benchmarks/tanbmo_dataset.py run       # compute what is pending (resumes)
    python benchmarks/tanbmo_dataset.py grow      # plan, then every round below, resumable

Samples: the 21 compositions of the 0.2 grid over Ta, Nb, Mo (pure elements and binaries
included) and the equimolar one, two 250-atom samples each (seeded). Sample "-1" of every
composition is held out (its vacancies are the test set); sample "-0" feeds training.
The first round is one random site per sample: the seed training set S (samples -0,
computed first) and the first held-out vacancies (samples -1).

Then rounds added with :func:`alloykit.neb.farm.extend_dataset`, each only once: two arms
over the training samples, ROUND vacancies per round (``--held-out-rounds 1`` first adds
one more random site per held-out sample, round "heldout-2"): "random-k" (drawn at random) and "active-k" (largest
disagreement of a committee of 8 bootstrap linear models, :mod:`alloykit.cnn.active`,
trained on S and the earlier active rounds only, so the active arm never sees the random
one). bench_tanbmo_active.py compares the arms on the held-out vacancies.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATASET = HERE / "results" / "neb_tanbmo.sqlite"
ELEMENTS = ["Ta", "Nb", "Mo"]
SEED = 0


def samples():
    from alloykit.neb import samples as smp
    from alloykit.structures import composition_grid

    comps = composition_grid(ELEMENTS, 0.2) + [{"Ta": 1 / 3, "Nb": 1 / 3, "Mo": 1 / 3}]
    out = []
    for r in (0, 1):                 # all training samples first: their tasks run first
        for k, comp in enumerate(comps):
            seed = smp.sample_seed(SEED, r * len(comps) + k)
            out.append((f"{smp.composition_label(comp)}-{r}", smp.random_solid_solution("bcc", comp, 5, None, seed)))
    return out


def plan(path=DATASET) -> dict:
    from alloykit.neb import NebSettings, plan_dataset

    settings = NebSettings.protocol("fast", "MoNbTaW")
    recipe = {"kind": "tanbmo", "script": "benchmarks/tanbmo_dataset.py", "grid": 0.2, "extra": "equimolar",
              "per_composition": 2, "size": 5, "lattice": "bcc"}
    return plan_dataset(path, samples(), 1, settings, SEED, recipe, lattice="bcc")


ROUND = 16             # vacancies per round of each arm
ROUNDS = 2
MIN_SEPARATION = 6.0   # A: chosen vacancies of one sample at least this far apart


def _records(path, labels: set, ds) -> list:
    """Usable records of the training samples' vacancies planned in rounds ``labels``
    ("plan": the first round)."""
    keep = set(ds.first_round() if "plan" in labels else ())
    for r in ds.rounds():
        if r["label"] in labels:
            keep |= {(s, int(i)) for s, i in r["tasks"]}
    return [r for r in ds.records() if (r.sample_id, r.vacancy_site) in keep and r.sample_id.endswith("-0")]


def add_round(path, label: str, method: str, train_labels: set, held_out: bool, seed: int, n: int = ROUND) -> int:
    """Choose ``n`` vacancies (method "random" or "ensemble") among the training samples
    (or, with ``held_out``, one per held-out sample) and add them as round ``label``."""
    from alloykit.cnn.active import choose_vacancies
    from alloykit.neb import open_dataset
    from alloykit.neb.farm import extend_dataset

    with open_dataset(path) as ds:
        if any(r["label"] == label for r in ds.rounds()):
            return 0
        planned = ds.tasks()
        ids = [s for s in ds.sample_ids() if s.endswith("-1" if held_out else "-0")]
        samples = {s: ds.sample(s) for s in ids}
        train = _records(path, train_labels, ds) if method == "ensemble" else []
    if held_out:      # one random site per held-out sample
        chosen = [choose_vacancies([], {s: a}, 1, planned, "random", seed=seed + k)[0]
                  for k, (s, a) in enumerate(samples.items())]
    else:
        chosen = choose_vacancies(train, samples, n, planned, method, min_separation=MIN_SEPARATION, seed=seed)
    info = {"method": method, "trained_on_rounds": sorted(train_labels), "training_barriers": len(train),
            "scores": [c["score"] for c in chosen]}
    return extend_dataset(path, [(c["sample_id"], c["site"]) for c in chosen], label, info)


def grow(path=DATASET, groups: int = 2, rounds: int = ROUNDS, held_out_rounds: int = 0) -> dict:
    """The whole schedule; every step is skipped when done, so a rerun resumes."""
    from alloykit.neb import open_dataset

    if not Path(path).exists():
        plan(path)
    run(path, groups)
    for k in range(2, held_out_rounds + 2):
        add_round(path, f"heldout-{k}", "random", set(), True, seed=100 + k)
    active = {"plan"}
    for k in range(1, rounds + 1):
        add_round(path, f"random-{k}", "random", set(), False, seed=200 + k)
        add_round(path, f"active-{k}", "ensemble", set(active), False, seed=300 + k)
        run(path, groups)
        active.add(f"active-{k}")
    with open_dataset(path) as ds:
        return ds.status()


def run(path=DATASET, groups: int = 2) -> dict:
    from alloykit.neb import launch

    return launch(path, groups=groups)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=["plan", "run", "grow"])
    p.add_argument("--dataset", type=Path, default=DATASET)
    p.add_argument("--groups", type=int, default=2)
    p.add_argument("--rounds", type=int, default=ROUNDS, help="rounds of each arm (grow)")
    p.add_argument("--held-out-rounds", type=int, default=0, help="more random held-out sites per sample (grow)")
    a = p.parse_args(argv)
    if a.stage == "plan":
        print(plan(a.dataset))
    elif a.stage == "run":
        print(run(a.dataset, a.groups))
    else:
        print(grow(a.dataset, a.groups, a.rounds, a.held_out_rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
