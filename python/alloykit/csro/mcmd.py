"""Hybrid Monte Carlo / molecular dynamics in LAMMPS (the paper's CSRO protocol).

MD with a Nose-Hoover thermostat (``fix nvt``, or ``fix npt`` at zero pressure) plus one
``fix atom/swap`` per species pair: by default 30 swap trials every 100 MD steps at
300 K (Metropolis at the MD temperature, kinetic energy conserved). ``fix sgcmc`` can be
added for semi-grand-canonical (or variance-constrained) runs.

The run is cut into segments of ``record_every`` steps. After each segment the driver
records potential energy, temperature, pressure, volume, swap acceptance ratios and the
SRO (alpha, delta per shell and pair, on the sites of the starting lattice) as one line
of ``records.jsonl``; every ``checkpoint_every`` steps it writes a LAMMPS restart file.
LAMMPS restart files hold the state of the thermostat and of every ``fix atom/swap``
(random-number state, next swap step, counters), and the driver repeats exactly the same
commands when it resumes, so a resumed run gives the same trajectory as an uninterrupted
one with the same seed (checked in the tests, also under MPI). ``fix sgcmc`` keeps no
restart state, so it is re-created with a seed derived from (seed, step) at every
checkpoint, in uninterrupted and resumed runs alike.

Barrier spectra (the paper's Fig. 4): with ``barrier_model`` (a CNN model folder or a file
for ``compute mliap/unified/atom``) and ``spectra_every``, the driver defines that compute
in LAMMPS and, every ``spectra_every`` steps, records the predicted barriers of every
first-neighbour hop into a vacancy at every site, per moving species: count, mean, standard
deviation and a histogram on fixed bins (``spectra_range``, ``spectra_bins``; barriers
outside the range go to the end bins). The movers' species come from the starting lattice
(swaps move species between fixed sites). The compute needs ghost atoms out to the model's
cutoff plus the skin, so such a run sets ``comm_modify cutoff``; more ghosts change the
rounding of the trajectory, so that cutoff is part of the protocol of a resumed run.

Checkpoints are one atomic step: LAMMPS writes ``checkpoint.<step>.restart`` (a new name
each time), then ``checkpoint.json`` (step, record count, the restart's name, size and
SHA-256) replaces the previous one by a rename, and only then is the previous restart
removed. Whenever the run dies, ``checkpoint.json`` names a whole restart of its own step;
a resume checks that match (and LAMMPS's step after reading it), drops the records past
the checkpoint and a half-written last line of ``records.jsonl`` (with a note), and refuses
files that do not fit together.

NVT runs at the volume of the starting structure: when the pressure at the first record
1 ps into the run (or at its end, if sooner) exceeds 1 GPa (``NVT_PRESSURE_NOTE_BAR``),
the run warns (a note on the command line) and points to NPT: at high temperature a 0 K
volume is far from zero pressure.

Files in ``out``: settings.json, initial.extxyz, records.jsonl, checkpoint.<step>.restart
+ checkpoint.json, log.<first step>.lammps, dumps/frame.<step>.lammpstrj.gz,
final.extxyz, spectra.png (with spectra), summary.json (written even when the run stops on
an error).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..lmp import Lammps, get_potential, quote_path
from ..parallel import agree, make_folder
from ..structures import NotCrystalline, lattice_sites, random_solid_solution, species_of

# settings that change the trajectory: a resume must use the same values
PROTOCOL = ("temperature", "timestep", "ensemble", "pressure", "tdamp", "pdamp", "swap_every",
            "swap_trials", "sgcmc", "record_every", "checkpoint_every", "seed")
SEED_MAX = 899_999_999        # LAMMPS' RanPark/RanMars seeds must stay below 900,000,000
SKIN = 1.0                    # neighbour skin of the run (A)
NVT_PRESSURE_NOTE_BAR = 1e4   # |P| above this (1 GPa) in NVT: suggest NPT
PRESSURE_CHECK_PS = 1.0       # ... judged at the first record this long into a session (the
                              # thermostat needs ~1 ps to heat the lattice; earlier is too low)


@dataclass
class McmdSettings:
    """Protocol of one MC/MD run (paper defaults: 300 K, 30 swaps per pair every 100 steps).

    temperature: K (MD thermostat and Metropolis). timestep: ps. ensemble: "nvt" or "npt"
    (isotropic, at ``pressure`` bar). tdamp, pdamp: ps (None: 100 and 1000 timesteps).
    swap_trials: atom/swap trials per species pair every ``swap_every`` steps (0: none).
    sgcmc: None or {"deltamu": [mu1-mu2, ...], "every": steps, "fraction": f,
    "variance": [kappa, c2, ...] (optional)} for ``fix sgcmc``.
    record_every: steps between records (and segment length); checkpoint_every: steps
    between restart files (a multiple of record_every; 0: only at the end);
    dump_every: steps between dump frames (0: none). shells: SRO shells recorded (0: no SRO).
    converge_window, converge_tol: PE convergence test (see :func:`pe_convergence`);
    stop_when_converged: end the run at the first record that passes it.
    inherent: also record the inherent PE (energy after quenching a copy; slow).
    barrier_model: CNN model folder or ``compute mliap/unified/atom`` model file (None: no
    spectra). spectra_every: steps between barrier spectra (a multiple of record_every; 0:
    none). spectra_range, spectra_bins: histogram bins (eV).
    """

    temperature: float = 300.0
    steps: int = 20000
    timestep: float = 0.002
    ensemble: str = "nvt"
    pressure: float = 0.0
    tdamp: float | None = None
    pdamp: float | None = None
    swap_every: int = 100
    swap_trials: int = 30
    sgcmc: dict | None = None
    record_every: int = 1000
    checkpoint_every: int = 10000
    dump_every: int = 0
    shells: int = 3
    converge_window: int = 10
    converge_tol: float = 1e-4
    stop_when_converged: bool = False
    inherent: bool = False
    seed: int = 0
    barrier_model: str | None = None
    spectra_every: int = 0
    spectra_range: tuple = (0.0, 2.0)
    spectra_bins: int = 80

    def __post_init__(self):
        self.check()

    @property
    def tdamp_ps(self) -> float:
        return 100 * self.timestep if self.tdamp is None else self.tdamp

    @property
    def pdamp_ps(self) -> float:
        return 1000 * self.timestep if self.pdamp is None else self.pdamp

    def check(self) -> None:
        def positive(name, integer=False, zero_ok=False):
            v = getattr(self, name)
            ok = (v >= 0 if zero_ok else v > 0) and np.isfinite(v)
            if not ok or (integer and int(v) != v):
                kind = "an integer" if integer else "a number"
                raise InputError(f"{name}: must be {kind} {'>= 0' if zero_ok else '> 0'}, got {v}")
        for name in ("temperature", "timestep") + tuple(n for n in ("tdamp", "pdamp") if getattr(self, n) is not None):
            positive(name)
        for name in ("steps", "swap_every", "record_every", "converge_window"):
            positive(name, integer=True)
        for name in ("swap_trials", "checkpoint_every", "dump_every", "shells", "spectra_every"):
            positive(name, integer=True, zero_ok=True)
        positive("spectra_bins", integer=True)
        lo, hi = (float(v) for v in self.spectra_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise InputError(f"spectra_range: need two numbers lo < hi (eV), got {list(self.spectra_range)}")
        self.spectra_range = [lo, hi]
        if self.spectra_every:
            if self.barrier_model is None:
                raise InputError("barrier_model: spectra_every needs a barrier model (CNN folder or model file)")
            if self.spectra_every % self.record_every:
                raise InputError(f"spectra_every: {self.spectra_every} is not a multiple of "
                                 f"record_every ({self.record_every})")
        if self.ensemble not in ("nvt", "npt"):
            raise InputError(f"ensemble: {self.ensemble!r} is not 'nvt' or 'npt'")
        if self.checkpoint_every % self.record_every:
            raise InputError(f"checkpoint_every: {self.checkpoint_every} is not a multiple of "
                             f"record_every ({self.record_every})")
        if not np.isfinite(self.pressure):
            raise InputError(f"pressure: {self.pressure} is not a number")
        if self.sgcmc is not None:
            unknown = set(self.sgcmc) - {"deltamu", "every", "fraction", "variance"}
            if unknown or "deltamu" not in self.sgcmc:
                raise InputError("sgcmc: needs 'deltamu' and accepts every, fraction, variance; "
                                 f"got {sorted(self.sgcmc)}")

    def protocol(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in PROTOCOL}


def lammps_seed(seed: int) -> int:
    """The base seed given to LAMMPS (positive and below 900,000,000) for a user seed."""
    return int(seed) % SEED_MAX + 1


def swap_seed(base: int, i: int, j: int) -> int:
    """Seed of ``fix atom/swap`` for types i < j (the same formula is in inputs/in.mcmd)."""
    return (base + 7919 * (100 * i + j)) % SEED_MAX + 1


def md_commands(s: McmdSettings, species: list, present: list) -> list[str]:
    """The thermostat/barostat and atom/swap fixes (identical for fresh and resumed runs)."""
    base = lammps_seed(s.seed)
    t = repr(float(s.temperature))
    cmds = [f"timestep {float(s.timestep)!r}"]
    if s.ensemble == "nvt":
        cmds.append(f"fix ak_md all nvt temp {t} {t} {float(s.tdamp_ps)!r}")
    else:
        p = repr(float(s.pressure))
        cmds.append(f"fix ak_md all npt temp {t} {t} {float(s.tdamp_ps)!r} iso {p} {p} {float(s.pdamp_ps)!r}")
    for i, j in swap_pairs(species, present) if s.swap_trials else ():
        cmds.append(f"fix ak_swap_{i}_{j} all atom/swap {int(s.swap_every)} {int(s.swap_trials)} "
                    f"{swap_seed(base, i, j)} {t} ke yes types {i} {j}")
    return cmds


def swap_pairs(species: list, present: list) -> list[tuple[int, int]]:
    """LAMMPS type pairs (i < j) of the species present in the sample."""
    types = [k + 1 for k, s in enumerate(species) if s in present]
    return [(i, j) for n, i in enumerate(types) for j in types[n + 1:]]


def sgcmc_command(s: McmdSettings, n_types: int, step: int) -> str:
    g = s.sgcmc
    mu = [float(v) for v in np.atleast_1d(g["deltamu"])]
    if len(mu) != n_types - 1:
        raise InputError(f"sgcmc: deltamu needs {n_types - 1} values (mu_1 - mu_k, k = 2..{n_types}), got {len(mu)}")
    seg = step // s.checkpoint_every if s.checkpoint_every else 0
    seed = (lammps_seed(s.seed) + 104729 * (seg + 1)) % SEED_MAX + 1
    words = [f"fix ak_sgcmc all sgcmc {int(g.get('every', s.swap_every))} {float(g.get('fraction', 0.1))!r}",
             repr(float(s.temperature)), *map(repr, mu), f"randseed {seed}"]
    if g.get("variance") is not None:
        words += ["variance", *(repr(float(v)) for v in g["variance"])]
    return " ".join(words)


def pe_convergence(pe_per_atom, window: int, tol: float) -> dict | None:
    """Compare the mean PE per atom of the last ``window`` records with the window before.

    Converged when ``|mean2 - mean1| <= tol + 2 * stderr`` (stderr from the scatter inside
    both windows: a difference that the thermal noise explains is no drift). None until
    there are 2 * window records.
    """
    e = np.asarray(pe_per_atom, dtype=float)
    if len(e) < 2 * window:
        return None
    w1, w2 = e[-2 * window:-window], e[-window:]
    drift = float(w2.mean() - w1.mean())
    err = float(np.sqrt(w1.var(ddof=1) / window + w2.var(ddof=1) / window)) if window > 1 else 0.0
    return {"drift_ev_per_atom": drift, "stderr": err, "converged": abs(drift) <= tol + 2 * err}


@dataclass
class McmdResult:
    out: Path
    records: list
    summary: dict
    final: object = field(default=None, repr=False)   # ase.Atoms (rank 0)


class _Run:
    """State of one MC/MD run (fresh or resumed) on one LAMMPS instance."""

    def __init__(self, settings: McmdSettings, potential, out: Path, comm, progress: bool, lattice=None):
        self.s, self.pot, self.out, self.comm = settings, get_potential(potential), out, comm
        self.lattice = lattice          # lattice kind insisted on for the SRO shells (None: any)
        self.rank = comm.Get_rank() if comm is not None else 0
        self.progress = progress and self.rank == 0
        self.records: list = []
        self.notes: list = []           # warnings of this session, also in summary.json
        self.lmp = self.shells = None
        self.t0 = time.perf_counter()
        self.barrier = self.movers = self.comm_cutoff = None   # barrier spectra (see module doc)
        if settings.spectra_every:
            from ..cnn.lammps_model import load_atom_model

            self.barrier = load_atom_model(settings.barrier_model)
            self.comm_cutoff = float(np.ceil((self.barrier.cutoff + SKIN) * 100 + 1) / 100)

    # --- files (rank 0) --------------------------------------------------------------
    def write_json(self, name: str, obj) -> None:
        if self.rank == 0:
            tmp = self.out / (name + ".tmp")
            tmp.write_text(json.dumps(obj, indent=1))
            os.replace(tmp, self.out / name)

    def append_record(self, rec: dict) -> None:
        self.records.append(rec)
        if self.rank == 0:
            with open(self.out / "records.jsonl", "a") as f:
                f.write(json.dumps(rec) + "\n")

    def bcast(self, value):
        return self.comm.bcast(value, root=0) if self.comm is not None else value

    # --- LAMMPS ------------------------------------------------------------------------
    def start_lammps(self, step: int) -> Lammps:
        return Lammps(comm=self.comm, log=str(self.out / f"log.{step}.lammps"))

    def setup(self, species: list, present: list, step: int) -> None:
        """Everything after the atoms exist: potential, neighbours, fixes, output."""
        lmp, s = self.lmp, self.s
        lmp.commands(self.pot.commands(species))
        lmp.commands([f"neighbor {SKIN} bin", "neigh_modify every 1 delay 0 check yes"])
        if self.comm_cutoff is not None:        # part of the protocol: set again on resume
            lmp.command(f"comm_modify cutoff {self.comm_cutoff!r}")
        if self.barrier is not None:
            self.define_barrier_compute(species, present)
        lmp.commands(md_commands(s, species, present))
        self.pairs = swap_pairs(species, present) if s.swap_trials else []
        if s.sgcmc is not None:
            lmp.command(sgcmc_command(s, len(species), step))
        lmp.commands([f"thermo {int(s.record_every)}", "thermo_style custom step temp pe press vol",
                      "thermo_modify norm no"])
        if s.dump_every:
            (self.out / "dumps").mkdir(exist_ok=True)
            path = quote_path((self.out / "dumps").resolve() / "frame.*.lammpstrj.gz", "out")
            lmp.commands([f"dump ak_dump all custom/gz {int(s.dump_every)} {path} id type element x y z",
                          f"dump_modify ak_dump element {' '.join(species)} sort id"])

    def define_barrier_compute(self, species: list, present: list) -> None:
        from ..mliap import load_peratom

        known = set(self.barrier.element_types)
        missing = sorted(set(present) - known)
        if missing:
            raise InputError(f"barrier_model: the sample has {missing} but the model knows only "
                             f"{sorted(known)}")
        load_peratom(self.lmp, self.barrier)
        names = " ".join(sp if sp in known else "NULL" for sp in species)
        self.lmp.command(f"compute ak_bar all mliap/unified/atom LATER {names}")

    def spectra(self, species: list, types: np.ndarray) -> dict | None:
        """Barrier histograms per moving species at this step (collective; rank 0 counts)."""
        nn = self.barrier.n_outputs
        values = np.asarray(self.lmp.raw.gather("c_ak_bar", 1, nn), float).reshape(-1, nn)
        if self.rank != 0:
            return None
        lo, hi = self.s.spectra_range
        movers = self.movers
        moving = np.where(movers >= 0, types[np.maximum(movers, 0)], -1)
        out = {}
        for t, sp in enumerate(species):
            v = values[(moving == t) & np.isfinite(values)]
            if not len(v):
                continue
            hist, _ = np.histogram(np.clip(v, lo, hi), self.s.spectra_bins, (lo, hi))
            out[sp] = {"n": int(len(v)), "mean": float(v.mean()), "std": float(v.std()), "hist": hist.tolist()}
        return out

    def fix_vector(self, fix_id: str, n: int) -> list[float]:
        return [float(self.lmp.raw.extract_fix(fix_id, 0, 1, k)) for k in range(n)]

    def record(self, species: list, last: dict | None) -> dict:
        lmp = self.lmp
        th = lmp.raw.last_thermo()
        n = lmp.natoms
        rec = {"step": int(th["Step"]), "time_ps": int(th["Step"]) * self.s.timestep, "pe": float(th["PotEng"]),
               "pe_per_atom": float(th["PotEng"]) / n, "temperature": float(th["Temp"]),
               "pressure_bar": float(th["Press"]), "volume": float(th["Volume"])}
        swaps = {}
        for i, j in self.pairs:
            att, acc = self.fix_vector(f"ak_swap_{i}_{j}", 2)
            label = f"{species[i - 1]}-{species[j - 1]}"
            prev = (last or {}).get("swaps", {}).get(label, {"attempts": 0, "accepted": 0})
            d_att, d_acc = att - prev["attempts"], acc - prev["accepted"]
            swaps[label] = {"attempts": att, "accepted": acc, "ratio": acc / att if att else None,
                            "ratio_window": d_acc / d_att if d_att > 0 else None}
        if swaps:
            rec["swaps"] = swaps
        if self.s.sgcmc is not None:
            v = self.fix_vector("ak_sgcmc", 2 + len(species))
            tried = v[0] + v[1]
            rec["sgcmc"] = {"accepted": v[0], "rejected": v[1], "ratio": v[0] / tried if tried else None,
                            "concentrations": dict(zip(species, v[2:]))}
        types = np.ctypeslib.as_array(lmp.raw.gather_atoms("type", 0, 1)).astype(np.int64) - 1
        if self.s.inherent:
            rec["pe_inherent"] = self.inherent_pe(species)
        if self.barrier is not None and rec["step"] % self.s.spectra_every == 0:
            rec["barriers"] = self.bcast(self.spectra(species, types))
        if self.s.shells:
            sro = None
            if self.rank == 0:
                from .sro import sro_from_types

                r = sro_from_types(types, species, self.shells).to_dict()
                sro = {"alpha": r["alpha"], "delta": r["delta"], "concentrations": r["concentrations"]}
            rec["sro"] = self.bcast(sro)        # the same records on every rank
        rec["wall_s"] = round(time.perf_counter() - self.t0, 3)
        return rec

    def inherent_pe(self, species: list) -> float:
        from ..lmp import get_atoms, relax

        atoms = get_atoms(self.lmp, species)
        quenched = relax(atoms, self.pot, ftol=1e-4, etol=1e-10, maxiter=2000, species=species, comm=self.comm)
        return float(quenched.get_potential_energy())

    def checkpoint(self, step: int) -> None:
        """The restart under a name of its own, then the commit: checkpoint.json replaced
        by a rename (see the module doc). The previous restart goes only after that."""
        name = f"checkpoint.{step}.restart"
        self.lmp.command(f"write_restart {quote_path((self.out / name).resolve(), 'out')}")
        if self.rank == 0:
            _fsync(self.out / name)
            state = {"step": step, "n_records": len(self.records), "restart": name,
                     **_file_digest(self.out / name)}
            tmp = self.out / "checkpoint.json.tmp"
            with open(tmp, "w") as f:
                f.write(json.dumps(state, indent=1))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.out / "checkpoint.json")
            for old in _restarts(self.out):
                if old.name != name:
                    old.unlink(missing_ok=True)


def _restarts(out: Path) -> list[Path]:
    """Restart files of this run's checkpoints (the one-name form of older runs included)."""
    return sorted(out.glob("checkpoint.*restart"))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _file_digest(path: Path) -> dict:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": h.hexdigest()}


def run_mcmd(atoms=None, potential=None, out="mcmd_out", settings: McmdSettings | None = None,
             resume: bool = False, species=None, comm=None, progress: bool = True, on_record=None,
             lattice: str | None = None, **overrides) -> McmdResult:
    """Age ``atoms`` by hybrid MC/MD in LAMMPS; returns records and a summary.

    settings: :class:`McmdSettings` (keyword ``overrides`` replace its fields, e.g.
    ``temperature=600, steps=5000``). resume: continue the run in ``out`` from its last
    checkpoint (``atoms`` is then ignored; settings default to the saved ones, the protocol
    must match; ``steps`` may grow, output settings may change).
    potential: a named potential (``alloykit potentials``) or a :class:`~alloykit.lmp.Potential`;
    needed for a fresh run, a resumed one defaults to the run's own (when it was a named one).
    species: element of each LAMMPS type (default: the sample's elements, sorted).
    lattice: "bcc" or "fcc" to insist on for the SRO shells (default: recognised).
    comm: mpi4py communicator (run under ``mpiexec -n N``; rank 0 writes the files).
    on_record: called with each record dict; returning True ends the run (after a
    checkpoint). A partial run keeps every file written so far.
    """
    saved = Path(out) / "settings.json"
    saved = json.loads(saved.read_text()) if resume and saved.exists() else {}
    if settings is None and saved:      # continue with the saved protocol unless overridden
        settings = McmdSettings(**saved["settings"])
    potential = saved.get("potential") if potential is None else potential
    if potential is None:
        raise InputError(f"resume: no checkpoint in {out}" if resume else
                         "potential: name the potential of the run (see 'alloykit potentials')")
    settings = settings or McmdSettings()
    if overrides:
        valid = {f.name for f in fields(McmdSettings)}
        bad = sorted(set(overrides) - valid)
        if bad:
            raise TypeError(f"run_mcmd: unknown setting(s) {bad}")
        d = asdict(settings)
        d.update(overrides)
        settings = McmdSettings(**d)
    out = Path(out)
    run = _Run(settings, potential, out, comm, progress, saved.get("lattice", lattice) if resume else lattice)
    make_folder(comm, out, "out")
    try:
        start, species, present = _resume(run) if resume else _fresh(run, atoms, species)
        status = _loop(run, start, species, present, on_record)
        return _finish(run, species, status)
    except BaseException as e:
        # records, dumps and the last checkpoint stay; the summary says why it stopped
        run.write_json("summary.json", _summary(run, f"stopped: {type(e).__name__}: {e}"))
        raise
    finally:
        if run.lmp is not None:
            run.lmp.close()


def _fresh(run: _Run, atoms, species):
    import ase.io

    from ..lmp.structure import put_atoms

    # checks and rank-0 files: any rank may fail, all must learn it before LAMMPS starts
    with agree(run.comm, "checking the sample and writing its files"):
        if atoms is None:
            raise InputError("atoms: a structure is needed unless resume=True")
        species = species_of(atoms, species)
        run.pot.check(species)
        present = sorted(set(atoms.get_chemical_symbols()))
        s = run.s
        if run.rank == 0:
            for stale in ["records.jsonl", "checkpoint.json", "summary.json", *_restarts(run.out)]:
                (run.out / stale).unlink(missing_ok=True)      # a new run in an old folder
            ase.io.write(run.out / "initial.extxyz", atoms, format="extxyz", parallel=False)
            run.write_json("settings.json", {"settings": asdict(s), "potential": run.pot.name, "species": species,
                                             "n_atoms": len(atoms), "lammps_seed": lammps_seed(s.seed),
                                             "lattice": run.lattice, "comm_cutoff": run.comm_cutoff})
        run.shells = _shells(run, atoms)
        run.movers = _spectra_movers(run, atoms)
    run.lmp = run.start_lammps(0)
    run.lmp.commands(["units metal", "atom_style atomic", "atom_modify map array"])
    put_atoms(run.lmp, atoms, species)
    run.setup(species, present, 0)
    t = repr(float(s.temperature))
    run.lmp.command(f"velocity all create {t} {lammps_seed(s.seed)} mom yes rot yes dist gaussian loop geom")
    run.lmp.command("run 0")
    run.append_record(run.record(species, None))
    return 0, species, present


def _shells(run: _Run, atoms):
    """Lattice shells of the starting structure (rank 0): swaps keep atoms on their sites."""
    if not run.s.shells or run.rank != 0:
        return None
    try:
        return lattice_sites(atoms, run.s.shells, run.lattice)
    except NotCrystalline as e:
        raise NotCrystalline(f"{e}; SRO along the run needs a BCC/FCC sample (or shells=0)") from None


def _spectra_movers(run: _Run, atoms):
    """(N, nn) atom on the neighbouring site of every site, in the compute's column order
    (rank 0): from the starting lattice, which swaps keep."""
    if run.barrier is None or run.rank != 0:
        return None
    from ..cnn.lammps_model import fit_orientation

    kind = run.barrier.model.lattice
    try:
        _, movers, vec = lattice_sites(atoms, 1, kind).hops()
    except NotCrystalline as e:
        raise NotCrystalline(f"{e}; barrier spectra need a {kind.upper()} sample") from None
    R, _ = fit_orientation(vec, kind)
    columns = run.barrier.hop_directions() @ R.T
    return movers[:, np.argmax(columns @ vec.T, axis=1)]


def _resume(run: _Run):
    import ase.io

    with agree(run.comm, "reading the checkpointed run"):    # every rank reads; rank 0 writes
        out, s = run.out, run.s
        try:
            saved = json.loads((out / "settings.json").read_text())
            ckpt = json.loads((out / "checkpoint.json").read_text())
        except FileNotFoundError:
            raise InputError(f"resume: no checkpoint in {out}") from None
        old = McmdSettings(**saved["settings"]).protocol()
        for key, value in s.protocol().items():
            if old[key] != value:
                raise InputError(f"resume: {key} is {value!r} but the checkpointed run used {old[key]!r}")
        if saved["potential"] != run.pot.name:
            raise InputError(f"resume: potential {run.pot.name} but the run used {saved['potential']}")
        species = saved["species"]
        initial = ase.io.read(out / "initial.extxyz", parallel=False)
        present = sorted(set(initial.get_chemical_symbols()))
        step = int(ckpt["step"])
        restart = _checked_restart(out, ckpt)
        run.records = _records_until(out / "records.jsonl", ckpt, run.rank == 0)
        if run.rank == 0:
            saved["settings"]["steps"] = s.steps
            run.write_json("settings.json", saved)
            tmp = out / "records.jsonl.tmp"
            tmp.write_text("".join(json.dumps(r) + "\n" for r in run.records))
            os.replace(tmp, out / "records.jsonl")
            for orphan in _restarts(out):        # written by a run that died before its commit
                if orphan != restart:
                    orphan.unlink(missing_ok=True)
        if saved.get("comm_cutoff") is not None or run.comm_cutoff is not None:
            need, had = run.comm_cutoff, saved.get("comm_cutoff")
            if need is not None and (had is None or need > had):
                raise InputError(f"resume: barrier spectra need ghost atoms out to {need} A but the run was started "
                                 f"with {had or 'the potential cutoff'}; more ghosts change the trajectory's "
                                 "rounding, so start a new run with spectra")
            run.comm_cutoff = had
        run.shells = _shells(run, initial)
        run.movers = _spectra_movers(run, initial)
    run.lmp = run.start_lammps(step)
    run.lmp.commands(["units metal", "atom_style atomic", "atom_modify map array",
                      f"read_restart {quote_path(restart.resolve(), 'out')}"])
    at = int(run.lmp.raw.extract_global("ntimestep"))
    if at != step:
        raise InputError(f"resume: {restart} is at step {at} but {out / 'checkpoint.json'} says {step}")
    run.setup(species, present, step)
    return step, species, present


def _checked_restart(out: Path, ckpt: dict) -> Path:
    """The restart file checkpoint.json names, checked against its size and digest."""
    restart = out / ckpt.get("restart", "checkpoint.restart")     # older runs: one fixed name
    if not restart.is_file():
        raise InputError(f"resume: {restart} (named by {out / 'checkpoint.json'}) is missing")
    if "sha256" in ckpt and _file_digest(restart) != {"bytes": ckpt["bytes"], "sha256": ckpt["sha256"]}:
        raise InputError(f"resume: {restart} is not the file {out / 'checkpoint.json'} was written for "
                         "(changed or damaged)")
    return restart


def _records_until(path: Path, ckpt: dict, note: bool) -> list[dict]:
    """The records up to the checkpoint's step, checked against its count. Records past it
    are recomputed (identically) and dropped, like a half-written last line (a run killed
    while writing it); a damaged line before the end is an error naming it."""
    step, lines = int(ckpt["step"]), path.read_text().split("\n") if path.exists() else []
    if lines and lines[-1] == "":
        lines.pop()
    records, torn = [], False
    for k, line in enumerate(lines):
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or not isinstance(rec.get("step"), int):
                raise ValueError("no step")
        except ValueError:
            if k == len(lines) - 1:
                torn = True
                break
            raise InputError(f"resume: {path} line {k + 1}: not a record of this run") from None
        records.append(rec)
    kept = [r for r in records if r["step"] <= step]
    if note and (torn or len(kept) < len(records)):
        warnings.warn(f"resume: {path.name}: dropped {len(records) - len(kept)} record(s) past the checkpoint at "
                      f"step {step}" + (" and a half-written last line" if torn else "") + "; recomputing them",
                      stacklevel=2)
    expected = ckpt.get("n_records", len(kept))
    if len(kept) != expected or (kept and kept[-1]["step"] != step):
        raise InputError(f"resume: {path} has {len(kept)} records up to step {step}, the checkpoint expects "
                         f"{expected}; these files do not belong together (start a new run)")
    return kept


def _loop(run: _Run, step: int, species, present, on_record) -> str:
    from ..progress import Progress

    s = run.s
    check_at = step + int(np.ceil(PRESSURE_CHECK_PS / s.timestep))    # this session's pressure check
    with Progress("mcmd", total=s.steps, enabled=run.progress) as bar:
        bar.done = step
        while step < s.steps:
            n = min(s.record_every, s.steps - step)
            if s.sgcmc is not None and s.checkpoint_every and step % s.checkpoint_every == 0 and step > 0:
                run.lmp.commands(["unfix ak_sgcmc", sgcmc_command(s, len(species), step)])
            run.lmp.command(f"run {n}")
            step += n
            rec = run.record(species, run.records[-1] if run.records else None)
            conv = pe_convergence([r["pe_per_atom"] for r in run.records + [rec]], s.converge_window, s.converge_tol)
            if conv is not None:
                rec["convergence"] = conv
            run.append_record(rec)
            stop = bool(conv and conv["converged"] and s.stop_when_converged)
            error = None
            if on_record is not None and run.rank == 0:
                try:
                    stop = bool(on_record(rec)) or stop
                except BaseException as e:     # all ranks must leave LAMMPS together
                    error = e
            stop, failed = run.bcast((stop, error is not None))
            if failed:
                raise error if error is not None else RuntimeError("on_record raised on rank 0")
            if check_at is not None and (step >= check_at or step >= s.steps or stop):
                if run.rank == 0:
                    _pressure_note(run, rec)
                check_at = None
            if stop or step >= s.steps or (s.checkpoint_every and step % s.checkpoint_every == 0):
                run.checkpoint(step)
            bar.update(n, note=f"PE {rec['pe_per_atom']:.5f} eV/atom")
            if stop:
                return "stopped early (converged)" if conv and conv["converged"] else "stopped by callback"
    return "completed"


def _pressure_note(run: _Run, rec: dict) -> None:
    """NVT keeps the starting volume: say so when it is far from this temperature's."""
    p = rec["pressure_bar"]
    if run.s.ensemble == "nvt" and abs(p) > NVT_PRESSURE_NOTE_BAR:
        text = (f"NVT at the starting volume: pressure {p / 1e4:+.1f} GPa at {run.s.temperature:g} K at "
                f"step {rec['step']} (beyond {NVT_PRESSURE_NOTE_BAR / 1e4:g} GPa); for this temperature's volume use "
                "NPT (--ensemble npt, or ensemble='npt')")
        run.notes.append(text)
        warnings.warn(text, stacklevel=2)


def _summary(run: _Run, status: str) -> dict:
    recs = run.records
    conv_at = next((r["step"] for r in recs if r.get("convergence", {}).get("converged")), None)
    wall = time.perf_counter() - run.t0
    steps_done = (recs[-1]["step"] - recs[0]["step"]) if len(recs) > 1 else 0
    return {"status": status, "settings": asdict(run.s), "potential": run.pot.name,
            "steps_done": recs[-1]["step"] if recs else 0, "records": len(recs),
            "pe_first": recs[0]["pe"] if recs else None, "pe_last": recs[-1]["pe"] if recs else None,
            "converged_at_step": conv_at, "last_convergence": recs[-1].get("convergence") if recs else None,
            "swaps_last": recs[-1].get("swaps") if recs else None,
            "sro_first": recs[0].get("sro") if recs else None, "sro_last": recs[-1].get("sro") if recs else None,
            "barriers_last": next((r["barriers"] for r in reversed(recs) if "barriers" in r), None),
            "notes": run.notes, "wall_s": round(wall, 2), "steps_per_s_this_session": round(steps_done / wall, 2) if wall > 0 else None}


def _finish(run: _Run, species, status: str) -> McmdResult:
    import ase.io

    from ..lmp import get_atoms

    final = get_atoms(run.lmp, species)       # collective
    summary = _summary(run, status)
    if run.rank == 0:
        ase.io.write(run.out / "final.extxyz", final, format="extxyz", parallel=False)
        run.write_json("summary.json", summary)
        if any("barriers" in r for r in run.records):
            from .plots import plot_spectra

            plot_spectra(run.records, run.s.spectra_range).savefig(run.out / "spectra.png", dpi=110,
                                                                    bbox_inches="tight")
    return McmdResult(run.out, run.records, summary, final)


def write_pair_include(potential, species, path) -> Path:
    """The pair_style/pair_coeff lines of ``potential`` for ``species`` as a file for the
    ``pot`` variable of inputs/in.mcmd."""
    path = Path(path)
    path.write_text("\n".join(get_potential(potential).commands(list(species))) + "\n")
    return path


def fecr_default(size=(6, 6, 6), seed: int = 0, a: float = 2.8665):
    """The project's default sample: random BCC Fe-20Cr. a = 2.8665 A is FeCr.cdeam's
    zero-pressure value at 0 K (2.863 A, relaxed 432-atom sample) plus ~0.1 % for thermal
    expansion at a few hundred K; use NPT for the exact value at a temperature."""
    return random_solid_solution("bcc", {"Fe": 0.8, "Cr": 0.2}, size=size, a=a, seed=seed)
