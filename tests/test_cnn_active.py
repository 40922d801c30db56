"""Active learning (alloykit.cnn.active): the committee disagrees where the training set
has not been, the choice is seeded, skips what is planned and keeps chosen sites apart."""
import numpy as np
import pytest

from alloykit.cnn.active import candidates, choose_vacancies, committee_spread
from alloykit.cnn.data import SyntheticBarrier, synthetic_records
from alloykit.errors import InputError
from alloykit.structures import random_solid_solution

A = 2.8665
BARRIER = SyntheticBarrier(["Cr", "Fe"], seed=4)


def sample(comp, seed):
    return random_solid_solution("bcc", comp, size=4, a=A, seed=seed)


@pytest.fixture(scope="module")
def iron_rich():
    """Training barriers from Fe-10Cr only (labelled by the synthetic barrier)."""
    return synthetic_records(["Fe=0.9,Cr=0.1"], size=(4, 4, 4), sites_per_sample=12, seed=1, a=A, barrier=BARRIER)


def test_committee_disagrees_more_on_environments_it_has_not_seen(iron_rich):
    seen = candidates({"fe": sample({"Fe": 0.9, "Cr": 0.1}, 11)})
    unseen = candidates({"cr": sample({"Fe": 0.3, "Cr": 0.7}, 12)})
    s_seen = committee_spread(iron_rich, seen, n_models=6, n_shells=2)
    s_unseen = committee_spread(iron_rich, unseen, n_models=6, n_shells=2)
    assert len(s_seen) == 8 * 128 and np.all(s_seen >= 0)
    assert np.median(s_unseen) > 3 * np.median(s_seen)


def test_choice_prefers_the_unseen_and_is_seeded(iron_rich):
    samples = {"fe": sample({"Fe": 0.9, "Cr": 0.1}, 11), "cr": sample({"Fe": 0.3, "Cr": 0.7}, 12)}
    picks = choose_vacancies(iron_rich, samples, 6, n_shells=2, n_models=6, seed=5)
    assert [p["sample_id"] for p in picks].count("cr") >= 5
    assert all(a["score"] >= b["score"] for a, b in zip(picks, picks[1:]))
    assert picks == choose_vacancies(iron_rich, samples, 6, n_shells=2, n_models=6, seed=5)


def test_random_choice_excludes_planned_and_keeps_sites_apart():
    samples = {"s": sample({"Fe": 0.5, "Cr": 0.5}, 3)}
    planned = [("s", i) for i in range(0, 128, 2)]
    picks = choose_vacancies([], samples, 5, exclude=planned, method="random", min_separation=5.0, seed=9)
    sites = [p["site"] for p in picks]
    assert len(sites) == 5 and not set(sites) & {i for _, i in planned}
    atoms = samples["s"]
    assert min(atoms.get_distance(i, j, mic=True) for i in sites for j in sites if i < j) >= 5.0
    again = choose_vacancies([], samples, 5, exclude=planned, method="random", min_separation=5.0, seed=9)
    other = choose_vacancies([], samples, 5, exclude=planned, method="random", min_separation=5.0, seed=10)
    assert sites == [p["site"] for p in again] != [p["site"] for p in other]
    assert all(np.isnan(p["score"]) for p in picks)      # no score for a random choice


def test_bad_requests_are_refused(iron_rich):
    samples = {"s": sample({"Fe": 0.5, "Cr": 0.5}, 3)}
    with pytest.raises(InputError, match="method"):
        choose_vacancies(iron_rich, samples, 2, method="greedy")
    with pytest.raises(InputError, match="positive"):
        choose_vacancies(iron_rich, samples, 0)
    with pytest.raises(InputError, match="no candidate"):
        choose_vacancies(iron_rich, samples, 1, exclude=[("s", i) for i in range(128)])
    with pytest.raises(InputError, match="committee"):
        committee_spread(iron_rich, [], n_models=4)
