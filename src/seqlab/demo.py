"""`seqlab demo`: the tour. One small model per task on real data that installs with the package's
`demo` extra (nothing is downloaded), a results table, reports with plots, and generated text.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from seqlab.config import load_config

# (name, task, dataset, encoder, settings): the same code path serves every row.
TOUR = [
    (
        "sentiment",
        "classify",
        "fine-foods",
        "gru",
        {"model.hidden_size": 128, "data.min_freq": 2, "data.lowercase": True, "data.max_length": 256},
    ),
    (
        "entities",
        "tag",
        "wnut16",
        "lstm",
        {"model.crf": True, "model.char_dim": 30, "model.hidden_size": 128, "train.batch_size": 16},
    ),
    (
        "text generation",
        "lm",
        "fine-food-text",
        "transformer",
        {
            "model.hidden_size": 192,
            "model.num_layers": 4,
            "model.num_heads": 6,
            "model.embed_dim": 192,
            "data.block_size": 128,
            "train.batch_size": 32,
            "train.lr": 2e-3,
            "train.eval_every": 150,
        },
    ),
    (
        "gestures",
        "classify",
        "gunpoint",
        "lstm",
        {
            "model.hidden_size": 64,
            "train.batch_size": 8,
            "train.max_minutes": 1.0,
            "train.monitor": "loss",
            "train.patience": 40,
        },
    ),
    (
        "stock forecast",
        "forecast",
        "eu-stocks",
        "gru",
        {
            "model.hidden_size": 64,
            "model.embed_dim": 32,
            "model.patch_len": 10,
            "model.patch_stride": 5,
            "model.quantiles": [0.1, 0.5, 0.9],
            "train.batch_size": 64,
            "train.eval_every": 100,
            "train.max_minutes": 0.75,
        },
    ),
    (
        "heartbeat anomalies",
        "anomaly",
        "mitdb",
        "lstm",
        {
            "model.hidden_size": 64,
            "model.embed_dim": 32,
            "model.patch_len": 8,
            "model.patch_stride": 4,
            "data.calendar": False,
            "train.batch_size": 64,
            "train.eval_every": 100,
            "train.max_minutes": 0.75,
        },
    ),
    (
        "translation",
        "seq2seq",
        "bible-en-es",
        "transformer",
        {
            "model.hidden_size": 192,
            "model.embed_dim": 192,
            "model.num_layers": 2,
            "model.num_heads": 4,
            "model.ff_mult": 2,
            "data.vocab_size": 4000,
            "data.max_length": 96,
            "train.batch_size": 64,
            "train.lr": 2e-3,
            "train.max_minutes": 3.0,
        },
    ),
    (
        "spoken digits",
        "classify",
        "fsdd",
        "gru",
        {"model.hidden_size": 64, "model.pooling": "mean", "data.spec_augment": True, "train.lr": 2e-3},
    ),
    (
        "splice junctions",
        "classify",
        "splice",
        "transformer",
        {
            "model.embed_dim": 32,
            "model.hidden_size": 64,
            "model.num_layers": 2,
            "model.pooling": "mean",
            "train.lr": 2e-3,
        },
    ),
    (
        "chorales",
        "lm",
        "jsb-chorales",
        "gru",
        {"model.hidden_size": 128, "train.batch_size": 16, "train.lr": 2e-3},
    ),
]
# Where the benchmark data of a stop is not in the cache, package-borne data takes its place.
FALLBACKS = {
    "fsdd": ("classify", "espeak-digits", {}),
    "splice": (
        "tag",
        "leptospira-cds",
        {"model.encoder": "gru", "model.hidden_size": 64, "train.batch_size": 32, "train.eval_every": 100},
    ),
    "jsb-chorales": ("lm", "bach-chorales", {}),
}
METRICS = {
    "classify": ("accuracy", "f1_macro"),
    "tag": ("f1", "accuracy"),
    "lm": ("loss", "perplexity", "nll"),
    "forecast": ("mase", "coverage_80"),
    "anomaly": ("roc_auc", "f1"),
    "seq2seq": ("bleu", "chrf"),
}
# The last stop asks which encoder suits one of the data sets: all four, two seeds each, a short budget.
COMPARE = (
    "classify",
    "gunpoint",
    {
        "model.hidden_size": 32,
        "model.embed_dim": 32,
        "train.batch_size": 8,
        "train.monitor": "loss",
        "train.epochs": 500,
    },
    2,
    0.2,
)
EXAMPLES = (
    "fsdd",
    "espeak-digits",
    "splice",
    "leptospira-cds",
)  # stops that show a test example: a clip or bases
TRANSLATE = ["In the beginning was the Word, and the Word was with God.", "And God said, Let there be light."]


def run_demo(out: Path, minutes: float = 1.5) -> list[dict]:
    from rich.console import Console

    from seqlab.data.datasets import load_splits
    from seqlab.errors import UserError
    from seqlab.generation import GenerationConfig
    from seqlab.pipeline import fit

    console = Console(stderr=False)
    if out.exists():
        shutil.rmtree(out)
    rows = []
    for name, task, dataset, encoder, settings in TOUR:
        run_dir = out / name.replace(" ", "-")
        choices = [(task, dataset, settings)]
        if dataset in FALLBACKS:
            fallback_task, fallback, changes = FALLBACKS[dataset]
            choices.append((fallback_task, fallback, {**settings, **changes}))
        for task, dataset, settings in choices:
            console.rule(f"{name}: {task} on {dataset} with {encoder}")
            tour = {
                "data.path": dataset,
                "model.encoder": encoder,
                "train.max_minutes": minutes,
                "train.epochs": 50,
                "train.patience": 3,
            }
            config = load_config(None, task=task, **{**tour, **settings})
            # benchmark data out of the cache, or package-borne data this machine lacks: the next choice
            try:
                splits = load_splits(config.task, config.data)
                pipeline = fit(config, run_dir, splits)
                break
            except UserError as exc:
                console.print(
                    f"[yellow]{unavailable(exc)}[/yellow]: `seqlab datasets fetch {dataset}` adds it "
                    "or says how"
                )
        else:
            continue
        metrics = json.loads((run_dir / "metrics.json").read_text())
        row = {
            "name": name,
            "task": task,
            "dataset": dataset,
            "encoder": config.model.encoder,
            "run_dir": str(run_dir),
            "metrics": {k: metrics[k] for k in METRICS[task] if k in metrics},
        }
        baseline_file = run_dir / "baseline.json"
        if baseline_file.exists():
            baseline = json.loads(baseline_file.read_text())
            row["baseline"] = {
                "what": baseline["baseline"],
                **{k: baseline[k] for k in row["metrics"] if k in baseline},
            }
        verbs = pipeline.task.verbs
        if "compose" in verbs:
            row["chorale"] = _chorale(pipeline, run_dir / "generated.mid")
        elif "generate" in verbs:
            sampling = GenerationConfig(200, temperature=0.8, seed=0)
            row["sample"] = pipeline.generate("This coffee", sampling)[0]
        if "translate" in verbs:
            row["translations"] = dict(
                zip(TRANSLATE, pipeline.translate(TRANSLATE, GenerationConfig(num_beams=4)))
            )
        if dataset in EXAMPLES:
            row["example"] = _first_test_prediction(pipeline, splits["test"][0])
        rows.append(row)

    compared = _compare(console, out / "compare")

    console.print(results_table(rows))
    for row in rows:
        if "sample" in row:
            console.print("[bold]Generated text[/bold] (prompt 'This coffee'):")
            console.print("This coffee" + row["sample"], markup=False)
        for source, output in row.get("translations", {}).items():
            console.print(f"{row['dataset']}: {source} → {output}", markup=False)
        if "example" in row:
            console.print(f"{row['dataset']}: {row['example']}", markup=False)
        if "chorale" in row:
            console.print(
                f"{row['dataset']}: a generated chorale in {row['chorale']} and its piano roll beside it",
                markup=False,
            )
    if compared is not None:
        from seqlab.compare import table as compare_table

        console.print(compare_table(compared))
    (out / "index.html").write_text(_index(rows, compared))
    (out / "results.json").write_text(json.dumps(rows, indent=2))
    console.print(f"Reports: {out / 'index.html'}")
    return rows


def _chorale(pipeline, path: Path, frames: int = 32) -> str:
    """`frames` quarter notes after a C major chord, written as MIDI and as a piano-roll plot."""
    from seqlab.data.music import write_piece

    roll = pipeline.compose([48, 60, 64, 67], frames, seed=0)
    write_piece(roll, path, pipeline.config.data.pitch_low, "a generated chorale")
    return str(path)


def _first_test_prediction(pipeline, record: dict) -> str:
    """What the model makes of a test example: a clip, a sequence or a window of bases."""
    predicted = pipeline.predict([record])[0]
    if pipeline.task.records == "tagged":
        coding = sum(tag != "O" for tag in predicted)
        truth = sum(tag != "O" for tag in record["tags"])
        return f"{coding} of {len(predicted)} bases tagged coding (annotated: {truth})"
    heard = record["audio"].clips[0] if "audio" in record else record["text"]
    return (
        f"{Path(heard).name if 'audio' in record else heard} → {predicted['label']} (true {record['label']})"
    )


def unavailable(error: Exception) -> str:
    """The one line the tour prints for data it goes without: the reason, without the paths and addresses
    that follow it ("dataset 'fsdd' is not in the cache", "… reads Debian's SWORD modules")."""
    return str(error).split(":")[0]


def _compare(console, out: Path) -> dict | None:
    """`seqlab compare` on the COMPARE data set, or None where its package is missing."""
    from seqlab.compare import compare
    from seqlab.errors import UserError
    from seqlab.registry import ENCODERS

    task, dataset, settings, seeds, minutes = COMPARE
    console.rule(f"which encoder: compare on {dataset}, {seeds} seeds, {minutes * 60:.0f} s each")
    config = load_config(None, task=task, **{"data.path": dataset, **settings})
    try:
        return compare(config, list(ENCODERS), seeds, minutes, out)
    except UserError as exc:
        console.print(f"[yellow]skipped the comparison: {unavailable(exc)}[/yellow]")
        return None


def results_table(rows: list[dict]):
    """The tour's stops as a rich table: each stop's metric beside its baseline's."""
    from rich.table import Table

    table = Table(title="seqlab demo: one model, many data shapes")
    for column in ("task", "dataset", "encoder", "metric", "baseline", "run directory"):
        table.add_column(column, overflow="fold")  # a narrow terminal wraps a cell; it never cuts one
    for row in rows:
        table.add_row(row["task"], row["dataset"], row["encoder"], *_metric_cells(row), row["run_dir"])
    return table


def _metric_cells(row: dict) -> tuple[str, str]:
    """A stop's metrics, and its naive baseline's on the same examples (what it predicts, then its values)."""
    shown = ", ".join(f"{k} {v:.3f}" for k, v in row["metrics"].items())
    base = row.get("baseline")
    if not base:
        return shown, ""
    return shown, f"{base['what']}: " + ", ".join(f"{k} {base[k]:.3f}" for k in row["metrics"] if k in base)


def _what(row: dict) -> str:
    return f"{row['task']} on {row['dataset']} with {row['encoder']}"


def _index(rows: list[dict], compared: dict | None = None) -> str:
    items = "".join(
        f'<tr><td><a href="{html.escape(Path(r["run_dir"]).name)}/report.html">'
        f"{html.escape(r['name'])}</a></td>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in (_what(r), *_metric_cells(r)))
        + "</tr>"
        for r in rows
    )
    items = f"<table><tr><th>stop</th><th>run</th><th>metric</th><th>baseline</th></tr>{items}</table>"
    samples = "".join(f"<pre>This coffee{html.escape(r['sample'])}</pre>" for r in rows if "sample" in r)
    translations = "".join(
        f"<li>{html.escape(source)} → {html.escape(output)}</li>"
        for r in rows
        for source, output in r.get("translations", {}).items()
    )
    examples = "".join(
        f"<li>{html.escape(r['dataset'])}: {html.escape(r['example'])}</li>" for r in rows if "example" in r
    )
    chorales = "".join(
        f'<p><a href="{html.escape(Path(r["run_dir"]).name)}/generated.mid">a generated chorale</a>'
        f'<br><img src="{html.escape(Path(r["run_dir"]).name)}/generated.png" alt="its piano roll"></p>'
        for r in rows
        if "chorale" in r
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>seqlab demo</title></head><body>'
        f"<h1>seqlab demo</h1>{items}"
        + (
            f'<p><a href="compare/compare.html">Which encoder?</a> seqlab compare on {compared["data"]}</p>'
            if compared
            else ""
        )
        + f"<h2>Generated text</h2>{samples}"
        + (f"<h2>Translations</h2><ul>{translations}</ul>" if translations else "")
        + (f"<h2>Audio and DNA</h2><ul>{examples}</ul>" if examples else "")
        + (f"<h2>Music</h2>{chorales}" if chorales else "")
        + "</body></html>\n"
    )
