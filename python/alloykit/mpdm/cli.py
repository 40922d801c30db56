"""``alloykit mpdm ...``: meta-structure tables, the most probable distribution, counting
frames, and meta-structure energies / chemical potentials. JSON + PNG into --out."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .. import cliopts
from ..errors import InputError, one_line
from ..structures import check_species, parse_composition
from .enumerate import meta_table

_F = argparse.RawDescriptionHelpFormatter


def _out(args) -> Path:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def _write(path: Path, data, quiet: bool) -> None:
    path.write_text(json.dumps(data, indent=1))
    if not quiet:
        print(f"wrote {path}", file=sys.stderr)


def _composition(text: str, names: list[str] | None):
    """(fractions, names) from a composition (structures.parse_composition: Fe=0.8,Cr=0.2,
    Fe80Cr20) or from the forms of the paper: a bare c_B (binary) or fractions c_1,c_2,...
    in --species order (species A, B, C, ... without --species)."""
    parts = text.replace(" ", "").split(",")
    try:
        values = [float(x) for x in parts]
    except ValueError:
        values = None
    if values is not None:
        if len(values) == 1:
            values = [1.0 - values[0], values[0]]
        if not names:        # the abstract species of the paper: no element to check
            return np.array(values), [chr(ord("A") + i) for i in range(len(values))]
        if len(names) != len(values):
            raise InputError(f"--composition {text}: {len(values)} fractions for --species {' '.join(names)}")
    comp = parse_composition(text if values is None else dict(zip(names, values)))
    if names and sorted(names) != sorted(comp):
        raise InputError(f"--composition {text}: its elements are not --species {' '.join(names)}")
    names = list(names or comp)
    return np.array([comp[n] for n in names]), names


# ----------------------------------------------------------------------------- table

# a table longer than this is refused without --force (k = 5 on BCC: 51,875 types, ~40 MB of
# JSON); above PLOT_TYPES the bar chart (one bar per type) is skipped
MAX_TABLE_TYPES, PLOT_TYPES = 20000, 2000


def run_table(args) -> int:
    from .enumerate import MAX_COLOURINGS, burnside_orbit_count, shell_directions

    names = args.species or [chr(ord("A") + i) for i in range(args.n_species)]
    k, z = len(names), len(shell_directions(args.lattice))
    if len(set(names)) != k:
        raise InputError(f"--species: {' '.join(names)} names a species twice")
    if k < 2:
        raise InputError(f"--species: a table needs at least 2 species, got {' '.join(names)}")
    if k ** z > MAX_COLOURINGS:
        raise InputError(f"-k/--species: {args.lattice} with {k} species has {k}**{z} shell colourings, more than "
                         f"the {MAX_COLOURINGS} that are enumerated explicitly")
    n_types = burnside_orbit_count(args.lattice, k) * k       # Burnside: no enumeration needed
    size_mb = n_types * (120 + 12 * k + 8 * z) / 1e6
    estimate = (f"{args.lattice}, {k} species: {n_types:,} meta-structure types ({k}**{z} = {k ** z:,} shell "
                f"colourings; about {size_mb:.0f} MB of JSON)")
    if n_types > MAX_TABLE_TYPES and not args.force:
        raise InputError(f"-k/--species: {estimate}, more than {MAX_TABLE_TYPES:,}; add --force to write it anyway")
    if not args.quiet:
        print(f"alloykit mpdm table: {estimate}; enumerating", file=sys.stderr, flush=True)
    t = meta_table(args.lattice, k)
    out = _out(args)
    rows = t.rows(names)
    if not args.quiet and n_types > PLOT_TYPES:
        print(f"alloykit mpdm table: enumerated; writing {out / 'mpdm_table.json'}", file=sys.stderr, flush=True)
    _write(out / "mpdm_table.json", {"lattice": t.lattice, "species": names, "n_types": t.n_types,
                                     "n_shell_orbits": t.n_orbits, "z": t.z, "types": rows}, args.quiet)
    if t.n_types <= 400:
        print(f"{'l':>4} {'centre':>6} {'shell':>24} {'eta':>24} {'omega':>6}")
        for r in rows:
            shell = " ".join(f"{k}{v}" for k, v in r["shell"].items())
            eta = " ".join(f"{x:.4f}" for x in r["eta"])
            print(f"{r['l']:>4} {r['centre']:>6} {shell:>24} {eta:>24} {r['omega']:>6}")
    print(f"{t.lattice}, {len(names)} species: {t.n_types} meta-structure types "
          f"({t.n_orbits} shell orbits x {len(names)} centres); omegas sum to {int(t.omega.sum())}")
    if t.n_types > PLOT_TYPES:        # one bar per type: unreadable and minutes of matplotlib
        if not args.quiet:
            print(f"alloykit mpdm table: no plot for {t.n_types:,} types (more than {PLOT_TYPES:,})", file=sys.stderr)
        return 0
    from .plots import _plt

    plt = _plt()
    fig, ax = plt.subplots(figsize=(min(12, 3 + 0.15 * t.n_types), 3))
    ax.bar(np.arange(1, t.n_types + 1), t.omega, color=np.array(["C%d" % (c % 10) for c in t.centre]))
    ax.set(xlabel="meta-structure l", ylabel="degeneracy omega", title=f"{t.lattice} meta-structures, species {names}")
    fig.savefig(out / "mpdm_table.png", dpi=110, bbox_inches="tight")
    return 0


# ----------------------------------------------------------------------------- theory

def run_theory(args) -> int:
    from .plots import figure_bars
    from .theory import check_composition, most_probable_distribution

    c, names = _composition(args.composition, args.species)
    t = meta_table(args.lattice, len(c))
    c = check_composition(c, len(c))       # every fraction strictly inside (0, 1)
    d = most_probable_distribution(t, c)
    out = _out(args)
    _write(out / "mpdm_theory.json", {
        "lattice": t.lattice, "species": names, "composition": dict(zip(names, c.tolist())),
        "beta": d.beta.tolist(), "alpha_per_atom": d.alpha.tolist(), "newton_iterations": d.iterations,
        "constraint_residual": d.residual, "fractions": d.fractions.tolist(),
        "types": t.rows(names)}, args.quiet)
    top = np.argsort(d.fractions)[::-1][:10]
    print("most frequent types (l: a_l/N): " + ", ".join(f"{i + 1}: {d.fractions[i]:.4f}" for i in top))
    if t.n_types <= 400:
        fig = figure_bars([(f"{t.lattice} {dict(zip(names, np.round(c, 4).tolist()))}", None,
                            d.fractions, None)], t.n_orbits, names)
        fig.savefig(out / "mpdm_theory.png", dpi=110, bbox_inches="tight")
    return 0


# ----------------------------------------------------------------------------- count

def run_count(args) -> int:
    from .count import FrameCount, count_files
    from .plots import figure_bars
    from .theory import chi_square, most_probable_distribution

    kw = {"cutoff": args.cutoff, "rms_angle_deg": args.rms_angle, "min_classified": args.min_classified}
    species = check_species(args.species, "--species") if args.species else None
    frames, errors = [], []
    for item in count_files(args.files, args.lattice, species, args.format, **kw):
        if isinstance(item, FrameCount):
            frames.append(item)
            if not args.quiet:
                print(f"{item.label}: {item.n_atoms} atoms, {item.n_unclassified} unclassified "
                      f"{ {k: v for k, v in item.reasons.items() if v} or ''}")
        else:
            errors.append(str(item))
    if not frames:       # one line, as for any input error
        raise InputError(errors[0] if len(errors) == 1 else
                         f"no frame could be counted ({len(errors)} errors; first: {errors[0]})")
    for e in errors:
        print(f"alloykit mpdm count: error: {e}", file=sys.stderr)
    groups = {}
    for f in frames:                      # frames of one lattice and species list add up
        groups.setdefault((f.lattice, tuple(f.species)), []).append(f)
    out = _out(args)
    report = {"frames": [f.summary() for f in frames], "errors": errors, "totals": []}
    panels = []
    for (lattice, names), fs in groups.items():
        t = meta_table(lattice, len(names))
        counts = np.sum([f.counts for f in fs], axis=0)
        comp = np.sum([f.composition * f.n_atoms for f in fs], axis=0) / sum(f.n_atoms for f in fs)
        total = {"lattice": lattice, "species": list(names), "frames": len(fs), "counts": counts.tolist(),
                 "composition": dict(zip(names, comp.tolist())),
                 "n_unclassified": int(sum(f.n_unclassified for f in fs))}
        try:
            theory = most_probable_distribution(t, comp).fractions
            total["theory_fractions"] = theory.tolist()
            total["chi_square"] = chi_square(counts, t, comp)
            panels.append((f"{lattice} {dict(zip(names, np.round(comp, 3).tolist()))}, {len(fs)} frame(s), "
                           + _chi_text(total["chi_square"], 2),
                           counts / max(counts.sum(), 1), theory, None))
        except InputError as e:           # a species absent: theory undefined
            total["theory"] = f"not compared: {e}"
        report["totals"].append(total)
        print(f"{lattice} {list(names)}: {int(counts.sum())} classified of {sum(f.n_atoms for f in fs)} atoms"
              + (f", {_chi_text(total['chi_square'], 3)}" if "chi_square" in total else
                 f", {total['theory']}"))
    _write(out / "mpdm_count.json", report, args.quiet)
    if panels and all(len(p[2]) <= 400 for p in panels):
        lattice, names = next(iter(groups))
        fig = figure_bars(panels, meta_table(lattice, len(names)).n_orbits, names)
        fig.savefig(out / "mpdm_count.png", dpi=110, bbox_inches="tight")
    return 1 if errors else 0


def _chi_text(stats: dict, digits: int) -> str:
    if stats["chi2_per_dof"] is None:
        return stats["note"]
    return f"chi2/dof vs theory = {stats['chi2_per_dof']:.{digits}f} ({stats['dof']} dof)"


# ----------------------------------------------------------------------------- energies

def run_energies(args) -> int:
    from .energies import (METHODS, chemical_potentials, count_matrix, fit_energies,
                           random_bcc_cells, read_labelled, relax_cells)
    from .plots import figure_energies

    names = check_species(args.species or ["Fe", "Cr"], "--species")
    if len(names) != 2:
        raise InputError(f"--species: the energy fit is for binary alloys, got {' '.join(names)}")
    if args.structure:
        structures = read_labelled(args.structure, species=names)
        source = {"structure": str(args.structure)}
    else:
        if not args.potential:
            raise InputError("--potential: name the potential that relaxes the cells (e.g. --potential FeCr), "
                             "or give labelled cells with --structure")
        if args.cells < 4 or args.size < 1:
            raise InputError(f"--cells {args.cells} / --size {args.size}: need at least 4 cells of size >= 1")
        cells = random_bcc_cells(args.cells, args.size, names, seed=args.seed)
        try:
            structures = relax_cells(cells, potential=args.potential, box=args.box, progress=not args.quiet)
        except (ValueError, RuntimeError) as e:     # unknown potential or elements, LAMMPS errors
            raise InputError(f"--potential {args.potential}: {one_line(e)}") from None
        source = {"generated": args.cells, "size": args.size, "potential": args.potential, "box": args.box}
    A, E, N, kept, skipped = count_matrix(structures, "bcc", names)
    for s in skipped:
        print(f"alloykit mpdm energies: skipped {s}", file=sys.stderr)
    if len(E) < 4:
        raise InputError(f"only {len(E)} usable cells (need >= 4); skipped: {skipped[:1]}")
    t = meta_table("bcc", 2)
    methods = METHODS if args.method == "all" else [args.method]
    fits = {}
    for m in methods:
        fit = fit_energies(A, E, N, t, method=m, ridge=args.ridge, test_fraction=args.test_fraction,
                           seed=args.seed)
        fits[m] = fit.summary()
        te = fits[m]["test_meV_per_atom"]
        print(f"{m}: held-out {te['n']} cells, max {te['max']:.2f}, rmse {te['rmse']:.2f} meV/atom, "
              f"{100 * te['frac_below_5']:.0f}% < 5 meV/atom")
    best = fits[methods[0]]
    mu = chemical_potentials(t, np.array(best["e"]))
    out = _out(args)
    _write(out / "mpdm_energies.json", {
        "source": source, "species": names, "cells_used": len(E), "skipped": skipped,
        "cell_energies_eV": E.tolist(), "cell_atoms": N.tolist(), "counts": A.tolist(),
        "fits": fits, "chemical_potentials": {"from_fit": methods[0], **mu}}, args.quiet)
    fig = figure_energies(fits, A, E, N, mu, names)
    fig.savefig(out / "mpdm_energies.png", dpi=110, bbox_inches="tight")
    return 0


# ----------------------------------------------------------------------------- parser

def _help(parser, option: str, text: str) -> None:
    """Say what a shared option means for this command (table/theory: names, not types)."""
    next(a for a in parser._actions if option in a.option_strings).help = text


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "mpdm", help="meta-structures: table, most probable distribution, counting, energies",
        description=__doc__, formatter_class=_F, epilog="""examples:
  alloykit mpdm table                          # the 44 BCC A-B types (paper Table 1)
  alloykit mpdm theory --composition 0.2       # most probable a_l/N at c_B = 0.2
  alloykit mpdm count dump.lammpstrj.gz --species Fe Cr
  alloykit mpdm energies --cells 239 --potential FeCr   # relax random Fe-Cr cells, fit e_l, mu(c)
""")
    sub = p.add_subparsers(dest="mpdm_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda a: (p.print_help(), 0)[1])

    def parents(*more):
        return [cliopts.common(), cliopts.species(), *more, cliopts.out("mpdm_out")]

    q = sub.add_parser("table", help="meta-structure types, eta and omega, from symmetry", formatter_class=_F,
                       parents=parents(cliopts.lattice("bcc")),
                       description="Enumerate meta-structure types (centre + first shell up to the 48 cubic "
                                   "point operations) and their degeneracies.", epilog="""examples:
  alloykit mpdm table                            # BCC, 2 species: 44 types (Table 1)
  alloykit mpdm table --lattice fcc --species Cu Ni Co --out tables
""")
    _help(q, "--species", "names of the species (sets k); default A B")
    q.add_argument("-k", "--n-species", type=cliopts.number_in(int, 2, 16), default=2, help="number of species when --species is not given")
    q.add_argument("--force", action="store_true",
                   help=f"write tables of more than {MAX_TABLE_TYPES:,} types (k = 5 on BCC, k = 3 on FCC)")
    q.set_defaults(func=run_table)

    q = sub.add_parser("theory", help="most probable distribution for a composition", formatter_class=_F,
                       parents=parents(cliopts.lattice("bcc")),
                       description="Solve the Lagrange equations for the most probable a_l/N.", epilog="""examples:
  alloykit mpdm theory --composition 0.2                  # binary, c_B = 0.2
  alloykit mpdm theory --composition Fe=0.8,Cr=0.2        # or Fe80Cr20
  alloykit mpdm theory --lattice fcc --composition 0.5,0.3,0.2 --species Cu Ni Co
""")
    _help(q, "--species", "names of the species, in the order of bare fractions (default A B ...)")
    q.add_argument("--composition", required=True,
                   help="c_B (binary), fractions c_1,c_2,... in --species order, Fe=0.8,Cr=0.2 or Fe80Cr20")
    q.set_defaults(func=run_theory)

    q = sub.add_parser("count", help="count meta-structures in frames (LAMMPS dump/data, extxyz, ...)",
                       formatter_class=_F, parents=parents(cliopts.lattice()),
                       description="Count meta-structures per frame and compare the total "
                       "with the most probable distribution. Atoms without a clean shell are reported as "
                       "unclassified. A bad frame is reported on one line and the others are still counted "
                       "(exit status 1).", epilog="""examples:
  alloykit mpdm count run.lammpstrj --species Fe Cr     # LAMMPS types 1, 2 = Fe, Cr
  alloykit mpdm count dump.*.gz data.fecr --lattice bcc --species Fe Cr
  alloykit mpdm count sample.extxyz --out counts        # elements from the file
""")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--format", choices=("lammps-dump", "lammps-data", "ase"), help="default: from the name")
    q.add_argument("--cutoff", type=cliopts.number_in(float, 0, 20, lo_open=True), help="neighbour cutoff (A); default 1.25 x nearest-neighbour distance")
    q.add_argument("--rms-angle", type=cliopts.number_in(float, 0, 90, lo_open=True), help="rms shell-angle tolerance (deg; default 6)")
    q.add_argument("--min-classified", type=cliopts.probability, default=0.5,
                   help="a frame with a smaller classified fraction is an error (default 0.5)")
    q.set_defaults(func=run_count)

    q = sub.add_parser("energies", help="fit meta-structure energies and chemical potentials", formatter_class=_F,
                       parents=parents(cliopts.structure(False, "labelled structures (extxyz with energy=..., "
                                                                 "any format alloykit reads)"),
                                       cliopts.potential(required=False), cliopts.seed()),
                       description="Fit e_l so that E_cell = sum_l a_l e_l, on random BCC cells relaxed in LAMMPS "
                                   "or on your labelled structures; held-out per-cell errors; mu(c).",
                       epilog="""examples:
  alloykit mpdm energies --cells 239 --potential FeCr --method all   # as in the paper (FeCr.cdeam)
  alloykit mpdm energies --structure dft.extxyz --species Fe Cr --method ridge --ridge 0.5
""")
    _help(q, "--species", "the two elements A B (default Fe Cr)")
    q.add_argument("--cells", type=cliopts.number_in(int, 4, 100000), default=239, help="random cells to generate (default 239)")
    q.add_argument("--size", type=cliopts.number_in(int, 1, 20), default=3, help="cells are size^3 BCC unit cells (default 3: 54 atoms)")
    q.add_argument("--box", default="aniso", choices=("iso", "aniso", "tri"), help="cell relaxation (default aniso)")
    q.add_argument("--method", default="lstsq", choices=("lstsq", "ridge", "torch", "all"))
    q.add_argument("--ridge", type=cliopts.nonneg_float, default=1.0, help="ridge penalty (counts^2; default 1)")
    q.add_argument("--test-fraction", type=cliopts.open_fraction, default=0.2)
    q.set_defaults(func=run_energies)
