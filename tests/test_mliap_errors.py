"""Bad input to pair_style mliap/unified: one-line errors, from Python and from `lmp`,
and the process lives on."""
import pickle

import numpy as np
import pytest

from conftest import SYSTEM, VENV_BIN, build, lj_model, run

from alloykit.lmp import Lammps, LammpsError
from alloykit.mliap import MLIAPUnified, load_unified, save_model


class WrongDtype(MLIAPUnified):
    def __init__(self):
        super().__init__()
        self.element_types, self.rcutfac, self.ndescriptors, self.nparams = ["Ar", "Kr"], 4.0, 1, 1

    def compute_forces(self, data):
        data.update_pair_forces(np.zeros((data.npairs, 3), dtype=np.float32))


class WrongShape(WrongDtype):
    def compute_forces(self, data):
        data.update_pair_energy(np.zeros(data.npairs + 1))


class NoForces(WrongDtype):
    compute_forces = MLIAPUnified.compute_forces


class NotAModel:
    element_types, rcutfac, ndescriptors, nparams = ["Ar"], 4.0, 1, 1


def error_of(model, coeff="pair_coeff * * Ar Kr", style="pair_style mliap/unified LATER"):
    with Lammps() as lmp:
        lmp.raw.commands_string(SYSTEM.format(n=2))
        if model is not None:
            load_unified(lmp, model)
        with pytest.raises(LammpsError) as e:
            lmp.commands([style, coeff, "run 0"])
    msg = str(e.value)
    assert "\n" not in msg.split(" (")[0]
    return msg


@pytest.mark.parametrize("model, coeff, expected", [
    (lj_model(), "pair_coeff * * Ar", "1 element name(s) given for 2 atom type(s)"),
    (lj_model(), "pair_coeff * * Ar Xe", "element 'Xe' (type 2) is not among the model's element_types: Ar Kr"),
    (lj_model(), "pair_coeff 1 1 Ar Kr", "must start with * *"),
    (WrongDtype(), "pair_coeff * * Ar Kr", "data.update_pair_forces(fij): expected float64 values, got float32"),
    (WrongShape(), "pair_coeff * * Ar Kr", "data.update_pair_energy(eij): expected shape"),
    (NoForces(), "pair_coeff * * Ar Kr", "NoForces does not implement compute_forces(data)"),
    (None, "pair_coeff * * Ar Kr", "no model was given to this LAMMPS instance"),
])
def test_python_errors(model, coeff, expected):
    assert expected in error_of(model, coeff)


def test_model_without_compute_forces_is_refused_at_load():
    with Lammps() as lmp, pytest.raises(TypeError, match="has no compute_forces"):
        load_unified(lmp, NotAModel())


def test_newton_off_and_bad_arguments():
    with Lammps() as lmp:
        lmp.command("newton off")
        lmp.raw.commands_string(SYSTEM.format(n=2))
        load_unified(lmp, lj_model())
        with pytest.raises(LammpsError, match="requires newton pair on"):
            lmp.commands(["pair_style mliap/unified LATER", "pair_coeff * * Ar Kr", "run 0"])
    assert "takes one argument" in error_of(lj_model(), style="pair_style mliap/unified")


class Evil:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_foreign_model_files_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps(Evil(str(marker))))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    for f in (bad, text):
        msg = error_of(None, style=f"pair_style mliap/unified {f}")
        assert f"{f}: not an alloykit model file" in msg
    assert "model file not found" in error_of(None, style=f"pair_style mliap/unified {tmp_path / 'missing.akm'}")
    assert not marker.exists()


def test_the_process_survives_and_goes_on():
    error_of(WrongDtype())
    with build(pair="mliap") as lmp:
        lmp.command("run 0")
        assert lmp.thermo("pe") < 0


def test_errors_from_lmp_executable(tmp_path):
    model = save_model(lj_model(), tmp_path / "lj.akm")
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(Evil(str(marker))))
    cases = {
        f"pair_style mliap/unified {model}\npair_coeff * * Ar": "1 element name(s) given for 2 atom type(s)",
        f"pair_style mliap/unified {model}\npair_coeff * * Ar Ne": "element 'Ne' (type 2)",
        f"pair_style mliap/unified {evil}\npair_coeff * * Ar Kr": "not an alloykit model file",
        "pair_style mliap/unified LATER\npair_coeff * * Ar Kr": "no model was given",
    }
    for body, expected in cases.items():
        script = tmp_path / "in.bad"
        script.write_text(SYSTEM.format(n=2) + body + "\nrun 0\n")
        r = run([str(VENV_BIN / "lmp"), "-in", str(script), "-log", "none"], cwd=tmp_path)
        assert r.returncode != 0
        errors = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("ERROR")]
        assert errors and expected in errors[0], (body, r.stdout[-800:], r.stderr[-800:])
        assert "Segmentation" not in r.stderr and "core dumped" not in r.stderr
    assert not marker.exists()
