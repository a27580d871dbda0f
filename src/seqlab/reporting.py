"""A one-page HTML report of a run, made from the files of its run directory alone and readable offline
(styles and plots are inside the page): the run at a glance, its held-out metrics, the learning
curves with the kept checkpoint marked, the task's own views, and the configuration keys that apply."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from seqlab.files import atomic_write, read_json
from seqlab.training import run_dir as rd

STYLE = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#dde2ea;--accent:#2f6fdf;--soft:#f4f6fa}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);max-width:72em;
margin:0 auto;padding:1.5em 2em 3em}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.15em;margin:1.8em 0 .6em;border-bottom:1px solid var(--line);
padding-bottom:.3em}
.facts{display:flex;flex-wrap:wrap;gap:.6em;margin:.8em 0}
.fact{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:.45em .8em}
.fact b{display:block;font-size:.75em;font-weight:600;color:var(--muted);text-transform:uppercase}
table{border-collapse:collapse;margin:.4em 0}td,th{padding:.3em .9em;border-bottom:1px solid var(--line);
text-align:left;vertical-align:top}th{color:var(--muted);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.8em 0}figure img{max-width:100%;border:1px solid var(--line);border-radius:6px}
figcaption{color:var(--muted);font-size:.9em}
.tokens span{display:inline-block;margin:.1em .15em;padding:0 .25em;border-radius:4px}
.tokens .ent{background:#ffe7a8}.tokens .miss{outline:2px solid #e0533f}
code{background:var(--soft);padding:0 .3em;border-radius:4px}
"""

# Configuration keys every report shows; the others appear where they differ from seqlab's default.
ESSENTIAL = (
    "data.path",
    "data.tokenizer",
    "model.encoder",
    "model.embed_dim",
    "model.hidden_size",
    "model.num_layers",
    "train.batch_size",
    "train.lr",
    "train.max_steps",
    "train.seed",
)


def write_report(run_dir: Path) -> Path:
    """Write plots/*.png and report.html into `run_dir`; returns the report's path."""
    import matplotlib

    matplotlib.use("Agg")
    plots = run_dir / "plots"
    plots.mkdir(exist_ok=True)
    metrics = read_json(run_dir / "metrics.json")
    meta = _json(run_dir / "meta.json") or {}
    history = rd.read_history(run_dir / "history.csv")
    kept = _kept_step(history, _json(run_dir / "checkpoints" / "last.json"))
    curves = "<p>No evaluation was recorded.</p>"
    if history:
        caption = f"The kept checkpoint: step {kept:g}." if kept is not None else ""
        curves = _figure(_learning_curves(history, plots / "learning_curves.png", kept), caption)
    views = [
        ("confusion.json", _confusion, "Held-out examples by true and predicted label."),
        (
            "forecasts.json",
            _forecasts,
            "The last judged window of a few series, with the forecast's interval.",
        ),
        ("anomalies.json", _anomalies, "Held-out points, the flagged ones and the threshold."),
        ("attention.json", _attention, "Where each output token looked in the source."),
        (
            "trajectories.json",
            _trajectories,
            "Held-out walkers: the observed positions, the true and the predicted paths, and sampled ones.",
        ),
    ]
    figures = [
        _figure(draw(data, plots / name.replace(".json", ".png")), caption)
        for name, draw, caption in views
        if (data := _json(run_dir / name)) is not None
    ]
    sections = [
        _facts(run_dir, meta),
        "<h2>Held-out metrics</h2>" + _metrics_table(metrics, _json(run_dir / "baseline.json")),
        "<h2>Training</h2>" + curves,
        *(["<h2>What the model does</h2>" + "".join(figures)] if figures else []),
        _composed(_json(run_dir / "composed.json"), plots / "composed.png"),
        _spectrogram(_json(run_dir / "heard.json"), plots / "heard.png"),
        _tagged(_json(run_dir / "tagged.json")),
        _translations(_json(run_dir / "translations.json")),
        "<h2>Configuration</h2>" + _budget_rule(meta) + _config_table(run_dir / "config.yaml"),
    ]
    title = html.escape(run_dir.name)
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>seqlab run {title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
        f"<body><h1>{title}</h1>{''.join(sections)}</body></html>\n"
    )
    report = run_dir / "report.html"
    atomic_write(report, page)
    return report


def _json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else html.escape(str(value))


def _kept_step(history: list[dict], last: dict | None) -> float | None:
    """The step whose validation score the loop kept as its best (checkpoints/last.json's `best`)."""
    if not history or not last or last.get("best") is None:
        return None
    for row in history:
        if any(k.startswith("val_") and row[k] == last["best"] for k in row):
            return row["step"]
    return None


def _facts(run_dir: Path, meta: dict) -> str:
    config = _config_values(run_dir / "config.yaml")
    facts = {
        "task": config.get("task"),
        "encoder": config.get("model.encoder"),
        "data": config.get("data.path"),
        "parameters": f"{meta['parameters']:,}" if "parameters" in meta else None,
        "steps": meta.get("steps"),
        "training": f"{meta['train_seconds']:.0f} s" if "train_seconds" in meta else None,
        "stopped by": meta.get("stopped_by"),
        "precision": ("bf16" if meta["bf16"] else "fp32") if "bf16" in meta else None,
    }
    cells = "".join(
        f'<div class="fact"><b>{name}</b>{html.escape(str(value))}</div>'
        for name, value in facts.items()
        if value is not None
    )
    return f'<div class="facts">{cells}</div>'


def _budget_rule(meta: dict) -> str:
    """The keys the budget rule set (meta.json's budget_rule), where it set any."""
    chosen = meta.get("budget_rule") or {}
    if not chosen:
        return ""
    keys = ", ".join(f"<code>{html.escape(f'{k}={v}')}</code>" for k, v in chosen.items())
    return f"<p>Set by the budget rule, from the time budget: {keys}.</p>"


def _metrics_table(metrics: dict, baseline: dict | None) -> str:
    """The held-out metrics, beside a naive baseline's on the same examples where the task has one."""
    split = metrics.get("split", "held-out")
    base = baseline or {}
    rows = "".join(
        f'<tr><td>{html.escape(k)}</td><td class="num">{_fmt(v)}</td>'
        + (f'<td class="num">{_fmt(base[k]) if k in base else ""}</td>' if baseline else "")
        + "</tr>"
        for k, v in metrics.items()
        if k not in ("split", "run_dir")
    )
    header = f"<th>metric ({html.escape(split)} split)</th><th>model</th>"
    if baseline:
        header += f"<th>baseline: {html.escape(str(baseline['baseline']))}</th>"
    return f"<table><tr>{header}</tr>{rows}</table>"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{path.stem}">{figcaption}</figure>'


def _composed(piece: dict | None, path: Path) -> str:
    """A composed piece (composed.json): its piano roll, and a player for it rendered to WAV."""
    if piece is None:
        return ""
    import numpy as np

    from seqlab.data.music import plot_roll, roll_wav

    roll = np.zeros((len(piece["frames"]), piece["pitches"]))  # (T, P)
    for t, pitches in enumerate(piece["frames"]):
        roll[t, pitches] = 1
    plot_roll(roll, path, piece["low"], "composed by the model")
    sound = base64.b64encode(roll_wav(roll, piece["low"])).decode()
    return (
        "<h2>A composed piece</h2>"
        + _figure(path, "The model's continuation of a held-out piece's first frame, a frame per beat.")
        + f'<audio controls src="data:audio/wav;base64,{sound}"></audio>'
    )


def _spectrogram(clip: dict | None, path: Path) -> str:
    """A held-out clip's features (heard.json) as the model hears them, with its true and predicted label."""
    if clip is None:
        return ""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.imshow(list(zip(*clip["frames"])), origin="lower", aspect="auto", cmap="magma")
    ax.set(xlabel="frame", ylabel="feature", title=f"{clip['name']}: true {clip['label']}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    caption = f"What the model hears: {clip['features']}. It predicts {clip['predicted']}."
    return "<h2>A held-out clip</h2>" + _figure(path, caption)


def _tagged(sentences: list[dict] | None) -> str:
    """Held-out sentences, every entity the model found highlighted; a word it tagged wrongly is outlined."""
    if not sentences:
        return ""
    lines = []
    for s in sentences:
        words = "".join(
            f'<span class="{"ent" if p != "O" else ""}{" miss" if p != g else ""}" title="{html.escape(p)}'
            f' (true: {html.escape(g)})">{html.escape(w)}</span>'
            for w, g, p in zip(s["tokens"], s["gold"], s["predicted"])
        )
        lines.append(f'<div class="tokens">{words}</div>')
    return (
        "<h2>Tagged sentences</h2><p>Held-out sentences: predicted entities highlighted, wrong tags outlined "
        "(hover a word for its tags).</p>" + "".join(lines)
    )


def _translations(examples: list[dict] | None) -> str:
    if not examples:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(e['source'])}</td><td>{html.escape(e['output'])}</td>"
        f"<td>{html.escape(e['reference'])}</td></tr>"
        for e in examples
    )
    return (
        "<h2>Outputs beside references</h2><p>Held-out examples, greedy decoding.</p>"
        f"<table><tr><th>source</th><th>model</th><th>reference</th></tr>{rows}</table>"
    )


def _config_values(path: Path) -> dict[str, object]:
    import yaml

    raw = yaml.safe_load(path.read_text()) or {}
    values: dict[str, object] = {"task": raw.get("task")}
    for section in ("data", "model", "train"):
        for key, value in (raw.get(section) or {}).items():
            values[f"{section}.{key}"] = value
    return values


def _config_table(path: Path) -> str:
    """The keys that apply: the essential ones and those set away from seqlab's defaults for the task."""
    from seqlab.config import load_config

    values = _config_values(path)
    defaults = _config_values_of(load_config(None, task=str(values["task"])).to_dict())
    shown = {
        k: v
        for k, v in values.items()
        if k in ESSENTIAL or k == "task" or (k in defaults and not _same(v, defaults[k]))
    }
    rows = "".join(
        f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(str(v))}</td></tr>"
        for k, v in shown.items()
    )
    return (
        f"<p>{len(shown)} of {len(values)} keys: the essential ones and those set away from the default; "
        "<code>config.yaml</code> holds them all.</p>"
        f"<table><tr><th>key</th><th>value</th></tr>{rows}</table>"
    )


def _config_values_of(config: dict) -> dict[str, object]:
    return {f"{s}.{k}": v for s in ("data", "model", "train") for k, v in config[s].items()}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _learning_curves(history: list[dict], path: Path, kept: float | None = None) -> Path:
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax in (left, right):
        if kept is not None:
            ax.axvline(kept, color="tab:green", ls="--", lw=1, label="kept checkpoint")
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


def _trajectories(walkers: list[dict], path: Path) -> Path:
    import matplotlib.pyplot as plt
    import numpy as np

    columns = min(4, len(walkers))
    rows = -(-len(walkers) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.2 * rows), squeeze=False)
    for ax, walker in zip(axes.flat, walkers):
        seen, future, predicted = (np.array(walker[k]) for k in ("seen", "future", "predicted"))
        for n, sample in enumerate(walker["samples"]):
            path_ = np.vstack([seen[-1:], sample])
            ax.plot(
                path_[:, 0],
                path_[:, 1],
                color="tab:blue",
                alpha=0.25,
                lw=1,
                label="sampled" if not n else None,
            )
        ax.plot(seen[:, 0], seen[:, 1], "o-", color="black", ms=3, label="observed")
        ax.plot(*np.vstack([seen[-1:], future]).T, "o-", color="tab:green", ms=3, label="true")
        ax.plot(*np.vstack([seen[-1:], predicted]).T, "o--", color="tab:red", ms=3, label="predicted")
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(walkers) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
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
