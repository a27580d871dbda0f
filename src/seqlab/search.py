"""`--encoder auto`: a budgeted search over the encoder family and size, the learning rate and the
dropout, with Optuna's TPE sampler and median pruning (from a trial's third evaluation on), judged
on the validation split alone. The first trial is the given config itself (its size moved to the
nearest in the search space), so the search starts from the user's own choice. The winning trial
becomes a normal run directory, its
metrics taken on the test split; the search's trials and their table (`search/study.csv`,
`search/study.json`) stay beside it.

Trials run one at a time, each with `train.threads` cores (default: all of them). Each gets an equal
share of the total budget, and the time a pruned trial leaves unused goes to further trials until the
budget is spent.
"""

from __future__ import annotations

import copy
import csv
import io
import math
import shutil
import time
from pathlib import Path

from seqlab.compare import threads
from seqlab.config import RunConfig
from seqlab.errors import UserError
from seqlab.files import atomic_write, write_json
from seqlab.metrics import LOWER_IS_BETTER
from seqlab.registry import ENCODERS
from seqlab.training import run_dir as rd

HIDDEN_SIZES = (64, 128, 256, 512)
LAYERS = (1, 2, 3)
DROPOUT = (0.0, 0.4)
LR = (3e-4, 3e-3)  # searched on a log scale
TRIAL_SHARE = 6  # a trial's budget: the total over this many
PRUNE_FROM = 3  # the evaluation from which a trial may be pruned: the first ones say little


def search(
    config: RunConfig,
    out: Path | None,
    budget_minutes: float | None,
    splits: dict[str, list] | None = None,
    max_trials: int | None = None,
):
    """Search until the budget (or `max_trials` trials) is spent, then make `out` (default:
    runs/TASK-auto-TIME) the winner's run directory; returns its loaded pipeline."""
    optuna = _optuna()
    if not budget_minutes or budget_minutes <= 0:
        raise UserError("--encoder auto needs a total budget: --max-minutes N (train.max_minutes)")
    out, made = (Path(out), False) if out else (rd.new_run_dir(f"{config.task}-auto"), True)
    with rd.held(out, made):
        return _search(optuna, config, out, budget_minutes, splits, max_trials)


def _search(optuna, config: RunConfig, out: Path, budget_minutes: float, splits, max_trials: int | None):
    from seqlab.data.datasets import load_splits
    from seqlab.pipeline import load

    splits = splits if splits is not None else load_splits(config.task, config.data)
    metric = config.train.monitor or _primary_metric(config)
    higher = metric not in LOWER_IS_BETTER
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if higher else "minimize",
        sampler=optuna.samplers.TPESampler(seed=config.train.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=PRUNE_FROM),
    )
    study.enqueue_trial(_given(config))
    folder = out / "search"
    deadline = time.monotonic() + budget_minutes * 60
    share = budget_minutes / TRIAL_SHARE
    tuning = {"train": splits["train"], "val": splits["val"]}  # the test split is not seen while searching

    def objective(trial):
        run = _suggested(config, trial)
        run.train.max_minutes = min(share, max((deadline - time.monotonic()) / 60, 0.01))
        run.train.threads = threads(config)
        best = {"value": None, "evaluations": 0}

        def report(step: int, metrics: dict[str, float]) -> None:
            value = metrics[metric]
            if best["value"] is None or (value > best["value"] if higher else value < best["value"]):
                best["value"] = value
            best["evaluations"] += 1
            trial.report(value, best["evaluations"])  # trials are compared evaluation by evaluation
            if trial.should_prune():
                raise optuna.TrialPruned()

        from seqlab.pipeline import fit

        fit(run, folder / f"trial-{trial.number:03d}", tuning, on_evaluate=report)
        return best["value"]

    while time.monotonic() < deadline - 1 and len(study.trials) < (max_trials or math.inf):
        study.optimize(objective, n_trials=1, catch=(RuntimeError, ValueError))
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not finished:
        raise UserError(
            f"no trial finished within --max-minutes {budget_minutes:g}; give the search more time"
        )
    _write_study(study, metric, folder)
    winner = folder / f"trial-{study.best_trial.number:03d}"
    for item in winner.iterdir():
        target = out / item.name
        shutil.copytree(item, target) if item.is_dir() else shutil.copy2(item, target)
    pipeline = load(out)
    held_out = "test" if "test" in splits else "val"
    write_json(out / "metrics.json", {**pipeline.evaluate(splits[held_out]), "split": held_out})
    write_json(
        out / "search.json",
        {
            "metric": metric,
            "winner": study.best_trial.number,
            "validation": study.best_value,
            "params": study.best_params,
            "trials": len(study.trials),
            "budget_minutes": budget_minutes,
        },
    )
    from seqlab import reporting

    reporting.write_report(out)
    return pipeline


def _optuna():
    try:
        import optuna
    except ImportError:
        raise UserError("--encoder auto searches with Optuna: pip install 'seqlab[auto]'") from None
    return optuna


def _primary_metric(config: RunConfig) -> str:
    from seqlab.tasks import task_type

    return task_type(config).primary_metric


def _given(config: RunConfig) -> dict:
    """The config's own point in the search space: its size rounded to the nearest there, its learning
    rate and dropout clipped to the searched ranges."""
    m = config.model
    return {
        "encoder": m.encoder,
        "hidden_size": min(HIDDEN_SIZES, key=lambda h: abs(h - m.hidden_size)),
        "num_layers": min(LAYERS, key=lambda n: abs(n - m.num_layers)),
        "dropout": min(max(m.dropout, DROPOUT[0]), DROPOUT[1]),
        "lr": min(max(config.train.lr, LR[0]), LR[1]),
    }


def _suggested(config: RunConfig, trial) -> RunConfig:
    """The run's config with the trial's encoder, width, depth, learning rate and dropout."""
    run = copy.deepcopy(config)
    m = run.model
    m.encoder = trial.suggest_categorical("encoder", list(ENCODERS))
    multiple = ENCODERS[m.encoder].width_multiple(m)  # e.g. a transformer's heads share its width
    m.hidden_size = round(trial.suggest_categorical("hidden_size", list(HIDDEN_SIZES)) / multiple) * multiple
    m.num_layers = trial.suggest_categorical("num_layers", list(LAYERS))
    m.dropout = trial.suggest_float("dropout", *DROPOUT)
    run.train.lr = trial.suggest_float("lr", *LR, log=True)
    return run


def _write_study(study, metric: str, folder: Path) -> None:
    rows = [
        {
            "trial": t.number,
            "state": t.state.name.lower(),
            f"val_{metric}": t.value,
            "evaluations": len(t.intermediate_values),
            "seconds": round((t.datetime_complete - t.datetime_start).total_seconds(), 1)
            if t.datetime_complete
            else None,
            **t.params,
        }
        for t in study.trials
    ]
    buffer = io.StringIO()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(folder / "study.csv", buffer.getvalue())
    write_json(folder / "study.json", rows)
