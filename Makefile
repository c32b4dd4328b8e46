# Two commands do all the set-up on a fresh machine:
#   make demo   train a VRNN with FIVO on the embedded JSB chorales, print test bounds
#   make test   the whole suite on the primary environment, a fast subset on the oldest
#               supported one (what CI runs: .ci/run)
SHELL := /bin/bash

# The primary environment is the newest Python >= 3.12 on this machine (current jax needs it), on
# PATH or among pyenv's versions, with requirements.lock. Without one, Python 3.11 with the oldest
# lock is all there is. The oldest supported environment is Python 3.11 with requirements-oldest.lock.
# An interpreter counts when it runs and can make a venv (ensurepip present); its real path is kept
# (not a pyenv shim).
find_python = $(shell for v in $(1); do \
  for p in $$(command -v python$$v) $$(ls -d $$(pyenv root 2>/dev/null)/versions/$$v*/bin/python$$v 2>/dev/null | sort -V | tail -1); do \
    "$$p" -c 'import venv, ensurepip, sys; print(sys.executable)' 2>/dev/null && exit 0; done; done)
PRIMARY_PYTHON ?= $(call find_python,3.13 3.12)
PRIMARY_PYTHON := $(PRIMARY_PYTHON)
OLDEST_PYTHON ?= $(call find_python,3.11)
OLDEST_PYTHON := $(OLDEST_PYTHON)
ifeq ($(strip $(PRIMARY_PYTHON)),)
  PRIMARY_PYTHON := $(OLDEST_PYTHON)
  LOCK := requirements-oldest.lock
else
  LOCK := requirements.lock
endif

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OLDEST_VENV := .venv-oldest
OLDEST_STAMP := $(OLDEST_VENV)/.installed
# What each venv is made of (interpreter and lock), rewritten only when it changes: a new
# interpreter or lock makes the venv again.
VENV_ID := .cache/venv.id
OLDEST_VENV_ID := .cache/venv-oldest.id
WORKDIR ?= runs/vrnn_jsb
# The subset the oldest environment runs: imports and extras, the README's example, the registry's
# completeness, the golden values. (The docs' snippets and the contract tests run on the primary.)
ZOO := tests/models/test_zoo_contract.py
OLDEST_TESTS := tests/test_imports.py tests/test_extras.py tests/test_readme.py tests/test_no_hang.py \
  $(ZOO)::test_registry_is_complete $(ZOO)::test_every_registered_model_is_exported tests/test_golden.py

.PHONY: install install-oldest demo test test-fast test-all test-primary test-oldest docs wheel results bench bench-check system-packages FORCE

# EGL and Mesa's software rasteriser: miniworld renders GTM-SM's first-person
# videos headless with them. Installed with apt-get when missing and run as root;
# otherwise the command to run is printed (only that data set needs them).
SYSTEM_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libgl1
system-packages:
	@if command -v dpkg >/dev/null && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); \
	  else echo "first-person navigation needs: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; fi; fi

# The installer: uv (from the registry, pinned), which fetches and unpacks the lock's wheels in
# parallel; like pip, it byte-compiles what it installs (without .pyc files, and with
# PYTHONDONTWRITEBYTECODE set, every process compiles jax's sources again: 10.6 s against 3.7 s to
# import seqvi.train.experiment). pip where uv cannot run or reach the index. PIP_INDEX_URL, where
# set, is uv's index too.
UV := uv==0.13.10
PIP := pip install -q --disable-pip-version-check
export UV_DEFAULT_INDEX ?= $(PIP_INDEX_URL)
ifeq ($(strip $(UV_DEFAULT_INDEX)),)
  unexport UV_DEFAULT_INDEX
endif

# make_venv(python, venv, lock): a venv of that interpreter with the lock's exact versions and seqvi
# editable; a venv made by another interpreter or lock is made again.
define make_venv
	@test -n "$(1)" || { echo "no Python interpreter found for $(2) (set PRIMARY_PYTHON / OLDEST_PYTHON)" >&2; exit 1; }
	@echo "$(2): $(1) ($$($(1) --version)) with $(3)"
	@if [ "$$(cat $(2)/.made-by 2>/dev/null)" != "$(1) $(3)" ]; then rm -rf $(2); fi  # another interpreter or lock
	$(1) -m venv $(2)
	if $(2)/bin/python -m $(PIP) "$(UV)" && $(2)/bin/uv pip install -q --compile-bytecode --python $(2)/bin/python -r $(3); then \
	  $(2)/bin/uv pip install -q --python $(2)/bin/python --no-deps -e .; \
	else echo "uv failed: installing with pip" >&2; \
	  $(2)/bin/python -m $(PIP) -r $(3) && $(2)/bin/python -m $(PIP) --no-deps -e .; fi
	echo "$(1) $(3)" > $(2)/.made-by
	touch $(2)/.installed
endef

$(VENV_ID): FORCE
	@mkdir -p $(@D); echo "$(PRIMARY_PYTHON) $(LOCK)" | cmp -s - $@ || echo "$(PRIMARY_PYTHON) $(LOCK)" > $@

$(OLDEST_VENV_ID): FORCE
	@mkdir -p $(@D); echo "$(OLDEST_PYTHON)" | cmp -s - $@ || echo "$(OLDEST_PYTHON)" > $@

$(STAMP): $(LOCK) pyproject.toml seqvi/_version.py $(VENV_ID) | system-packages
	$(call make_venv,$(PRIMARY_PYTHON),$(VENV),$(LOCK))

$(OLDEST_STAMP): requirements-oldest.lock pyproject.toml seqvi/_version.py $(OLDEST_VENV_ID)
	$(call make_venv,$(OLDEST_PYTHON),$(OLDEST_VENV),requirements-oldest.lock)

install: $(STAMP)

install-oldest: $(OLDEST_STAMP)

demo: install
	$(PY) experiments/train.py --config=experiments/configs/vrnn.py --workdir=$(WORKDIR)
	$(PY) experiments/evaluate.py --workdir=$(WORKDIR) --split=test --num_particles=16

test: test-primary test-oldest

test-primary: install  # two workers: compile time dominates
	@echo "== the whole suite on $$($(PY) --version), jax $$($(PY) -c 'import jax; print(jax.__version__)')"
	time $(PY) -m pytest -q -n 2 --dist loadfile --durations=20 $(CI_SKIPS) tests

# The edit-test loop: every test but the end-to-end ones (marked slow: binaries, notebooks, the wheel)
# and the two that walk every registered model and config (the contract and the golden values).
FAST_SKIPS := -m "not slow" --ignore=tests/benchmarks --ignore=tests/test_golden.py --ignore=$(ZOO)
test-fast: install
	time $(PY) -m pytest -q -n 2 --dist loadfile --durations=10 $(FAST_SKIPS) tests

# What make test (CI) leaves to make test-all, to stay inside CI's 30 minutes on 2 cores: the
# benchmark scripts' quick runs and the notebooks' execution from the wheel (about 7 minutes).
CI_SKIPS := --ignore=tests/benchmarks --deselect tests/test_wheel.py::test_notebook_runs_from_the_wheel

test-all: install  # every test on the primary, the notebooks and benchmark scripts included
	$(PY) -m pytest -q -n 2 --dist loadfile tests

test-oldest:
	@if [ "$(LOCK)" = requirements-oldest.lock ]; then echo "== the primary environment is the oldest one: no subset to add"; \
	elif [ -z "$(strip $(OLDEST_PYTHON))" ]; then echo "== no Python 3.11 here: the oldest environment's subset did not run" >&2; \
	  [ -z "$$REQUIRE_OLDEST" ] || exit 1; \
	else $(MAKE) --no-print-directory install-oldest && \
	  echo "== the subset on $$($(OLDEST_VENV)/bin/python --version), jax $$($(OLDEST_VENV)/bin/python -c 'import jax; print(jax.__version__)')" && \
	  time $(OLDEST_VENV)/bin/python -m pytest -q -n 2 --dist load --durations=10 $(OLDEST_TESTS); fi

docs: install  # the site, built strict (a broken link, a missing reference or a warning fails): build/site
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

wheel: install  # dist/seqvi-<version>-py3-none-any.whl and the sdist, both holding the embedded data
	$(PY) -m build --outdir dist

results: install
	bash experiments/run_results.sh 4000 runs/results
	$(PY) experiments/results_table.py runs/results  # the table for docs/results.md, and docs/figures/

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.lock
	touch $(BENCH_STAMP)

bench-check: install  # every benchmark script at --quick sizes, and the report (tests/benchmarks)
	$(PY) -m pytest -q -n 2 --dist loadfile tests/benchmarks

bench: $(BENCH_STAMP) bench-check  # speed against peers, side by side; writes benchmarks/results/*.json and docs/performance.md
	for b in benchmarks/*.py; do case $$b in */common.py|*/report.py|*/workloads.py) ;; *) $(PY) $$b || exit 1;; esac; done
	$(PY) benchmarks/report.py
