"""Published-results benchmarks: each row trains on real benchmark data within its time budget and
records the held-out metric, the target, and the wall time in results.json and RESULTS.md.

    python benchmarks/run.py                 # every row (hours on a 2-core CPU)
    python benchmarks/run.py sms-spam-gru    # one row; `--list` names them all

Data comes from the seqlab cache: SEQLAB_DATA (the Makefile points it at ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = HERE.parent / "runs" / "bench"


@dataclass
class Row:
    name: str
    task: str
    data: str
    target: str  # what the issue asks for, in words
    metric: str  # the metric compared with `bound`
    bound: float
    higher_is_better: bool = True
    settings: dict = field(default_factory=dict)
    split: str = "test"  # where the metric is read: test (metrics.json) or val (the dev set)


SMS = {"data.lowercase": True, "data.min_freq": 1, "model.hidden_size": 128, "train.epochs": 12,
       "train.patience": 4, "train.max_minutes": 4, "data.max_length": 200}
SHAKESPEARE_FAST = {"model.encoder": "lstm", "model.hidden_size": 512, "model.embed_dim": 64,
                    "model.num_layers": 2, "model.dropout": 0.0, "data.block_size": 128,
                    "train.batch_size": 32, "train.lr": 4e-3, "train.warmup": 40,
                    "train.max_minutes": 65 / 60, "train.max_steps": 100000, "train.eval_every": 100000,
                    "train.weight_decay": 0.0}

ROWS = {r.name: r for r in [
    *[Row(f"sms-spam-{enc}", "classify", "sms-spam", "accuracy >= 0.985", "accuracy", 0.985,
          settings={**SMS, "model.encoder": enc}) for enc in ("rnn", "lstm", "gru", "transformer")],
    Row("sst2-scratch", "classify", "sst2", "dev accuracy >= 0.85 from scratch", "accuracy", 0.85,
        split="val", settings={"model.encoder": "lstm", "data.lowercase": True, "model.hidden_size": 256,
                               "model.embed_dim": 300, "model.dropout": 0.5, "train.batch_size": 64,
                               "train.epochs": 8, "train.patience": 2, "train.max_minutes": 20,
                               "train.eval_every": 500}),
    Row("conll2003-bilstm-crf", "tag", "conll2003", "test F1 >= 0.86, BiLSTM-CRF + char features, 45 min",
        "f1", 0.86, settings={"model.encoder": "lstm", "model.crf": True, "model.char_dim": 30,
                              "model.char_filters": 50, "model.embed_dim": 100, "model.hidden_size": 200,
                              "model.num_layers": 1, "model.dropout": 0.5, "train.batch_size": 16,
                              "train.lr": 2e-3, "train.epochs": 30, "train.patience": 5,
                              "train.max_minutes": 45}),
    Row("shakespeare-65s", "lm", "tinyshakespeare", "val loss <= 1.75 in nanoGPT's CPU time (65 s)",
        "loss", 1.75, higher_is_better=False, split="val", settings=SHAKESPEARE_FAST),
    Row("shakespeare-30min", "lm", "tinyshakespeare", "val loss <= 1.55 in 30 min", "loss", 1.55,
        higher_is_better=False, split="val",
        settings={"model.encoder": "transformer", "model.hidden_size": 384, "model.embed_dim": 384,
                  "model.num_layers": 6, "model.num_heads": 6, "model.dropout": 0.2, "data.block_size": 256,
                  "train.batch_size": 32, "train.lr": 1e-3, "train.warmup": 100, "train.max_minutes": 30,
                  "train.max_steps": 100000, "train.eval_every": 250, "train.weight_decay": 0.1}),
]}


def run_row(row: Row) -> dict:
    from seqlab.config import load_config
    from seqlab.pipeline import fit

    out = RUNS / row.name
    shutil.rmtree(out, ignore_errors=True)
    config = load_config(None, task=row.task, **{"data.path": row.data}, **row.settings)
    started = time.monotonic()
    pipeline = fit(config, out)
    seconds = time.monotonic() - started
    metrics = json.loads((out / "metrics.json").read_text())
    if row.split == "val" and metrics["split"] != "val":
        from seqlab.data.datasets import load_splits

        metrics = pipeline.evaluate(load_splits(row.task, config.data)["val"])
    value = metrics[row.metric]
    meta = json.loads((out / "meta.json").read_text())
    return {
        "row": row.name, "dataset": row.data, "encoder": config.model.encoder, "target": row.target,
        "metric": row.metric, "split": row.split, "value": round(value, 4),
        "met": value >= row.bound if row.higher_is_better else value <= row.bound,
        "train_seconds": meta["train_seconds"], "wall_seconds": round(seconds, 1), "steps": meta["steps"],
        "parameters": meta["parameters"], "stopped_by": meta["stopped_by"],
        "command": f"python benchmarks/run.py {row.name}",
    }


def machine() -> str:
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def write_tables(results: dict[str, dict]) -> None:
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = ["# Benchmarks: published-results rows", "",
             f"Measured by `python benchmarks/run.py ROW` on {machine()}; the latest run of each row.", "",
             "| row | dataset | encoder | metric | value | target | met | train time | steps | parameters | measured |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results.values():
        lines.append(f"| {r['row']} | {r['dataset']} | {r['encoder']} | {r['metric']} ({r['split']}) | "
                     f"{r['value']:.4f} | {r['target']} | {'yes' if r['met'] else 'no'} | "
                     f"{r['train_seconds']:.0f} s | {r['steps']} | {r['parameters']:,} | {r['date']} |")
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for row in ROWS.values():
            print(f"{row.name:24} {row.target}")
        return 0
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        print(f"error: unknown row {unknown[0]}; see --list", file=sys.stderr)
        return 2
    path = HERE / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for name in args.rows or list(ROWS):
        result = run_row(ROWS[name])
        result["date"] = date.today().isoformat()
        results[name] = result
        write_tables(results)
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
