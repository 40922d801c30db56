"""compute mliap/unified/atom: a per-atom Python model through the plugin's coupling, equal
to LAMMPS's own compute coord/atom and to a numpy reference, usable in dumps, fix ave/atom,
variables and thermo reductions, serial and under mpiexec -n 2; clear one-line errors."""
import json
import sys

import numpy as np
import pytest

from conftest import ROOT, SYSTEM, VENV_BIN, run
from mpi_compute_check import COMMANDS, NeighbourCount

from alloykit.lmp import Lammps, LammpsError, get_atoms
from alloykit.mliap import load_peratom
from alloykit.structures import neighbour_pairs


def system():
    lmp = Lammps()
    lmp.raw.commands_string(SYSTEM.format(n=3))
    return lmp


def reference(lmp, cutoff=5.0):
    """Counts per element and distance sums from ASE's periodic neighbour list."""
    atoms = get_atoms(lmp, ["Ar", "Kr"])
    i, j, d, _ = neighbour_pairs(atoms, cutoff - 1e-9)
    ref = np.zeros((len(atoms), 3))
    kr = np.array(atoms.get_chemical_symbols()) == "Kr"
    np.add.at(ref, (i, kr[j].astype(int)), 1.0)
    np.add.at(ref[:, 2], i, d)
    return ref


def test_counts_equal_coord_atom_and_numpy():
    with system() as lmp:
        load_peratom(lmp, NeighbourCount())
        lmp.commands([*COMMANDS[:3], "compute c all coord/atom cutoff 5.0 1 2", "run 0"])
        got = np.array(lmp.raw.gather("c_m", 1, 3)).reshape(-1, 3)
        coord = np.array(lmp.raw.gather("c_c", 1, 2)).reshape(-1, 2)
        assert np.array_equal(got[:, :2], coord) and coord.sum(1).min() > 0
        assert np.allclose(got, reference(lmp), rtol=1e-12, atol=1e-9)


def test_group_dump_fix_ave_atom_variables_and_thermo(tmp_path):
    dump = tmp_path / "m.dump"
    with system() as lmp:
        load_peratom(lmp, NeighbourCount())
        lmp.commands(["pair_style zero 5.0", "pair_coeff * *", "group kr type 2",
                      "compute m kr mliap/unified/atom LATER Ar Kr",
                      "compute tot all reduce sum c_m[1] c_m[2]", "variable nkr atom c_m[2]",
                      "compute vsum all reduce sum v_nkr",
                      "fix ave all ave/atom 1 2 2 c_m[3]", "fix nve all nve",
                      f"dump d all custom 2 {dump} id type c_m[*] f_ave", "dump_modify d sort id",
                      "thermo_style custom step c_tot[1] c_tot[2] c_vsum", "run 2"])
        ref = reference(lmp)
        types = np.array(lmp.raw.gather_atoms("type", 0, 1))
        text = dump.read_text()
        rows = np.loadtxt(text[text.rindex("ITEM: ATOMS"):].splitlines()[1:])     # step 2
        got = rows[:, 2:5]
        assert np.allclose(got[types == 2], ref[types == 2], atol=1e-9)
        assert not got[types == 1].any()                     # outside the group: zero
        th = lmp.raw.last_thermo()
        assert th["c_tot[2]"] == pytest.approx(ref[types == 2, 1].sum()) and th["c_tot[2]"] > 0
        assert th["c_vsum"] == th["c_tot[2]"]
        assert np.isfinite(rows[:, 5]).all() and (rows[types == 2, 5] > 0).all()


def test_two_ranks_match_serial(tmp_path):
    out = tmp_path / "mpi.json"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(ROOT / "tests" / "mpi_compute_check.py"),
             str(out)])
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(out.read_text())
    assert len(got["nlocal"]) == 2 and min(got["nlocal"]) > 0
    with system() as lmp:
        load_peratom(lmp, NeighbourCount())
        lmp.commands(COMMANDS)
        serial = np.array(lmp.raw.gather("c_m", 1, 3))
    assert np.allclose(got["m"], serial, rtol=1e-12, atol=1e-9)


class Broken(NeighbourCount):
    def compute_peratom(self, data):
        raise RuntimeError("model failed\non purpose")


@pytest.mark.parametrize("model, commands, message", [
    (NeighbourCount(9.0), ["pair_style zero 5.0", "pair_coeff * *", "compute m all mliap/unified/atom LATER Ar Kr"],
     "plus the neighbour skin 2 exceeds the ghost-atom cutoff 7; add 'comm_modify cutoff 11.01' before the run"),
    (NeighbourCount(), ["pair_style zero 5.0", "pair_coeff * *", "compute m all mliap/unified/atom LATER Ar Xe"],
     "element 'Xe' (type 2) is not among the model's element_types: Ar Kr"),
    (NeighbourCount(), ["compute m all mliap/unified/atom LATER Ar"], "expected MODEL and 2 element name(s)"),
    (None, ["compute m all mliap/unified/atom LATER Ar Kr"], "no per-atom model was given"),
    (object(), ["compute m all mliap/unified/atom LATER Ar Kr"], "no per-atom model was given"),
    (Broken(), ["pair_style zero 5.0", "pair_coeff * *", "compute m all mliap/unified/atom LATER Ar Kr"],
     "RuntimeError: model failed on purpose"),
])
def test_errors_are_one_line(model, commands, message):
    with system() as lmp:
        if isinstance(model, NeighbourCount):
            load_peratom(lmp, model)
        elif model is not None:
            with pytest.raises(TypeError, match="compute_peratom"):
                load_peratom(lmp, model)
        with pytest.raises(LammpsError) as e:
            lmp.commands([*commands, "variable x atom c_m[1]", "compute s all reduce sum v_x",
                          "thermo_style custom c_s", "run 0"])
        assert message in str(e.value) and "\n" not in str(e.value).split(" (")[0]


def test_model_file_is_loaded_safely(tmp_path):
    bad = tmp_path / "bad.akm"
    bad.write_bytes(b"not a model")
    with system() as lmp:
        with pytest.raises(LammpsError, match="not an alloykit model file"):
            lmp.command(f"compute m all mliap/unified/atom {bad} Ar Kr")
