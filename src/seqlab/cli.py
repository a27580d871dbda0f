"""`seqlab …`: each subcommand builds a config and calls the same functions as the Python API.

Exit codes: 0 success, 2 bad input or usage (one line on stderr), 1 an internal fault.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import warnings
from pathlib import Path

from seqlab import __version__
from seqlab.config import DECODING_RANGES, Range
from seqlab.errors import UserError
from seqlab.registry import ENCODERS, TASKS


def _bounded(kind: type, allowed: Range):
    """An argparse type: a number of `kind` in the range `allowed` (argparse names the flag when not)."""

    def parse(text: str):
        value = kind(text)  # a ValueError: argparse says "invalid int value"
        if not allowed.holds(value):
            raise argparse.ArgumentTypeError(f"must be {allowed}; got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _setting(kind: type, name: str):
    """The argparse type of a decoding flag: the range that decoding itself checks."""
    return _bounded(kind, DECODING_RANGES[name])


COUNT, MINUTES = _bounded(int, Range(1)), _bounded(float, Range(0, low_open=True))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="seqlab",
        description="One toolkit for sequence models: the model stays the same, only the data changes.",
    )
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model and write its run directory")
    p.add_argument("-v", "--verbose", action="store_true", help="the step and evaluation lines on stderr too")
    p.add_argument(
        "settings",
        nargs="*",
        metavar="[CONFIG.yaml] [key=value]",
        help="a YAML config, then overrides such as train.lr=3e-4 or model.hidden_size=512",
    )
    p.add_argument("--task", choices=TASKS.names())
    p.add_argument("--data", help="a file, a folder with train/valid/test files, or a dataset name")
    p.add_argument(
        "--encoder",
        choices=(*ENCODERS.names(), "auto"),
        help="auto: search encoder, size, learning rate and dropout within --max-minutes",
    )
    p.add_argument("--out", help="the run directory to write (default: runs/TASK-ENCODER-TIME)")
    p.add_argument("--trials", type=COUNT, help="--encoder auto: stop the search after this many trials")
    p.add_argument("--epochs", type=COUNT)
    p.add_argument("--max-steps", type=COUNT)
    p.add_argument("--max-minutes", type=MINUTES, help="wall-time budget for training")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")

    p = sub.add_parser("eval", help="print a run's metrics on labelled data as JSON")
    _run_dirs(p)
    p.add_argument("--data", required=True, help="a labelled file, a folder, or a dataset name")
    p.add_argument(
        "--split",
        default="test",
        choices=("train", "val", "test"),
        help="which split of a folder or dataset to score (default: test)",
    )
    p.add_argument(
        "--baselines",
        help="forecast: also score these statsforecast models, comma-separated "
        "(naive, seasonal_naive, auto_ets, auto_theta, auto_arima)",
    )
    _decoding_options(p, temperature=0.0)

    p = sub.add_parser("predict", help="label texts, tag sentences or translate; JSON lines on stdout")
    _run_dirs(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", action="append", help="a text (tag: words split on spaces); repeatable")
    source.add_argument(
        "--data",
        help="a file of texts (one per line, or CSV/TSV/JSONL) or sentences; audio or images: a file, a "
        "folder or a manifest of them (each output names its file)",
    )
    source.add_argument(
        "--image",
        action="append",
        help="an image file to classify or caption (a model of images); repeatable",
    )
    p.add_argument(
        "--out",
        help="write the predictions here instead of standard output: CSV for a .csv name, else JSON lines",
    )
    _decoding_options(p, temperature=0.0)

    p = sub.add_parser("forecast", help="forecast the points after the end of every series; CSV rows")
    _run_dirs(p)
    p.add_argument(
        "--data",
        required=True,
        help="a series file, a folder or a dataset name; forecasts follow the end of every series",
    )
    p.add_argument("--horizon", type=COUNT, help="points ahead (default and most: the trained data.horizon)")
    p.add_argument(
        "--future",
        help="a long CSV (unique_id, ds and the data.future_covariates columns) with "
        "the covariates known over the horizon, for a model trained with them",
    )
    p.add_argument("--out", help="write the CSV here instead of standard output")

    p = sub.add_parser("generate", help="continue a prompt with a language model")
    p.add_argument("run_dir")
    p.add_argument(
        "--prompt", default="", help="what to continue; music: the first frame's pitches; images: the class"
    )
    p.add_argument("--num-samples", type=COUNT, default=1)
    p.add_argument(
        "--out",
        help="write the samples here instead of standard output (FASTA for a DNA model, "
        "a MIDI file and its piano-roll plot for a music model)",
    )
    p.add_argument("--frames", type=COUNT, default=64, help="music: piano-roll frames to generate")
    _decoding_options(p, temperature=1.0)

    p = sub.add_parser("speak", help="say a text with a speech model (--task tts); a WAV file")
    p.add_argument("run_dir")
    p.add_argument("--text", required=True, help="what to say")
    p.add_argument("--speaker", help="whose voice, of the speakers the model learned (default: the first)")
    p.add_argument("--out", required=True, help="the WAV file to write")

    p = sub.add_parser("transcribe", help="what a speech recognition model hears in audio files; JSON lines")
    p.add_argument("run_dir")
    p.add_argument(
        "files", nargs="+", help="WAV, FLAC or OGG files, folders of them, or manifests (a path column)"
    )
    p.add_argument(
        "--beam",
        type=COUNT,
        default=1,
        help="prefix beam search keeping this many transcripts (default 1: the best path)",
    )

    p = sub.add_parser(
        "chat", help="talk with a dialogue model: a line in, a reply out, the turns remembered"
    )
    p.add_argument("run_dir")
    _decoding_options(p, temperature=0.0)

    p = sub.add_parser("export", help="write a run's model as ONNX graphs that run without PyTorch")
    p.add_argument("run_dir")
    p.add_argument("--format", choices=("onnx",), default="onnx")
    p.add_argument("--out", required=True, help="the export folder to write (new or empty)")
    p.add_argument("--data", help="records to trace the model on (default: the run's own validation data)")

    p = sub.add_parser("serve", help="serve trained models over HTTP, with a playground page at /")
    p.add_argument(
        "sources",
        nargs="+",
        metavar="[NAME=]RUN_OR_EXPORT",
        help="run directories (PyTorch) or export folders (ONNX Runtime), each named by its folder",
    )
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: loopback only)")
    p.add_argument("--port", type=_bounded(int, Range(1, 65535)), default=8000)
    p.add_argument("--api-key", help="require this key (X-API-Key or Authorization: Bearer) on /v1/ routes")
    p.add_argument(
        "--batch-wait-ms",
        type=_bounded(float, Range(0)),
        default=0.0,
        help="how long a forward pass waits for more requests than those that came while the last one ran",
    )
    p.add_argument("--max-batch", type=COUNT, default=64, help="texts in one forward pass (1: no batching)")
    p.add_argument("--timeout", type=MINUTES, default=30.0, help="seconds a request may take before a 504")
    p.add_argument("--max-queue", type=COUNT, default=256, help="requests waiting for one model before a 429")
    p.add_argument(
        "--threads",
        type=COUNT,
        help="threads of each forward pass (default: every core but one, which answers HTTP meanwhile)",
    )

    p = sub.add_parser("datasets", help="list the named datasets, or fetch one into the cache")
    p.add_argument("action", nargs="?", default="list", choices=("list", "fetch"))
    p.add_argument("name", nargs="?")

    p = sub.add_parser("demo", help="the tour: train, evaluate and use a small model per task")
    p.add_argument("-v", "--verbose", action="store_true", help="the step and evaluation lines on stderr too")
    p.add_argument("--out", default="runs/demo")
    p.add_argument(
        "--scale", type=MINUTES, default=1.0, help="every stop's time budget times this (0.5: a quicker tour)"
    )

    p = sub.add_parser(
        "compare", help="train every encoder on the same data and budget over seeds, side by side"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="the step and evaluation lines on stderr too")
    p.add_argument("settings", nargs="*", metavar="[CONFIG.yaml] [key=value]")
    p.add_argument("--task", choices=TASKS.names())
    p.add_argument("--data", help="a file, a folder with train/valid/test files, or a dataset name")
    p.add_argument(
        "--encoders",
        default=",".join(ENCODERS.names()),
        help=f"comma-separated (default: all, {','.join(ENCODERS.names())})",
    )
    p.add_argument("--budget-minutes", type=MINUTES, default=2.0, help="training wall time of every run")
    p.add_argument("--seeds", type=COUNT, default=3, help="runs per encoder, seeds 0 … K-1")
    p.add_argument(
        "--equal",
        choices=("time", "params"),
        default="time",
        help="params: also size every encoder to the first one's parameter count",
    )
    p.add_argument(
        "--out", help="the folder for the runs and compare.json/.html (default: runs/compare-TASK-TIME)"
    )

    p = sub.add_parser(
        "bench",
        help="speed against the machine's limit and the peers, the published-results rows, or reliability",
    )
    p.add_argument("table", choices=("speed", "quality", "reliability", "serve"))
    p.add_argument(
        "rows",
        nargs="*",
        help="quality: the rows to run (default: all; --list names them); serve: the parts to measure",
    )
    p.add_argument(
        "--out",
        default="benchmarks",
        help="speed, reliability, serve: the folder for SPEED.md (speed.json, speed.png), RELIABILITY.md or "
        "SERVE.md",
    )
    p.add_argument("--smoke", action="store_true", help="speed: every row at toy sizes, to check the harness")
    p.add_argument(
        "--profile", action="store_true", help="speed: also write torch.profiler tables to OUT/profiles/"
    )
    p.add_argument("--list", action="store_true", help="quality: name the rows")
    p.add_argument("--row", action="append", default=[], help="quality: a row to run (repeatable)")
    p.add_argument(
        "--seeds", type=COUNT, help="quality: run seeds 0 … K-1 (default: the row's declared seeds)"
    )
    p.add_argument(
        "--seed", type=int, action="append", default=[], help="quality: run this seed only (repeatable)"
    )
    p.add_argument("--again", action="store_true", help="quality: rerun seeds that results.json already has")
    p.add_argument("--tables", action="store_true", help="quality: only rewrite RESULTS.md from results.json")
    p.add_argument("--merge", metavar="RESULTS.json", help="quality: add another checkout's seeds")
    p.add_argument("--kills", type=COUNT, default=20, help="reliability: runs killed at a random moment")
    p.add_argument("--pairs", type=COUNT, default=100, help="reliability: pairs of runs started together")
    return parser


def _run_dirs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "run_dirs",
        nargs="+",
        metavar="run_dir",
        help="a run directory; several runs of one task "
        "trained on the same data predict as one ensemble, their probabilities (or forecasts) averaged",
    )


def _load(run_dirs: list[str]):
    from seqlab.pipeline import load, load_ensemble

    return load(run_dirs[0]) if len(run_dirs) == 1 else load_ensemble(run_dirs)


def _decoding_options(p: argparse.ArgumentParser, temperature: float) -> None:
    group = p.add_argument_group("decoding (seq2seq and generate)")
    group.add_argument("--max-new-tokens", type=_setting(int, "max_new_tokens"), default=200)
    group.add_argument(
        "--temperature",
        type=_setting(float, "temperature"),
        default=temperature,
        help=f"0 decodes greedily (default {temperature:g})",
    )
    group.add_argument("--top-k", type=_setting(int, "top_k"))
    group.add_argument("--top-p", type=_setting(float, "top_p"))
    group.add_argument("--seed", type=_bounded(int, Range(0)))
    group.add_argument(
        "--beam", type=_setting(int, "num_beams"), default=1, help="seq2seq: beam search with this many beams"
    )
    group.add_argument(
        "--length-penalty",
        type=_setting(float, "length_penalty"),
        default=1.0,
        help="beam search: score / length ** this",
    )
    group.add_argument("--no-cache", action="store_true", help="recompute the prefix each step (slow)")


def _decoding(args):
    from seqlab.generation import GenerationConfig

    return GenerationConfig(
        args.max_new_tokens,
        args.temperature,
        args.top_k,
        args.top_p,
        args.seed,
        use_cache=not args.no_cache,
        num_beams=args.beam,
        length_penalty=args.length_penalty,
    )


def main(argv: list[str] | None = None) -> int:
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and (
            args.command not in ("train", "compare") or any(e.startswith("-") or "=" not in e for e in extra)
        ):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if extra:  # key=value settings given after the options
            args.settings += extra
        if getattr(args, "verbose", False):
            _echo_training_log()
        return COMMANDS[args.command](args) or 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`seqlab … | head`): stop quietly, as other tools do
        with contextlib.suppress(OSError, ValueError):  # no more writes to the closed pipe at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _echo_training_log() -> None:
    """-v: the training loop's step and evaluation lines on stderr too, not only in the run's train.log."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("seqlab.train").addHandler(handler)


def cmd_train(args) -> int:
    from seqlab.config import load_config

    settings = list(args.settings)
    config_file = settings.pop(0) if settings and settings[0].endswith((".yaml", ".yml")) else None
    auto = args.encoder == "auto"
    flags = {
        "task": args.task,
        "data.path": args.data,
        "model.encoder": None if auto else args.encoder,
        "train.epochs": args.epochs,
        "train.max_steps": args.max_steps,
        "train.max_minutes": args.max_minutes,
    }
    config = load_config(config_file, settings, **flags)
    if not config.data.path:
        raise UserError("seqlab train needs --data PATH (or data.path in the config file)")
    if auto:
        from seqlab.search import search

        if args.resume:
            raise UserError("--encoder auto searches afresh: it cannot --resume")
        out = Path(args.out) if args.out else None
        pipeline = search(config, out, config.train.max_minutes, max_trials=args.trials)
    else:
        from seqlab.pipeline import fit

        pipeline = fit(config, args.out, resume=args.resume)
    if pipeline.main_process:
        print(
            json.dumps(
                {
                    "run_dir": str(pipeline.run_dir),
                    **json.loads((pipeline.run_dir / "metrics.json").read_text()),
                }
            )
        )
    return 0


def cmd_eval(args) -> int:
    from seqlab.data.datasets import load_splits, retarget
    from seqlab.data.splits import read_splits

    pipeline = _load(args.run_dirs)
    task, data = pipeline.config.task, retarget(pipeline.config.data, args.data)
    path = Path(args.data)
    if path.is_file() or (pipeline.task.decodes and data.source_lang and not path.is_dir()):
        splits = read_splits(task, path, data)  # a file's own splits, or all its records as one
    else:
        splits = load_splits(task, data)
    records = splits["train"] if len(splits) == 1 else splits.get(args.split) or splits["val"]
    if path.is_file():
        records = pipeline.task.with_history(records)
    if args.baselines:
        scores = pipeline.evaluate_baselines(records, args.baselines.split(","))
    else:
        scores = pipeline.evaluate(records, _decoding(args) if pipeline.task.decodes else None)
    print(json.dumps(scores))
    return 0


def cmd_predict(args) -> int:
    from seqlab.data.datasets import retarget
    from seqlab.data.splits import read_records
    from seqlab.files import atomic_write

    pipeline = _load(args.run_dirs)
    if args.text:
        records = pipeline.task.records_from_texts(args.text)
    elif args.image:
        data = pipeline.config.data
        if data.input != "image":
            raise UserError(f"--image needs a model of images; this one reads data.input={data.input}")
        records = [
            r for name in args.image for r in read_records(pipeline.config.task, Path(name), data, False)
        ]
    else:
        data = retarget(pipeline.config.data, args.data)
        records = read_records(pipeline.config.task, Path(args.data), data, labelled=False)
    rows = pipeline.task.prediction_rows(pipeline, records, _decoding(args))
    if not args.out:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    atomic_write(Path(args.out), _as_csv(list(rows)) if args.out.endswith(".csv") else _as_json_lines(rows))
    return 0


def _as_json_lines(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _as_csv(rows: list[dict]) -> str:
    """Rows as CSV under their first row's keys; a list or a mapping in a cell is written as JSON."""
    import csv
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})
    return text.getvalue()


def cmd_forecast(args) -> int:
    import csv
    import io

    from seqlab.data.datasets import load_splits, retarget
    from seqlab.data.splits import read_records
    from seqlab.files import atomic_write

    pipeline = _load(args.run_dirs)
    forecast = pipeline.verb("forecast", "seqlab forecast")  # checked before any reading
    data = retarget(pipeline.config.data, args.data)
    if Path(args.data).is_file():
        series = read_records(pipeline.config.task, Path(args.data), data)
    else:  # a dataset or a folder: the whole history, the test part included
        series = load_splits(pipeline.config.task, data)["test"]
    if args.future:
        from seqlab.data.series import read_frame, with_future

        series = with_future(
            series, read_frame(Path(args.future)), args.horizon or data.horizon, data, args.future
        )
    rows = forecast(series, args.horizon)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    if args.out:
        atomic_write(Path(args.out), text.getvalue())
    else:
        sys.stdout.write(text.getvalue())
    return 0


def cmd_transcribe(args) -> int:
    from seqlab.data.audio import read_clips
    from seqlab.pipeline import load

    transcribe = load(args.run_dir).verb("transcribe", "seqlab transcribe")
    records = [record for name in args.files for record in read_clips(Path(name), labelled=False)]
    for record, transcript in zip(records, transcribe(records, args.beam)):
        print(json.dumps({"path": record["audio"].clips[0], "transcript": transcript}, ensure_ascii=False))
    return 0


def cmd_speak(args) -> int:
    import io

    import soundfile

    from seqlab.files import atomic_write
    from seqlab.pipeline import load

    pipeline = load(args.run_dir)
    speak = pipeline.verb("speak", "seqlab speak")
    (samples,) = speak([args.text], args.speaker)
    wav = io.BytesIO()
    soundfile.write(wav, samples, pipeline.config.data.sample_rate, format="WAV", subtype="PCM_16")
    atomic_write(Path(args.out), wav.getvalue())
    print(json.dumps({"out": args.out, "seconds": round(len(samples) / pipeline.config.data.sample_rate, 3)}))
    return 0


def cmd_generate(args) -> int:
    from seqlab.data.inputs import kind_of
    from seqlab.pipeline import load

    pipeline = load(args.run_dir)
    if "compose" in pipeline.task.verbs:
        return _generate_music(pipeline, args)
    if "draw" in pipeline.task.verbs:
        return _generate_images(pipeline, args)
    kind = kind_of(pipeline.config.data)
    if args.out and kind.suffixes and not args.out.lower().endswith(kind.suffixes):
        raise UserError(
            f"a {kind.name} model writes {kind.suffixes[0]} files: give --out FILE{kind.suffixes[0]} "
            "(or no --out for its tokens)"
        )
    samples = [
        args.prompt + text for text in pipeline.generate(args.prompt, _decoding(args), args.num_samples)
    ]
    if not args.out:
        print("\n".join(samples))
    elif kind.write is not None:  # FASTA for DNA, MIDI for melodies
        kind.write(samples, Path(args.out))
    else:
        from seqlab.files import atomic_write

        atomic_write(Path(args.out), "\n".join(samples) + "\n")
    return 0


def _generate_music(pipeline, args) -> int:
    """A piano roll after a first frame (--prompt: its MIDI pitches, default a C major chord), as MIDI and
    as a piano-roll plot beside it (FILE.png)."""
    from seqlab.data.music import write_piece

    if not args.out or not args.out.lower().endswith((".mid", ".midi")):
        raise UserError("a music model writes MIDI: give --out FILE.mid")
    try:
        first = [int(p) for p in (args.prompt or "60 64 67").replace(",", " ").split()]
    except ValueError:
        raise UserError(
            f"--prompt for a music model is the first frame's MIDI pitches, e.g. '60 64 67'; "
            f"got '{args.prompt}'"
        ) from None
    roll = pipeline.compose(first, args.frames, args.seed, where="--prompt")
    write_piece(
        roll, Path(args.out), pipeline.config.data.pitch_low, f"{Path(args.out).name}: {len(roll)} frames"
    )
    return 0


def _generate_images(pipeline, args) -> int:
    """--num-samples images of the class named by --prompt (none: any class), side by side in one PNG."""
    from seqlab.data.images import write_png

    if not args.out or not args.out.lower().endswith(".png"):
        raise UserError("an image model draws PNG images: give --out FILE.png")
    label = args.prompt.strip() or None
    write_png(pipeline.draw(label, args.num_samples, args.seed), Path(args.out))
    return 0


def cmd_chat(args) -> int:
    """Each line of standard input is a turn; each reply goes to standard output. `/reset` forgets."""
    from seqlab.pipeline import load

    reply = load(args.run_dir).verb("reply", "chat")
    settings = _decoding(args).check()
    interactive = sys.stdin.isatty()
    if interactive:
        print("a line is a turn; /reset forgets the conversation; Ctrl-D ends", file=sys.stderr)
    history: list[str] = []
    while True:
        if interactive:
            print("you> ", end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if text == "/reset":
            history = []
        elif text:
            history.append(text)
            history.append(reply(history, settings))
            print(history[-1], flush=True)


def cmd_export(args) -> int:
    import importlib.util

    from seqlab.pipeline import load

    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"seqlab export needs {' and '.join(missing)}: pip install 'seqlab[export]'")
    from seqlab.data.datasets import retarget
    from seqlab.data.splits import read_records
    from seqlab.export import export

    pipeline = load(args.run_dir)
    records = None
    if args.data:
        data = retarget(pipeline.config.data, args.data)
        records = read_records(pipeline.config.task, Path(args.data), data, labelled=False)
    description = export(pipeline, Path(args.out), records)
    graphs = [f"{g['file']} (±{g['max_difference']:.1g})" for g in description["graphs"].values()]
    print(f"wrote {args.out}: {', '.join(graphs)}", file=sys.stderr)
    return 0


def cmd_serve(args) -> int:
    import importlib.util

    if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("uvicorn") is None:
        raise UserError("seqlab serve needs FastAPI and uvicorn: pip install 'seqlab[serve]'")
    from seqlab.serve import Limits, serve

    limits = Limits(
        timeout_s=args.timeout,
        batch_wait_ms=args.batch_wait_ms,
        max_batch=args.max_batch,
        max_queue=args.max_queue,
    )
    print(f"serving on http://{args.host}:{args.port}/ (the playground; the API under /v1/)", file=sys.stderr)
    serve(args.sources, args.host, args.port, limits, args.api_key, args.threads)
    return 0


def cmd_datasets(args) -> int:
    from seqlab.data.datasets import REGISTRY
    from seqlab.data.download import cache_dir, fetch

    if args.action == "list":
        for dataset in REGISTRY.values():
            print(f"{dataset.name:20} {dataset.task:9} {dataset.description}")
        print(f"cache: {cache_dir()}")
        return 0
    if args.name not in REGISTRY:
        raise UserError(f"unknown dataset '{args.name}'; known: {', '.join(REGISTRY)}")
    dataset = REGISTRY[args.name]
    if dataset.obtain:
        raise UserError(f"dataset '{dataset.name}' cannot be downloaded by seqlab: {dataset.obtain}")
    if not dataset.files:
        print(f"{dataset.name} ships in a package and needs no fetching")
        return 0
    for split, path in fetch(dataset).items():
        print(f"{split}: {path}")
    return 0


def cmd_demo(args) -> int:
    from seqlab.demo import DemoFailed, run_demo

    try:
        run_demo(Path(args.out), args.scale)
    except DemoFailed as exc:
        print(f"seqlab demo: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_compare(args) -> int:
    from rich.console import Console

    from seqlab.compare import compare, parse_encoders, table
    from seqlab.config import load_config

    encoders = parse_encoders(args.encoders)
    settings = list(args.settings)
    config_file = settings.pop(0) if settings and settings[0].endswith((".yaml", ".yml")) else None
    config = load_config(config_file, settings, **{"task": args.task, "data.path": args.data})
    if not config.data.path:
        raise UserError("seqlab compare needs --data PATH (or data.path in the config file)")
    print(
        f"{len(encoders)} encoder(s) x {args.seeds} seed(s) x {args.budget_minutes:g} min: "
        f"about {len(encoders) * args.seeds * args.budget_minutes:g} minutes of training",
        file=sys.stderr,
    )
    out = Path(args.out) if args.out else None
    result = compare(config, encoders, args.seeds, args.budget_minutes, out, args.equal)
    console = Console()
    console.print(table(result, console.width))
    print(f"report: {Path(result['folder']) / 'compare.html'}")
    return 0


def cmd_bench(args) -> int:
    if args.table == "serve":
        from seqlab.bench import serving

        root = Path.cwd()
        if not (root / "benchmarks" / "litserve_peer.py").is_file():
            raise UserError(
                "seqlab bench serve runs in a checkout of seqlab (it starts benchmarks/litserve_peer.py)"
            )
        unknown = [part for part in args.rows if part not in serving.PARTS]
        if unknown:
            raise UserError(f"unknown part '{unknown[0]}' of bench serve; parts: {', '.join(serving.PARTS)}")
        serving.run(Path(args.out), root, tuple(args.rows) or serving.PARTS)
        print(f"table: {Path(args.out) / 'SERVE.md'}")
        return 0
    if args.table == "reliability":
        from seqlab.bench import reliability

        result = reliability.run(Path(args.out), kill_trials=args.kills, pairs=args.pairs)
        held = sum(case["held"] for case in result["cases"])
        print(f"bad inputs held: {held} / {len(result['cases'])}; table: {Path(args.out) / 'RELIABILITY.md'}")
        return 0
    if args.table == "speed":
        if args.rows or args.row or args.list:
            raise UserError("seqlab bench speed takes no rows; it measures the whole table")
        from seqlab.bench import speed

        results = speed.run(Path(args.out), smoke=args.smoke, profile=args.profile)
        for target in results["targets"]:
            print(f"{target['target']}: {target['measured']:.3f} (wanted {target['wanted']})")
        print(f"table: {Path(args.out) / 'SPEED.md'}")
        return 0
    from seqlab.bench import quality_rows

    flags = [f"--{name}" for name in ("list", "again", "tables") if getattr(args, name)]
    flags += [f"--seeds={args.seeds}"] if args.seeds is not None else []
    flags += [f"--seed={seed}" for seed in args.seed]
    flags += [f"--merge={args.merge}"] if args.merge else []
    return quality_rows()([*args.rows, *(f"--row={row}" for row in args.row), *flags])


COMMANDS = {
    "train": cmd_train,
    "eval": cmd_eval,
    "predict": cmd_predict,
    "forecast": cmd_forecast,
    "generate": cmd_generate,
    "transcribe": cmd_transcribe,
    "speak": cmd_speak,
    "chat": cmd_chat,
    "export": cmd_export,
    "serve": cmd_serve,
    "datasets": cmd_datasets,
    "demo": cmd_demo,
    "compare": cmd_compare,
    "bench": cmd_bench,
}
