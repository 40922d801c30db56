"""NEB stage of ``alloykit demo``: a small Fe-20Cr barrier dataset with FeCr.cdeam (every
hop around a few random vacancy sites) and its spectrum per moving species. The dataset
is left in the demo folder for the CNN stage."""
from __future__ import annotations

import time


def stage(ctx) -> dict:
    import matplotlib.pyplot as plt

    from ..structures import random_solid_solution
    from .driver import NebSettings
    from .farm import launch, plan_dataset
    from .plots import spectrum
    from .samples import sample_seed
    from .store import Dataset

    size, sites, replicas = (4, 1, 5) if ctx.quick else (4, 12, 7)
    atoms = random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size, 2.8665, sample_seed(ctx.seed, 0))
    path = ctx.out / "neb_fecr.sqlite"
    for old in (path, *(path.with_name(path.name + ext) for ext in ("-wal", "-shm", ".lock"))):
        old.unlink(missing_ok=True)    # a demo starts afresh (a kept one may have another plan)
    settings = NebSettings(potential="FeCr", replicas=replicas)
    t0 = time.perf_counter()
    plan = plan_dataset(path, [("FeCr20-0", atoms)], sites, settings, seed=ctx.seed,
                        recipe={"kind": "demo", "size": size})
    status = launch(path, groups=1, quiet=True)
    seconds = time.perf_counter() - t0
    with Dataset(path) as ds:
        fig, summary = spectrum(ds)
        usable = ds.count(True)
    lines = [f"Random BCC Fe-20Cr, {len(atoms)}-site sample, FeCr.cdeam: every first-neighbour hop into "
             f"{plan['tasks']} random vacancy site(s), climbing-image NEB with {replicas} replicas "
             f"(spring 5 eV/Å, ftol 0.001 eV/Å): {status['hops']} hops, {usable} usable barriers, "
             f"flags {status['flags']}, {seconds:.0f} s on {replicas} MPI ranks."]
    for sp, s in summary["by_moving_species"].items():
        lines.append(f"- {sp} hops: {s['count']}, mean {s['mean_eV']:.3f} eV, std {s['std_eV']:.3f}, "
                     f"range {s['min_eV']:.3f}-{s['max_eV']:.3f} eV")
    lines.append(f"The dataset (`{path.name}`, SQLite; `alloykit neb export` writes JSON lines) is kept "
                 "for the CNN stage.")
    ctx.say("\n".join(lines))
    name = ctx.savefig(fig, "neb_spectrum.png")
    plt.close("all")
    return {"dataset": str(path), "natoms": len(atoms), "vacancies": plan["tasks"], "replicas": replicas,
            "hops": status["hops"], "usable_barriers": usable, "flags": status["flags"],
            "by_moving_species": summary["by_moving_species"], "plot": name, "neb_seconds": seconds}
