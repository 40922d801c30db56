"""Lattice kinetic Monte Carlo of vacancies in BCC/FCC alloys (residence time / BKL).

Rates nu exp(-E / k_B T) with E from any barrier model: the CNN (:mod:`alloykit.cnn`), the
paper's linear and NN baselines, a constant or a user function (:mod:`.barriers`).
Occupations live on the sites of the ideal lattice with neighbours from its connectivity
(:mod:`.state`); barriers are cached and only hops whose environment changed are
re-predicted (:mod:`.engine`); MSDs, D, correlation factors and Warren-Cowley SRO are
sampled along the run (:mod:`.observables`); checkpoints resume bit for bit (:mod:`.checkpoint`).

    from alloykit import kmc
    state = kmc.random_state("bcc", 2.8665, 20, "Fe=0.8,Cr=0.2", vacancies=1, seed=0)
    model = kmc.ConstantBarrier(0.65)                  # or kmc.CNNBarrier(cnn.load("model"))
    result = kmc.run_kmc(state, model, temperature=700, steps=100000, out="kmc_out")
    result["final"]["D_vacancy"], result["final"]["f"]
    kmc.resume_kmc("kmc_out", model, steps=200000)    # continue from the checkpoint

Several independent runs can be stepped together (``replicas=R``): one vectorised loop.
"""
from .barriers import CNNBarrier, ConstantBarrier, FunctionBarrier, LinearBarrier, SiteNetBarrier
from .engine import K_B, Kmc
from .observables import transport, warren_cowley
from .run import resume_kmc, run_kmc
from .state import KmcState, SiteLattice, random_state, state_from_atoms

__all__ = ["CNNBarrier", "ConstantBarrier", "FunctionBarrier", "LinearBarrier", "SiteNetBarrier", "K_B", "Kmc",
           "KmcState", "SiteLattice", "random_state", "state_from_atoms", "run_kmc", "resume_kmc", "transport",
           "warren_cowley"]
