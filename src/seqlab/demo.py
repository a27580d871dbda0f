"""`seqlab demo`: the tour. One small model per task on real data that installs with the package's
`demo` extra (nothing is downloaded), each within its own time budget and judged beside a naive
baseline on the same examples; a results table, reports with plots, generated text and chorales.
"""

from __future__ import annotations

import html
import json
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.config import load_config


@dataclass(frozen=True)
class Stop:
    """One stop of the tour: a task on a data set with an encoder, trained for `minutes`; the budget
    rule (`seqlab.budget`) sizes the model unless `settings` say otherwise."""

    name: str
    task: str
    dataset: str
    encoder: str
    minutes: float
    settings: dict = field(default_factory=dict)
    fallback: tuple[str, str, dict] | None = None  # (task, dataset, settings) where `dataset` is missing


TOUR = [
    Stop("text generation", "lm", "fine-food-text", "transformer", 1.0),
    Stop("sentiment", "classify", "fine-foods", "lstm", 0.75),
    Stop(
        "electricity forecast",
        "forecast",
        "elec-demand",
        "gru",
        0.5,
        {"model.hidden_size": 64, "model.quantiles": [0.1, 0.5, 0.9], "train.batch_size": 64},
    ),
    Stop(
        "spoken digits",
        "classify",
        "fsdd",
        "gru",
        0.5,
        {"model.hidden_size": 64, "model.pooling": "mean", "data.spec_augment": True, "train.lr": 2e-3},
        fallback=("classify", "espeak-digits", {}),
    ),
    Stop("chorales", "lm", "jsb-chorales", "gru", 0.5, fallback=("lm", "bach-chorales", {})),
]
METRICS = {  # what the tour shows of each task it visits, the first judged beside the baseline
    "classify": ("accuracy", "f1_macro"),
    "lm": ("loss", "perplexity", "nll"),
    "forecast": ("mase", "coverage_80"),
}
# The last stop asks which encoder suits one of the data sets: every registered one, two seeds each, a
# short budget; (task, dataset, settings, seeds, minutes).
COMPARE = ("classify", "italy-power-demand", {"train.batch_size": 16}, 2, 0.1)
EXAMPLES = ("fsdd", "espeak-digits")  # stops that show a test example: a clip


def run_demo(out: Path, scale: float = 1.0, steps: int | None = None) -> list[dict]:
    """The tour, each stop's budget times `scale`; `steps`: also at most that many optimizer steps per
    stop, validated once, after the last (the test suite's quick tour). Returns the stops'
    rows; raises `DemoFailed` where a stop's model did not beat its baseline."""
    from rich.console import Console

    console = Console(stderr=False)
    if out.exists():
        shutil.rmtree(out)
    started = time.monotonic()
    rows = [row for stop in TOUR if (row := _visit(console, stop, out, scale, steps)) is not None]
    compared = _compare(console, out / "compare", scale, steps)
    seconds = time.monotonic() - started

    console.print(results_table(rows, console.width))
    for row in rows:
        if "sample" in row:
            console.print("[bold]Generated text[/bold] (prompt 'This coffee'):")
            console.print("This coffee" + row["sample"], markup=False)
        if "example" in row:
            console.print(f"{row['dataset']}: {row['example']}", markup=False)
        if "chorale" in row:
            console.print(
                f"{row['dataset']}: a generated chorale in {row['chorale']} and its piano roll beside it",
                markup=False,
            )
    if compared is not None:
        from seqlab.compare import table as compare_table

        console.print(compare_table(compared, console.width))
    (out / "index.html").write_text(_index(rows, compared))
    (out / "results.json").write_text(json.dumps({"seconds": round(seconds, 1), "stops": rows}, indent=2))
    console.print(f"The tour took {seconds / 60:.1f} minutes. Reports: {out / 'index.html'}")
    failed = [row["name"] for row in rows if row.get("beats_baseline") is False]
    if failed:
        raise DemoFailed(f"no better than its naive baseline: {', '.join(failed)}")
    return rows


class DemoFailed(RuntimeError):
    """A stop of the tour whose model did not beat its naive baseline."""


def _visit(console, stop: Stop, out: Path, scale: float, steps: int | None) -> dict | None:
    """Train and judge one stop (or its fallback, where its data is missing); None where neither can run."""
    from seqlab.data.datasets import load_splits
    from seqlab.errors import UserError
    from seqlab.generation import GenerationConfig
    from seqlab.pipeline import fit

    run_dir = out / stop.name.replace(" ", "-")
    choices = [(stop.task, stop.dataset, stop.settings)]
    if stop.fallback is not None:
        task, dataset, changes = stop.fallback
        choices.append((task, dataset, {**stop.settings, **changes}))
    for task, dataset, settings in choices:
        console.rule(
            f"{stop.name}: {task} on {dataset} with {stop.encoder}, {stop.minutes * scale * 60:.0f} s"
        )
        budget = {
            "data.path": dataset,
            "model.encoder": stop.encoder,
            "train.max_minutes": stop.minutes * scale,
        }
        if steps:
            budget |= {"train.max_steps": steps, "train.eval_every": steps}
        config = load_config(None, task=task, **{**budget, **settings})
        started = time.monotonic()
        try:
            with warnings.catch_warnings(record=True) as heard:  # into the run's train.log, not the tour
                warnings.simplefilter("always")
                splits = load_splits(config.task, config.data)
                pipeline = fit(config, run_dir, splits)
            with (run_dir / "train.log").open("a", encoding="utf-8") as log:
                log.writelines(f"warning: {w.message}\n" for w in heard)
            break
        except UserError as exc:  # data out of the cache, or package-borne data this machine lacks
            console.print(f"[yellow]{unavailable(exc)}[/yellow]; `seqlab datasets fetch {dataset}` adds it")
    else:
        return None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    row = {
        "name": stop.name,
        "task": task,
        "dataset": dataset,
        "encoder": stop.encoder,
        "run_dir": str(run_dir),
        "seconds": round(time.monotonic() - started, 1),
        "metrics": {k: metrics[k] for k in METRICS[task] if k in metrics},
    }
    baseline_file = run_dir / "baseline.json"
    if baseline_file.exists():
        baseline = json.loads(baseline_file.read_text())
        row["baseline"] = {
            "what": baseline["baseline"],
            **{k: baseline[k] for k in row["metrics"] if k in baseline},
        }
        row["beats_baseline"] = beats(row["metrics"], baseline)
    verbs = pipeline.task.verbs
    if "compose" in verbs:
        row["chorale"] = _chorale(pipeline, run_dir / "generated.mid")
    elif "generate" in verbs:
        row["sample"] = pipeline.generate("This coffee", GenerationConfig(200, temperature=0.8, seed=0))[0]
    if dataset in EXAMPLES:
        row["example"] = _first_test_prediction(pipeline, splits["test"])
    console.print(_verdict(row), markup=False)
    return row


def beats(metrics: dict, baseline: dict) -> bool | None:
    """Whether the model is better than its baseline on the same examples, by the first metric the tour
    shows for the task that both have (accuracy, F1, loss, MASE …); None where they share none."""
    from seqlab.metrics import HIGHER_IS_BETTER

    name = next((k for k in metrics if k in baseline), None)
    if name is None:
        return None
    return metrics[name] > baseline[name] if name in HIGHER_IS_BETTER else metrics[name] < baseline[name]


def _verdict(row: dict) -> str:
    """One line per stop: its metric, its baseline's, and its time."""
    shown, base = _metric_cells(row)
    mark = {True: "beats", False: "does NOT beat", None: "has no"}[row.get("beats_baseline")]
    return f"{row['name']}: {shown}; {mark} the baseline ({base or 'none'}); {row['seconds']:.0f} s"


def _chorale(pipeline, path: Path, frames: int = 32) -> str:
    """`frames` quarter notes after a C major chord, written as MIDI and as a piano-roll plot."""
    from seqlab.data.music import write_piece

    roll = pipeline.compose([48, 60, 64, 67], frames, seed=0)
    write_piece(roll, path, pipeline.config.data.pitch_low, "a generated chorale")
    return str(path)


def _first_test_prediction(pipeline, records: list) -> str:
    """What the model makes of the first test example: the label it gives a clip."""
    record = records[0]
    predicted = pipeline.predict([record])[0]
    heard = record["audio"].clips[0] if "audio" in record else record["text"]
    return (
        f"{Path(heard).name if 'audio' in record else heard} → {predicted['label']} (true {record['label']})"
    )


def unavailable(error: Exception) -> str:
    """The one line the tour prints for data it goes without: the reason, without the paths and addresses
    that follow it ("dataset 'fsdd' is not in the cache", "… reads Debian's SWORD modules")."""
    return str(error).split(":")[0]


def _compare(console, out: Path, scale: float, steps: int | None) -> dict | None:
    """`seqlab compare` on the COMPARE data set, or None where its package is missing."""
    from seqlab.compare import compare
    from seqlab.errors import UserError
    from seqlab.registry import ENCODERS

    task, dataset, settings, seeds, minutes = COMPARE
    minutes *= scale
    console.rule(f"which encoder: compare on {dataset}, {seeds} seeds, {minutes * 60:.0f} s each")
    if steps:
        settings = {**settings, "train.max_steps": steps, "train.eval_every": steps}
    config = load_config(None, task=task, **{"data.path": dataset, **settings})
    try:
        return compare(config, list(ENCODERS), seeds, minutes, out)
    except UserError as exc:
        console.print(f"[yellow]skipped the comparison: {unavailable(exc)}[/yellow]")
        return None


NARROW = 120  # terminals narrower than this get the table's stop, first metric, baseline and seconds only


def results_table(rows: list[dict], width: int | None = None):
    """The tour's stops as a rich table: each stop's metrics beside its baseline's; on a terminal `width`
    columns wide, under NARROW, one metric per stop and no run directory (index.html links every run)."""
    from rich.table import Table

    narrow = width is not None and width < NARROW
    table = Table(title="seqlab demo: one model, many data shapes")
    columns = ("stop", "metric", "baseline", "s") if narrow else ("stop", "run", "metric", "baseline", "s")
    for column in (*columns, *(() if narrow else ("run directory",))):
        table.add_column(column, overflow="fold")  # a narrow terminal wraps a cell; it never cuts one
    for row in rows:
        cells = _metric_cells(row, first_only=narrow)
        seconds = f"{row.get('seconds', 0):.0f}"
        if narrow:
            table.add_row(row.get("name", row["task"]), *cells, seconds)
        else:
            table.add_row(row.get("name", row["task"]), _what(row), *cells, seconds, row["run_dir"])
    return table


def _metric_cells(row: dict, first_only: bool = False) -> tuple[str, str]:
    """A stop's metrics, and its naive baseline's on the same examples (what it predicts, then its values)."""
    names = list(row["metrics"])[:1] if first_only else list(row["metrics"])
    shown = ", ".join(f"{k} {row['metrics'][k]:.3f}" for k in names)
    base = row.get("baseline")
    if not base:
        return shown, ""
    return shown, f"{base['what']}: " + ", ".join(f"{k} {base[k]:.3f}" for k in names if k in base)


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
        + (f"<h2>Audio and DNA</h2><ul>{examples}</ul>" if examples else "")
        + (f"<h2>Music</h2>{chorales}" if chorales else "")
        + "</body></html>\n"
    )
