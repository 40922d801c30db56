"""A KMC run with outputs: samples of the observables, a trajectory, checkpoints, resume.

Files in ``out`` (all optional; nothing is written without ``out``):

* ``observables.jsonl``: one JSON line per sample (step, mean time, MSDs, D, f, and the
  Warren-Cowley alpha per pair and shell);
* ``trajectory.dump``: LAMMPS text dump of replica 0 every ``trajectory_every`` steps
  (ideal sites, vacancies left out; the dump's timestep is the KMC step);
* ``checkpoint.npz`` (see :mod:`.checkpoint`) every ``checkpoint_every`` steps and at the end;
  it records the byte lengths of the two files above, which a resume cuts back to, so a run
  killed and resumed writes exactly what an uninterrupted run writes;
* ``summary.json`` and ``kmc.png`` at the end.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from ..errors import InputError
from ..progress import Progress
from . import checkpoint as ckpt
from .engine import Kmc
from .observables import shell_steps, transport, warren_cowley

OBSERVABLES, TRAJECTORY, CHECKPOINT, SUMMARY = "observables.jsonl", "trajectory.dump", "checkpoint.npz", "summary.json"


def run_kmc(state, model, temperature: float, steps: int, nu: float = 1e13, seed: int = 0, out=None,
            sample_every: int | None = None, sro_every: int | None = None, sro_shells: int = 2,
            checkpoint_every: int | None = None, trajectory_every: int = 0, progress: bool = False,
            plot: bool = True) -> dict:
    """Run ``steps`` BKL events in every replica of ``state`` and return the summary
    (final observables, samples, timing). See the module doc for the files in ``out``.

    sample_every: steps between samples of MSD/D/f (default: steps // 100, at least 1);
    sro_every: steps between Warren-Cowley samples (default: sample_every; 0 for none),
    over ``sro_shells`` lattice shells. temperature in K, nu in Hz; time in s."""
    settings = {"temperature": float(temperature), "nu": float(nu), "seed": int(seed), "steps": int(steps),
                "sample_every": int(sample_every or max(1, int(steps) // 100)),
                "checkpoint_every": int(checkpoint_every or 0), "trajectory_every": int(trajectory_every or 0),
                "sro_shells": int(sro_shells)}
    settings["sro_every"] = settings["sample_every"] if sro_every is None else int(sro_every)
    if settings["steps"] < 0 or settings["sample_every"] < 1:
        raise InputError(f"steps: {steps} must be >= 0 and sample_every >= 1")
    kmc = Kmc(state, model, temperature, nu, seed)
    out = _prepare(out, fresh=True)
    return _drive(kmc, settings, out, [], progress, plot)


def resume_kmc(out, model, steps: int | None = None, progress: bool = False, plot: bool = True) -> dict:
    """Continue the run in ``out`` from its checkpoint, up to ``steps`` steps in all
    (default: the steps the run was started with). ``model`` must be the run's model."""
    out = Path(out)
    state, barrier, meta, model_arrays = ckpt.load(out / CHECKPOINT)
    settings = dict(meta["extra"]["settings"])
    if steps is not None:
        settings["steps"] = int(steps)
    kmc = Kmc(state, model, meta["temperature"], meta["nu"], barrier=barrier, rng_state=meta["rng"])
    if kmc.model.describe() != meta["model"]:
        raise InputError(f"{out / CHECKPOINT}: the run used barrier model {meta['model']}, "
                         f"not {kmc.model.describe()}")
    kmc.predictions = int(meta["predictions"])
    if model_arrays:
        if not hasattr(kmc.model, "restore_memory"):
            raise InputError(f"{out / CHECKPOINT}: holds a model memory that {type(kmc.model).__name__} cannot take")
        kmc.model.restore_memory(model_arrays)
    sizes = meta["extra"]["sizes"]
    for name, size in sizes.items():      # drop what was written after the checkpoint
        with open(out / name, "r+b") as f:
            f.truncate(size)
    samples = [json.loads(line) for line in (out / OBSERVABLES).read_text().splitlines() if line]
    return _drive(kmc, settings, out, samples, progress, plot)


def _prepare(out, fresh: bool):
    if out is None:
        return None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        for name in (OBSERVABLES, TRAJECTORY):
            (out / name).write_bytes(b"")
    return out


def _sample(kmc, settings, atom_kind, shells) -> dict:
    row = transport(kmc.state, atom_kind)
    every = settings["sro_every"]
    if every and kmc.state.steps_done % every == 0:
        row["alpha"] = warren_cowley(kmc.state, shells)
    return row


def _drive(kmc: Kmc, settings: dict, out, samples: list, progress: bool, plot: bool) -> dict:
    st = kmc.state
    atom_kind = st.species_of_atoms()
    shells = shell_steps(st.lattice, settings["sro_shells"]) if settings["sro_every"] else []
    if not samples:
        samples.append(_sample(kmc, settings, atom_kind, shells))
        _append(out, OBSERVABLES, json.dumps(samples[-1]) + "\n")
        if settings["trajectory_every"]:
            _append_frame(out, kmc)
    every = {k: settings[k] for k in ("sample_every", "checkpoint_every", "trajectory_every")}
    seconds, done0 = 0.0, st.steps_done
    with Progress("kmc", total=settings["steps"], enabled=progress) as bar:
        bar.done = st.steps_done
        while st.steps_done < settings["steps"]:
            n = settings["steps"] - st.steps_done
            for e in every.values():      # run to the next multiple of any interval
                if e:
                    n = min(n, e - st.steps_done % e)
            t0 = time.perf_counter()
            for _ in range(n):
                kmc.step()
            seconds += time.perf_counter() - t0
            bar.update(n, note=f"t = {st.time.mean():.3e} s")
            k = st.steps_done
            if k % every["sample_every"] == 0 or k == settings["steps"]:
                samples.append(_sample(kmc, settings, atom_kind, shells))
                _append(out, OBSERVABLES, json.dumps(samples[-1]) + "\n")
            if every["trajectory_every"] and k % every["trajectory_every"] == 0:
                _append_frame(out, kmc)
            if out is not None and every["checkpoint_every"] and k % every["checkpoint_every"] == 0:
                _checkpoint(out, kmc, settings)
    jumps = (st.steps_done - done0) * st.replicas
    summary = {"settings": settings, "lattice": st.lattice.kind, "a": st.lattice.a, "sites": st.lattice.n_sites,
               "replicas": st.replicas, "vacancies": st.n_vacancies, "species": st.species,
               "model": kmc.model.describe(), "steps": st.steps_done, "final": samples[-1],
               "predictions": kmc.predictions, "jumps_this_session": jumps,
               "ms_per_jump": 1e3 * seconds / jumps if jumps else None}
    if out is not None:
        _checkpoint(out, kmc, settings)
        (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n")
        if plot:
            from .plots import plot_run

            fig = plot_run(samples)
            fig.savefig(out / "kmc.png", dpi=120)
            import matplotlib.pyplot as plt

            plt.close(fig)
    summary["samples"] = samples
    return summary


def _checkpoint(out: Path, kmc, settings) -> None:
    sizes = {name: (out / name).stat().st_size for name in (OBSERVABLES, TRAJECTORY)}
    ckpt.save(out / CHECKPOINT, kmc, {"settings": settings, "sizes": sizes})


def _append(out, name: str, text: str) -> None:
    if out is not None:
        with open(out / name, "a") as f:
            f.write(text)


def _append_frame(out, kmc) -> None:
    """One frame of replica 0, through the structures layer's dump writer."""
    if out is None:
        return
    from ..structures import write_lammps_dump

    fd, tmp = tempfile.mkstemp(suffix=".dump", dir=out)
    os.close(fd)
    try:
        write_lammps_dump([kmc.state.to_atoms(0)], tmp, species=kmc.state.species, timesteps=[kmc.state.steps_done])
        with open(out / TRAJECTORY, "ab") as f, open(tmp, "rb") as g:
            f.write(g.read())
    finally:
        os.unlink(tmp)
