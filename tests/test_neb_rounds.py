"""Named NEB protocols and datasets grown in rounds (issue 13): the fast preset is what it
says and is stored in the plan; tasks added later are computed by a rerun, recorded as a
labelled round, and checked like planned ones."""
import json
import shutil

import pytest

from conftest import VENV_BIN, run

from alloykit.errors import InputError
from alloykit.neb import NebSettings, hop_neighbours, open_dataset, vacancy_hops
from alloykit.neb.farm import extend_dataset
from alloykit.structures import lattice_sites, random_solid_solution

SAMPLE = ["--composition", "Fe=0.8,Cr=0.2", "--size", "3", "--sites", "1", "--seed", "3", "--potential", "FeCr"]


def test_protocols_are_the_validated_settings():
    ref, fast = NebSettings.protocol("reference", "FeCr"), NebSettings.protocol("fast", "FeCr")
    assert ref == NebSettings(potential="FeCr")
    assert (fast.replicas, fast.ftol, fast.relax_ftol) == (3, 0.01, 1e-4)
    assert (fast.spring, fast.box, fast.etol) == (ref.spring, ref.box, ref.etol)
    assert NebSettings.protocol("fast", "FeCr", replicas=5, ftol=None).replicas == 5      # None: not given
    with pytest.raises(InputError, match="protocol"):
        NebSettings.protocol("quick", "FeCr")


@pytest.mark.mpi
def test_fast_protocol_gives_the_reference_barriers_on_ta_nb_mo():
    """The shortcut against the paper's protocol on a system it was validated for (SNAP
    Ta-Nb-Mo, a 54-atom equimolar cell, two hops of one vacancy): the same saddle within
    1 meV (benchmarks/bench_neb_protocol.py: 56 hops of 250-atom cells within 37 micro-eV)."""
    atoms = random_solid_solution("bcc", {"Ta": 1 / 3, "Nb": 1 / 3, "Mo": 1 / 3}, 3, None, 11)
    movers = [j for j, _ in hop_neighbours(atoms, lattice_sites(atoms, 1), 0)][:2]
    got = {}
    for name in ("reference", "fast"):
        _, recs = vacancy_hops(atoms, 0, NebSettings.protocol(name, "MoNbTaW"), neighbors=movers)
        assert all(r.usable for r in recs), [r.flag for r in recs]
        got[name] = [(r.barrier_forward, r.barrier_backward) for r in recs]
    for ref, fast in zip(got["reference"], got["fast"]):
        assert ref[0] > 0.5 and abs(fast[0] - ref[0]) < 1e-3 and abs(fast[1] - ref[1]) < 1e-3


@pytest.fixture(scope="module")
def fast_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("rounds") / "fast.sqlite"
    r = run([str(VENV_BIN / "alloykit"), "neb", "run", str(path), *SAMPLE, "--protocol", "fast", "--quiet"],
            timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return path


@pytest.mark.mpi
def test_fast_protocol_from_the_cli_is_stored_in_the_plan(fast_dataset):
    with open_dataset(fast_dataset) as ds:
        s = ds.plan["settings"]
        assert (s["replicas"], s["ftol"], s["relax_ftol"]) == (3, 0.01, 1e-4)
        recs = list(ds.records(converged_only=False))
    assert len(recs) == 8
    assert all(r.extra["replicas"] == 3 and len(r.extra["mep_energies"]) == 3 for r in recs)
    assert all(r.extra["max_force"] <= 0.01 for r in recs if r.converged)


@pytest.mark.mpi
def test_a_round_added_later_is_computed_by_a_rerun(fast_dataset, tmp_path):
    path = tmp_path / "grown.sqlite"
    shutil.copy(fast_dataset, path)
    with open_dataset(path) as ds:
        sid = ds.sample_ids()[0]
        (first,) = [s for _, s in ds.tasks()]
    new = (first + 5) % 54
    assert extend_dataset(path, [(sid, new), (sid, first)], "active-1", {"method": "test"}) == 1   # planned one skipped
    assert extend_dataset(path, [(sid, new)], "again") == 0
    with pytest.raises(InputError, match="no sample"):
        extend_dataset(path, [("nope", 1)], "x")
    with pytest.raises(InputError, match="out of range"):
        extend_dataset(path, [(sid, 54)], "x")
    r = run([str(VENV_BIN / "alloykit"), "neb", "run", str(path), *SAMPLE, "--protocol", "fast", "--quiet"],
            timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    with open_dataset(path) as ds:
        assert ds.tasks() == [(sid, first), (sid, new)]
        assert [r["label"] for r in ds.rounds()] == ["active-1", "again"]
        assert ds.rounds()[0]["tasks"] == [[sid, new]] and ds.rounds()[0]["info"] == {"method": "test"}
        assert {r.vacancy_site for r in ds.records(converged_only=False)} == {first, new}
        assert ds.status()["vacancies_done"] == 2
    st = run([str(VENV_BIN / "alloykit"), "neb", "status", str(path), "--json", str(tmp_path / "s.json")])
    assert st.returncode == 0 and json.loads((tmp_path / "s.json").read_text())["vacancies_planned"] == 2
