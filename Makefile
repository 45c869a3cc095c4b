# The HCC second-line book. `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help book test test-fast bench reconstruct ensemble fidelity serve clean lock

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[test]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $(STAMP)

book: $(STAMP) ## create .venv, execute every notebook (papermill), build _build/html
	$(BIN)/hcc build

test: $(STAMP) ## run the test suite (R parity and browser tests run when Rscript/chromium exist)
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## the test suite without notebook execution and book builds
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP) ## run the benchmarks (prints figures)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

reconstruct: $(STAMP) ## rebuild the shipped cohort in hcc/data from the default seed
	$(BIN)/hcc reconstruct --out hcc/data

ENSEMBLE_N ?= 11
ensemble: $(STAMP) ## build the shipped ensemble hcc/data/ensemble (ENSEMBLE_N seeds from the default, default budget, Dask)
	$(BIN)/hcc ensemble --n $(ENSEMBLE_N) --out hcc/data/ensemble

fidelity: $(STAMP) ## compare the shipped cohort with every number the paper prints
	$(BIN)/hcc fidelity

serve: $(STAMP) ## serve the built site on http://127.0.0.1:8000
	$(BIN)/hcc serve

lock: ## re-pin requirements.lock from the current .venv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean: ## remove the built site, executed notebooks and caches (keeps .venv)
	rm -rf _build book/*.ipynb book/_executed book/_failed book/.stamps book/tables .cache
