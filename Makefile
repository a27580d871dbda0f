# Two commands set everything up: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
STAMP  := $(VENV)/.installed
# Benchmarks read their data from the dataset cache; here, the shared benchmark folder.
BENCH_DATA ?= $(abspath ../shared/data)

# Debian's SWORD Bibles, the demo's parallel corpus; where apt-get is not at hand the demo skips that stop.
SWORD  := /usr/share/sword/mods.d/engKJV2006eb.conf /usr/share/sword/mods.d/spaRV1909eb.conf

.PHONY: demo test bench bench-speed bench-quality clean bibles

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[demo,test,auto]"
	touch $(STAMP)

bibles:
	@for f in $(SWORD); do [ -f $$f ] || missing=1; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && apt-get install -y -qq sword-text-kjv sword-text-sparv >/dev/null) \
		|| echo "could not install sword-text-kjv and sword-text-sparv: the translation stop will be skipped"; \
	fi

demo: $(STAMP) bibles
	$(VENV)/bin/seqlab demo

test: $(STAMP) bibles
	$(PY) -m pytest

bench: bench-speed bench-quality

bench-speed: $(STAMP)
	$(PIP) -e ".[bench]"
	SEQLAB_DATA=$${SEQLAB_DATA:-$(BENCH_DATA)} $(VENV)/bin/seqlab bench speed --out benchmarks

bench-quality: $(STAMP)
	SEQLAB_DATA=$${SEQLAB_DATA:-$(BENCH_DATA)} $(VENV)/bin/seqlab bench quality

clean:
	rm -rf $(VENV) runs .pytest_cache
