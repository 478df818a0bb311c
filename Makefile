# Two commands matter on a fresh clone:  make bench  and  make test.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CORES  ?= 2
# Offline at run time: weights come from the HF cache or local folders, never the network.
# OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning beside other jobs.
SNAKE  := HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE $(VENV)/bin/snakemake --cores $(CORES) --printshellcmds

.PHONY: bench test figures benchmark benchmark-full lint quick clean-results venv plugin-envs

$(STAMP): pyproject.toml requirements/lock.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<27"
	$(PY) -m pip install --quiet -c requirements/lock.txt -e ".[test,slurm]"
	@touch $(STAMP)

venv: $(STAMP)

## Own environments of the plug-ins whose pins conflict with ours (MOMENT, Toto, TTM):
## exact versions from plugins/*/requirements.lock, CPU torch from the local wheel
PLUGIN_ENVS := $(foreach p,moment toto ttm,plugins/physio-bench-$(p)/.venv/.installed)
## The default run embeds with TTM-R2 (shipped weights, own interpreter): bench builds its env
BENCH_ENVS  := plugins/physio-bench-ttm/.venv/.installed
plugins/physio-bench-%/.venv/.installed: plugins/physio-bench-%/requirements.lock plugins/physio-bench-%/pyproject.toml plugins/build-env.sh
	plugins/build-env.sh plugins/physio-bench-$*

plugin-envs: $(PLUGIN_ENVS)

## The full default benchmark, offline; ends with results/report.html
bench: $(STAMP) $(BENCH_ENVS)
	$(SNAKE) all
	$(SNAKE) all --report results/report.html

## The test suite (unit, known-answer and real Snakemake runs on small configs), one
## worker per core; --dist loadfile keeps each file's shared fixtures on one worker
test: $(STAMP) $(PLUGIN_ENVS)
	$(VENV)/bin/ruff check src tests benchmarks workflow plugins
	$(VENV)/bin/pytest -q -n $(CORES) --dist loadfile

## First try: every stage on the small preset, in well under 3 minutes
quick: $(STAMP)
	$(SNAKE) all --configfile workflow/presets/quick.yaml

## Redraw figures and tables from existing results (no simulation, embedding or probe job)
figures: $(STAMP)
	$(SNAKE) figures

## Speed and memory figures (printed, never asserted)
benchmark: $(STAMP)
	$(PY) benchmarks/run.py

## The same, plus the full default pipeline: wall time, peak memory and a per-stage
## breakdown (the pipeline alone, `benchmarks/run.py --pipeline full --pipeline-only`, took
## 36 min on 2 cores, 2026-12-06)
benchmark-full: $(STAMP) $(BENCH_ENVS)
	HF_HUB_OFFLINE=1 OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/run.py --pipeline full

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks workflow plugins

clean-results:
	rm -rf results/simulated results/embeddings results/probes results/downstream results/figures results/*.csv results/*.md results/*.html .snakemake
