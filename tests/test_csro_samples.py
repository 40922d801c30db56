"""Random solid solutions (alloykit.structures, as csro uses them): exact counts, documented
rounding, seeds, bad compositions."""
import warnings

import numpy as np
import pytest

from alloykit.structures import CompositionRounded, exact_counts, parse_composition, random_solid_solution


def test_counts_are_exact_and_follow_largest_remainder():
    # 0.3333*10 -> 3.333, 3.333, 3.333: one left-over atom goes to the first listed
    with pytest.warns(CompositionRounded, match="rounded"):
        assert exact_counts({"Ta": 1 / 3, "Nb": 1 / 3, "Mo": 1 / 3}, 10) == {"Ta": 4, "Nb": 3, "Mo": 3}
    # 0.55*7 = 3.85 and 0.45*7 = 3.15: floor gives 3 + 3, the left-over goes to the larger remainder
    with pytest.warns(CompositionRounded):
        assert exact_counts("Fe=0.45,Cr=0.55", 7) == {"Fe": 3, "Cr": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # exact: no rounding note
        assert exact_counts("Fe=0.8,Cr=0.2", 250) == {"Fe": 200, "Cr": 50}
    rng = np.random.default_rng(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompositionRounded)
        for _ in range(50):
            c = rng.dirichlet(np.full(5, 5.0))
            c[-1] = 1 - c[:-1].sum()
            n = int(rng.integers(200, 5000))
            got = exact_counts(dict(zip(["Fe", "Cr", "Ni", "Co", "Mn"], c)), n)
            assert sum(got.values()) == n
            for el, f in zip(["Fe", "Cr", "Ni", "Co", "Mn"], c):
                assert abs(got.get(el, 0) - f * n) < 1.0


@pytest.mark.parametrize("lattice,per_cube", [("bcc", 2), ("fcc", 4)])
def test_sample_has_exact_counts_and_is_seeded(lattice, per_cube):
    comp = {"Cu": 0.2, "Ni": 0.3, "Co": 0.25, "Fe": 0.25}
    a = random_solid_solution(lattice, comp, size=(3, 4, 5), a=3.6, seed=7)
    assert len(a) == per_cube * 60
    sym = a.get_chemical_symbols()
    assert {el: sym.count(el) for el in comp} == exact_counts(comp, len(a))
    b = random_solid_solution(lattice, comp, size=(3, 4, 5), a=3.6, seed=7)
    c = random_solid_solution(lattice, comp, size=(3, 4, 5), a=3.6, seed=8)
    assert b.get_chemical_symbols() == sym
    assert c.get_chemical_symbols() != sym
    assert np.allclose(np.diag(a.cell.array), [3 * 3.6, 4 * 3.6, 5 * 3.6])


@pytest.mark.parametrize("comp,field", [
    ({"Fe": 0.5, "Cr": 0.4}, "sum to 0.9"),
    ("Fe=0.8,Cr=0.3", "sum to 1.1"),
    ({"Fe": 0.9999, "Cr": 0.0001}, "gives no atom"),
    ({"Fe": 0.5, "Xx": 0.5}, "'Xx' is not an element symbol"),
    ({"Fe": 1.2, "Cr": -0.2}, ">= 0"),
    ("Fe=0.5,Cr", "not ELEMENT=FRACTION"),
])
def test_bad_compositions_fail_with_one_line(comp, field):
    with pytest.raises(ValueError) as err:
        random_solid_solution("bcc", comp, size=5, seed=0)
    msg = str(err.value)
    assert msg.startswith("composition:") and field in msg and "\n" not in msg


def test_bad_lattice_and_size():
    with pytest.raises(ValueError, match="^lattice:"):
        random_solid_solution("hcp", "Fe=1", 3)
    with pytest.raises(ValueError, match="^size:"):
        random_solid_solution("bcc", "Fe=1", (3, 3))
    assert parse_composition("Fe=0.8, Cr=0.2") == {"Fe": 0.8, "Cr": 0.2}
    assert parse_composition("Fe80Cr20") == pytest.approx({"Fe": 0.8, "Cr": 0.2})
