"""`seqlab compare`: which encoder suits this data? Every encoder trains on the same data, the same
splits and the same budget, over several seeds; the held-out metrics, sizes and speeds come out side
by side, with a test of which differences are larger than the seed-to-seed noise.

Every trained model stays a normal run directory under OUT/ENCODER-seedN. Runs go one at a time,
each with `train.threads` cores (default: all of them), so no two runs compete for a core.
`compare.json` is rewritten after every run: an interrupted comparison keeps its finished rows.
"""

from __future__ import annotations

import copy
import html
import json
import math
import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from seqlab.config import RunConfig
from seqlab.errors import UserError
from seqlab.files import atomic_write, write_json
from seqlab.metrics import LOWER_IS_BETTER
from seqlab.registry import ENCODERS
from seqlab.training import run_dir as rd

EQUAL = (
    "time",
    "params",
)  # what the encoders share besides the data: the wall-time budget, or also a parameter count
NOISE_P = 0.05  # a difference is larger than the noise when Welch's t-test gives p below this


@dataclass
class Trial:
    """One encoder trained with one seed."""

    encoder: str
    seed: int
    run_dir: str
    status: str = "ok"  # ok | over budget | failed: REASON | interrupted
    metrics: dict[str, float] = field(default_factory=dict)  # held-out (test, else validation)
    hidden_size: int = 0
    parameters: int = 0
    train_seconds: float = 0.0
    steps: int = 0
    items_per_second: float = 0.0  # tokens (tag, lm, seq2seq) or examples trained on per second
    latency_ms: float = 0.0  # held-out evaluation time per example
    baseline: dict = field(default_factory=dict)  # a naive predictor's metrics on the same examples


def parse_encoders(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENCODERS]
    if unknown or not names:
        raise UserError(
            f"unknown encoder '{unknown[0] if unknown else text}' in --encoders; "
            f"choose from {', '.join(ENCODERS)}"
        )
    return list(dict.fromkeys(names))


def compare(
    config: RunConfig,
    encoders: list[str],
    seeds: int,
    budget_minutes: float,
    out: Path | None = None,
    equal: str = "time",
    splits: dict[str, list] | None = None,
) -> dict:
    """Train every encoder `seeds` times within `budget_minutes` each; write compare.json,
    compare.html and its plots to `out` (default: runs/compare-TASK-TIME), and return the comparison."""
    if seeds < 1:
        raise UserError(f"--seeds {seeds}: give at least 1")
    if equal not in EQUAL:
        raise UserError(f"--equal {equal}: choose from {', '.join(EQUAL)}")
    out, made = (Path(out), False) if out else (rd.new_run_dir(f"compare-{config.task}"), True)
    with rd.held(out, made):
        return _compare(config, encoders, seeds, budget_minutes, out, equal, splits)


def _compare(
    config: RunConfig,
    encoders: list[str],
    seeds: int,
    budget_minutes: float,
    out: Path,
    equal: str,
    splits: dict[str, list] | None,
) -> dict:
    from seqlab.data.datasets import load_splits

    splits = splits if splits is not None else load_splits(config.task, config.data)
    if equal == "parameters":
        config = copy.deepcopy(config)
        config.given.add("model.hidden_size")
    task, sizes = _fitted_task(config, splits)
    _check_budget(config, encoders[0], task, sizes, splits, budget_minutes)
    hidden = _hidden_sizes(config, sizes, encoders, equal)

    result = {
        "folder": str(out),
        "task": config.task,
        "data": config.data.path,
        "encoders": encoders,
        "seeds": seeds,
        "budget_minutes": budget_minutes,
        "equal": equal,
        "threads": threads(config),
        "metric": task.primary_metric if config.train.monitor is None else config.train.monitor,
        "trials": [],
        "summary": {},
    }
    try:
        for encoder in encoders:
            for seed in range(seeds):
                trial = Trial(
                    encoder,
                    seed,
                    str(out / f"{encoder}-seed{seed}"),
                    "interrupted",
                    hidden_size=hidden[encoder],
                )
                result["trials"].append(trial)
                _train(config, trial, splits, budget_minutes)
                _write(result, out)
    except KeyboardInterrupt:
        _write(result, out)
        raise
    _write(result, out)
    return _jsonable(result)


def threads(config: RunConfig) -> int:
    """The cores each run of a comparison or search trains with: `train.threads`, else all of them."""
    return config.train.threads or os.cpu_count() or 1


def _fitted_task(config: RunConfig, splits: dict[str, list]):
    """The task with its vocabularies learned from the training split, and the sizes the model needs."""
    from seqlab.pipeline import resolve_input
    from seqlab.tasks import task_type

    probe = copy.deepcopy(config)
    resolve_input(probe, splits["train"])
    task = task_type(probe)(probe)
    task.fit(splits["train"])
    return task, task.model_sizes()


def _check_budget(
    config: RunConfig, encoder: str, task, sizes: dict, splits: dict, budget_minutes: float
) -> None:
    """Refuse a budget shorter than one evaluation of the validation split by the first encoder's model."""
    import torch

    from seqlab.model import build_model
    from seqlab.training.hardware import autocast_factory

    if budget_minutes <= 0:
        raise UserError(f"--budget-minutes {budget_minutes}: give a positive number of minutes")
    probe = copy.deepcopy(config)
    probe.model.encoder = encoder
    model = build_model(probe, **sizes)
    examples = task.encode(splits["val"])
    started = time.perf_counter()
    task.evaluate(model, examples, config.train.batch_size, autocast_factory(torch.device("cpu"), False))
    needed = time.perf_counter() - started
    if budget_minutes * 60 < needed:
        raise UserError(
            f"--budget-minutes {budget_minutes:g} is too small to finish one evaluation of the "
            f"validation split ({needed:.1f} s here); give at least {math.ceil(needed / 6) / 10:g}"
        )


def _rule_keys(config: RunConfig, train: list) -> set[str]:
    """The keys the budget rule would set in a run of `config` on `train`."""
    from seqlab.budget import budget_settings
    from seqlab.pipeline import resolve_input

    probe = copy.deepcopy(config)
    resolve_input(probe, train)
    return set(budget_settings(probe))


def _hidden_sizes(config: RunConfig, sizes: dict, encoders: list[str], equal: str) -> dict[str, int]:
    """Each encoder's hidden size: the config's, or (equal parameters) the one whose model comes
    closest to the parameter count of the first encoder at the config's size."""
    from seqlab.model import build_model

    base = config.model.hidden_size
    if equal == "time":
        return {e: base for e in encoders}

    def parameters(encoder: str, hidden: int) -> int:
        probe = copy.deepcopy(config)
        probe.model.encoder, probe.model.hidden_size = encoder, hidden
        model = build_model(probe, **sizes)
        return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())

    target = parameters(encoders[0], base)
    step = max(2, *(ENCODERS[e].width_multiple(config.model) for e in encoders))
    chosen = {}
    for encoder in encoders:
        low, high = step, 8 * base  # parameters grow with the width: bisect on multiples of `step`
        while high - low > step:
            middle = (low + high) // 2 // step * step
            low, high = (middle, high) if parameters(encoder, middle) < target else (low, middle)
        chosen[encoder] = min((low, high), key=lambda h: abs(parameters(encoder, h) - target))
    return chosen


def _train(config: RunConfig, trial: Trial, splits: dict, budget_minutes: float) -> None:
    from seqlab.pipeline import fit

    run = copy.deepcopy(config)
    run.train.seed, run.train.max_minutes, run.train.threads = trial.seed, budget_minutes, threads(config)
    run.set("model.encoder", trial.encoder)
    if "model.hidden_size" in config.given:  # the user's size, or one matched to parameters: no budget rule
        run.given.update(_rule_keys(run, splits["train"]))
        run.set("model.hidden_size", trial.hidden_size)
    try:
        pipeline = fit(run, trial.run_dir, splits)
    except Exception as exc:  # a run that fails is a row of the table, not the end of the comparison
        trial.status = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
        return
    trial.status = "ok"
    folder = Path(trial.run_dir)
    meta = json.loads((folder / "meta.json").read_text())
    trial.metrics = {
        k: v for k, v in json.loads((folder / "metrics.json").read_text()).items() if k != "split"
    }
    trial.parameters, trial.steps = meta["parameters"], meta["steps"]
    trial.hidden_size = pipeline.config.model.hidden_size  # the budget rule's, where it chose
    if (folder / "baseline.json").exists():
        trial.baseline = json.loads((folder / "baseline.json").read_text())
    history = rd.read_history(folder / "history.csv")
    trial.train_seconds = history[-1]["seconds"] if history else meta["train_seconds"]
    trial.items_per_second = meta["items_seen"] / max(trial.train_seconds, 1e-9)
    held_out = splits["test"] if "test" in splits else splits["val"]
    started = time.perf_counter()
    pipeline.evaluate(held_out)
    count = (
        len(held_out[0]) if isinstance(held_out[0], str) else len(held_out)
    )  # running text: its characters
    trial.latency_ms = 1000 * (time.perf_counter() - started) / max(count, 1)
    if trial.train_seconds > 1.5 * budget_minutes * 60:
        trial.status = "over budget"


def summarise(trials: list[Trial], metric: str) -> dict[str, dict]:
    """Per encoder: mean and spread of every metric over its finished seeds, sizes and speeds, its
    rank by `metric`, and whether it differs from the best by more than the noise (Welch's t-test)."""
    higher = metric not in LOWER_IS_BETTER
    by_encoder: dict[str, list[Trial]] = {}
    for trial in trials:
        by_encoder.setdefault(trial.encoder, [])
        if trial.status in ("ok", "over budget"):
            by_encoder[trial.encoder].append(trial)
    summary = {}
    for encoder, done in by_encoder.items():
        names = sorted({k for t in done for k in t.metrics})
        summary[encoder] = {
            "runs": len(done),
            "failed": sum(t.encoder == encoder and t.status not in ("ok", "over budget") for t in trials),
            "metrics": {k: _spread([t.metrics[k] for t in done if k in t.metrics]) for k in names},
            **{
                k: statistics.fmean(getattr(t, k) for t in done) if done else None
                for k in ("parameters", "train_seconds", "items_per_second", "latency_ms")
            },
        }
    base = baseline(trials, metric)
    for s in summary.values():
        if base is not None and metric in s["metrics"]:
            mean = s["metrics"][metric]["mean"]
            s["beats_baseline"] = mean > base[metric] if higher else mean < base[metric]
    ranked = sorted(  # encoders no better than the baseline are not ranked: chance has no order
        (e for e in summary if metric in summary[e]["metrics"] and summary[e].get("beats_baseline", True)),
        key=lambda e: summary[e]["metrics"][metric]["mean"],
        reverse=higher,
    )
    for rank, encoder in enumerate(ranked, 1):
        summary[encoder]["rank"] = rank
        summary[encoder]["p_vs_best"] = (
            None
            if rank == 1
            else _welch_p(
                [t.metrics[metric] for t in by_encoder[ranked[0]]],
                [t.metrics[metric] for t in by_encoder[encoder]],
            )
        )
        p = summary[encoder]["p_vs_best"]
        summary[encoder]["beyond_noise"] = None if p is None else p < NOISE_P
    return summary


def baseline(trials: list[Trial], metric: str) -> dict | None:
    """The naive baseline of the runs' held-out examples (the same for every run): what it predicts and
    its metrics; None where the task has none."""
    return next(({**t.baseline} for t in trials if metric in t.baseline), None)


def conclusion(result: dict) -> str:
    """What the comparison says, in one sentence: which encoder is best beyond the noise, or that the
    encoders are within it, or that none beat the baseline."""
    metric, summary = result["metric"], result["summary"]
    base = result.get("baseline")
    ranked = sorted((e for e in summary if "rank" in summary[e]), key=lambda e: summary[e]["rank"])
    if base is not None and not ranked:
        return (
            f"No encoder beat the baseline ({base['baseline']}: {metric} {base[metric]:.4g}) at this budget; "
            "train longer before choosing."
        )
    if not ranked:
        return "No run finished."
    best, others = ranked[0], ranked[1:]
    behind = [e for e in others if summary[e].get("beyond_noise")]
    level = [e for e in others if not summary[e].get("beyond_noise")]
    below = [e for e in summary if summary[e].get("beats_baseline") is False] if base else []
    parts = [f"{best} ranks first"]
    if level:
        parts.append(f"{', '.join(level)} {'is' if len(level) == 1 else 'are'} within the noise of it")
    if behind:
        parts.append(f"{', '.join(behind)} {'is' if len(behind) == 1 else 'are'} behind beyond the noise")
    if below:
        parts.append(f"{', '.join(below)} did not beat the baseline ({base['baseline']})")
    sentence = "; ".join(parts) + "."
    if level and not behind:
        sentence += " At this budget the ranked encoders are interchangeable."
    return sentence


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
    }


def _welch_p(a: list[float], b: list[float]) -> float | None:
    """Two-sided p-value of Welch's t-test; None with fewer than two seeds on a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy import stats

    if statistics.stdev(a) == 0 and statistics.stdev(b) == 0:
        return 0.0 if statistics.fmean(a) != statistics.fmean(b) else 1.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


# ---------------------------------------------------------------------------------------------
# Output: compare.json, the terminal table, compare.html with its plots


def _jsonable(result: dict) -> dict:
    return {**result, "trials": [asdict(t) for t in result["trials"]]}


def _write(result: dict, out: Path) -> None:
    result["summary"] = summarise(result["trials"], result["metric"])
    result["baseline"] = baseline(result["trials"], result["metric"])
    write_json(out / "compare.json", _jsonable(result))
    _plots(result, out)
    atomic_write(out / "compare.html", _page(result))


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    """The comparison's columns and its rows, best first: what the terminal table and Markdown show."""
    metric, summary = result["metric"], result["summary"]
    shown = [metric] + [
        k
        for k in ("accuracy", "f1_macro", "f1", "bleu", "loss", "perplexity", "mse", "mae")
        if k != metric and any(k in s["metrics"] for s in summary.values())
    ][:2]
    columns = ["rank", "encoder", *shown, "parameters", "train s", "items/s", "ms/example", "vs best"]
    rows = []
    for encoder in sorted(summary, key=lambda e: summary[e].get("rank", 99)):
        s = summary[encoder]
        cells = [
            f"{s['metrics'][k]['mean']:.4g} ± {s['metrics'][k]['std']:.2g}" if k in s["metrics"] else "—"
            for k in shown
        ]
        verdict = (
            "best"
            if s.get("rank") == 1
            else "no finished run"
            if not s["runs"]
            else "not above the baseline"
            if s.get("beats_baseline") is False
            else "one seed: no noise estimate"
            if s.get("beyond_noise") is None
            else f"{'beyond' if s['beyond_noise'] else 'within'} noise (p={s['p_vs_best']:.2f})"
        )
        if s["failed"]:
            verdict += f"; {s['failed']} failed"
        rows.append(
            [
                str(s.get("rank", "—")),
                encoder,
                *cells,
                _num(s["parameters"], ",.0f"),
                _num(s["train_seconds"], ".0f"),
                _num(s["items_per_second"], ",.0f"),
                _num(s["latency_ms"], ".2f"),
                verdict,
            ]
        )
    return columns, rows


def title(result: dict) -> str:
    return (
        f"seqlab compare: {result['task']} on {result['data']}, {result['seeds']} seed(s), "
        f"{result['budget_minutes']:g} min each"
    )


NARROW = 110  # terminals narrower than this many columns get the comparison's NARROW_COLUMNS only
NARROW_COLUMNS = ("rank", "encoder", "train s", "vs best")  # and the first metric


def table(result: dict, width: int | None = None):
    """The comparison as a rich table, best first; on a terminal `width` columns wide, under NARROW,
    only the rank, encoder, metric, training time and verdict (compare.json and compare.md hold all)."""
    from rich.table import Table

    columns, rows = table_rows(result)
    if width is not None and width < NARROW:
        kept = [i for i, c in enumerate(columns) if c in NARROW_COLUMNS or c == result["metric"]]
        columns, rows = [columns[i] for i in kept], [[row[i] for i in kept] for row in rows]
    grid = Table(title=title(result), caption=conclusion(result))
    for column in columns:
        grid.add_column(column, overflow="fold")  # a narrow terminal wraps a cell; it never cuts one
    for row in rows:
        grid.add_row(*row)
    return grid


def markdown(result: dict) -> str:
    """The comparison as a Markdown table, best first."""
    columns, rows = table_rows(result)
    return (
        "\n".join(
            [
                f"| {' | '.join(columns)} |",
                "|" + "---|" * len(columns),
                *(f"| {' | '.join(row)} |" for row in rows),
                "",
                conclusion(result),
            ]
        )
        + "\n"
    )


def _num(value, fmt: str) -> str:
    return "—" if value is None else format(value, fmt)


def _plots(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    metric = result["metric"]
    colours = {e: f"C{i}" for i, e in enumerate(result["encoders"])}
    fig, (curves, scatter) = plt.subplots(1, 2, figsize=(11, 4))
    for trial in result["trials"]:
        history = rd.read_history(Path(trial.run_dir) / "history.csv")
        points = [
            (h["seconds"], h[f"val_{metric}"])
            for h in history
            if not math.isnan(h.get(f"val_{metric}", math.nan))
        ]
        if points:
            curves.plot(
                *zip(*points),
                color=colours[trial.encoder],
                alpha=0.8,
                marker=".",
                label=trial.encoder if trial.seed == 0 else None,
            )
        if metric in trial.metrics:
            scatter.scatter(
                trial.train_seconds,
                trial.metrics[metric],
                color=colours[trial.encoder],
                label=trial.encoder if trial.seed == 0 else None,
            )
    curves.set(xlabel="training seconds", ylabel=f"validation {metric}", title="learning curves")
    scatter.set(xlabel="training seconds", ylabel=f"held-out {metric}", title=f"{metric} against time")
    for axes in (curves, scatter):
        if axes.get_legend_handles_labels()[0]:
            axes.legend()
    fig.tight_layout()
    fig.savefig(out / "compare.png", dpi=90)
    plt.close(fig)


def _page(result: dict) -> str:
    metric, summary = result["metric"], result["summary"]
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "rank",
            "encoder",
            f"{metric} (mean ± std)",
            "runs",
            "parameters",
            "train s",
            "items/s",
            "ms/example",
            "p vs best",
        )
    )
    rows = ""
    for encoder in sorted(summary, key=lambda e: summary[e].get("rank", 99)):
        s = summary[encoder]
        m = s["metrics"].get(metric)
        rows += (
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(c))}</td>"
                for c in (
                    s.get("rank", "—"),
                    encoder,
                    f"{m['mean']:.4g} ± {m['std']:.2g}" if m else "—",
                    f"{s['runs']} ({s['failed']} failed)",
                    _num(s["parameters"], ",.0f"),
                    _num(s["train_seconds"], ".0f"),
                    _num(s["items_per_second"], ",.0f"),
                    _num(s["latency_ms"], ".2f"),
                    "" if s.get("p_vs_best") is None else f"{s['p_vs_best']:.3f}",
                )
            )
            + "</tr>"
        )
    trials = "".join(
        f"<li>{html.escape(t.encoder)} seed {t.seed}: {html.escape(t.status)} — "
        f'<a href="{html.escape(Path(t.run_dir).name)}/report.html">run</a></li>'
        for t in result["trials"]
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>seqlab compare</title>'
        f"<style>body{{font-family:sans-serif;max-width:70em;margin:2em auto}}td,th{{padding:.2em .8em}}"
        f"img{{max-width:100%}}</style></head><body><h1>seqlab compare: {html.escape(result['task'])} on "
        f"{html.escape(str(result['data']))}</h1><p>{result['seeds']} seed(s) per encoder, "
        f"{result['budget_minutes']:g} minutes each, equal {html.escape(result['equal'])}; a difference "
        f"from the best is beyond the noise when Welch's t-test gives p &lt; {NOISE_P}.</p>"
        f"<p><b>{html.escape(conclusion(result))}</b></p>"
        f'<table><tr>{head}</tr>{rows}</table><img src="compare.png" alt="learning curves">'
        f"<h2>Runs</h2><ul>{trials}</ul></body></html>\n"
    )
