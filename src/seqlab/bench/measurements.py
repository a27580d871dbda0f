"""Measurements beside the published-results rows: decoding and recognition speed of a row's run,
training-precision speed, the NAB anomaly score and forecasting speed beside the peers.
Each returns a JSON-ready dict for benchmarks/results.json; `tables` renders them for RESULTS.md."""

from __future__ import annotations

import json
import os
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np

# What `seqlab bench quality NAME` measures besides the rows, not judged against a target.
MEASUREMENTS = {
    "precision": "training tokens/s, fp32 against bf16 autocast",
    "nab": "NAB score of the anomaly detector, three profiles (target standard >= 75)",
    "forecast-speed": "fit, predict and backtest time beside statsforecast and neuralforecast",
    "demo-tour": "`seqlab demo` as a new user runs it: wall time, each stop's metric beside its baseline",
}


def measure(name: str, root: Path) -> dict:
    """Run the measurement `name` (of MEASUREMENTS) in the checkout `root`."""
    return {
        "precision": precision_speed,
        "nab": lambda: nab_detector(root),
        "forecast-speed": lambda: forecast_speed(root),
        "demo-tour": lambda: demo_tour(root),
    }[name]()


DEMO_RUNS = 3  # the tour's wall time varies with the machine's load: its median over this many runs


def demo_tour(root: Path) -> dict:
    """The tour DEMO_RUNS times, each with an empty dataset cache as on a fresh clone (package-borne data
    only): its wall time from start to index page, and each stop's metric, baseline and seconds."""
    import tempfile

    from seqlab.demo import run_demo

    runs = []
    for _ in range(DEMO_RUNS):
        with tempfile.TemporaryDirectory() as cache:
            kept, os.environ["SEQLAB_DATA"] = os.environ.get("SEQLAB_DATA"), cache
            try:
                started = time.monotonic()
                stops = run_demo(root / "runs" / "bench" / "demo")
                runs.append((time.monotonic() - started, stops))
            finally:
                os.environ.pop("SEQLAB_DATA")
                if kept is not None:
                    os.environ["SEQLAB_DATA"] = kept
    seconds, stops = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median run
    return {
        "command": "seqlab bench quality demo-tour",
        "date": date.today().isoformat(),
        "cores": os.cpu_count(),
        "seconds": round(seconds, 1),
        "runs": [round(s, 1) for s, _ in runs],
        "stops": [
            {k: stop[k] for k in ("name", "dataset", "encoder", "metrics", "baseline", "seconds")}
            for stop in stops
        ],
    }


def decoding_speed(pipeline, test: list[dict], beams: int, batch: int = 64) -> dict:
    """BLEU and chrF of greedy and beam decoding on the test pairs, and sentences per second at `batch`."""
    from seqlab import metrics
    from seqlab.generation import GenerationConfig

    pipeline.config.train.batch_size = batch
    sources, references = [r["source"] for r in test], [r["target"] for r in test]
    decoders = {
        "greedy": GenerationConfig(temperature=0.0),
        f"beam {beams}": GenerationConfig(temperature=0.0, num_beams=beams),
    }
    return {
        "batch": batch,
        **_timed_decodings(
            {
                name: (lambda s=settings: pipeline.translate(sources, s))
                for name, settings in decoders.items()
            },
            lambda outputs: metrics.translation(outputs, references),
            {"bleu": 2, "chrf": 2},
            len(sources),
            "sentences",
        ),
    }


def transcription_speed(pipeline, test: list[dict], beams: int) -> dict:
    """WER and CER of best-path and prefix-beam decoding on the test utterances, and utterances per second."""
    from seqlab import metrics

    references = [r["text"] for r in test]
    return _timed_decodings(
        {
            name: (lambda b=beam: pipeline.transcribe(test, b))
            for name, beam in (("greedy", 1), (f"beam {beams}", beams))
        },
        lambda transcripts: metrics.recognition(references, transcripts),
        {"wer": 4, "cer": 4},
        len(test),
        "utterances",
    )


def _timed_decodings(decoders: dict, score, digits: dict[str, int], items: int, unit: str) -> dict:
    """Per decoder (name → a call returning its outputs): the scores named in `digits`, rounded so, and
    `unit` per second."""
    result = {}
    for name, decode in decoders.items():
        started = time.perf_counter()
        outputs = decode()
        seconds = time.perf_counter() - started
        scores = score(outputs)
        result[name] = {
            **{k: round(scores[k], n) for k, n in digits.items()},
            f"{unit}_per_second": round(items / seconds, 1),
        }
    return result


def scoring_speed(pipeline, test: list) -> dict[str, float]:
    """Test examples (chains, windows, texts …) and their positions (residues, steps, tokens) scored per
    second by the trained model, at its batch size, the records encoded beforehand."""
    from seqlab.pipeline import prepare

    task = pipeline.task
    examples = task.encode(prepare(pipeline.config, test))
    started = time.perf_counter()
    task.evaluate(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)
    seconds = time.perf_counter() - started
    return {
        "examples_per_second": round(len(examples) / seconds, 1),
        "positions_per_second": round(sum(task.length(e) for e in examples) / seconds, 1),
    }


def heard(voice, listener_dir: Path, test: list[dict]) -> dict[str, float]:
    """Each distinct (text, speaker) of the test records said once by `voice` (a tts pipeline) and heard by
    the model in `listener_dir`, trained on real recordings: a classifier of spoken words or a recogniser
    (ctc). `heard_accuracy`: how often it hears the text (a label that is the text, or a digit whose word
    the text is; a transcript that is the text); a recogniser's `heard_wer` beside it; `stopped`, the share
    of clips the voice ended itself; `real_time_factor`, seconds of synthesis per second of speech. A clip
    is heard up to the listener's longest input. `mcd`: the mel-cepstral distortion from the first real
    test recording of the same text and speaker, beside `mcd_griffin_lim`, that recording's own frames
    turned back into a waveform (the floor Griffin-Lim leaves)."""
    import tempfile

    import soundfile

    from seqlab import metrics
    from seqlab.data.audio import DIGITS, SECONDS_MOST, FrameSettings, Utterance, utterance_samples, waveform
    from seqlab.pipeline import load
    from seqlab.tasks.series import standardise

    listener = load(listener_dir)
    rate, d = voice.config.data.sample_rate, listener.config.data
    longest = (d.max_length * d.stack_frames - 1) * round(rate * d.hop_ms / 1000)  # samples it reads whole
    pairs = sorted({(r["text"], str(r.get("speaker", ""))) for r in test})
    recorded = {}  # (text, speaker) → its first real test recording
    for r in test:
        recorded.setdefault((r["text"], str(r.get("speaker", ""))), r)
    clips, seconds, spoken, stopped, distortion, floor = [], 0.0, 0.0, 0, [], []
    with tempfile.TemporaryDirectory() as folder:
        for n, (text, speaker) in enumerate(pairs):
            started = time.perf_counter()
            (samples,) = voice.speak([text], speaker or None)
            seconds += time.perf_counter() - started
            spoken += len(samples) / rate
            stopped += len(samples) < 0.99 * SECONDS_MOST * rate
            path = Path(folder) / f"{n}.wav"
            soundfile.write(path, samples[:longest], rate)
            clips.append({"audio": Utterance((str(path),))})
            real = recorded[(text, speaker)]
            real_samples = utterance_samples(real["audio"], rate)
            steps = standardise(real["values"], voice.task.voice).numpy()
            rebuilt = waveform(steps, voice.task.voice, FrameSettings.of(voice.config.data))
            distortion.append(mel_cepstral_distortion(samples, real_samples, rate))
            floor.append(mel_cepstral_distortion(rebuilt, real_samples, rate))
        recogniser = listener.config.task == "ctc"
        said = listener.transcribe(clips) if recogniser else [p["label"] for p in listener.predict(clips)]
    texts = [text for text, _ in pairs]
    right = [s == t or (s.isdigit() and DIGITS[int(s)] == t) for s, t in zip(said, texts)]
    return {
        "heard_accuracy": sum(right) / len(pairs),
        **({"heard_wer": metrics.recognition(texts, said)["wer"]} if recogniser else {}),
        "stopped": stopped / len(pairs),
        "real_time_factor": seconds / spoken,
        "mcd": float(np.mean(distortion)),
        "mcd_griffin_lim": float(np.mean(floor)),
    }


def mel_cepstral_distortion(said: np.ndarray, real: np.ndarray, rate: int) -> float:
    """MCD in dB between two waveforms, (10 / ln 10) √(2 Σ_d Δc_d²) over mel cepstra c of log amplitude,
    averaged along a dynamic-time-warping path. librosa's MFCCs 1-13 (c0, the energy, left out) are in dB
    of power, 20 / ln 10 times log-amplitude cepstra, so the sum is ‖Δ‖ / √2 of theirs. The cepstra come
    from 40 mel bands of 25 ms windows every 10 ms, the frames seqlab's speech models read."""
    import librosa

    hop, window = rate // 100, rate * 25 // 1000
    frames = {"n_fft": 1 << (window - 1).bit_length(), "win_length": window, "hop_length": hop, "n_mels": 40}
    said_c, real_c = (librosa.feature.mfcc(y=x, sr=rate, n_mfcc=14, **frames)[1:] for x in (said, real))
    _, path = librosa.sequence.dtw(X=said_c, Y=real_c, metric="euclidean")
    gaps = said_c[:, path[:, 0]] - real_c[:, path[:, 1]]  # (13, steps of the path)
    return float(np.linalg.norm(gaps, axis=0).mean() / np.sqrt(2))


def feature_speed(data, clips: int = 300) -> float:
    """Records (clips, or utterances of several clips) per second turned from files into frames, without
    the cache: the test split's first `clips`."""
    from seqlab.data import audio
    from seqlab.data.datasets import REGISTRY

    records = REGISTRY[data.path].loader()["test"][:clips]
    started = time.perf_counter()
    audio.featurize(records, data)
    return round(len(records) / (time.perf_counter() - started), 1)


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


NAB_SEEDS = 3  # the detector trains a network per file: its score varies with the seed


def nab_detector(root: Path) -> dict:
    """seqlab's anomaly detector on the Numenta Anomaly Benchmark, scored by `seqlab.nab`, over
    NAB_SEEDS seeds.

    Per file, a small GRU forecaster trains on the probationary period only (the first 15%, which
    NAB does not score) and every later point is scored by the likelihood of its one-step forecast
    error among the file's earlier errors (`data.anomaly_score=likelihood`, as NAB's Numenta detector
    post-processes its raw scores). As NAB's own optimiser does for every detector, one threshold per
    profile and seed is chosen over the whole corpus; after a flag the detector stays silent for 2% of
    the file.
    """
    import pandas as pd
    import torch

    from seqlab import nab

    data = Path(os.environ.get("SEQLAB_DATA", root.parent / "shared" / "data")) / "NAB"
    windows = json.loads((data / "labels" / "combined_windows.json").read_text())
    frames = {name: pd.read_csv(data / "data" / name) for name in windows}
    total_windows = sum(len(spans) for spans in windows.values())
    result: dict = {
        "row": "nab",
        "date": date.today().isoformat(),
        "command": "python benchmarks/run.py nab",
        "threads": torch.get_num_threads(),
        "seeds": [],
    }
    for seed in range(NAB_SEEDS):
        started = time.monotonic()
        files = _nab_scores(frames, windows, seed)
        scored = {"seed": seed, "train_seconds": round(time.monotonic() - started, 1), "profiles": {}}
        candidates = np.unique(
            np.quantile(np.concatenate([f[0] for f in files]), np.linspace(0.9, 0.99999, 120))
        )
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
            scored["profiles"][profile_name] = {
                "score": round(nab.normalised(best[0], total_windows, profile), 2),
                "threshold": round(float(best[1]), 3),
            }
        result["seeds"].append(scored)
        print(json.dumps(scored), flush=True)
    return result


def _nab_scores(frames: dict, windows: dict, seed: int) -> list[tuple]:
    """Per NAB file, (anomaly score of every point, its windows' indices, window positions) from a
    detector trained with `seed` on the file's probationary period."""
    import tempfile

    from seqlab import nab
    from seqlab.config import load_config
    from seqlab.data.series import Series
    from seqlab.pipeline import fit

    lookback = 32
    files = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, spans) in enumerate(windows.items()):
            frame = frames[name]
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
                    "train.seed": seed,
                },
            )
            splits = {"train": [series.head(cut)], "val": [series.head(probation, start=cut)]}
            pipeline = fit(config, Path(tmp) / str(n), splits)
            scores = np.zeros(len(values))
            scores[lookback:] = [r["score"] for r in pipeline.predict([series])]
            spans_idx = nab.window_indices(frame["timestamp"], spans)
            files.append((scores, spans_idx, nab.window_positions(len(values), spans_idx)))
    return files


FORECAST_ROUNDS = 3  # each model's fit and predict timed this many times, the rounds interleaved


def forecast_speed(root: Path) -> dict:
    """Fit and predict time on M4 Hourly (414 series, h = 48, lookback 336) in FORECAST_ROUNDS rounds, each
    timing every model once: seqlab's forecaster (the m4-hourly config) for a fixed number of steps,
    neuralforecast's PatchTST at the same size and the same windows per step where it is installed, and
    statsforecast's models; and seqlab's backtest speed over every origin of the last 96 points of each
    series. Each number is the median of the rounds, with every round's."""
    import torch

    from seqlab import metrics
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits

    steps = 300
    settings = {"train.max_steps": steps, "train.eval_every": steps, "train.patience": None}
    config = load_config(root / "configs" / "m4-hourly.yaml", **settings)
    splits = load_splits("forecast", config.data)
    test = splits["test"]
    truth = np.stack([s.values[s.start :] for s in test])  # (414, 48)

    def smape(point: np.ndarray) -> float:
        return round(
            metrics.forecast([s.id for s in test], truth, point, (truth, point), np.ones(len(test)))["smape"],
            3,
        )

    rounds = [_forecast_round(config, splits, smape) for _ in range(FORECAST_ROUNDS)]
    return {
        "row": "forecast-speed",
        "date": date.today().isoformat(),
        "steps": steps,
        "windows_per_step": config.train.batch_size,
        "threads": torch.get_num_threads(),
        "command": "python benchmarks/run.py forecast-speed",
        "rounds": len(rounds),
        "models": {name: medians([r["models"][name] for r in rounds]) for name in rounds[0]["models"]},
        "backtest": medians([r["backtest"] for r in rounds]),
    }


def _forecast_round(config, splits: dict, smape) -> dict:
    """One round of forecast_speed: every model fitted and timed once."""
    import tempfile

    from seqlab.baselines import forecast_baselines
    from seqlab.pipeline import fit

    test, h, steps = splits["test"], config.data.horizon, config.train.max_steps
    models = {}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        pipeline = fit(config, Path(tmp) / "run", splits)
        fitted = time.perf_counter() - started
        started = time.perf_counter()
        rows = pipeline.forecast([s.head(s.start) for s in test])
        predicted = time.perf_counter() - started
    models["seqlab transformer"] = {
        "fit_seconds": round(fitted, 1),
        "predict_seconds": round(predicted, 2),
        "smape": smape(np.array([r["forecast"] for r in rows]).reshape(len(test), h)),
        "parameters": sum(p.numel() for p in pipeline.model.parameters()),
    }
    backtest = [s.head(len(s), start=len(s) - 2 * h) for s in test]
    windows = pipeline.task.encode(backtest)
    started = time.perf_counter()
    pipeline.task.forecast_windows(pipeline.model, windows, 1024, pipeline.autocast)
    speed = {
        "windows": len(windows.starts),
        "windows_per_second": round(len(windows.starts) / (time.perf_counter() - started)),
    }
    peer = _neuralforecast_patchtst(config, splits["train"], [s.head(s.start) for s in test], steps)
    if peer is not None:
        forecasts, peer_timing = peer
        models["neuralforecast PatchTST"] = {**peer_timing, "smape": smape(forecasts)}
    for name in ("seasonal_naive", "auto_ets", "auto_theta"):
        started = time.perf_counter()
        forecasts = forecast_baselines(test, h, config.data.season, [name])[name]
        models[f"statsforecast {name}"] = {
            "fit_seconds": round(time.perf_counter() - started, 1),
            "predict_seconds": None,
            "smape": smape(forecasts),
        }
    return {"models": models, "backtest": speed}


def medians(rounds: list[dict]) -> dict:
    """Numbers measured in several rounds as one: each number's median, with every round's under
    `rounds`."""
    keys = rounds[0]
    merged = {k: None if keys[k] is None else statistics.median(r[k] for r in rounds) for k in keys}
    return {**merged, "rounds": rounds}


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


def table_row(*cells) -> str:
    """One row of a Markdown table."""
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def section(title: str, caption: str, columns: list[str], rows: list[list]) -> list[str]:
    """A RESULTS.md section: a heading, what the table shows, and the table."""
    return [
        "",
        f"## {title}",
        "",
        caption,
        "",
        table_row(*columns),
        "|" + "---|" * len(columns),
        *(table_row(*row) for row in rows),
    ]


def tables(results: dict[str, dict]) -> list[str]:
    """RESULTS.md's sections for the measurements in `results`."""
    lines: list[str] = []
    precision = results.get("precision")
    if precision:
        native = (
            "multiplies bf16 natively, so `train.precision=auto` picks bf16."
            if precision["native_bf16"]
            else "has no native bf16, so `train.precision=auto` picks fp32."
        )
        lines += section(
            "Training precision",
            f"Training tokens per second, batch {precision['batch']} × {precision['context']}, a "
            f"language-model step (`{precision['command']}`, {precision['date']}). This CPU {native}",
            ["model", "fp32", "bf16 autocast", "speed-up"],
            [[name, r["fp32"], r["bf16"], f"{r['speedup']}x"] for name, r in precision["models"].items()],
        )
    detector = results.get("nab")
    if detector:
        seeds = detector["seeds"]
        seconds = statistics.fmean(s["train_seconds"] for s in seeds)
        threads = f"{detector['threads']} torch thread" + ("s" if detector["threads"] > 1 else "")
        lines += section(
            "Numenta Anomaly Benchmark",
            f"`{detector['command']}`, {detector['date']}: a GRU forecaster per file trained on its "
            f"probationary period ({seconds:.0f} s for all 58, {threads}); "
            "each point scored by the likelihood of its forecast error among the file's earlier errors "
            "(`data.anomaly_score=likelihood`); the flags scored by `seqlab.nab`, each seed's threshold "
            "per profile chosen over the corpus as NAB's optimiser does for every detector; "
            f"{len(seeds)} seeds. Published: ARTime 74.9 / 65.2 / 80.4, Numenta HTM 70.1 / 63.1 / 74.3, "
            "windowed Gaussian 39.6 / 20.9 / 47.4.",
            ["profile", "score, mean ± sd", "min–max", "thresholds"],
            [_nab_profile(name, seeds) for name in seeds[0]["profiles"]],
        )
    tour = results.get("demo-tour")
    if tour:
        lines += section(
            "The demo tour",
            f"`seqlab demo` with an empty dataset cache, as on a fresh clone (`{tour['command']}`, "
            f"{tour['date']}, {tour['cores']} cores): **{tour['seconds'] / 60:.1f} minutes** from start to "
            f"index page{_demo_runs(tour)} (target: at most 8). Each stop's first metric beside its naive "
            "baseline's on the same held-out examples" + (", in the median run." if "runs" in tour else "."),
            ["stop", "data", "encoder", "metric", "baseline", "seconds"],
            [
                [
                    stop["name"],
                    stop["dataset"],
                    stop["encoder"],
                    *_first_metric(stop),
                    f"{stop['seconds']:.0f}",
                ]
                for stop in tour["stops"]
            ],
        )
    speed = results.get("forecast-speed")
    if speed:
        rounds, models = speed.get("rounds", 1), speed["models"]
        lines += section(
            "Forecasting speed",
            f"M4 Hourly, 414 series, horizon 48, lookback 336 (`{speed['command']}`, {speed['date']}): the "
            f"deep models train {speed['steps']} steps of {speed['windows_per_step']} windows on "
            f"{speed['threads']} threads; statsforecast fits and forecasts in one call (n_jobs=1). "
            + (
                f"Each model was timed in {rounds} interleaved rounds: the median, the range, and the ratio "
                "of its fit time to seqlab's in the same round (median and range). "
                if rounds > 1
                else "One round. "
            )
            + "sMAPE on the M4 test points, for orientation only at this short training.",
            ["model", "parameters", "fit", "fit range", "fit ÷ seqlab's", "predict 414 series", "sMAPE"],
            [_forecast_model(name, m, speed["models"]["seqlab transformer"]) for name, m in models.items()],
        )
        b = speed["backtest"]
        spread = _spread([r["windows_per_second"] for r in b.get("rounds", [b])], "{:,.0f}")
        lines += [
            "",
            f"Backtest: {b['windows']:,} windows (every origin of the last 96 points of each series) "
            f"at {b['windows_per_second']:,.0f} windows/s ({spread}).",
        ]
    return lines


def _forecast_model(name: str, model: dict, seqlab: dict) -> list:
    """A row of the forecasting-speed table: `model`'s timings, and its fit time over seqlab's, round by
    round (one round where the measurement has no rounds)."""
    mine, theirs = model.get("rounds", [model]), seqlab.get("rounds", [seqlab])
    ratios = [m["fit_seconds"] / s["fit_seconds"] for m, s in zip(mine, theirs)]
    return [
        name,
        model.get("parameters", ""),
        f"{model['fit_seconds']:.1f} s",
        _spread([m["fit_seconds"] for m in mine], "{:.1f} s"),
        f"{statistics.median(ratios):.2f}x ({_spread(ratios, '{:.2f}')})",
        "" if model["predict_seconds"] is None else f"{model['predict_seconds']:.2f} s",
        model["smape"],
    ]


def _spread(values: list[float], form: str) -> str:
    """min–max of `values`, each written with `form`."""
    return f"{form.format(min(values))}–{form.format(max(values))}"


def _nab_profile(name: str, seeds: list[dict]) -> list[str]:
    """A NAB profile's table row: its score over the seeds, and each seed's threshold."""
    scores = [s["profiles"][name]["score"] for s in seeds]
    thresholds = ", ".join(f"{s['profiles'][name]['threshold']:g}" for s in seeds)
    mean, sd = statistics.fmean(scores), statistics.stdev(scores)
    return [name, f"{mean:.2f} ± {sd:.2f}", _spread(scores, "{:.2f}"), thresholds]


def _demo_runs(tour: dict) -> str:
    """How many runs the tour's time is the median of, and their range; nothing for a single run."""
    if "runs" not in tour:
        return ""
    minutes = [seconds / 60 for seconds in tour["runs"]]
    return f" (the median of {len(minutes)} runs, {_spread(minutes, '{:.1f}')})"


def _first_metric(stop: dict) -> tuple[str, str]:
    """A tour stop's first metric, and its baseline's (what it predicts: the value)."""
    name, value = next(iter(stop["metrics"].items()))
    base = stop["baseline"]
    return f"{name} {value:.3f}", f"{base['what']}: {base[name]:.3f}"
