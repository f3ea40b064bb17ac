# jax2tf-workshop: every command the README, CI and instructors use. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
# The one list of supported Pythons, default first (also read by .ci/run, tools/wheels.py, ci.yml).
SUPPORTED_PYTHONS := $(strip $(shell grep -v '^\#' python-versions.txt))
# JAX and TensorFlow share one process (and one GPU, where there is one): see README, "GPU".
export XLA_PYTHON_CLIENT_PREALLOCATE ?= false
export TF_FORCE_GPU_ALLOW_GROWTH ?= true
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

STAGES := 01_data 02_flax_model 03_jax_training 04_export 04b_export_inside 05_tf_finetune 05b_restart_and_speed \
	06_deploy 07_fusion 08_flax_nnx 09_scale_out 10_ship
NOTEBOOKS := $(foreach s,$(STAGES),$(wildcard notebooks/$(s).ipynb))  # core lessons and deep dives, in stage order
SOLUTIONS := $(sort $(wildcard solutions/*_solutions.ipynb))  # read the lessons' artifacts, write only artifacts/scratch/
NBVAL := $(BIN)/python -m pytest -x -p no:cacheprovider --nbval-lax --nbval-current-env \
	--nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=900

.PHONY: help install check-env data run solutions lab scale-out test unit test-platforms test-notebooks test-stages test-browser lint export bench claims claims-table clean $(STAGES)

help: ## Show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'
	@echo "  make 01_data ... 10_ship  Execute one lesson or deep dive (04b_..., 05b_...) in place (needs the earlier lessons' artifacts)"

$(STAMP): requirements.txt requirements-dev.txt requirements-no-deps.txt pyproject.toml
	@version=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case " $(SUPPORTED_PYTHONS) " in *" $$version "*) ;; *) \
	  echo "make install: '$(PYTHON)' is Python $${version:-(not found)}, but the pinned stack needs Python $(SUPPORTED_PYTHONS) (one of them): run e.g. 'make install PYTHON=python$(lastword $(SUPPORTED_PYTHONS))'."; exit 1;; esac
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt  # includes requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-no-deps.txt  # why: see the file
	@touch $@

install: $(STAMP) ## Create .venv with python3 and install the pinned stack and Jupyter (only when requirements change)

check-env: $(STAMP) ## Print [OK]/[FAIL] for every pinned package
	@$(BIN)/python tools/check_env.py requirements.txt requirements-dev.txt requirements-no-deps.txt  # a plain script: works even when imports are broken

data: $(STAMP) ## Put MNIST into Keras' cache (~/.keras/datasets/): copied from $$MNIST_NPZ if set, else downloaded
	$(BIN)/python -m helpers.data

run: $(STAMP) ## The main job: install if needed, then execute every lesson, deep dive and solutions notebook in order
	$(BIN)/python -m tools.run_notebooks $(NOTEBOOKS) $(SOLUTIONS)  # times and peak memory: artifacts/run_times.tsv

$(STAGES): %: $(STAMP) ## (one target per lesson, e.g. `make 03_jax_training`)
	$(BIN)/python -m tools.run_notebooks notebooks/$@.ipynb  # replaces its row of artifacts/run_times.tsv

solutions: $(STAMP) ## Execute every solutions notebook in place (needs the lessons' artifacts)
	$(BIN)/python -m tools.run_notebooks $(SOLUTIONS)

scale-out: $(STAMP) ## Lesson 09's two-process data-parallel JAX training, outside the notebook (needs 03's and 09's artifacts)
	$(BIN)/python -m helpers.scale_out.launcher --processes 2 --local-devices 2 --steps 20

LAB_DIR ?= .  # notebooks/ (lessons) and solutions/
LAB_ARGS ?=
lab: $(STAMP) ## Open the lessons in JupyterLab (localhost only, with a token), on the venv's Python
	$(BIN)/python -m jupyterlab --ip=127.0.0.1 --notebook-dir=$(LAB_DIR) \
		--ServerApp.kernel_spec_manager_class=tools.venv_kernel.VenvKernelSpecManager $(LAB_ARGS)

unit: $(STAMP) ## Unit tests of helpers (fast, no notebooks), with coverage
	MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider tests/unit \
		--doctest-modules helpers tools --cov=helpers --cov-report=term-missing --cov-fail-under=90

test-platforms: $(STAMP) ## requirements.txt and requirements-dev.txt resolve on Linux x86-64/aarch64 and macOS arm64, every Python in python-versions.txt (needs the package index)
	$(BIN)/python -m pytest -p no:cacheprovider tests/platforms

test-notebooks: $(STAMP) ## Re-execute every notebook with nbval: lessons and deep dives in stage order, then solutions
	$(NBVAL) $(NOTEBOOKS) $(SOLUTIONS)

test-stages: $(STAMP) ## Tests of what the lessons produced (needs their artifacts)
	MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider tests/stages

test-browser: $(STAMP) ## `make lab` in headless Chromium runs lessons 01 and 02 from its menu (needs Debian's chromium)
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser

test: lint unit test-platforms test-notebooks test-stages ## The README's test command: lint, unit tests, wheels per platform, every notebook, then their artifacts

export: $(STAMP) ## Write the lessons' cells tagged `export` to helpers/lessons/ (the one source of reused code)
	$(BIN)/python -m tools.export

lint: $(STAMP) ## ruff; notebooks hold executed outputs and their prose no number the outputs lack; helpers/lessons/ current
	$(BIN)/python -m tools.export --check
	$(BIN)/ruff check helpers tests benchmarks tools notebooks solutions
	$(BIN)/ruff format --check helpers tests benchmarks tools
	$(BIN)/python -m tools.notebook_check $(NOTEBOOKS) $(SOLUTIONS)
	$(BIN)/python -m tools.number_check $(NOTEBOOKS) $(SOLUTIONS)  # markdown states no number the outputs lack
	$(BIN)/actionlint .github/workflows/*.yml

bench: $(STAMP) ## Side-by-side performance of every path (needs the lessons' artifacts); `make bench ARGS=--quick`
	@$(BIN)/python -m benchmarks.run $(ARGS)

SEED ?= 0
claims: $(STAMP) ## Run every lesson with WORKSHOP_SEED=$(SEED) (CPUS=0: one core) in claims-runs/, print every claim
	$(BIN)/python -m tools.claims run --seed $(SEED) $(if $(CPUS),--cpus $(CPUS)) $(NOTEBOOKS)

claims-table: $(STAMP) ## docs/claims.md: min/max of every claim over the runs kept in docs/claims-runs/
	@$(BIN)/python -m tools.claims table

clean: ## Remove artifacts/ (what the lessons produced)
	rm -rf artifacts
