# Two commands set everything up: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP  := $(VENV)/.installed
# Benchmarks read their data from the dataset cache; here, the shared benchmark folder.
BENCH_DATA ?= $(abspath ../shared/data)

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[demo,test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/seqlab demo

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	SEQLAB_DATA=$${SEQLAB_DATA:-$(BENCH_DATA)} $(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) runs .pytest_cache
