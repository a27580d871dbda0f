"""Which encoder suits which data: `seqlab compare` on one dataset of each family, at the same short
budget per run, and the tables in COMPARE.md (the evidence behind the README's advice).

    python benchmarks/compare.py              # every dataset (about an hour on a 2-core CPU)
    python benchmarks/compare.py fsdd splice  # some of them; `--list` names them

Data comes from the seqlab cache: SEQLAB_DATA (the Makefile points it at ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = HERE.parent / "runs" / "bench" / "compare"
CONFIGS = HERE.parent / "configs"
SEEDS, MINUTES = 2, 1.0

# name → (family, the config of its benchmark row, overrides)
DATASETS = {
    "sms-spam": ("text classification", "sms-spam.yaml", {}),
    "tinyshakespeare": ("language modelling", "shakespeare-65s.yaml", {}),
    "gunpoint": ("series classification", "ucr.yaml", {"data.path": "gunpoint"}),
    "fsdd": ("speech", "fsdd.yaml", {}),
    "splice": ("DNA", "splice.yaml", {}),
    "jsb-chorales": ("music", "jsb-chorales.yaml", {}),
}


def run(name: str) -> dict:
    from seqlab.compare import compare
    from seqlab.config import ENCODERS, load_config

    family, config_file, overrides = DATASETS[name]
    config = load_config(CONFIGS / config_file, **overrides)
    out = RUNS / name
    shutil.rmtree(out, ignore_errors=True)
    result = compare(config, list(ENCODERS), SEEDS, MINUTES, out)
    return {**result, "family": family, "config": f"configs/{config_file}", "date": date.today().isoformat()}


def write_table(results: dict[str, dict]) -> None:
    from seqlab.bench.speed import machine
    from seqlab.compare import markdown, title

    (HERE / "compare.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Which encoder? `seqlab compare` per data family", "",
             f"Measured by `python benchmarks/compare.py NAME` on {machine()}: the four encoders of each "
             f"family's benchmark config, {SEEDS} seeds of {MINUTES:g} min each, held-out metrics as mean ± "
             "spread over seeds; \"vs best\" is Welch's t-test against the best encoder (p < 0.05: beyond "
             "the seed-to-seed noise). Short budgets favour encoders that learn fast; the published-results "
             "rows in RESULTS.md train for longer.", ""]
    for name, result in results.items():
        lines += [f"## {result['family']}: {name}", "", f"{title(result)}; {result['config']}, {result['date']}.",
                  "", markdown(result)]
    (HERE / "COMPARE.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="datasets to compare on (default: all)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, (family, config, _) in DATASETS.items():
            print(f"{name:16} {family:22} configs/{config}")
        return 0
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown:
        print(f"error: unknown dataset {unknown[0]}; see --list", file=sys.stderr)
        return 2
    path = HERE / "compare.json"
    for name in args.names or list(DATASETS):
        result = run(name)
        results = json.loads(path.read_text()) if path.exists() else {}
        results[name] = result
        write_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
