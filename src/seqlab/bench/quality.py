"""Published-results benchmarks: each row trains on real benchmark data within its time budget and
records the held-out metric, the target, and the wall time in results.json and RESULTS.md.

    seqlab bench quality                   # every row (hours on a 2-core CPU)
    seqlab bench quality sms-spam-gru      # one row; `--list` names them all
    python benchmarks/run.py sms-spam-gru  # the same from anywhere: the script names its checkout

A row reads its YAML config in configs/ of a checkout of the seqlab repository and writes results.json
and RESULTS.md in its benchmarks/ folder, its runs in runs/bench/: the checkout is the current folder, or
`--root`. Data comes from the seqlab cache: SEQLAB_DATA (the Makefile points it at ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from seqlab.errors import UserError
from seqlab.registry import ENCODERS


@dataclass
class Row:
    name: str
    config: str  # a file in configs/
    target: str  # what the issue asks for, in words
    metric: str  # the metric compared with `bound`
    bound: float
    higher_is_better: bool = True
    split: str = "test"  # where the metric is read: test (metrics.json) or val (the dev set)
    overrides: dict = field(default_factory=dict)
    pretrain: str | None = None  # a config whose run starts this one (train.init_from)
    baselines: tuple[str, ...] = ()  # forecast: statsforecast models judged on the same test windows
    beam: int = 0  # seq2seq: also decode the test set with this many beams, beside greedy, and time both
    versus: str = ""  # a metric of the same run the value must beat (a baseline's), in place of `bound`
    ensemble: int = 0  # > 0: train this many runs (seeds 0, 1, …) and score them as one ensemble


# ETTh1's long horizons: a larger head, which overfits within a hundred steps at lr 1e-3 (validation
# MSE at 336: 1.356 at lr 1e-3 for 3 minutes, 1.295 at PatchTST's lr 1e-4 for 10).
ETTH1_LONG = {"train.lr": 1e-4, "train.max_minutes": 10}

# JSB Chorales: the transformer validates best with less dropout and averaged weights (validation NLL
# 8.01-8.05 in four runs, against 8.10-8.11 at the config's dropout 0.3 without averaging); the GRU
# with averaged weights (8.54 and 8.57 in two runs, against 8.62 without, in 8 minutes on one thread).
JSB_SETTINGS = {"transformer": {"model.dropout": 0.1, "train.ema": 0.995}, "gru": {"train.ema": 0.995}}

# UCR/UEA sets, their targets, and the points stacked into one step: series of 150 points or more
# become about 15 steps (GunPoint 150, ArrowHead 251); shorter ones keep a point per step.
UCR_SETS = (
    ("gunpoint", 1.0, 10),
    ("italy-power-demand", 0.970, 1),
    ("arrowhead", 0.846, 16),
    ("basic-motions", 1.0, 1),
    ("japanese-vowels", 0.99, 1),
)
# InceptionTime averages five networks; so do these rows, five seeds of each set's best single encoder.
UCR_ENSEMBLES = {
    "gunpoint": "gru",
    "italy-power-demand": "transformer",
    "arrowhead": "gru",
    "japanese-vowels": "transformer",
}

ROWS = {
    r.name: r
    for r in [
        *[
            Row(
                f"sms-spam-{enc}",
                "sms-spam.yaml",
                "accuracy >= 0.985",
                "accuracy",
                0.985,
                overrides={"model.encoder": enc},
            )
            for enc in ("rnn", "lstm", "gru", "transformer")
        ],
        Row("sst2-scratch", "sst2.yaml", "dev accuracy >= 0.85 from scratch", "accuracy", 0.85, split="val"),
        Row(
            "sst2-pretrained",
            "sst2.yaml",
            "dev accuracy >= 0.875 with a pretrained LM encoder",
            "accuracy",
            0.875,
            split="val",
            pretrain="sst2-lm.yaml",
        ),
        Row(
            "conll2003-bilstm-crf",
            "conll2003.yaml",
            "test F1 >= 0.86, BiLSTM-CRF + char features, within 45 min",
            "f1",
            0.86,
        ),
        Row(
            "shakespeare-65s",
            "shakespeare-65s.yaml",
            "val loss <= 1.75 in nanoGPT's CPU time (65 s)",
            "loss",
            1.75,
            higher_is_better=False,
            split="val",
        ),
        Row(
            "shakespeare-30min",
            "shakespeare-30min.yaml",
            "val loss <= 1.55 in 30 min",
            "loss",
            1.55,
            higher_is_better=False,
            split="val",
        ),
        *[
            Row(
                f"etth1-{h}-{enc}",
                "etth1.yaml",
                f"test MSE <= {mse} (PatchTST/64, horizon {h})",
                "mse_scaled",
                mse,
                higher_is_better=False,
                overrides={"model.encoder": enc, "data.horizon": h, **settings},
            )
            for h, mse, settings in (
                (96, 0.370, {}),
                (192, 0.413, {}),
                (336, 0.422, ETTH1_LONG),
                (720, 0.447, ETTH1_LONG),
            )
            for enc in ("rnn", "lstm", "gru", "transformer")
        ],
        Row(
            "etth1-336-transformer-x3",
            "etth1.yaml",
            "test MSE <= 0.422 (PatchTST/64, horizon 336), three runs (seeds 0-2) averaged",
            "mse_scaled",
            0.422,
            higher_is_better=False,
            ensemble=3,
            overrides={"model.encoder": "transformer", "data.horizon": 336, **ETTH1_LONG},
        ),
        *[
            Row(
                f"ucr-{name}-{enc}",
                "ucr.yaml",
                f"test accuracy >= {bound} (best of ROCKET, InceptionTime)",
                "accuracy",
                bound,
                overrides={"data.path": name, "model.encoder": enc, "data.stack_frames": stack},
            )
            for name, bound, stack in UCR_SETS
            for enc in ("rnn", "lstm", "gru", "transformer")
        ],
        *[
            Row(
                f"ucr-{name}-{UCR_ENSEMBLES[name]}-x5",
                "ucr.yaml",
                f"test accuracy >= {bound}, five runs (seeds 0-4) "
                "averaged, as InceptionTime averages five networks",
                "accuracy",
                bound,
                ensemble=5,
                overrides={
                    "data.path": name,
                    "model.encoder": UCR_ENSEMBLES[name],
                    "data.stack_frames": stack,
                },
            )
            for name, bound, stack in UCR_SETS
            if name in UCR_ENSEMBLES
        ],
        *[
            Row(
                f"multi30k-{enc}",
                f"multi30k-{enc}.yaml",
                f"test2016 BLEU >= {bleu} (sacrebleu, detokenised) within 60 min",
                "bleu",
                bleu,
                beam=5,
            )
            for enc, bleu in (("gru", 30.0), ("transformer", 37.0))
        ],
        Row(
            "bbc-extract",
            "bbc-extract.yaml",
            "test ROUGE-2 above the lead baseline's",
            "rouge2",
            0.0,
            versus="lead_rouge2",
        ),
        *[
            Row(
                f"splice-{enc}",
                "splice.yaml",
                "test accuracy >= 0.97 (fixed stratified 80/10/10 split)",
                "accuracy",
                0.97,
                overrides={"model.encoder": enc},
            )
            for enc in ("rnn", "lstm", "gru", "transformer")
        ],
        Row(
            "splice-transformer-x5",
            "splice.yaml",
            "test accuracy >= 0.97 (fixed stratified 80/10/10 split), five runs (seeds 0-4) averaged",
            "accuracy",
            0.97,
            ensemble=5,
            overrides={"model.encoder": "transformer"},
        ),
        *[
            Row(
                f"jsb-chorales-{enc}",
                "jsb-chorales.yaml",
                "test NLL <= 8.0 per frame (LSTM 8.45, GRU 8.43, TCN 8.10)",
                "nll",
                8.0,
                higher_is_better=False,
                overrides={"model.encoder": enc, **JSB_SETTINGS.get(enc, {})},
            )
            for enc in ("lstm", "gru", "transformer")
        ],
        Row(
            "jsb-chorales-transformer-x4",
            "jsb-chorales.yaml",
            "test NLL <= 8.0 per frame, four transformers (seeds 0-3) averaged pitch by pitch",
            "nll",
            8.0,
            higher_is_better=False,
            ensemble=4,
            overrides={"model.encoder": "transformer", **JSB_SETTINGS["transformer"]},
        ),
        *[
            Row(
                f"jsb-chorales-nade-{enc}",
                "jsb-chorales.yaml",
                "test NLL per frame with the pitches of a frame modelled jointly, toward RNN-NADE's 5.56",
                "nll",
                5.56,
                higher_is_better=False,
                overrides={"model.encoder": enc, "model.nade_hidden": 150, "train.max_minutes": minutes},
            )
            for enc, minutes in (("gru", 20), ("transformer", 30))
        ],
        Row(
            "leptospira-cds-gru",
            "leptospira-cds.yaml",
            "test F1 of coding segments (CDS) found base by base, reported (no published target)",
            "f1",
            0.0,
        ),
        *[
            Row(
                f"fsdd-{enc}",
                "fsdd.yaml",
                "test accuracy >= 0.985 (FSDD official split: takes 0-4)",
                "accuracy",
                0.985,
                overrides={"model.encoder": enc},
            )
            for enc in ("rnn", "lstm", "gru", "transformer")
        ],
        Row(
            "fsdd-speaker-gru",
            "fsdd.yaml",
            "accuracy on an unheard speaker (theo), reported beside the official split",
            "accuracy",
            0.0,
            overrides={"data.path": "fsdd-speaker"},
        ),
        *[
            Row(
                f"fsdd-strings-{enc}",
                "fsdd-strings.yaml",
                "test WER <= 0.03 on digit strings from test takes (CTC)",
                "wer",
                0.03,
                higher_is_better=False,
                beam=8,
                overrides={"model.encoder": enc},
            )
            for enc in ("lstm", "gru", "transformer")
        ],
        Row(
            "m4-hourly-smape",
            "m4-hourly.yaml",
            "sMAPE <= 9.3 (M4 winner 9.328; seasonal naive 13.912)",
            "smape",
            9.3,
            higher_is_better=False,
            baselines=("naive", "seasonal_naive", "auto_theta", "auto_ets"),
        ),
        Row(
            "m4-hourly-mase",
            "m4-hourly.yaml",
            "MASE <= 0.89 (M4 winner 0.893; seasonal naive 1.193), each series "
            "scaled by its mean seasonal difference (data.scaling=seasonal)",
            "mase",
            0.89,
            higher_is_better=False,
            overrides={"data.scaling": "seasonal"},
        ),
    ]
}


# Measurements beside the rows, not judged against a target.
MEASUREMENTS = {
    "generation-speed": "tokens/s with and without the cache, 500 new tokens",
    "precision": "training tokens/s, fp32 against bf16 autocast",
    "nab": "NAB score of the anomaly detector, three profiles (target standard >= 75)",
    "forecast-speed": "fit, predict and backtest time beside statsforecast and neuralforecast",
}

# The M4 organisers' Naive2 (seasonally adjusted naive) sMAPE and MASE, the reference of OWA.
NAIVE2 = {"m4-hourly": (18.383, 2.395)}


def checkout(root: Path) -> Path:
    """`root` if it is a checkout of the seqlab repository, with the configs/ the rows read and the
    benchmarks/ folder they write; else a UserError."""
    missing = " or ".join(f"{name}/" for name in ("configs", "benchmarks") if not (root / name).is_dir())
    if missing:
        raise UserError(
            f"the published-results rows read configs/ and write benchmarks/ of a checkout of "
            f"the seqlab repository, and {root} has no {missing}: run `seqlab bench quality` in "
            "the checkout's root folder, or `python CHECKOUT/benchmarks/run.py ROW` from anywhere"
        )
    return root


def run_row(row: Row, root: Path) -> dict:
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits
    from seqlab.data.inputs import kind_of
    from seqlab.pipeline import fit

    if row.ensemble:
        return run_ensemble_row(row, root)
    out = root / "runs" / "bench" / row.name
    shutil.rmtree(out, ignore_errors=True)
    overrides = dict(row.overrides)
    started = time.monotonic()
    if row.pretrain:
        fit(load_config(root / "configs" / row.pretrain), out / "pretrain")
        overrides["train.init_from"] = str(out / "pretrain")
    config = load_config(root / "configs" / row.config, **overrides)
    pipeline = fit(config, out / "run" if row.pretrain else out)
    seconds = time.monotonic() - started
    out = out / "run" if row.pretrain else out
    metrics = json.loads((out / "metrics.json").read_text())
    if row.split == "val" and metrics["split"] != "val":
        metrics = pipeline.evaluate(load_splits(config.task, config.data)["val"])
    value = metrics[row.metric]
    meta = json.loads((out / "meta.json").read_text())
    extra = {}
    if row.baselines:
        test = load_splits(config.task, config.data)["test"]
        extra["baselines"] = pipeline.evaluate_baselines(test, list(row.baselines))
    if row.beam and "transcribe" in pipeline.task.verbs:
        extra["recognition"] = transcription_speed(
            pipeline, load_splits(config.task, config.data)["test"], row.beam
        )
    elif row.beam:
        extra["decoding"] = decoding_speed(pipeline, load_splits(config.task, config.data)["test"], row.beam)
    if kind_of(config.data).stacked:  # frames computed from audio as records are readied
        extra["features_per_second"] = feature_speed(config.data)
    return {**extra, **result(row, config, value, [meta], seconds, metrics.get(row.versus))}


def run_ensemble_row(row: Row, root: Path) -> dict:
    """`row.ensemble` runs of the row's config with seeds 0, 1, …, scored on the test split as one
    ensemble (the mean of their predictive distributions); each member's own score is kept beside it."""
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits
    from seqlab.pipeline import fit, load_ensemble

    out = root / "runs" / "bench" / row.name
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    members = [out / f"seed-{seed}" for seed in range(row.ensemble)]
    for seed, member in enumerate(members):
        config = load_config(root / "configs" / row.config, **{**row.overrides, "train.seed": seed})
        fit(config, member)
    value = load_ensemble(members).evaluate(load_splits(config.task, config.data)["test"])[row.metric]
    seconds = time.monotonic() - started
    metas = [json.loads((m / "meta.json").read_text()) for m in members]
    alone = [round(json.loads((m / "metrics.json").read_text())[row.metric], 4) for m in members]
    return {**result(row, config, value, metas, seconds), "members": alone}


def result(
    row: Row, config, value: float, metas: list[dict], seconds: float, versus: float | None = None
) -> dict:
    """A row's entry in results.json: the value beside its target, and what the runs behind it cost."""
    return {
        "row": row.name,
        "dataset": config.data.path,
        "encoder": config.model.encoder,
        "target": f"{row.target}: {versus:.4f}" if row.versus else row.target,
        "metric": row.metric,
        "split": row.split,
        "value": round(value, 4),
        "met": value > versus
        if row.versus
        else value >= row.bound
        if row.higher_is_better
        else value <= row.bound,
        "train_seconds": round(sum(m["train_seconds"] for m in metas), 2),
        "wall_seconds": round(seconds, 1),
        "steps": sum(m["steps"] for m in metas),
        "parameters": sum(m["parameters"] for m in metas),
        "stopped_by": ", ".join(sorted({m["stopped_by"] for m in metas})),
        "config": f"configs/{row.config}",
        "command": f"python benchmarks/run.py {row.name}",
    }


def decoding_speed(pipeline, test: list[dict], beams: int, batch: int = 64) -> dict:
    """BLEU and chrF of greedy and beam decoding on the test pairs, and sentences per second at `batch`."""
    from seqlab import metrics
    from seqlab.generation import GenerationConfig

    pipeline.config.train.batch_size = batch
    sources, references = [r["source"] for r in test], [r["target"] for r in test]
    result = {"batch": batch}
    for name, settings in (
        ("greedy", GenerationConfig(temperature=0.0)),
        (f"beam {beams}", GenerationConfig(temperature=0.0, num_beams=beams)),
    ):
        started = time.perf_counter()
        outputs = pipeline.translate(sources, settings)
        seconds = time.perf_counter() - started
        scores = metrics.translation(outputs, references)
        result[name] = {
            "bleu": round(scores["bleu"], 2),
            "chrf": round(scores["chrf"], 2),
            "sentences_per_second": round(len(sources) / seconds, 1),
        }
    return result


def transcription_speed(pipeline, test: list[dict], beams: int) -> dict:
    """WER and CER of best-path and prefix-beam decoding on the test utterances, and utterances per second."""
    from seqlab import metrics

    references, result = [r["text"] for r in test], {}
    for name, beam in (("greedy", 1), (f"beam {beams}", beams)):
        started = time.perf_counter()
        transcripts = pipeline.transcribe(test, beam)
        seconds = time.perf_counter() - started
        scores = metrics.recognition(references, transcripts)
        result[name] = {
            "wer": round(scores["wer"], 4),
            "cer": round(scores["cer"], 4),
            "utterances_per_second": round(len(test) / seconds, 1),
        }
    return result


def feature_speed(data, clips: int = 300) -> float:
    """Records (clips, or utterances of several clips) per second turned from files into frames, without
    the cache: the test split's first `clips`."""
    from seqlab.data import audio
    from seqlab.data.datasets import REGISTRY

    records = REGISTRY[data.path].loader()["test"][:clips]
    started = time.perf_counter()
    audio.featurize(records, data)
    return round(len(records) / (time.perf_counter() - started), 1)


def generation_speed() -> dict:
    """Tokens per second generating 500 new tokens, with the cache/state and without, batch 1.

    Models have the shapes of the Shakespeare configs and random weights: speed does not depend
    on what the weights learned.
    """
    import torch

    from seqlab.config import load_config
    from seqlab.generation import GenerationConfig, generate
    from seqlab.model import build_model
    from seqlab.training.hardware import autocast_factory, cpu_has_bf16

    torch.manual_seed(0)
    result = {
        "row": "generation-speed",
        "new_tokens": 500,
        "batch": 1,
        "date": date.today().isoformat(),
        "command": "python benchmarks/run.py generation-speed",
        "models": {},
    }
    shapes = {
        "transformer 6x384, context 256": {
            "model.encoder": "transformer",
            "model.hidden_size": 384,
            "model.embed_dim": 384,
            "model.num_layers": 6,
            "model.num_heads": 6,
            "data.block_size": 256,
        },
        "gru 1x384 (shakespeare-65s)": {
            "model.encoder": "gru",
            "model.hidden_size": 384,
            "model.embed_dim": 384,
            "model.num_layers": 1,
        },
    }
    autocast = autocast_factory(torch.device("cpu"), cpu_has_bf16())
    for name, values in shapes.items():
        config = load_config(None, task="lm", **values)
        model = build_model(config, vocab_size=69).eval()
        context = config.data.block_size if ENCODERS[config.model.encoder].bounded_context else None
        prompt = torch.randint(4, 69, (1, 16))
        rates = {}
        for use_cache in (True, False):
            settings = GenerationConfig(max_new_tokens=500, temperature=0, use_cache=use_cache)
            started = time.perf_counter()
            generate(model, prompt, settings, autocast, context)
            rates["cached" if use_cache else "uncached"] = round(500 / (time.perf_counter() - started), 1)
        rates["speedup"] = round(rates["cached"] / rates["uncached"], 2)
        result["models"][name] = rates
    return result


def precision_speed() -> dict:
    """Training tokens per second, fp32 against bf16 autocast, for each encoder as a char LM.

    The step is seqlab's own (forward, summed loss, backward, AdamW) on random tokens, batch 32
    × 128; the first two steps are warm-up and not timed.
    """
    import torch

    from seqlab.config import load_config
    from seqlab.data.batch import Batch
    from seqlab.model import build_model
    from seqlab.training.hardware import cpu_has_bf16
    from seqlab.training.optim import make_optimizer

    shapes = {
        "transformer 6x384": {
            "model.encoder": "transformer",
            "model.hidden_size": 384,
            "model.embed_dim": 384,
            "model.num_layers": 6,
            "model.num_heads": 6,
        },
        **{
            f"{cell} 2x256": {
                "model.encoder": cell,
                "model.hidden_size": 256,
                "model.embed_dim": 256,
                "model.num_layers": 2,
            }
            for cell in ("lstm", "gru", "rnn")
        },
    }
    B, T, steps = 32, 128, 8
    result = {
        "row": "precision",
        "batch": B,
        "context": T,
        "date": date.today().isoformat(),
        "command": "python benchmarks/run.py precision",
        "native_bf16": cpu_has_bf16(),
        "models": {},
    }
    for name, values in shapes.items():
        rates = {}
        for bf16 in (False, True):
            torch.manual_seed(0)
            config = load_config(None, task="lm", **values, **{"data.block_size": T, "model.dropout": 0.0})
            model = build_model(config, vocab_size=69)
            optimizer = make_optimizer(model, 1e-3, 0.0)
            tokens = torch.randint(4, 69, (B, T + 1))
            batch = Batch(
                inputs=tokens[:, :-1], mask=torch.ones(B, T, dtype=torch.bool), targets=tokens[:, 1:]
            )
            for step in range(steps + 2):
                if step == 2:
                    started = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out = model(batch)
                out.loss_sum.backward()
                optimizer.step()
                optimizer.zero_grad()
            rates["bf16" if bf16 else "fp32"] = round(B * T * steps / (time.perf_counter() - started))
        rates["speedup"] = round(rates["bf16"] / rates["fp32"], 2)
        result["models"][name] = rates
    return result


def nab_detector(root: Path) -> dict:
    """seqlab's anomaly detector on the Numenta Anomaly Benchmark, scored by `seqlab.nab`.

    Per file, a small GRU forecaster trains on the probationary period only (the first 15%, which
    NAB does not score) and every later point is scored by the likelihood of its one-step forecast
    error among the file's earlier errors (`data.anomaly_score=likelihood`, as NAB's Numenta detector
    post-processes its raw scores). As NAB's own optimiser does for every detector, one threshold per
    profile is chosen over the whole corpus; after a flag the detector stays silent for 2% of the file.
    """
    import tempfile

    import numpy as np
    import pandas as pd

    from seqlab import nab
    from seqlab.config import load_config
    from seqlab.data.series import Series
    from seqlab.pipeline import fit

    data = Path(os.environ.get("SEQLAB_DATA", root.parent / "shared" / "data")) / "NAB"
    windows = json.loads((data / "labels" / "combined_windows.json").read_text())
    lookback, started = 32, time.monotonic()
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, spans) in enumerate(windows.items()):
            frame = pd.read_csv(data / "data" / name)
            values = frame["value"].to_numpy(dtype=float)
            probation = nab.probationary_length(len(values))
            series = Series(name, values)
            cut = int(probation * 0.8)
            config = load_config(
                None,
                task="anomaly",
                **{
                    "model.encoder": "gru",
                    "model.hidden_size": 32,
                    "model.embed_dim": 16,
                    "model.num_layers": 1,
                    "model.patch_len": 4,
                    "model.patch_stride": 2,
                    "data.lookback": lookback,
                    "data.calendar": False,
                    "data.anomaly_score": "likelihood",
                    "train.max_steps": 200,
                    "train.batch_size": 32,
                    "train.eval_every": 100,
                    "train.precision": "fp32",
                    "train.log_every": 10_000,
                },
            )
            splits = {"train": [series.head(cut)], "val": [series.head(probation, start=cut)]}
            pipeline = fit(config, Path(tmp) / str(n), splits)
            scores = np.zeros(len(values))
            scores[lookback:] = [r["score"] for r in pipeline.predict([series])]
            spans_idx = nab.window_indices(frame["timestamp"], spans)
            files.append((scores, spans_idx, nab.window_positions(len(values), spans_idx)))
        trained = time.monotonic() - started
    candidates = np.unique(np.quantile(np.concatenate([f[0] for f in files]), np.linspace(0.9, 0.99999, 120)))
    total_windows = sum(len(spans) for spans in windows.values())
    result = {
        "row": "nab",
        "date": date.today().isoformat(),
        "command": "python benchmarks/run.py nab",
        "train_seconds": round(trained, 1),
        "profiles": {},
    }
    for profile_name, profile in nab.PROFILES.items():
        best = max(
            (
                sum(
                    nab.score_file(_silenced(s >= t, len(s) // 50), spans, profile, pos).score
                    for s, spans, pos in files
                ),
                t,
            )
            for t in candidates
        )
        result["profiles"][profile_name] = {
            "score": round(nab.normalised(best[0], total_windows, profile), 2),
            "threshold": round(float(best[1]), 3),
        }
    return result


def forecast_speed(root: Path) -> dict:
    """Fit and predict time on M4 Hourly (414 series, h = 48, lookback 336), in one run: seqlab's
    forecaster (the m4-hourly config) for a fixed number of steps, neuralforecast's PatchTST at the
    same size and the same windows per step where it is installed, and statsforecast's models; then
    seqlab's backtest speed over every origin of the last 96 points of each series.
    """
    import tempfile

    import numpy as np
    import torch

    from seqlab import metrics
    from seqlab.baselines import forecast_baselines
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits
    from seqlab.pipeline import fit

    steps, h = 300, 48
    settings = {
        "train.max_steps": steps,
        "train.max_minutes": None,
        "train.eval_every": steps,
        "train.patience": None,
    }
    config = load_config(root / "configs" / "m4-hourly.yaml", **settings)
    splits = load_splits("forecast", config.data)
    test = splits["test"]
    truth = np.stack([s.values[s.start :] for s in test])  # (414, 48)

    def smape(point: np.ndarray) -> float:
        return round(
            metrics.forecast([s.id for s in test], truth, point, (truth, point), np.ones(len(test)))["smape"],
            3,
        )

    result = {
        "row": "forecast-speed",
        "date": date.today().isoformat(),
        "steps": steps,
        "windows_per_step": config.train.batch_size,
        "threads": torch.get_num_threads(),
        "command": "python benchmarks/run.py forecast-speed",
        "models": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        pipeline = fit(config, Path(tmp) / "run", splits)
        fitted = time.perf_counter() - started
        started = time.perf_counter()
        rows = pipeline.forecast([s.head(s.start) for s in test])
        predicted = time.perf_counter() - started
    point = np.array([r["forecast"] for r in rows]).reshape(len(test), h)
    result["models"]["seqlab transformer"] = {
        "fit_seconds": round(fitted, 1),
        "predict_seconds": round(predicted, 2),
        "smape": smape(point),
        "parameters": sum(p.numel() for p in pipeline.model.parameters()),
    }

    backtest = [s.head(len(s), start=len(s) - 2 * h) for s in test]
    windows = pipeline.task.encode(backtest)
    started = time.perf_counter()
    pipeline.task.forecast_windows(pipeline.model, windows, 1024, pipeline.autocast)
    result["backtest"] = {
        "windows": len(windows.starts),
        "windows_per_second": round(len(windows.starts) / (time.perf_counter() - started)),
    }

    peer = _neuralforecast_patchtst(config, splits["train"], [s.head(s.start) for s in test], steps)
    if peer is not None:
        forecasts, peer_timing = peer
        result["models"]["neuralforecast PatchTST"] = {**peer_timing, "smape": smape(forecasts)}
    for name in ("seasonal_naive", "auto_ets", "auto_theta"):
        started = time.perf_counter()
        forecasts = forecast_baselines(test, h, config.data.season, [name])[name]
        result["models"][f"statsforecast {name}"] = {
            "fit_seconds": round(time.perf_counter() - started, 1),
            "predict_seconds": None,
            "smape": smape(forecasts),
        }
    return result


def _neuralforecast_patchtst(config, train: list, histories: list, steps: int):
    """neuralforecast's PatchTST with seqlab's shape and step count, trained on `train`: (S, h)
    forecasts after each of `histories`, and its fit and predict seconds; None where neuralforecast
    is not installed."""
    try:
        from neuralforecast import NeuralForecast
        from neuralforecast.models import PatchTST
    except ImportError:
        return None
    import logging

    import numpy as np
    import pandas as pd

    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    m, d = config.model, config.data

    def long(series: list):
        return pd.concat(
            [pd.DataFrame({"unique_id": s.id, "ds": np.arange(len(s)), "y": s.values}) for s in series]
        )

    model = PatchTST(
        h=d.horizon,
        input_size=d.lookback,
        patch_len=m.patch_len,
        stride=m.patch_stride,
        encoder_layers=m.num_layers,
        hidden_size=m.hidden_size,
        n_heads=m.num_heads,
        linear_hidden_size=m.ff_mult * m.hidden_size,
        dropout=m.dropout,
        loss=_nf_loss(m.loss),
        learning_rate=config.train.lr,
        max_steps=steps,
        batch_size=32,
        windows_batch_size=config.train.batch_size,
        val_check_steps=steps,
        random_seed=0,
        accelerator="cpu",
        enable_progress_bar=False,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    engine = NeuralForecast(models=[model], freq=1)
    started = time.perf_counter()
    engine.fit(long(train))
    fitted = time.perf_counter() - started
    started = time.perf_counter()
    predicted = engine.predict(df=long(histories))
    seconds = time.perf_counter() - started
    order = {s.id: i for i, s in enumerate(histories)}
    predicted = predicted.assign(row=predicted["unique_id"].map(order)).sort_values(["row", "ds"])
    return (
        predicted["PatchTST"].to_numpy().reshape(len(histories), d.horizon),
        {
            "fit_seconds": round(fitted, 1),
            "predict_seconds": round(seconds, 2),
            "parameters": sum(p.numel() for p in model.parameters()),
        },
    )


def _nf_loss(name: str):
    from neuralforecast.losses.pytorch import MAE, MSE

    return MAE() if name == "mae" else MSE()


def _silenced(flags, quiet: int):
    """Keep a flag only if no kept flag came in the `quiet` points before it."""
    kept, last = flags.copy(), -quiet - 1
    for i in flags.nonzero()[0]:
        if i - last <= quiet:
            kept[i] = False
        else:
            last = i
    return kept


def write_tables(results: dict[str, dict], folder: Path) -> None:
    """results.json and RESULTS.md in `folder`: every row's latest result, and the tables made of them."""
    from seqlab.bench.speed import machine

    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Benchmarks: published-results rows",
        "",
        f"Measured by `python benchmarks/run.py ROW` on {machine()}; the latest run of each row.",
        "",
        "| row | dataset | encoder | metric | value | target | met | train time | steps | parameters "
        "| measured |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        if "metric" not in r:
            continue
        lines.append(
            f"| {r['row']} | {r['dataset']} | {r['encoder']} | {r['metric']} ({r['split']}) | "
            f"{r['value']:.4f} | {r['target']} | {'yes' if r['met'] else 'no'} | "
            f"{r['train_seconds']:.0f} s | {r['steps']} | {r['parameters']:,} | {r['date']} |"
        )
    for r in results.values():
        if "baselines" in r:
            smape2, mase2 = NAIVE2[r["dataset"]]
            lines += [
                "",
                f"## {r['dataset']}: the model beside statistical baselines",
                "",
                f"Test metrics of `{r['row']}` and of statsforecast models on the same windows, "
                f"{r['date']}. OWA is relative to the official Naive2 (sMAPE {smape2}, MASE {mase2}).",
                "",
                "| model | sMAPE | MASE | OWA | MAE | MSE |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {name} | {m['smape']:.3f} | {m['mase']:.3f} | "
                f"{0.5 * (m['smape'] / smape2 + m['mase'] / mase2):.3f} | {m['mae']:.2f} | {m['mse']:.1f} |"
                for name, m in r["baselines"].items()
            ]
    for r in results.values():
        if "members" in r:
            lines += [
                "",
                f"## {r['row']}: the ensemble beside its members",
                "",
                f"Test {r['metric']} of each of the {len(r['members'])} runs (seeds 0, 1, …) alone and of "
                f"their ensemble (`seqlab eval RUN RUN …`), {r['date']}.",
                "",
                "| " + " | ".join(f"seed {i}" for i in range(len(r["members"]))) + " | ensemble |",
                "|---" * (len(r["members"]) + 1) + "|",
                "| " + " | ".join(f"{v:.4f}" for v in r["members"]) + f" | {r['value']:.4f} |",
            ]
    for r in results.values():
        if "decoding" in r:
            d = r["decoding"]
            lines += [
                "",
                f"## {r['dataset']} ({r['encoder']}): greedy and beam search",
                "",
                f"Test2016 of `{r['row']}`, {r['date']}: sacrebleu on detokenised output; sentences per "
                f"second decoding at batch {d['batch']} with the state or KV cache carried.",
                "",
                "| decoding | BLEU | chrF | sentences/s |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {name} | {v['bleu']} | {v['chrf']} | {v['sentences_per_second']} |"
                for name, v in d.items()
                if name != "batch"
            ]
    for r in results.values():
        if "recognition" in r:
            lines += [
                "",
                f"## {r['dataset']} ({r['encoder']}): best path and prefix beam search",
                "",
                f"Test utterances of `{r['row']}`, {r['date']}: WER and CER with jiwer; utterances per "
                f"second transcribed from frames. Frames are computed at {r['features_per_second']} "
                "utterances/s (read, joined and turned into log-mel frames with librosa, uncached).",
                "",
                "| decoding | WER | CER | utterances/s |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {name} | {v['wer']} | {v['cer']} | {v['utterances_per_second']} |"
                for name, v in r["recognition"].items()
            ]
    speed = results.get("generation-speed")
    if speed:
        lines += [
            "",
            "## Generation speed",
            "",
            f"Tokens per second generating {speed['new_tokens']} new tokens at batch {speed['batch']} "
            f"(`{speed['command']}`, {speed['date']}); random weights, the shapes of the Shakespeare models.",
            "",
            "| model | with cache/state | without (whole prefix each step) | speed-up |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {r['cached']} | {r['uncached']} | {r['speedup']}x |"
            for name, r in speed["models"].items()
        ]
    precision = results.get("precision")
    if precision:
        lines += [
            "",
            "## Training precision",
            "",
            f"Training tokens per second, batch {precision['batch']} × {precision['context']}, a "
            f"language-model step (`{precision['command']}`, {precision['date']}). This CPU "
            + (
                "multiplies bf16 natively, so `train.precision=auto` picks bf16."
                if precision["native_bf16"]
                else "has no native bf16, so `train.precision=auto` picks fp32."
            ),
            "",
            "| model | fp32 | bf16 autocast | speed-up |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {r['fp32']} | {r['bf16']} | {r['speedup']}x |"
            for name, r in precision["models"].items()
        ]
    detector = results.get("nab")
    if detector:
        lines += [
            "",
            "## Numenta Anomaly Benchmark",
            "",
            f"`{detector['command']}`, {detector['date']}: a GRU forecaster per file trained on its "
            f"probationary period ({detector['train_seconds']:.0f} s for all 58); each point scored by the "
            "likelihood of its forecast error among the file's earlier errors (`data.anomaly_score="
            "likelihood`); the flags scored by `seqlab.nab`. "
            "Published: ARTime 74.9 / 65.2 / 80.4, Numenta HTM 70.1 / 63.1 / 74.3, windowed Gaussian "
            "39.6 / 20.9 / 47.4.",
            "",
            "| profile | score | threshold |",
            "|---|---|---|",
        ]
        lines += [f"| {name} | {p['score']} | {p['threshold']} |" for name, p in detector["profiles"].items()]
    speed = results.get("forecast-speed")
    if speed:
        lines += [
            "",
            "## Forecasting speed",
            "",
            f"M4 Hourly, 414 series, horizon 48, lookback 336 (`{speed['command']}`, {speed['date']}): the "
            f"deep models train {speed['steps']} steps of {speed['windows_per_step']} windows on "
            f"{speed['threads']} threads; statsforecast fits and forecasts in one call (n_jobs=1). sMAPE on "
            "the M4 test points, for orientation only at this short training.",
            "",
            "| model | parameters | fit | predict 414 series | sMAPE |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {m.get('parameters', '')} | {m['fit_seconds']} s | "
            f"{'' if m['predict_seconds'] is None else str(m['predict_seconds']) + ' s'} | {m['smape']} |"
            for name, m in speed["models"].items()
        ]
        b = speed["backtest"]
        lines += [
            "",
            f"Backtest: {b['windows']:,} windows (every origin of the last 96 points of each series) "
            f"at {b['windows_per_second']:,} windows/s.",
        ]
    (folder / "RESULTS.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqlab bench quality", description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", help="rows to run (default: all)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--root", default=".", help="the checkout of the seqlab repository (default: here)")
    args = parser.parse_args(argv)
    if args.list:
        for row in ROWS.values():
            print(f"{row.name:24} {row.target}")
        for name, what in MEASUREMENTS.items():
            print(f"{name:24} {what}")
        return 0
    unknown = [r for r in args.rows if r not in ROWS and r not in MEASUREMENTS]
    if unknown:
        print(f"error: unknown row {unknown[0]}; see --list", file=sys.stderr)
        return 2
    root = checkout(Path(args.root).resolve())
    measurements = {
        "generation-speed": generation_speed,
        "precision": precision_speed,  # of MEASUREMENTS
        "nab": partial(nab_detector, root),
        "forecast-speed": partial(forecast_speed, root),
    }
    path = root / "benchmarks" / "results.json"
    for name in args.rows or [*ROWS, *MEASUREMENTS]:
        if name in measurements:
            result = measurements[name]()
        else:
            result = {**run_row(ROWS[name], root), "date": date.today().isoformat()}
        results = json.loads(path.read_text()) if path.exists() else {}  # rows may run side by side
        results[name] = result
        write_tables(results, path.parent)
        print(json.dumps(result), flush=True)
    return 0
