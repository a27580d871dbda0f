"""`seqlab bench reliability`: what a hostile but realistic user meets, measured.

- **Bad inputs**: every case of `CASES` (data files of each modality, configs, numbers, flags, damaged run
  directories, outputs that cannot be written) is run as a user would run it; it *holds* when the command
  exits 2 with one `error:` line, no traceback, and leaves nothing behind.
- **Kills**: a deterministic run is killed (SIGKILL) at random moments and resumed with `--resume`; each
  must complete, lose at most one checkpoint interval, and end with the weights of an uninterrupted run.
- **Concurrent starts**: pairs of runs started together, into one `--out` or under default names; no pair
  may share a folder or lose a run.
- **A full disk**: a run into a small filesystem (tmpfs, which needs root) must exit 2, leaving nothing.

The cases are also a test (tests/test_reliability.py runs them through `seqlab.cli.main` in its own
process); the rest needs processes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.bench.measurements import table_row
from seqlab.config import RANGES, Range
from seqlab.training import run_dir as rd

# -- the cases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A command that must fail cleanly. In `args`, `{d}` is the case's own folder (holding `files`),
    `{run}` a copy of a trained run of the kind `run` names (`damage` applied to it first)."""

    name: str
    modality: str
    args: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    fragment: str = ""  # the error line holds this
    run: str = ""  # "classify" or "lm": copy that trained run to {d}/run
    damage: tuple[str, Callable[[bytes], bytes] | None] | None = None  # (file, change; None deletes it)


def _texts(n: int = 40) -> bytes:
    """A small, valid classification table."""
    rows = [
        f"{'a fine film' if i % 2 else 'a dull film'} number {i},{'pos' if i % 2 else 'neg'}"
        for i in range(n)
    ]
    return ("text,label\n" + "\n".join(rows) + "\n").encode()


def _conll() -> bytes:
    sentence = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\n\n"
    return (sentence * 20).encode()


def _series(rows: int = 200) -> bytes:
    """A small, valid hourly series in the long layout."""
    lines = ["unique_id,ds,y"] + [
        f"a,2020-01-{1 + h // 24:02d} {h % 24:02d}:00:00,{h % 7}" for h in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _wav(rate: int, samples: int) -> bytes:
    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(samples, dtype=np.float32), rate, format="WAV")
    return buffer.getvalue()


NOISE = bytes(random.Random(0).randrange(256) for _ in range(3000))  # random bytes, NULs among them
LATIN1 = "café,pos\nthé,neg\n".encode("latin-1")
TRAIN = ("train", "--max-steps", "1", "--out", "{d}/out")


def _train(task: str, data: str, *more: str) -> tuple[str, ...]:
    return (*TRAIN, "--task", task, "--data", data, *more)


def _data_cases() -> list[Case]:
    """Data files that are empty, damaged, ragged or not what the task reads, one modality at a time."""
    big_cell = b'text,label\n"' + b"x" * (1 << 21) + b'",pos\n'
    cases = [
        # text tables
        Case("empty CSV", "text", _train("classify", "{d}/a.csv"), {"a.csv": b""}, "is empty"),
        Case("header-only CSV", "text", _train("classify", "{d}/a.csv"), {"a.csv": b"text,label\n"}),
        Case(
            "ragged CSV row",
            "text",
            _train("classify", "{d}/a.csv"),
            {"a.csv": _texts() + b"x,pos,world,1,2\n"},
        ),
        Case("extra TSV field", "text", _train("classify", "{d}/a.tsv"), {"a.tsv": b"hi\tpos\nho\tneg\tx\n"}),
        Case("non-UTF-8 CSV", "text", _train("classify", "{d}/a.csv"), {"a.csv": LATIN1}, "not UTF-8"),
        Case("random bytes as CSV", "text", _train("classify", "{d}/a.csv"), {"a.csv": NOISE}),
        Case("cell over 1 MiB", "text", _train("classify", "{d}/a.csv"), {"a.csv": big_cell}, "1,048,576"),
        Case(
            "broken JSONL line",
            "text",
            _train("classify", "{d}/a.jsonl"),
            {"a.jsonl": b'{"text": "a", "label"\n'},
        ),
        Case("JSONL line not an object", "text", _train("classify", "{d}/a.jsonl"), {"a.jsonl": b"[1, 2]\n"}),
        Case(
            "named label column absent",
            "text",
            _train("classify", "{d}/a.csv", "data.label_column=stars"),
            {"a.csv": _texts()},
            "stars",
        ),
        Case("missing data file", "text", _train("classify", "{d}/none.csv"), {}, "not found"),
        Case(
            "folder without a train file", "text", _train("classify", "{d}/f"), {"f/notes.md": b"x"}, "train"
        ),
        Case("empty train file in a folder", "text", _train("classify", "{d}/f"), {"f/train.csv": b""}),
        Case("unknown dataset name", "text", _train("classify", "imagenet-21k"), {}),
        Case(
            "unknown data.format",
            "text",
            _train("classify", "{d}/a.csv", "data.format=xml"),
            {"a.csv": _texts()},
        ),
        Case("one text only", "text", _train("classify", "{d}/a.csv"), {"a.csv": b"text,label\nhi,pos\n"}),
        # tagging
        Case(
            "CoNLL column count changes",
            "tagging",
            _train("tag", "{d}/a.conll"),
            {"a.conll": _conll() + b"x O O\n"},
        ),
        Case("CoNLL without tags", "tagging", _train("tag", "{d}/a.conll"), {"a.conll": b"EU\nrejects\n"}),
        Case("empty CoNLL", "tagging", _train("tag", "{d}/a.conll"), {"a.conll": b"\n\n"}),
        Case(
            "JSONL tokens and tags differ",
            "tagging",
            _train("tag", "{d}/a.jsonl"),
            {"a.jsonl": b'{"tokens": ["a", "b"], "tags": ["O"]}\n'},
        ),
        Case(
            "JSONL without tags", "tagging", _train("tag", "{d}/a.jsonl"), {"a.jsonl": b'{"tokens": ["a"]}\n'}
        ),
        Case("random bytes as CoNLL", "tagging", _train("tag", "{d}/a.conll"), {"a.conll": NOISE}),
        # language models
        Case("empty corpus", "text", _train("lm", "{d}/a.txt"), {"a.txt": b""}),
        Case("whitespace corpus", "text", _train("lm", "{d}/a.txt"), {"a.txt": b" \n\n \t\n"}),
        Case(
            "non-UTF-8 corpus", "text", _train("lm", "{d}/a.txt"), {"a.txt": "naïve ".encode("latin-1") * 50}
        ),
        # sequence to sequence
        Case(
            "pairs without a target", "pairs", _train("seq2seq", "{d}/a.csv"), {"a.csv": b"source\nhallo\n"}
        ),
        Case(
            "language name escaping the folder",
            "pairs",
            _train("seq2seq", "{d}/f", "data.source_lang=/../../etc/x", "data.target_lang=en"),
            {"f/train.en": b"hello\n"},
        ),
        Case(
            "aligned files of different lengths",
            "pairs",
            _train("seq2seq", "{d}/f", "data.source_lang=de", "data.target_lang=en"),
            {"f/train.de": b"hallo\nwelt\n", "f/train.en": b"hello\n"},
        ),
        # series
        Case(
            "text among the values",
            "series",
            _train("forecast", "{d}/s.csv"),
            {"s.csv": _series() + b"a,2021,x\n"},
        ),
        Case(
            "a gap with data.missing=error",
            "series",
            _train("forecast", "{d}/s.csv"),
            {"s.csv": _series().replace(b",3\n", b",\n", 1)},
        ),
        Case("empty series file", "series", _train("forecast", "{d}/s.csv"), {"s.csv": b""}),
        Case(
            "horizon beyond the series",
            "series",
            _train("forecast", "{d}/s.csv", "data.horizon=500"),
            {"s.csv": _series()},
        ),
        Case(
            "series without a value column",
            "series",
            _train("forecast", "{d}/s.csv"),
            {"s.csv": b"unique_id,ds\na,1\n"},
        ),
        Case(
            "UCR line of words",
            "series",
            _train("classify", "{d}/u.txt", "data.format=ucr"),
            {"u.txt": b"1 a b c\n"},
        ),
        Case(
            "UCR infinite value",
            "series",
            _train("classify", "{d}/u.txt", "data.format=ucr"),
            {"u.txt": b"1 1 inf 2\n"},
        ),
        Case("random bytes as .ts", "series", _train("classify", "{d}/u.ts"), {"u.ts": NOISE}),
        Case(
            "empty UCR file", "series", _train("classify", "{d}/u.txt", "data.format=ucr"), {"u.txt": b"\n"}
        ),
        # DNA and proteins
        Case("empty FASTA", "dna", _train("lm", "{d}/a.fa"), {"a.fa": b""}, "a.fa"),
        Case(
            "FASTA of digits",
            "dna",
            _train("lm", "{d}/a.fa", "data.input=dna"),
            {"a.fa": b">x\nACGTACGT\n" * 20 + b">y\nAC1GT\n"},
            "'1'",
        ),
        Case(
            "FASTA without data.input", "dna", _train("lm", "{d}/a.fa"), {"a.fa": b">x\nACGT\n"}, "data.input"
        ),
        Case(
            "truncated FASTQ",
            "dna",
            _train("lm", "{d}/a.fastq", "data.input=dna"),
            {"a.fastq": b"@r\nACGTACGT\n+\nIIIIIIII\n" * 20 + b"@r\nACGT\n+\n"},
        ),
        Case("GenBank of random bytes", "dna", _train("lm", "{d}/a.gb", "data.input=dna"), {"a.gb": NOISE}),
        Case(
            "protein letter outside the alphabet",
            "protein",
            _train("lm", "{d}/p.fasta", "data.input=protein"),
            {"p.fasta": b">p\nMKV1L\n"},
        ),
        Case(
            "labels shorter than the chain",
            "protein",
            _train("tag", "{d}/p.csv", "data.input=protein"),
            {"p.csv": b"sequence,dssp3\nMKVL,CCH\n"},
        ),
        # audio
        Case("clip sampled at 1 Hz", "audio", _train("classify", "{d}/f"), _clips(_wav(1, 5)), "1 Hz"),
        Case(
            "clip of zero samples", "audio", _train("classify", "{d}/f"), _clips(_wav(16000, 0)), "no audio"
        ),
        Case("random bytes as WAV", "audio", _train("classify", "{d}/f"), _clips(NOISE)),
        Case(
            "manifest naming a missing clip",
            "audio",
            _train("ctc", "{d}/m.csv"),
            {"m.csv": b"path,transcript\n" + b"".join(b"none%d.wav,word %d\n" % (i, i) for i in range(20))},
        ),
        # music, images, trajectories, knowledge
        Case("random bytes as MIDI", "music", _train("lm", "{d}/a.mid"), {"a.mid": NOISE}),
        Case("empty MIDI", "music", _train("lm", "{d}/a.mid"), {"a.mid": b""}),
        Case(
            "random bytes as PNG",
            "image",
            _train("classify", "{d}/f"),
            {"f/a/x.png": NOISE, "f/b/y.png": NOISE},
        ),
        Case(
            "frames out of order",
            "trajectory",
            _train("trajectory", "{d}/s.txt"),
            {"s.txt": b"10 1 0 0\n0 1 1 1\n"},
            "sort the rows by frame",
        ),
        Case("trajectory of words", "trajectory", _train("trajectory", "{d}/s.txt"), {"s.txt": b"a b c d\n"}),
        Case("triples of two columns", "knowledge", _train("link", "{d}/t.tsv"), {"t.tsv": b"a\tb\n"}),
    ]
    return cases


def _clips(content: bytes) -> dict[str, bytes]:
    """A folder of two classes of one clip each, every clip `content`."""
    return {"f/a/x.wav": content, "f/b/y.wav": content}


def _config_cases() -> list[Case]:
    python = b"!!python/object/apply:os.system ['touch {d}/pwned']\n"
    files = {
        "malformed YAML": b"train: [lr\n",
        "YAML that runs code": python,
        "YAML list, not a mapping": b"- 1\n- 2\n",
        "unknown key": b"train:\n  learning_rate: 0.1\n",
        "a section that is a number": b"train: 3\n",
        "a word where a number goes": b"train:\n  lr: fast\n",
    }
    cases = [
        Case(
            name,
            "config",
            ("train", "{d}/c.yaml", "--task", "classify", "--data", "{d}/a.csv", "--out", "{d}/out"),
            {"c.yaml": text, "a.csv": _texts()},
        )
        for name, text in files.items()
    ]
    cases.append(
        Case("config file missing", "config", ("train", "{d}/none.yaml", "--data", "x"), {}, "not found")
    )
    cases.append(
        Case(
            "override without =",
            "config",
            (*_train("classify", "{d}/a.csv"), "train.lr"),
            {"a.csv": _texts()},
        )
    )
    return cases


def _number_cases() -> list[Case]:
    """Every number of the config just outside its range, and NaN."""
    cases = []
    for key, allowed in RANGES.items():
        for value in [*_outside(allowed), "nan"]:
            args = _train("classify", "{d}/a.csv", f"{key}={value}")
            if key == "train.max_steps":  # the flag would set it again
                args = tuple(a for a in args if a not in ("--max-steps", "1"))
            cases.append(Case(f"{key}={value}", "numbers", args, {"a.csv": _texts()}, key))
    return cases


def _outside(allowed: Range) -> list[float]:
    """The values next to `allowed`, outside it."""
    values = []
    if allowed.low is not None:
        values.append(allowed.low if allowed.low_open and allowed.off != allowed.low else allowed.low - 1)
    if allowed.high is not None:
        values.append(allowed.high if allowed.high_open else allowed.high + 1)
    return [int(v) if float(v).is_integer() else v for v in values]


def _flag_cases() -> list[Case]:
    flags = [
        ("train", "--epochs", "0"),
        ("train", "--max-steps", "-5"),
        ("train", "--max-minutes", "-1"),
        ("train", "--max-minutes", "inf"),
        ("train", "--trials", "0"),
        ("generate", "{run}", "--max-new-tokens", "1000000000"),
        ("generate", "{run}", "--num-samples", "0"),
        ("generate", "{run}", "--top-p", "0"),
        ("generate", "{run}", "--top-k", "0"),
        ("generate", "{run}", "--temperature", "-1"),
        ("generate", "{run}", "--frames", "0"),
        ("predict", "{run}", "--text", "x", "--length-penalty", "nan"),
        ("predict", "{run}", "--text", "x", "--beam", "0"),
        ("forecast", "{run}", "--data", "x", "--horizon", "0"),
        ("transcribe", "{run}", "x.wav", "--beam", "0"),
        ("compare", "--seeds", "0"),
        ("compare", "--budget-minutes", "-1"),
        ("demo", "--scale", "0"),
        ("train", "--encoder", "cnn"),
        ("train", "--no-such-flag"),
    ]
    return [
        Case(" ".join(f[1:]).replace("{run}", "RUN"), "flags", f, run="lm" if "{run}" in f else "")
        for f in flags
    ]


def _damages() -> dict[str, tuple[str, Callable[[bytes], bytes] | None]]:
    noise = NOISE
    return {
        "truncated weights": ("model.safetensors", lambda b: b[: len(b) // 2]),
        "random weights": ("model.safetensors", lambda b: noise),
        "empty weights": ("model.safetensors", lambda b: b""),
        "foreign weights": ("model.safetensors", lambda b: _foreign_weights()),
        "missing weights": ("model.safetensors", None),
        "malformed config.yaml": ("config.yaml", lambda b: b"task: [classify\n"),
        "config.yaml that runs code": (
            "config.yaml",
            lambda b: b"!!python/object/apply:os.system ['true']\n",
        ),
        "config.yaml not a mapping": ("config.yaml", lambda b: b"- 1\n"),
        "config.yaml of another encoder size": (
            "config.yaml",
            lambda b: b.replace(b"hidden_size: 16", b"hidden_size: 24"),
        ),
        "truncated meta.json": ("meta.json", lambda b: b[:10]),
        "meta.json not a mapping": ("meta.json", lambda b: b"[1]"),
        "meta.json of another format": ("meta.json", lambda b: b'{"format_version": 99}'),
        "random tokenizer.json": ("tokenizer.json", lambda b: noise),
        "truncated tokenizer.json": ("tokenizer.json", lambda b: b[: len(b) // 2]),
        "missing tokenizer.json": ("tokenizer.json", None),
        "malformed labels.json": ("labels.json", lambda b: b'["neg", '),
        "missing labels.json": ("labels.json", None),
    }


def _foreign_weights() -> bytes:
    import torch
    from safetensors.torch import save

    return save({"other.weight": torch.zeros(3, 3)})


def _run_cases() -> list[Case]:
    """Damaged or foreign run directories, read by the commands that read them."""
    cases = []
    for name, damage in _damages().items():
        commands = {
            "eval": ("eval", "{run}", "--data", "{d}/a.csv"),
            "predict": ("predict", "{run}", "--text", "hi"),
        }
        for verb, args in commands.items():
            if damage[0] == "labels.json" or verb == "eval" or name.startswith(("truncated", "random")):
                cases.append(
                    Case(
                        f"{verb} of a run with {name}",
                        "run directory",
                        args,
                        {"a.csv": _texts()},
                        run="classify",
                        damage=damage,
                    )
                )
    cases.append(
        Case("not a run directory", "run directory", ("predict", "{d}", "--text", "hi"), {}, "complete run")
    )
    cases.append(
        Case(
            "generate from a classifier",
            "run directory",
            ("generate", "{run}"),
            {},
            "needs a model",
            run="classify",
        )
    )
    cases.append(
        Case(
            "transcribe with a classifier",
            "run directory",
            ("transcribe", "{run}", "{d}/x.wav"),
            {"x.wav": b""},
            run="classify",
        )
    )
    return cases


def _output_cases() -> list[Case]:
    return [
        Case(
            "--out inside a file",
            "outputs",
            (*_train("classify", "{d}/a.csv"), "--out", "{d}/file/run"),
            {"a.csv": _texts(), "file": b"x"},
            "cannot write",
        ),
        Case(
            "--out that is a file",
            "outputs",
            (*_train("classify", "{d}/a.csv"), "--out", "{d}/file"),
            {"a.csv": _texts(), "file": b"x"},
        ),
        Case(
            "predictions into a folder",
            "outputs",
            ("predict", "{run}", "--text", "hi", "--out", "{d}/f"),
            {"f/x": b"x"},
            run="classify",
        ),
        Case(
            "resume with another encoder",
            "outputs",
            (
                "train",
                "--task",
                "classify",
                "--data",
                "{d}/a.csv",
                "--encoder",
                "lstm",
                "--out",
                "{run}",
                "--resume",
            ),
            {"a.csv": _texts()},
            "model.encoder",
            run="classify",
        ),
        Case(
            "a second run into a finished one",
            "outputs",
            ("train", "--task", "classify", "--data", "{d}/a.csv", "--out", "{run}"),
            {"a.csv": _texts()},
            "already exists",
            run="classify",
        ),
    ]


def cases() -> list[Case]:
    return [
        *_data_cases(),
        *_config_cases(),
        *_number_cases(),
        *_flag_cases(),
        *_run_cases(),
        *_output_cases(),
    ]


# -- running a case -----------------------------------------------------------------------------------

TINY = ("model.hidden_size=16", "model.embed_dim=12", "train.batch_size=8", "train.precision=fp32")


def train_runs(folder: Path) -> dict[str, Path]:
    """The trained runs that the cases copy: a classifier and a character language model."""
    from seqlab.config import load_config
    from seqlab.pipeline import fit

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_bytes(_texts())
    (folder / "a.txt").write_bytes(b"to be or not to be, that is the question\n" * 40)
    runs = {"classify": folder / "classify", "lm": folder / "lm"}
    for task, data in (("classify", "a.csv"), ("lm", "a.txt")):
        settings = {"data.path": str(folder / data), "model.encoder": "gru", "train.max_steps": 2}
        with contextlib.redirect_stderr(io.StringIO()):
            fit(load_config(None, list(TINY), task=task, **settings), runs[task])
    return runs


def prepare(case: Case, folder: Path, runs: dict[str, Path]) -> list[str]:
    """Write the case's files into `folder`; return its arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    run = folder / "run"
    if case.run:
        shutil.copytree(runs[case.run], run)
        if case.damage is not None:
            name, change = case.damage
            (run / name).unlink() if change is None else (run / name).write_bytes(
                change((run / name).read_bytes())
            )
    return [a.replace("{d}", str(folder)).replace("{run}", str(run)) for a in case.args]


def listing(folder: Path) -> dict[str, int]:
    """Every path below `folder` with its size (-1 for a folder)."""
    return {str(p.relative_to(folder)): -1 if p.is_dir() else p.stat().st_size for p in folder.rglob("*")}


def judge(case: Case, code: int, err: str, before: dict, after: dict) -> str:
    """Why the case did not hold ("" where it held)."""
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    if "Traceback" in err:
        return "a traceback"
    if code != 2:
        return f"exit {code}"
    if len(errors) != 1:
        return f"{len(errors)} error lines"
    if case.fragment and case.fragment not in errors[0]:
        return f"the message lacks '{case.fragment}': {errors[0]}"
    if after != before:
        left = sorted(set(after) - set(before)) or sorted(k for k in after if after[k] != before.get(k))
        return f"left behind or changed: {', '.join(left[:3])}"
    return ""


def run_as_user(case: Case, folder: Path, runs: dict[str, Path]) -> tuple[int, str]:
    """Run a case as a user would: `python -m seqlab …` in its own process."""
    args = prepare(case, folder, runs)
    done = subprocess.run(
        [sys.executable, "-m", "seqlab", *args], capture_output=True, text=True, timeout=600, cwd=folder
    )
    return done.returncode, done.stderr


def try_cases(workdir: Path, runner=None) -> list[dict]:
    """Every case, run in a folder of its own (`runner(case, folder, runs)`: as a user runs it, by default);
    one row each: name, modality, held, why not."""
    runner = runner or run_as_user
    runs = train_runs(workdir / "runs")
    rows = []
    for number, case in enumerate(cases()):
        folder = workdir / f"case-{number:03d}"
        prepare(case, folder, runs)
        before = listing(folder)
        shutil.rmtree(folder)
        code, err = runner(case, folder, runs)
        why = judge(case, code, err, before, listing(folder))
        rows.append(
            {
                "case": case.name,
                "modality": case.modality,
                "held": not why,
                "why": why,
                "error": next((l for l in err.splitlines() if l.startswith("error: ")), ""),
            }
        )
    return rows


# -- kills, concurrent starts, a full disk --------------------------------------------------------------

KILL_RUN = (
    "model.hidden_size=64",
    "train.batch_size=16",
    "train.eval_every=500",
    "train.threads=1",
    "train.precision=fp32",
    "train.checkpoint_minutes=0.02",
    "train.log_every=1",
)


def _classifier(workdir: Path, texts: int, steps: int, *settings: str) -> tuple[str, ...]:
    """`seqlab train` arguments: a GRU classifier of `texts` made-up texts (workdir/a.csv), `steps` steps."""
    data = workdir / "a.csv"
    data.write_bytes(_texts(texts))
    return (
        "train",
        *"--task classify --encoder gru --data".split(),
        str(data),
        "--max-steps",
        str(steps),
        *settings,
    )


def _seqlab(*args: str, cwd: Path | None = None, **popen) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "seqlab", *args], cwd=cwd, env=env, **popen)


def kills(workdir: Path, trials: int, steps: int = 1500, seed: int = 0) -> dict:
    """Kill a deterministic run at `trials` random moments and resume each to the end."""
    train = _classifier(workdir, 400, steps)
    started = time.monotonic()
    reference = workdir / "reference"
    _seqlab(*train, "--out", str(reference), *KILL_RUN, stdout=subprocess.DEVNULL).wait()
    wall = time.monotonic() - started
    weights = (reference / "model.safetensors").read_bytes()
    chooser, rows = random.Random(seed), []
    for trial in range(trials):
        out = workdir / f"killed-{trial:02d}"
        process = _seqlab(
            *train,
            "--out",
            str(out),
            "--resume",
            *KILL_RUN,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        moment = chooser.uniform(0.5, wall)
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)
        process.wait()
        last = out / "checkpoints" / "last.json"
        checkpoint = json.loads(last.read_text())["step"] if last.exists() else 0
        log = out / "train.log"
        reached = (
            max((int(m[1]) for m in re.finditer(r"^step (\d+)/", log.read_text(), re.M)), default=0)
            if log.exists()
            else 0
        )
        resumed = _seqlab(
            *train,
            "--out",
            str(out),
            "--resume",
            *KILL_RUN,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, err = resumed.communicate()
        rows.append(
            {
                "killed_after_seconds": round(moment, 2),
                "reached_step": reached,
                "checkpoint_step": checkpoint,
                "steps_lost": max(reached - checkpoint, 0),
                "resume_exit": resumed.returncode,
                "identical": (out / "model.safetensors").exists()
                and (out / "model.safetensors").read_bytes() == weights,
                "error": err.strip().splitlines()[-1] if resumed.returncode else "",
            }
        )
    interval = float(_setting(KILL_RUN, "train.checkpoint_minutes")) * 60
    last = rd.read_history(reference / "history.csv")[-1]  # training's own seconds: evaluations and
    rate = last["step"] / (last["seconds"] - last["eval_seconds"])  # checkpoints taken out
    return {
        "trials": rows,
        "steps": steps,
        "interval_seconds": interval,
        "steps_per_interval": round(rate * interval, 1),
        "run_seconds": round(wall, 1),
        "completed": sum(r["resume_exit"] == 0 for r in rows),
        "identical": sum(r["identical"] for r in rows),
        "most_steps_lost": max(r["steps_lost"] for r in rows),
    }


def _setting(settings: tuple[str, ...], key: str) -> str:
    return next(s.split("=", 1)[1] for s in settings if s.startswith(f"{key}="))


def concurrent_starts(workdir: Path, pairs: int) -> dict:
    """`pairs` pairs of runs started together: half into one --out, half under default names."""
    train = _classifier(workdir, 40, 1, *TINY)
    collisions, rows = 0, []
    for pair in range(pairs):
        folder = workdir / f"pair-{pair:03d}"
        folder.mkdir()
        same = pair % 2 == 0
        out = ("--out", str(folder / "run")) if same else ()
        processes = [
            _seqlab(*train, *out, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [(p.wait(), *p.communicate()) for p in processes]
        codes = sorted(code for code, _, _ in results)
        dirs = [json.loads(o.splitlines()[-1])["run_dir"] for code, o, _ in results if code == 0]
        complete = all((folder / d / "meta.json").exists() for d in dirs)
        history_rows = [len((folder / d / "history.csv").read_text().splitlines()) for d in dirs]
        if same:
            ok = codes == [0, 2] and complete and history_rows == [2]
        else:
            ok = codes == [0, 0] and len(set(dirs)) == 2 and complete
        collisions += not ok
        rows.append({"same_out": same, "exits": codes, "run_dirs": dirs, "ok": ok})
    return {"pairs": pairs, "collisions": collisions, "rows": rows}


def full_disk(workdir: Path, fractions=(0.05, 0.2, 0.4, 0.6, 0.9)) -> dict:
    """Runs into tmpfs mounts smaller than the run they would write; each must exit 2 and leave nothing."""
    train = _classifier(workdir, 40, 4, *TINY)
    whole = workdir / "whole"
    _seqlab(*train, "--out", str(whole), stdout=subprocess.DEVNULL).wait()
    size = sum(p.stat().st_size for p in whole.rglob("*") if p.is_file())
    rows = []
    for fraction in fractions:
        mount = workdir / f"disk-{fraction}"
        mount.mkdir()
        kib = max(int(size * fraction / 1024), 4)
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
        )
        if mounted.returncode:
            return {"measured": False, "why": mounted.stderr.strip() or "mount failed (it needs root)"}
        try:
            done = _seqlab(
                *train, "--out", str(mount / "run"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            _, err = done.communicate()
            left = [str(p.relative_to(mount)) for p in mount.rglob("*")]
            lines = err.strip().splitlines()
            rows.append(
                {
                    "size_kib": kib,
                    "exit": done.returncode,
                    "one_line": len([x for x in lines if x.startswith("error: ")]) == 1
                    and "Traceback" not in err,
                    "left_behind": left,
                    "message": lines[-1] if lines else "",
                }
            )
        finally:
            subprocess.run(["umount", str(mount)], capture_output=True)
    held = sum(r["exit"] == 2 and r["one_line"] and not r["left_behind"] for r in rows)
    return {"measured": True, "run_bytes": size, "rows": rows, "held": held}


def determinism(workdir: Path, encoders=("rnn", "lstm", "gru", "transformer", "tcn")) -> list[dict]:
    """For each task and encoder: are the weights bit-identical across two runs on one thread, and between
    one and two threads? (Two processes of one thread each share nothing, so the machine's load does not
    enter.)"""
    import hashlib

    from seqlab.config import load_config
    from seqlab.pipeline import fit

    texts = [
        {"text": f"a {'fine' if i % 2 else 'dull'} film, take {i}", "label": str(i % 2)} for i in range(200)
    ]
    corpus = " ".join(f"line {i}: to be or not to be, that is the question." for i in range(300))
    splits = {
        "classify": {"train": texts[:160], "val": texts[160:]},
        "lm": {"train": [corpus[:12000]], "val": [corpus[12000:]]},
    }
    rows = []
    for task in ("classify", "lm"):
        for encoder in encoders:
            digests = []
            for n, threads in enumerate((1, 1, 2)):
                config = load_config(
                    None,
                    [
                        *TINY,
                        "model.hidden_size=64",
                        "train.max_steps=30",
                        "model.dropout=0.1",
                        f"train.threads={threads}",
                    ],
                    task=task,
                    **{"model.encoder": encoder},
                )
                out = workdir / f"{task}-{encoder}-{n}"
                with contextlib.redirect_stderr(io.StringIO()):
                    fit(config, out, splits[task])
                digests.append(hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest())
            rows.append(
                {
                    "task": task,
                    "encoder": encoder,
                    "runs": digests[0] == digests[1],
                    "threads": digests[0] == digests[2],
                }
            )
    return rows


# -- the report ---------------------------------------------------------------------------------------------


def run(out: Path, kill_trials: int = 20, pairs: int = 100) -> dict:
    """Measure everything; write OUT/RELIABILITY.md and OUT/reliability.json."""
    with tempfile.TemporaryDirectory(prefix="seqlab-reliability-") as scratch:
        work = Path(scratch)
        result = {
            "machine": f"{os.cpu_count()} cores",
            "cases": try_cases(work / "cases"),
            "kills": kills(_fresh(work / "kills"), kill_trials),
            "concurrent": concurrent_starts(_fresh(work / "pairs"), pairs),
            "full_disk": full_disk(_fresh(work / "disk")),
            "determinism": determinism(_fresh(work / "determinism")),
        }
    out.mkdir(parents=True, exist_ok=True)
    from seqlab.files import atomic_write

    atomic_write(out / "reliability.json", json.dumps(result, indent=2) + "\n")
    atomic_write(out / "RELIABILITY.md", markdown(result))
    return result


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True)
    return folder


def markdown(result: dict) -> str:
    cases, kill, pairs, disk = result["cases"], result["kills"], result["concurrent"], result["full_disk"]
    held, trials = sum(c["held"] for c in cases), len(kill["trials"])
    lines = [
        "# Reliability",
        "",
        "Measured by `seqlab bench reliability`, each command in a process of its own as a user runs it "
        f"({result['machine']}).",
        "",
        table_row("measure", "measured", "target"),
        table_row("---", "---", "---"),
        table_row(
            "bad inputs held (exit 2, one line, no traceback, nothing left)",
            f"**{held} / {len(cases)}**",
            "all, ≥ 150",
        ),
        table_row(
            "kill -9 at random moments: resumes that complete", f"**{kill['completed']} / {trials}**", "all"
        ),
        table_row(
            "— ending with the uninterrupted run's weights, bit for bit",
            f"**{kill['identical']} / {trials}**",
            "all",
        ),
        table_row(
            "— most training lost to a kill",
            f"{kill['most_steps_lost']} steps (one checkpoint interval, {kill['interval_seconds']:.1f} s: "
            f"{kill['steps_per_interval']:.0f} steps)",
            "≤ one interval",
        ),
        table_row(
            "concurrent paired starts without a collision",
            f"**{pairs['pairs'] - pairs['collisions']} / {pairs['pairs']}**",
            "all",
        ),
        table_row(
            f"disk full at {len(disk['rows'])} sizes: exit 2, nothing left",
            f"**{disk['held']} / {len(disk['rows'])}**",
            "all",
        )
        if disk["measured"]
        else table_row("disk full", f"not measured: {disk['why']}", "all"),
    ]
    by_kind: dict[str, list[bool]] = {}
    for case in cases:
        by_kind.setdefault(case["modality"], []).append(case["held"])
    lines += [
        "",
        "## Bad inputs by kind",
        "",
        table_row("kind", "tried", "held"),
        table_row("---", "---", "---"),
    ]
    lines += [table_row(kind, len(h), sum(h)) for kind, h in by_kind.items()]
    failed = [c for c in cases if not c["held"]]
    if failed:
        lines += ["", "## Cases that did not hold", ""] + [
            f"- {c['case']} ({c['modality']}): {c['why']}" for c in failed
        ]
    lines += [
        "",
        "## Kills",
        "",
        f"A GRU classifier, {kill['steps']} steps on one thread ({kill['run_seconds']} s uninterrupted, "
        f"Python's start included), checkpointed every {kill['interval_seconds']:.1f} s and at each "
        "evaluation (every 500 steps), killed (SIGKILL) at a random moment and resumed with `--resume`. "
        "Steps lost: the last step the killed run logged, less the step its last checkpoint holds. A kill "
        "after the last step lands while the run scores its test set and writes its report; a kill before "
        "the first step, while Python starts.",
        "",
        table_row("killed after (s)", "last step", "resumed from step", "steps lost", "resume", "identical"),
        table_row(*["---"] * 6),
    ]
    lines += [
        table_row(
            r["killed_after_seconds"],
            r["reached_step"],
            r["checkpoint_step"],
            r["steps_lost"],
            f"exit {r['resume_exit']}",
            "yes" if r["identical"] else "no",
        )
        for r in kill["trials"]
    ]
    lines += [
        "",
        "## Determinism on a CPU",
        "",
        "The weights after 30 steps with dropout, bit for bit: two runs on one thread, and one thread beside "
        "two. `train.deterministic=true` trains on one thread unless `train.threads` says otherwise, so that "
        "its weights do not depend on the machine's cores.",
        "",
        table_row("task", "encoder", "two runs, one thread each", "one thread beside two"),
        table_row("---", "---", "---", "---"),
    ]
    lines += [
        table_row(
            r["task"],
            r["encoder"],
            "identical" if r["runs"] else "differ",
            "identical" if r["threads"] else "differ",
        )
        for r in result["determinism"]
    ]
    if disk["measured"]:
        lines += ["", "## Full disk", "", f"Each run would write {disk['run_bytes']:,} bytes.", ""]
        lines += [
            table_row("tmpfs size", "exit", "one line", "left behind", "message"),
            table_row(*["---"] * 5),
        ]
        lines += [
            table_row(
                f"{r['size_kib']} KiB",
                r["exit"],
                "yes" if r["one_line"] else "no",
                f"{len(r['left_behind'])} files",
                r["message"][:90],
            )
            for r in disk["rows"]
        ]
    return "\n".join(lines) + "\n"
