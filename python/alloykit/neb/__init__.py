"""Vacancy-migration barriers with LAMMPS's climbing-image NEB, as in the paper's Methods.

For a vacancy made by removing atom i, each first neighbour j (8 in BCC, 12 in FCC) hops
into it: ΔE_ij. The initial state is relaxed once (positions and box to zero pressure);
each final state (j moved onto i's site) is relaxed in that box; the NEB uses spring
5 eV/Å, energy tolerance 0, force tolerance 0.001 eV/Å and a climbing image, with 11
replicas by default (enough for Fe_mm's double hump, where 5 give 0.54 instead of 0.63 eV).
The work is done by two LAMMPS scripts, ``inputs/in.neb_relax`` and ``inputs/in.neb``,
which also run by hand (``mpiexec -n 11 lmp -partition 11x1 -in inputs/in.neb -var ...``).

- :func:`vacancy_hops`: all hops of one vacancy of an ``ase.Atoms`` sample.
- :func:`plan_dataset` + :func:`launch` / :func:`run_farm`: a crash-safe dataset over
  many samples and sites, farmed over MPI groups of ``replicas`` ranks
  (``mpiexec -n N alloykit neb run ... --replicas R`` runs N/R NEBs at once). One run at
  a time per dataset (a second is refused, naming the holder's pid); a killed
  ``alloykit neb run`` (kill -9 too) takes its mpiexec job with it; rerun to resume.
- :func:`grid_samples`, :func:`composition_grid`, :func:`file_samples`: random solid
  solutions over a k-component simplex; CSRO samples from files (typed LAMMPS dumps and
  data files need ``species``, the element of each type).
- :func:`open_dataset`: reading it back; :func:`plot_spectrum`: barrier histograms.

The first neighbours of a vacancy are those of the lattice
(:func:`alloykit.structures.lattice_sites`), not those within a distance: 8 in BCC, 12 in
FCC, also under size mismatch or thermal displacement.

Dataset interface (``alloykit.neb.open_dataset(path) -> Dataset``)::

    ds = open_dataset("fecr.sqlite")
    len(ds)            # number of hop records (flagged ones included; ds.count() for usable)
    ds.species         # sorted element list, e.g. ["Cr", "Fe"]
    for r in ds.records(converged_only=True):   # alloykit.structures.HopRecord, usable hops only
        r.sample_id             # str
        r.composition           # {"Fe": 0.8, "Cr": 0.2}: the sample's atom fractions
        r.vacancy_site          # int: index (in the sample) of the removed atom i
        r.neighbor_site         # int: index of the hopping first neighbour j
        r.moving_species        # str: element of j
        r.barrier_forward       # eV: E_saddle - E_initial
        r.barrier_backward      # eV: E_saddle - E_final
        r.energy_initial, r.energy_final   # eV, relaxed end states (same box)
        r.converged, r.flag     # bool; "" when fine, else comma-separated flags (r.usable: both fine)
        r.env_positions         # (M, 3) A: atoms within env_cutoff of the vacancy site in
                                # the relaxed initial state, relative to the site, in the
                                # sample's Cartesian frame; the moving atom is included
        r.env_species           # [M] element symbols
        r.hop_vector            # (3,) A: vacancy site -> moving atom's initial position
        r.env_cutoff            # float, A (8.0 by default; NebSettings.env_cutoff)
        r.lattice               # "bcc" / "fcc", of the unrelaxed sample
        r.lattice_parameter     # A, conventional a of the unrelaxed sample (NaN in datasets
                                # written before it was stored)
        r.extra["mep_energies"] # [eV] every replica's energy minus the initial state's
        # also in r.extra: env_indices (sample index of each env atom; a periodic image can
        # repeat in small cells), env_moving_index (row of the moving atom in env_positions),
        # mep_coords, neb_steps, max_force, path_length, climbing_replica, replicas,
        # potential, error
    ds.arrays(); ds.to_ase(); ds.sample(sample_id)
    ds.export("out.jsonl")     # one r.to_dict() per line (HopRecord.from_dict reads it back)

The vacancy site is the removed atom's lattice site carried with the box relaxation
(its fractional position in the relaxed box). Flags are listed in
:mod:`alloykit.neb.driver`; ``records(converged_only=False)`` yields flagged records too,
whose barriers must not be used as such.
"""
from .driver import NebSettings, vacancy_hops
from .farm import launch, plan_dataset, run_farm
from .samples import choose_sites, composition_grid, file_samples, grid_samples
from .sites import hop_neighbours
from .store import Dataset, open_dataset


def plot_spectrum(dataset, out=None, bins: int = 30):
    """Histogram of forward barriers per moving species (the paper's barrier spectra).
    Returns (figure, summary dict); saves a PNG when ``out`` is given."""
    from .plots import spectrum

    return spectrum(dataset, out, bins)


__all__ = ["NebSettings", "vacancy_hops", "plan_dataset", "launch", "run_farm", "composition_grid",
           "grid_samples", "file_samples", "choose_sites", "hop_neighbours", "Dataset",
           "open_dataset", "plot_spectrum"]
