# Two commands do all the set-up on a fresh machine (Python >= 3.11 required):
#   make demo   train a VRNN with FIVO on the embedded JSB chorales, print test bounds
#   make test   the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORKDIR ?= runs/vrnn_jsb

.PHONY: install demo test results bench system-packages

# EGL and Mesa's software rasteriser: miniworld renders GTM-SM's first-person
# videos headless with them. Installed with apt-get when missing and run as root;
# otherwise the command to run is printed (only that data set needs them).
SYSTEM_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libgl1
system-packages:
	@if command -v dpkg >/dev/null && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SYSTEM_PACKAGES); \
	  else echo "first-person navigation needs: sudo apt-get install $(SYSTEM_PACKAGES)" >&2; fi; fi

$(STAMP): requirements.lock pyproject.toml | system-packages
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) experiments/train.py --config=experiments/configs/vrnn.py --workdir=$(WORKDIR)
	$(PY) experiments/evaluate.py --workdir=$(WORKDIR) --split=test --num_particles=16

test: install
	$(PY) -m pytest -q -n 2 --dist loadfile tests  # two workers: compile time dominates

results: install
	bash experiments/run_results.sh 4000 runs/results
	$(PY) experiments/results_table.py runs/results  # the table for docs/results.md, and docs/figures/

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.lock
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-bench.lock
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  # speed against peers, side by side; writes benchmarks/results/*.json and docs/performance.md
	for b in benchmarks/*.py; do case $$b in */common.py|*/report.py|*/workloads.py) ;; *) $(PY) $$b || exit 1;; esac; done
	$(PY) benchmarks/report.py
