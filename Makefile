# Two commands set everything up: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP  := $(VENV)/.installed
# Benchmarks read their data from the dataset cache; here, the shared benchmark folder.
BENCH_DATA ?= $(abspath ../shared/data)

# Debian packages that carry the demo's data: SWORD Bibles (a parallel corpus), espeak-ng (spoken digits)
# and an annotated genome; and chromium, in which a test renders a run's report. Where apt-get is not at
# hand the demo skips those stops and the tests that need them.
SYSTEM_DATA := /usr/share/sword/mods.d/engKJV2006eb.conf /usr/share/sword/mods.d/spaRV1909eb.conf \
               /usr/bin/espeak-ng /usr/share/doc/any2fasta/examples/test.gbk.gz /usr/bin/chromium
PACKAGES    := sword-text-kjv sword-text-sparv espeak-ng any2fasta-examples chromium

.PHONY: demo test lint bench bench-speed bench-quality clean system-data

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[demo,test,auto,vectors,serve,export]"
	touch $(STAMP)

system-data:
	@for f in $(SYSTEM_DATA); do [ -e $$f ] || missing=1; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq $(PACKAGES) >/dev/null) \
		|| echo "could not install $(PACKAGES): the demo stops that read them will be skipped"; \
	fi

demo: $(STAMP) system-data
	$(VENV)/bin/seqlab demo

# one pytest worker per core, each test file whole on one worker (its module fixtures built once), the
# files in the order tests/conftest.py collects them (those that take minutes first)
test: $(STAMP) system-data lint
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: bench-speed bench-quality

bench-speed: $(STAMP)
	$(PIP) -e ".[bench]"
	SEQLAB_DATA=$${SEQLAB_DATA:-$(BENCH_DATA)} $(VENV)/bin/seqlab bench speed --out benchmarks

bench-quality: $(STAMP)
	SEQLAB_DATA=$${SEQLAB_DATA:-$(BENCH_DATA)} $(VENV)/bin/seqlab bench quality

clean:
	rm -rf $(VENV) runs .pytest_cache
