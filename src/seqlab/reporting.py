"""Plots and a one-page HTML report, made from the files of a run directory alone."""

from __future__ import annotations

import html
import json
from pathlib import Path

from seqlab.training import run_dir as rd


def write_report(run_dir: Path) -> Path:
    """Write plots/*.png and report.html into `run_dir`; returns the report's path."""
    import matplotlib

    matplotlib.use("Agg")
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    images = []
    history = rd.read_history(run_dir / "history.csv")
    if history:
        images.append(_learning_curves(history, plots / "learning_curves.png"))
    confusion = run_dir / "confusion.json"
    if confusion.exists():
        images.append(_confusion(json.loads(confusion.read_text()), plots / "confusion.png"))
    forecasts = run_dir / "forecasts.json"
    if forecasts.exists():
        images.append(_forecasts(json.loads(forecasts.read_text()), plots / "forecasts.png"))
    anomalies = run_dir / "anomalies.json"
    if anomalies.exists():
        images.append(_anomalies(json.loads(anomalies.read_text()), plots / "anomalies.png"))
    attention = run_dir / "attention.json"
    if attention.exists():
        images.append(_attention(json.loads(attention.read_text()), plots / "attention.png"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    config = (run_dir / "config.yaml").read_text()
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in metrics.items())
    figures = "".join(f'<img src="plots/{p.name}" alt="{p.stem}">' for p in images)
    title = html.escape(run_dir.name)
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:.2em 1em}img{max-width:48%}"
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>seqlab run {title}</title>
<style>{style}</style>
</head><body><h1>{html.escape(run_dir.name)}</h1><h2>Held-out metrics</h2><table>{rows}</table>
<h2>Training</h2>{figures}<h2>Configuration</h2><pre>{html.escape(config)}</pre></body></html>
"""
    report = run_dir / "report.html"
    rd.atomic_write(report, page)
    return report


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))


def _learning_curves(history: list[dict], path: Path) -> Path:
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(steps, [row["train_loss"] for row in history], label="train")
    if "val_loss" in history[0]:
        left.plot(steps, [row["val_loss"] for row in history], label="validation")
    left.set(xlabel="optimizer step", ylabel="loss (nats)", title="Loss")
    left.legend()
    others = [k for k in history[0] if k.startswith("val_") and k != "val_loss"]
    for key in others:
        right.plot(steps, [row[key] for row in history], label=key[4:])
    right.set(xlabel="optimizer step", title="Validation metrics")
    if others:
        right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _confusion(data: dict, path: Path) -> Path:
    import matplotlib.pyplot as plt

    labels, matrix = data["labels"], data["matrix"]
    size = max(3.5, 0.5 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix (held-out)")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _forecasts(examples: list[dict], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(examples), 1, figsize=(10, 2.4 * len(examples)), squeeze=False)
    for ax, ex in zip(axes[:, 0], examples):
        L = ex["lookback"]
        ahead = range(L, L + len(ex["forecast"]))
        ax.plot(range(len(ex["observed"])), ex["observed"], color="black", lw=1, label="observed")
        ax.plot(ahead, ex["forecast"], color="tab:blue", label="forecast")
        if ex["low"] != ex["high"]:
            ax.fill_between(ahead, ex["low"], ex["high"], color="tab:blue", alpha=0.25, label="interval")
        ax.axvline(L - 0.5, color="grey", ls=":")
        ax.set(title=f"{ex['id']}, forecast from point {ex['origin']}", xlabel="points from the window start")
    axes[0, 0].legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _anomalies(trace: dict, path: Path) -> Path:
    import matplotlib.pyplot as plt
    import numpy as np

    x, scores = np.array(trace["origins"]), np.array(trace["scores"])
    flagged = scores >= trace["threshold"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.8), sharex=True)
    top.plot(x, trace["values"], color="black", lw=0.8)
    top.scatter(
        x[flagged], np.array(trace["values"])[flagged], color="tab:red", s=8, label="flagged", zorder=3
    )
    if trace["labels"] is not None:
        labelled = np.array(trace["labels"], bool)
        top.fill_between(
            x,
            0,
            1,
            where=labelled,
            transform=top.get_xaxis_transform(),
            color="tab:orange",
            alpha=0.25,
            label="labelled anomalous",
        )
    top.set(title=f"{trace['id']}: held-out points")
    top.legend(loc="upper left")
    bottom.plot(x, scores, color="tab:blue", lw=0.8)
    bottom.axhline(trace["threshold"], color="tab:red", ls="--", label="threshold")
    bottom.set(xlabel="point", ylabel="score (forecast error)")
    bottom.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _attention(maps: list[dict], path: Path) -> Path:
    """One heat map per example: output tokens (rows) over source tokens (columns)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(4.5 * len(maps), 4.5), squeeze=False)
    for ax, example in zip(axes[0], maps):
        ax.imshow(example["weights"], cmap="Greys", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(len(example["source"])), example["source"], rotation=90, fontsize=7)
        ax.set_yticks(range(len(example["output"])), example["output"], fontsize=7)
        ax.set_title(example["reference"][:40], fontsize=8)
    fig.suptitle("Attention of the output over the source (held-out examples)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
