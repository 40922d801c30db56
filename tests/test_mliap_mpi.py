"""mliap/unified under mpiexec -n 2: from a Python driver, from `lmp` and from
`python -m alloykit.lmp`, equal to the serial built-in lj/cut."""
import json
import re
import sys


from conftest import ROOT, VENV_BIN, build, rel_err, run

TOL = 1e-10


def test_python_driver_two_ranks_matches_serial_builtin(tmp_path):
    out = tmp_path / "mpi.json"
    r = run([str(VENV_BIN / "mpiexec"), "-n", "2", sys.executable, str(ROOT / "tests" / "mpi_lj_check.py"), str(out)])
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(out.read_text())
    assert len(got["nlocal"]) == 2 and min(got["nlocal"]) > 0    # both ranks own atoms
    with build(pair="builtin") as ref:
        ref.commands(["compute pe all pe/atom", "thermo_style custom pe pxx pyy pzz pxy pxz pyz", "run 0"])
        for k in "pe pxx pyy pzz pxy pxz pyz".split():
            assert abs(got[k] - ref.thermo(k)) <= TOL * max(abs(ref.thermo(k)), abs(ref.thermo("pxx"))), k
        assert rel_err(got["f"], list(ref.raw.gather_atoms("f", 1, 3))) <= TOL
        assert rel_err(got["pe_atom"], list(ref.raw.gather("c_pe", 1, 1))) <= TOL


def _checks(text):
    vals = {}
    for name, a, b in re.findall(r"ALLOYKIT_CHECK (\w+) lj/cut (\S+) mliap/unified (\S+)", text):
        vals[name] = (float(a), float(b))
    return vals


def test_lmp_and_python_m_under_mpiexec(tmp_path):
    from alloykit.mliap import save_model
    from alloykit.mliap.models import TorchLennardJones

    model = save_model(TorchLennardJones(["Ar"], epsilon=0.0104, sigma=3.4, rcut=8.5), tmp_path / "lj_ar.akm")
    script = ROOT / "inputs" / "in.mliap_lj"
    for launcher in ([str(VENV_BIN / "lmp")], [sys.executable, "-m", "alloykit.lmp"]):
        for nproc in (1, 2):
            cmd = [str(VENV_BIN / "mpiexec"), "-n", str(nproc), *launcher, "-in", str(script),
                   "-var", "model", str(model), "-log", "none"]
            r = run(cmd, cwd=tmp_path)
            assert r.returncode == 0, (cmd, r.stdout[-1500:], r.stderr[-1500:])
            vals = _checks(r.stdout)
            assert set(vals) == {"energy", "pressure"}, r.stdout[-1500:]
            for ref, got in vals.values():
                assert abs(got - ref) <= 1e-12 * abs(ref) + 1e-9   # printed with 15 digits
            if nproc == 2:
                assert "1 by 1 by 2 MPI processor grid" in r.stdout
            # the NVE part ran to the end
            steps = [int(m) for m in re.findall(r"^\s+(\d+)\s+\S+\s+\S+\s+\S+\s+\S+\s*$", r.stdout, re.M)]
            assert steps and steps[-1] == 500
