"""Which encoder suits which data: `seqlab compare` on one dataset of each family, at the same short
budget per run, and the tables in COMPARE.md (the evidence behind the README's advice).

    python benchmarks/compare.py              # every dataset (about two hours on a 2-core CPU)
    python benchmarks/compare.py fsdd splice  # some of them; `--list` names them
    python benchmarks/compare.py splice --auto --threads 1
        # then `--encoder auto` with the comparison's total budget, a core per process
    python benchmarks/compare.py splice --search-only   # the search alone, against the last comparison

With `--auto` the search's winner is scored on the same test split beside the best encoder's mean.

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
    "conll2003": ("tagging", "conll2003.yaml", {}),
    "tinyshakespeare": ("language modelling", "shakespeare-65s.yaml", {}),
    "multi30k": ("translation", "multi30k-gru.yaml", {}),
    "etth1": ("forecasting", "etth1.yaml", {}),
    "gunpoint": ("series classification", "ucr.yaml", {"data.path": "gunpoint"}),
    "fsdd": ("speech", "fsdd.yaml", {}),
    "splice": ("DNA", "splice.yaml", {}),
    "jsb-chorales": ("music", "jsb-chorales.yaml", {"data.transpose": 0}),
}


def run(name: str, auto: bool, threads: int | None, compared: dict | None = None) -> dict:
    """Compare the encoders on `name` (unless `compared` holds that comparison already), then search."""
    from seqlab.compare import compare
    from seqlab.config import load_config
    from seqlab.registry import ENCODERS

    family, config_file, overrides = DATASETS[name]
    threads = compared["threads"] if compared else threads
    config = load_config(CONFIGS / config_file, **overrides, **{"train.threads": threads})
    out = RUNS / name
    if compared is None:
        shutil.rmtree(out, ignore_errors=True)
        result = compare(config, list(ENCODERS), SEEDS, MINUTES, out)
        result = {
            **result,
            "family": family,
            "config": f"configs/{config_file}",
            "overrides": overrides,
            "date": date.today().isoformat(),
        }
    else:
        result = compared
    if auto:
        shutil.rmtree(out / "auto", ignore_errors=True)
        result["auto"] = search_beside(result, config, out / "auto", SEEDS * len(ENCODERS) * MINUTES)
    return result


def search_beside(comparison: dict, config, out: Path, budget_minutes: float) -> dict:
    """`--encoder auto` within the comparison's total budget: its winner's test metric beside the
    best encoder's mean over seeds."""
    from seqlab.metrics import LOWER_IS_BETTER
    from seqlab.search import search

    search(config, out, budget_minutes)
    metric, summary = comparison["metric"], comparison["summary"]
    found = json.loads((out / "search.json").read_text())
    value = json.loads((out / "metrics.json").read_text())[metric]
    best = min(summary, key=lambda e: summary[e].get("rank", 99))
    mean, std = summary[best]["metrics"][metric]["mean"], summary[best]["metrics"][metric]["std"]
    gain = (mean - value) if metric in LOWER_IS_BETTER else (value - mean)
    verdict = "beats" if gain > 0 else "matches (within the seed spread)" if gain >= -std else "below"
    return {
        "metric": metric,
        "value": value,
        "best_encoder": best,
        "best_mean": mean,
        "best_std": std,
        "verdict": verdict,
        "budget_minutes": budget_minutes,
        "trials": found["trials"],
        "winner": found["params"],
    }


def write_table(results: dict[str, dict]) -> None:
    from seqlab.bench.speed import machine
    from seqlab.compare import markdown, title

    (HERE / "compare.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Which encoder? `seqlab compare` per data family",
        "",
        f"Measured by `python benchmarks/compare.py NAME` on {machine()}: the four encoders of each "
        f"family's benchmark config, {SEEDS} seeds of {MINUTES:g} min each, held-out metrics as mean ± "
        'spread over seeds; "vs best" is Welch\'s t-test against the best encoder (p < 0.05: beyond '
        "the seed-to-seed noise). Short budgets favour encoders that learn fast; the published-results "
        "rows in RESULTS.md train for longer.",
        "",
    ]
    searched = {name: result["auto"] for name, result in results.items() if "auto" in result}
    if searched:
        lines += [
            "## `--encoder auto` against the best single encoder",
            "",
            "The search (encoder, width, depth, learning rate, dropout; Optuna TPE with median pruning, "
            "judged on the validation split) gets the comparison's total budget; its winner's test "
            "metric stands beside the best encoder's mean ± spread over seeds.",
            "",
            "| data | metric | auto | winner | trials | best encoder | its mean ± spread | auto |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, auto in searched.items():
            winner = auto["winner"]
            lines.append(
                f"| {name} | {auto['metric']} | {auto['value']:.4g} | {winner['encoder']} "
                f"{winner['num_layers']}×{winner['hidden_size']}, lr {winner['lr']:.2g}, "
                f"dropout {winner['dropout']:.2f} | {auto['trials']} | {auto['best_encoder']} | "
                f"{auto['best_mean']:.4g} ± {auto['best_std']:.2g} | {auto['verdict']} |"
            )
        lines.append("")
    for name, result in results.items():
        lines += [
            f"## {result['family']}: {name}",
            "",
            f"{title(result)}, {result['threads']} thread(s) per run; {result['config']}"
            f"{''.join(f' {k}={v}' for k, v in result.get('overrides', {}).items())}, {result['date']}.",
            "",
            markdown(result),
        ]
    (HERE / "COMPARE.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="datasets to compare on (default: all)")
    parser.add_argument(
        "--auto", action="store_true", help="then search with --encoder auto at the same total budget"
    )
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="search against the comparison already in compare.json, with its threads",
    )
    parser.add_argument(
        "--threads", type=int, help="cores per run (default: all); lets two comparisons run side by side"
    )
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if args.list:
        for name, (family, config, *_) in DATASETS.items():
            print(f"{name:16} {family:22} configs/{config}")
        return 0
    unknown = [n for n in args.names if n not in DATASETS]
    if unknown:
        print(f"error: unknown dataset {unknown[0]}; see --list", file=sys.stderr)
        return 2
    path = HERE / "compare.json"
    for name in args.names or list(DATASETS):
        results = json.loads(path.read_text()) if path.exists() else {}
        if args.search_only and name not in results:
            print(
                f"error: no comparison on {name} in {path} to search against; run without --search-only",
                file=sys.stderr,
            )
            return 2
        result = run(
            name, args.auto or args.search_only, args.threads, results[name] if args.search_only else None
        )
        results = (
            json.loads(path.read_text()) if path.exists() else {}
        )  # again: another process may have written
        results[name] = result
        write_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
