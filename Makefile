# Two commands do all the set-up on a fresh machine (Python >= 3.11 required):
#   make demo   train a VRNN with FIVO on the embedded JSB chorales, print test bounds
#   make test   the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORKDIR ?= runs/vrnn_jsb

.PHONY: install demo test results

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) experiments/train.py --config=experiments/configs/vrnn.py --workdir=$(WORKDIR)
	$(PY) experiments/evaluate.py --workdir=$(WORKDIR) --split=test --num_particles=16

test: install
	$(PY) -m pytest -q tests

results: install
	bash experiments/run_results.sh 4000 runs/results
	$(PY) experiments/results_table.py runs/results  # the table for docs/results.md, and docs/figures/
