"""Lattice KMC: analytic diffusion with a constant barrier, the tracer correlation factors,
jump statistics against the rates, barrier models against the baselines and the CNN they
wrap, the barrier cache, exact resume, and the command line."""
from __future__ import annotations

import json

import numpy as np
import pytest

from alloykit.kmc import (ConstantBarrier, FunctionBarrier, K_B, Kmc, KmcState, LinearBarrier, SiteLattice,
                          random_state, resume_kmc, run_kmc, state_from_atoms, transport)
from alloykit.structures import random_solid_solution

# Compaan & Haven (1956), Montet (1973): single vacancy, pure lattice
F_EXACT = {"bcc": 0.72722, "fcc": 0.78145}


@pytest.mark.parametrize("kind,a", [("bcc", 2.8665), ("fcc", 3.615)])
def test_constant_barrier_diffusivity_and_correlation_factor(kind, a):
    """1000 independent replicas x 2000 jumps of one vacancy in a pure lattice.

    D_v = Gamma_tot d1^2 / 6 (Gamma_tot = z Gamma: the vacancy walk is uncorrelated) within
    4 standard errors of the replica spread; tracer f within +-0.01 of the exact value."""
    T, E, nu = 600.0, 0.6, 1e13
    st = random_state(kind, a, 8, {"Fe": 1.0}, vacancies=1, replicas=1000, seed=1)
    kmc = Kmc(st, ConstantBarrier(E), T, nu, seed=2)
    kmc.run(2000)
    lat = st.lattice
    gamma = nu * np.exp(-E / (K_B * T))
    d_exact = lat.z * gamma * lat.d1 ** 2 / 6 * 1e-16               # cm^2/s
    r2 = (lat.to_cartesian(st.vac_disp[:, 0]) ** 2).sum(1)
    d_sim = r2.sum() / (6 * st.time.sum()) * 1e-16
    stderr = d_sim * np.hypot(r2.std() / r2.mean(), st.time.std() / st.time.mean()) / np.sqrt(st.replicas)
    assert abs(d_sim - d_exact) < 4 * stderr, (d_sim, d_exact, stderr)
    assert stderr < 0.05 * d_exact
    # mean residence time: 1 / Gamma_tot per jump
    assert st.time.mean() * lat.z * gamma / 2000 == pytest.approx(1.0, abs=0.01)
    tr = transport(st, st.species_of_atoms())
    assert tr["D_vacancy"] == pytest.approx(d_sim, rel=1e-9)
    assert tr["f"]["Fe"] == pytest.approx(F_EXACT[kind], abs=0.01)
    # every jump moved one atom by d1, in both bookkeepings
    assert st.atom_jumps.sum() == 2000 * st.replicas
    assert np.array_equal(st.atom_disp.sum(1), -st.vac_disp[:, 0])


def test_jump_statistics_follow_the_rates():
    """From one configuration (20000 identical replicas, one step each), each hop is chosen
    with probability Gamma_h / Gamma_tot and the waiting time is exponential with mean
    1 / Gamma_tot."""
    T, nu = 500.0, 1e13
    base = random_state("bcc", 2.87, 4, {"Fe": 0.5, "Cr": 0.5}, vacancies=1, replicas=1, seed=3)
    state = KmcState.from_occupation(base.lattice, base.species, np.tile(base.occ, (20000, 1)))
    # barrier by mover species and by the Cr in the half-space ahead of the hop (2 shells)
    def barrier(mover, env, pos, hop):
        ahead = np.einsum("hkc,hc->hk", pos, hop) > 0
        return 0.55 + 0.1 * mover + 0.03 * ((env == 0) & ahead).sum(1)

    model = FunctionBarrier(barrier, reach=base.lattice.a * 1.01)
    kmc = Kmc(state, model, T, nu, seed=4)
    rate = kmc.rate[0, 0].copy()
    assert len(np.unique(np.round(rate, 3))) >= 3       # the test has distinct rates to tell apart
    before = kmc.target[:, 0].copy()
    kmc.step()
    chosen = (before == state.vac_site[:, :1]).argmax(1)
    counts = np.bincount(chosen, minlength=state.lattice.z)
    expected = 20000 * rate / rate.sum()
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 26.1, (counts, expected)             # chi^2, 7 dof, p = 0.0005
    assert state.time.mean() * rate.sum() == pytest.approx(1.0, abs=4 / np.sqrt(20000))


def _synthetic_linear(n_shells=3):
    from alloykit.cnn import synthetic_records

    recs = synthetic_records(["Fe=0.8,Cr=0.2", "Fe=0.5,Cr=0.5"], size=(4, 4, 4), sites_per_sample=6, seed=5)
    return LinearBarrier.fit(recs, n_shells), recs


def test_linear_barrier_equals_the_lr_baseline_on_hop_records():
    """The lattice lookup gives the LR baseline's prediction for every hop of a vacancy,
    hops matched by their vectors (so the template sites land on the right lattice sites)."""
    from alloykit.cnn.baselines import site_features
    from alloykit.sdm import HopSet, hop_records, lattice_symmetries, sdm_spec

    model, _ = _synthetic_linear()
    atoms = random_solid_solution("bcc", "Fe=0.7,Cr=0.3", size=5, a=2.8665, seed=9)
    atoms.rotate(17, "z", rotate_cell=True)        # any frame: steps come from the lattice
    sites = [0, 57, 123]
    recs = [r for r in hop_records(atoms, sites)]
    spec = sdm_spec(model.model_species, "bcc", 2.8665, 3)
    hops = HopSet.from_records(recs, spec, lattice_symmetries("bcc", 2.8665, spec.r_c), lattice="bcc")
    X, _ = site_features(hops, "bcc", 2.8665, 3)
    ref = model.bias + (X.double().numpy() * model.weights[None]).sum((1, 2))
    for site in sites:
        st = state_from_atoms(atoms, vacancies=[site])
        model.bind(st.lattice, st.species)
        got = model(st.occ, np.array([0]), st.vac_site[0])[0]
        vec = st.lattice.to_cartesian(st.lattice.steps)
        for rec, e in zip(recs, ref):
            if rec.vacancy_site == site:
                k = np.argmin(np.linalg.norm(vec - rec.hop_vector, axis=1))
                assert np.linalg.norm(vec[k] - rec.hop_vector) < 1e-6
                assert got[k] == pytest.approx(e, abs=1e-9)


def test_site_net_barrier_equals_the_nn_baseline_symmetrised():
    """The NN baseline through the lattice, averaged over the hop's symmetries, equals the
    network on the baseline's own features averaged the same way (any frame)."""
    import torch

    from alloykit.cnn import SiteMLP
    from alloykit.cnn.baselines import site_features
    from alloykit.kmc import SiteNetBarrier
    from alloykit.sdm import HopSet, hop_records, lattice_symmetries, sdm_spec

    atoms = random_solid_solution("bcc", "Fe=0.5,Cr=0.5", size=4, a=2.8665, seed=3)
    recs = list(hop_records(atoms, [7]))
    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 2)
    hops = HopSet.from_records(recs, spec, lattice_symmetries("bcc", 2.8665, spec.r_c), lattice="bcc")
    X, perms = site_features(hops, "bcc", 2.8665, 2)
    torch.manual_seed(1)
    net = SiteMLP(X.shape[1] * X.shape[2], (10, 10), 0.6, 0.5).eval()
    with torch.no_grad():
        ref = np.mean([net(X[:, p].reshape(len(X), -1)).numpy() for p in perms], axis=0)
    model = SiteNetBarrier(net, ["Cr", "Fe"], "bcc", 2.8665, 2, average_symmetries=True)
    st = state_from_atoms(atoms, vacancies=[7])
    model.bind(st.lattice, st.species)
    got = model(st.occ, np.array([0]), st.vac_site[0])[0]
    vec = st.lattice.to_cartesian(st.lattice.steps)
    for rec, e in zip(recs, ref):
        k = np.argmin(np.linalg.norm(vec - rec.hop_vector, axis=1))
        assert got[k] == pytest.approx(float(e), abs=1e-5)
    assert np.ptp(got) > 1e-3


def test_cnn_barrier_equals_predict_structure():
    """The CNN through the lattice (precomputed hop frames) gives what
    BarrierModel.predict_structure gives on the same structure (symmetry-averaged, so the
    frame's tie-break cannot matter)."""
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel
    from alloykit.kmc import CNNBarrier
    from alloykit.sdm import sdm_spec

    torch.manual_seed(0)
    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 3, delta=0.9)
    net = BarrierCNN(2, spec.grid, n=1, width=4, target_mean=0.6, target_scale=50.0).eval()
    model = BarrierModel(net, spec, "bcc", 2.8665, 3)
    atoms = random_solid_solution("bcc", "Fe=0.6,Cr=0.4", size=4, a=2.8665, seed=2)
    ref = model.predict_structure(atoms, sites=[5], average_symmetries=True)
    st = state_from_atoms(atoms, vacancies=[5])
    cnn = CNNBarrier(model, average_symmetries=True)
    cnn.bind(st.lattice, st.species)
    got = cnn(st.occ, np.array([0]), st.vac_site[0])[0]
    vec = st.lattice.to_cartesian(st.lattice.steps)
    assert len(ref) == 8
    for hop in ref:
        k = np.argmin(np.linalg.norm(vec - np.array(hop["hop_vector"]), axis=1))
        assert got[k] == pytest.approx(hop["barrier"], abs=1e-4)
    assert np.ptp(got) > 5e-3         # the random network does tell the hops apart


def test_cache_refreshes_every_changed_hop():
    """Several vacancies, a model that sees 3 shells: after many jumps the cached barriers
    equal a full re-prediction (only hops near the two changed sites were redone)."""
    model, _ = _synthetic_linear()
    st = random_state("bcc", 2.8665, 5, {"Fe": 0.7, "Cr": 0.3}, vacancies=6, replicas=2, seed=6)
    kmc = Kmc(st, model, 900.0, seed=7)
    kmc.run(400)
    fresh = model(st.occ, np.repeat(np.arange(2), 6), st.vac_site.ravel()).reshape(kmc.barrier.shape)
    assert np.array_equal(kmc.barrier, fresh)
    assert kmc.predictions < 400 * 2 * 6 * 8          # fewer than re-predicting everything
    # vacancies are conserved, atoms keep their species
    assert ((st.occ < 0).sum(1) == 6).all()
    kinds = st.species_of_atoms()
    assert np.array_equal(np.sort(kinds, 1), np.sort(KmcState.from_occupation(st.lattice, st.species, st.occ)
                                                     .species_of_atoms(), 1))


def test_resume_is_bit_identical(tmp_path):
    """A run stopped at step 200 (with lines written after its checkpoint, as by a crash)
    and resumed to 300 writes exactly what an uninterrupted run writes."""
    model, _ = _synthetic_linear()

    def state():
        return random_state("bcc", 2.8665, 4, {"Fe": 0.8, "Cr": 0.2}, vacancies=2, replicas=2, seed=1)

    kw = dict(temperature=800.0, seed=3, sample_every=50, checkpoint_every=100, trajectory_every=100, plot=False)
    whole = run_kmc(state(), model, steps=300, out=tmp_path / "a", **kw)
    run_kmc(state(), model, steps=200, out=tmp_path / "b", **kw)
    with open(tmp_path / "b" / "observables.jsonl", "a") as f:
        f.write('{"step": 250, "garbage": true}\n')
    with open(tmp_path / "b" / "trajectory.dump", "a") as f:
        f.write("ITEM: TIMESTEP\n250\n")
    resumed = resume_kmc(tmp_path / "b", model, steps=300)
    for name in ("observables.jsonl", "trajectory.dump"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    za, zb = (np.load(tmp_path / p / "checkpoint.npz") for p in ("a", "b"))
    for key in za.files:
        if key != "meta":
            assert np.array_equal(za[key], zb[key]), key
    assert json.loads(str(za["meta"]))["rng"] == json.loads(str(zb["meta"]))["rng"]
    assert resumed["final"] == whole["final"]
    assert [s["step"] for s in resumed["samples"]] == list(range(0, 301, 50))
    with pytest.raises(ValueError, match="barrier model"):
        resume_kmc(tmp_path / "b", ConstantBarrier(0.5), steps=400)


def test_sro_is_zero_for_random_and_negative_for_ordered():
    """Warren-Cowley alpha from the lattice: ~0 in a random alloy, -1 (first shell) in B2."""
    from alloykit.kmc import warren_cowley
    from alloykit.kmc.observables import shell_steps

    st = random_state("bcc", 2.87, 12, {"Fe": 0.5, "Cr": 0.5}, vacancies=1, seed=0)
    a = warren_cowley(st, shell_steps(st.lattice, 2))
    assert abs(a["Cr-Fe"][0]) < 0.03 and abs(a["Cr-Fe"][1]) < 0.03
    lat = SiteLattice.cubic("bcc", 2.87, 6)
    n = lat.coords(np.arange(lat.n_sites))
    corner = (np.rint(2 * lat.to_cartesian(n) / lat.a).astype(int) % 2 == 0).all(1)   # B2 sublattice
    occ = corner.astype(np.int8)
    occ[0] = -1
    b2 = KmcState.from_occupation(lat, ["Cr", "Fe"], occ[None])
    a = warren_cowley(b2, shell_steps(lat, 2))
    assert a["Cr-Fe"][0] == pytest.approx(-1.0, abs=0.01)
    assert a["Cr-Fe"][1] == pytest.approx(1.0, abs=0.01)     # second shell: same sublattice
    # by replica: a random and a B2 replica side by side, each as on its own
    both = KmcState.from_occupation(lat, ["Cr", "Fe"], np.stack([occ, np.random.default_rng(0).permutation(occ)]))
    per = warren_cowley(both, shell_steps(lat, 2), by_replica=True)
    alone = warren_cowley(KmcState.from_occupation(lat, ["Cr", "Fe"], both.occ[1:]), shell_steps(lat, 2))
    assert per["Cr-Fe"][0] == a["Cr-Fe"] and per["Cr-Fe"][1] == alone["Cr-Fe"]


def test_cli_run_resume_and_errors(tmp_path, capsys):
    from alloykit.cli import main

    out = tmp_path / "k"
    argv = ["kmc", "--lattice", "fcc", "--a", "3.6", "--size", "4", "--composition", "Cu=0.5,Ni=0.5",
            "--barrier", "constant:0.7", "--temperature", "800", "--steps", "300", "--checkpoint-every", "100",
            "--trajectory-every", "150", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 300 and summary["lattice"] == "fcc"
    assert (out / "kmc.png").stat().st_size > 0
    assert (out / "trajectory.dump").read_text().count("ITEM: TIMESTEP") == 3
    assert main(["kmc", "--resume", "--out", str(out), "--steps", "5e2", "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["steps"] == 500
    capsys.readouterr()
    assert main(["kmc", "--barrier", "constant:x", "--steps", "3", "--out", str(tmp_path / "e")]) == 2
    assert "alloykit kmc: --barrier: constant:E needs a number" in capsys.readouterr().err
    assert main(["kmc", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "holds no KMC run" in capsys.readouterr().err


@pytest.mark.parametrize("freeze,permuted", [(True, True), (False, False)])
def test_cnn_fast_path_equals_the_general_sdm_path(freeze, permuted):
    """Site maps (one template map permuted per hop frame, or one map set per frame), the
    frozen channels-last network and the environment memory change no prediction: the
    barriers equal BarrierModel.predict_hops on the same hops through the general SDM path."""
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel
    from alloykit.kmc import CNNBarrier
    from alloykit.sdm import HopSet, sdm_spec

    torch.manual_seed(4)
    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 3, delta=0.9)
    net = BarrierCNN(2, spec.grid, n=1, width=4, target_mean=0.6, target_scale=50.0).eval()
    model = BarrierModel(net, spec, "bcc", 2.8665, 3)
    st = random_state("bcc", 2.8665, 5, {"Fe": 0.6, "Cr": 0.4}, vacancies=3, replicas=2, seed=5)
    cnn = CNNBarrier(model, freeze=freeze, remember=10)
    cnn.bind(st.lattice, st.species)
    assert cnn._perm is not None          # BCC hop frames hold the same sites
    if not permuted:                      # the fallback: one set of maps per hop frame
        from alloykit.sdm.density import sdm_batch

        one = torch.zeros(cnn._frame_pos.shape[1], 1, dtype=torch.long)
        cnn._perm = None
        cnn._maps_t = torch.stack([sdm_batch(p[:, None, :], one, spec)[:, 0].reshape(len(p), -1).T.contiguous()
                                   for p in cnn._frame_pos])
    rep, site = np.repeat([0, 1], 3), st.vac_site.ravel()
    got = cnn(st.occ, rep, site)
    again = cnn(st.occ, rep, site)                       # from memory: the same numbers
    assert np.array_equal(got, again) and cnn.predicted == 6 and cnn.asked == 12
    small = CNNBarrier(model, freeze=freeze, remember=4)  # fills up: starts again, answers all
    small.bind(st.lattice, st.species)
    if not permuted:
        small._perm, small._maps_t = cnn._perm, cnn._maps_t
    for part in (slice(0, 3), slice(3, 6), slice(0, 6)):
        assert np.abs(small(st.occ, rep[part], site[part]) - got[part]).max() < 1e-5
    assert len(small.memory) <= 6
    env = cnn.environment(st.occ, rep, site)            # P z K
    P, z, K = env.shape
    chan = np.where(env >= 0, cnn.columns[np.maximum(env, 0)], -1).astype(np.int8).reshape(P * z, K)
    hops = HopSet(spec, cnn._frame_pos.repeat(P, 1, 1), torch.from_numpy(chan), cnn._ops)
    ref = model.predict_hops(hops).reshape(P, z)
    assert np.abs(got - ref).max() < 1e-5
    assert np.ptp(got) > 5e-3


def test_cnn_resume_with_its_memory_is_bit_identical(tmp_path):
    """With the CNN's memory of seen environments, a resumed run continues bit for bit: the
    memory goes into the checkpoint (a fresh memory could round a re-prediction differently)."""
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel
    from alloykit.kmc import CNNBarrier
    from alloykit.sdm import sdm_spec

    torch.manual_seed(2)
    spec = sdm_spec(["Cr", "Fe"], "bcc", 2.8665, 2, delta=0.9)
    net = BarrierCNN(2, spec.grid, n=1, width=4, target_mean=0.6, target_scale=20.0).eval()
    model = BarrierModel(net, spec, "bcc", 2.8665, 2)

    def state():
        return random_state("bcc", 2.8665, 4, {"Fe": 0.7, "Cr": 0.3}, vacancies=1, replicas=1, seed=4)

    kw = dict(temperature=600.0, seed=5, sample_every=40, checkpoint_every=80, plot=False)
    run_kmc(state(), CNNBarrier(model), steps=160, out=tmp_path / "a", **kw)
    run_kmc(state(), CNNBarrier(model), steps=80, out=tmp_path / "b", **kw)
    saved = np.load(tmp_path / "b" / "checkpoint.npz")
    assert len(saved["model_memory_keys"]) > 0
    again = CNNBarrier(model)
    resume_kmc(tmp_path / "b", again, steps=160)
    assert again.asked > again.predicted          # the restored memory was used
    assert (tmp_path / "a" / "observables.jsonl").read_bytes() == (tmp_path / "b" / "observables.jsonl").read_bytes()
    za, zb = (np.load(tmp_path / p / "checkpoint.npz") for p in ("a", "b"))
    for key in za.files:
        if key != "meta":
            assert np.array_equal(za[key], zb[key]), key


def test_cnn_fast_path_on_an_fcc_ternary():
    """FCC Cu-Ni-Co (12 hops, three channels): the site-map path (per-frame maps where the
    hop frames are not one template permuted) equals the general SDM path."""
    import torch

    from alloykit.cnn import BarrierCNN, BarrierModel
    from alloykit.kmc import CNNBarrier
    from alloykit.sdm import HopSet, sdm_spec

    torch.manual_seed(4)
    spec = sdm_spec(["Co", "Cu", "Ni"], "fcc", 3.56, 3, delta=0.9)
    net = BarrierCNN(3, spec.grid, n=1, width=4, target_mean=0.8, target_scale=50.0).eval()
    model = BarrierModel(net, spec, "fcc", 3.56, 3)
    st = random_state("fcc", 3.56, 4, {"Cu": 0.4, "Ni": 0.35, "Co": 0.25}, vacancies=2, replicas=2, seed=1)
    cnn = CNNBarrier(model)
    cnn.bind(st.lattice, st.species)
    rep, site = np.repeat([0, 1], 2), st.vac_site.ravel()
    got = cnn(st.occ, rep, site)
    env = cnn.environment(st.occ, rep, site)
    P, z, K = env.shape
    assert z == 12
    chan = np.where(env >= 0, cnn.columns[np.maximum(env, 0)], -1).astype(np.int8).reshape(P * z, K)
    ref = model.predict_hops(HopSet(spec, cnn._frame_pos.repeat(P, 1, 1), torch.from_numpy(chan), cnn._ops))
    assert np.abs(got - ref.reshape(P, z)).max() < 1e-5
    assert np.ptp(got) > 5e-3
