"""The alloykit command, the demo's foundation stage, and unified model files."""
import json

import numpy as np
import pytest

from conftest import VENV_BIN, build, lj_model, run

from alloykit.mliap import load_model, register_model_class, save_model
from alloykit.mliap.models import TorchLennardJones, TorchMorse


def test_version_and_help():
    import alloykit

    r = run([str(VENV_BIN / "alloykit"), "--version"])
    assert r.returncode == 0 and alloykit.__version__ in r.stdout
    r = run([str(VENV_BIN / "alloykit"), "--help"])
    assert r.returncode == 0
    for sub in ("demo", "relax", "potentials", "mliap", "lmp"):
        assert sub in r.stdout
        if sub != "lmp":
            h = run([str(VENV_BIN / "alloykit"), sub, "--help"])
            assert h.returncode == 0 and "usage" in h.stdout


def test_relax_command_and_bad_file(tmp_path):
    from ase.build import bulk
    from ase.io import read, write

    src = tmp_path / "fe.extxyz"
    a = bulk("Fe", "bcc", a=2.9, cubic=True).repeat(2)
    a.rattle(0.02, seed=1)
    write(src, a)
    relax = [str(VENV_BIN / "alloykit"), "relax"]
    r = run(relax + ["--structure", str(src), "-o", str(tmp_path / "out.extxyz"), "--potential", "Fe_mm",
                     "--box", "iso"])
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert abs(out["energy_per_atom_eV"] + 4.1224) < 2e-4
    assert len(read(tmp_path / "out.extxyz")) == 16
    (tmp_path / "junk.extxyz").write_text("not a structure\n")
    r = run(relax + ["--structure", str(tmp_path / "junk.extxyz"), "-o", str(tmp_path / "x.extxyz"),
                     "--potential", "Fe_mm"])
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "junk.extxyz frame 0: unreadable" in r.stderr
    r = run(relax + ["--structure", str(src), "-o", str(tmp_path / "x.extxyz"), "--potential", "Ta06A"])
    assert r.returncode == 2 and "potential Ta06A: element(s) Fe not supported" in r.stderr
    # the potential decides the physics: no silent default
    r = run(relax + ["--structure", str(src), "-o", str(tmp_path / "x.extxyz")])
    assert r.returncode == 2 and "--potential" in r.stderr and not (tmp_path / "x.extxyz").exists()


def test_relax_reads_typed_data_and_dump_with_species(tmp_path):
    """Files with atom types only (no Masses, no element column): right
    elements with --species, a one-line error naming the file without."""
    from ase.build import bulk
    from ase.io import read
    from test_csro_cli import typed_files

    from alloykit.lmp import evaluate

    atoms = bulk("Fe", "bcc", a=2.87, cubic=True).repeat(3)
    atoms.set_chemical_symbols(["Cr" if k % 5 == 0 else "Fe" for k in range(len(atoms))])
    atoms.rattle(0.03, seed=2)
    typed_files(tmp_path, atoms, ["Fe", "Cr"])                # type 1 = Fe, not alphabetical
    e_start = evaluate(atoms, "FeCr")["energy"]
    for name in ("typed.dump", "typed.data"):
        cmd = [str(VENV_BIN / "alloykit"), "relax", "--structure", str(tmp_path / name), "--potential", "FeCr",
               "-o", str(tmp_path / f"{name}.extxyz")]
        r = run(cmd + ["--species", "Fe", "Cr"])
        assert r.returncode == 0, r.stderr
        out = read(tmp_path / f"{name}.extxyz")
        assert out.get_chemical_symbols() == atoms.get_chemical_symbols()
        assert json.loads(r.stdout)["energy_eV"] < e_start
        r = run(cmd)
        assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
        assert f"{name}" in r.stderr and "give the species" in r.stderr


def test_demo_foundation_stage(tmp_path):
    r = run([str(VENV_BIN / "alloykit"), "demo", "--out", str(tmp_path / "d"), "--quick", "--only", "foundation"])
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    f = summary["stages"]["foundation"]
    assert 2.85 < f["lattice_constant_A"] < 2.88 and -4.1 < f["energy_per_atom_eV"] < -3.9
    assert 120 < f["bulk_modulus_GPa"] < 250
    assert f["mliap_coupling_check"]["max_force_diff_over_max_force"] < 1e-10
    assert (tmp_path / "d" / "foundation_eos.png").stat().st_size > 5000
    assert "foundation_eos.png" in (tmp_path / "d" / "report.md").read_text()


def test_model_files_round_trip(tmp_path):
    for m in (lj_model("linear"),
              TorchMorse(["Fe", "Cr"], d0=0.4, alpha=1.4, r0=2.8, rcut=6.0)):
        back = load_model(save_model(m, tmp_path / "m.akm"))
        assert type(back) is type(m) and back.element_types == m.element_types
        assert back.rcutfac == m.rcutfac
        for name in m.params:
            assert np.array_equal(getattr(back, name).numpy(), getattr(m, name).numpy())
    assert load_model(save_model(lj_model("linear"), tmp_path / "l.akm")).truncation == "linear"


class UserLJ(TorchLennardJones):
    pass


def test_untrusted_classes_are_not_imported(tmp_path):
    path = save_model(UserLJ(["Ar"], epsilon=0.01, sigma=3.4, rcut=8.0), tmp_path / "user.akm")
    with pytest.raises(ValueError, match="is not trusted"):
        load_model(path)
    register_model_class(UserLJ)
    assert isinstance(load_model(path), UserLJ)


def test_saved_model_file_runs_in_lammps(tmp_path):
    path = save_model(lj_model(), tmp_path / "lj.akm")
    with build(pair="builtin") as ref, build(pair="none") as ml:
        ml.commands([f"pair_style mliap/unified {path}", "pair_coeff * * Ar Kr"])
        ref.command("run 0")
        ml.command("run 0")
        assert abs(ml.thermo("pe") - ref.thermo("pe")) < 1e-10 * abs(ref.thermo("pe"))
