"""The commands and code shown in README.md and docs/ run as written (training capped at a few steps,
held-out data at a few dozen records)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from conftest import run_in_process, shared
from PIL import Image

from seqlab.data import protein
from seqlab.data.loaders import LEPTOSPIRA, digits_8x8

README = Path(__file__).resolve().parents[1] / "README.md"
FORECASTING = README.parent / "docs" / "forecasting.md"
SEQ2SEQ = README.parent / "docs" / "seq2seq.md"
RELIABILITY = README.parent / "docs" / "reliability.md"
DEPLOY = README.parent / "docs" / "deploy.md"


def _blocks(document: Path) -> list[tuple[str, str]]:
    return re.findall(r"```(bash|python)\n(.*?)```", document.read_text(), flags=re.S)


def _commands(document: Path = README) -> list[str]:
    lines = [
        l.split("  #")[0].strip()
        for kind, body in _blocks(document)
        if kind == "bash"
        for l in body.replace("\\\n", " ").splitlines()  # a line ending in a backslash goes on
    ]
    return [l for l in lines if l.startswith("seqlab ") and not l.startswith("seqlab demo")]


HELD_OUT = 40  # records of each validation and test split a documented command is checked on
HELD_OUT_CHARACTERS = 20_000  # of a held-out text
TRAIN_CHARACTERS = 1_000_000  # of a training text (a language model's corpus)
TRAIN_RECORDS = 1_000  # of a training split of examples, taken evenly through it


def _quick(monkeypatch) -> None:
    """Documented runs, checked quickly: their validation and test splits cut to HELD_OUT records (a
    text to its first HELD_OUT_CHARACTERS), their training examples to about TRAIN_RECORDS (a training
    text to its first TRAIN_CHARACTERS), and the Python API's training to 12 steps."""
    from seqlab import estimators
    from seqlab.data import datasets

    load_splits = datasets.load_splits

    def cut(task: str, data) -> dict:
        splits = load_splits(task, data)
        train = splits.get("train")
        if isinstance(train, list) and train and isinstance(train[0], str):
            splits["train"] = [text[:TRAIN_CHARACTERS] for text in train]
        elif isinstance(train, list) and train and isinstance(train[0], (dict, tuple)):
            splits["train"] = train[:: -(-len(train) // TRAIN_RECORDS)]
        for name in ("val", "test"):
            records = splits.get(name)
            if isinstance(records, list) and records and isinstance(records[0], str):
                splits[name] = [text[:HELD_OUT_CHARACTERS] for text in records]
            elif isinstance(records, list) and records and isinstance(records[0], (dict, tuple)):
                splits[name] = records[:HELD_OUT]
        return splits

    for module in ("seqlab.data.datasets", "seqlab.pipeline", "seqlab.export"):
        monkeypatch.setattr(f"{module}.load_splits", cut)
    configured = estimators._Estimator._config

    def few_steps(self):
        config = configured(self)
        config.train.max_steps = 12
        return config

    monkeypatch.setattr(estimators._Estimator, "_config", few_steps)


def _run(commands: list[str], capsys, monkeypatch) -> None:
    """Each command as written, with training capped at a few steps (and seq2seq outputs at a few tokens)
    and held-out data at a few dozen records (`_quick`)."""
    import io

    from seqlab.cli import main

    _quick(monkeypatch)
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] in ("train", "compare"):
            args += ["train.max_steps=2", "train.eval_every=2"]
            if "--resume" in args:
                args[args.index("train.max_steps=2")] = "train.max_steps=3"
            if "seq2seq" in args:
                args.append("data.max_length=24")
            if "--seeds" in args:  # two seeds still give a spread and a test; more only cost time
                args[args.index("--seeds") + 1] = "2"
            if "--encoders" in args:  # so do two encoders, and two trials of a search
                at = args.index("--encoders") + 1
                args[at] = ",".join(args[at].split(",")[:2])
            if "--trials" in args:
                args[args.index("--trials") + 1] = "2"
        if (
            args[:2] == ["bench", "quality"] and "--row" in args
        ):  # the runner, with each seed's training stubbed
            _stub_seeds(monkeypatch)
        if args[:2] == ["bench", "reliability"]:
            _stub_reliability(monkeypatch)
        if args[0] == "serve":  # the app, answering the README's curl lines in this process
            monkeypatch.setattr("seqlab.serve.serve", _serve_in_process)
        if args[0] == "chat":
            monkeypatch.setattr("sys.stdin", io.StringIO("Hello\nWhat is your name?\n"))
        code = main(args)
        assert code == 0, f"{command}: {capsys.readouterr().err}"


def _stub_seeds(monkeypatch) -> None:
    """A benchmarks/ folder here, and seeds that score without training: the rows take hours."""
    from seqlab.bench import quality

    Path("benchmarks").mkdir(exist_ok=True)

    def run_seed(row, root, seed):
        scores = {row.metric: 0.5}
        sizes = {"train": 10, "val": 2, "test": 2}
        return {
            **{"seed": seed, "val": scores, "test": scores, "steps": row.steps, "train_seconds": 0.0},
            **{"split_sizes": sizes, "dataset": "stub", "encoder": "stub", "date": "today", "extras": {}},
        }

    monkeypatch.setattr(quality, "run_seed", run_seed)


SERVED: dict = {}


def _serve_in_process(run_dirs, host, port, limits, api_key, threads) -> None:
    from fastapi.testclient import TestClient

    from seqlab.serve import build_app, load_models

    SERVED["client"] = TestClient(build_app(load_models(run_dirs, limits), limits, api_key))


def _curls(document: Path) -> list[list[str]]:
    return [
        shlex.split(l.split("  #")[0])
        for kind, body in _blocks(document)
        if kind == "bash"
        for l in body.splitlines()
        if l.startswith("curl ")
    ]


def _curl(args: list[str]):
    """A curl line of the README, sent to the served app: -d sends JSON, -F a form (@FILE uploads)."""
    url = next(a for a in args if a.startswith("localhost:"))
    path = url.split("/", 1)[1]
    data = [args[i + 1] for i, a in enumerate(args) if a == "-d"]
    fields = [args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-F"]
    client = SERVED["client"]
    if data:
        return client.post(f"/{path}", json=json.loads(data[0]))
    if fields:
        files = [(k, (v[1:], Path(v[1:]).read_bytes())) for k, v in fields if v.startswith("@")]
        return client.post(f"/{path}", files=files, data={k: v for k, v in fields if not v.startswith("@")})
    return client.get(f"/{path}")


RELIABILITY_MEASURED: dict = {}  # the smallest measurements, taken once for the documents that run them


def _once(name: str, measure):
    """`measure`, taken the first time only (RELIABILITY_MEASURED keeps it)."""

    def measured(*args):
        if name not in RELIABILITY_MEASURED:
            RELIABILITY_MEASURED[name] = measure(*args)
        return RELIABILITY_MEASURED[name]

    return measured


def _stub_reliability(monkeypatch) -> None:
    """Each measurement at its smallest and taken once, the cases in this process: the whole takes half an
    hour."""
    from seqlab.bench import reliability as r

    if getattr(r, "stubbed", False):
        return
    monkeypatch.setattr(r, "stubbed", True, raising=False)
    kills, pairs, disk, determinism = r.kills, r.concurrent_starts, r.full_disk, r.determinism
    monkeypatch.setattr(r, "kills", _once("kills", lambda folder, trials: kills(folder, 1, steps=60)))
    monkeypatch.setattr(r, "concurrent_starts", _once("pairs", lambda folder, count: pairs(folder, 1)))
    monkeypatch.setattr(r, "full_disk", _once("disk", lambda folder: disk(folder, fractions=(0.2,))))
    monkeypatch.setattr(
        r, "determinism", _once("determinism", lambda folder: determinism(folder, encoders=("gru",)))
    )
    cases = r.cases
    monkeypatch.setattr(r, "cases", lambda: cases()[:3])
    monkeypatch.setattr(r, "run_as_user", run_in_process)


def test_readme_commands_run(tmp_path, monkeypatch, capsys):
    for name in (
        "sms-spam-collection",
        "conll2003",
        "tinyshakespeare",
        "sst2",
        "ETT",
        "m4",
        "multi30k",
        "uci-splice-junction",
        "free-spoken-digit",
        "jsb-chorales",
        "semeval2010-task8",
        "pathquestion",
        "wn18rr",
        "text2sql",
        "english-text",
        "flickr8k-subset",
        "netsurfp-secondary-structure",
        "eth-ucy",
        "uea-natops",
    ):
        shared(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seven.wav").symlink_to(shared("free-spoken-digit", "recordings", "7_theo_0.wav"))
    (tmp_path / "photo.jpg").symlink_to(shared("flickr8k-subset", "images", "1000268201_693b08cb0e.jpg"))
    seven = next(r for r in digits_8x8()["train"] if r["label"] == "7")["image"][..., 0]
    Image.fromarray((seven * 255).astype(np.uint8), "L").resize((64, 64)).save(tmp_path / "seven.png")
    if not LEPTOSPIRA.is_file():
        pytest.skip(f"{LEPTOSPIRA} is missing: apt-get install any2fasta-examples")
    splice = shared("uci-splice-junction", "spliceData.txt").read_text().splitlines()[::20]
    (tmp_path / "genes.fasta").write_text(
        "".join(f">s{i}\n{line.split(',')[-1].strip()}\n" for i, line in enumerate(splice))
    )
    chains = protein.flip_splits(shared("netsurfp-secondary-structure", "splits"))["train"][:60]
    (tmp_path / "chains.fasta").write_text("".join(f">{c['id']}\n{''.join(c['tokens'])}\n" for c in chains))
    (tmp_path / "structures.csv").write_text(
        "sequence,dssp3,mask\n"
        + "".join(
            f"{''.join(c['tokens'])},{''.join(c['tags'])},{''.join('01'[s] for s in c['scored'])}\n"
            for c in chains
        )
    )
    (tmp_path / "crowds_zara01.txt").symlink_to(shared("eth-ucy", "zara1", "test", "crowds_zara01.txt"))
    (tmp_path / "configs").symlink_to(README.parent / "configs")
    (tmp_path / "ETTh1.csv").write_text(
        "\n".join(shared("ETT", "ETTh1.csv").read_text().splitlines()[:800]) + "\n"
    )
    commands = _commands()
    assert len(commands) >= 10
    _run(commands, capsys, monkeypatch)
    curls = _curls(README)
    assert {c[2].rsplit("/", 1)[-1] for c in curls} >= {
        "predict",
        "generate",
        "translate",
        "transcribe",
        "speak",
    }
    for curl in curls:
        answer = _curl(curl)
        assert answer.status_code == 200, f"{' '.join(curl)}: {answer.text}"


def test_forecasting_guide_runs(tmp_path, monkeypatch, capsys):
    """docs/forecasting.md: its commands on files cut from ETTh1 (named as in the guide), then its code."""
    import pandas as pd

    wide = pd.read_csv(shared("ETT", "ETTh1.csv")).head(624)
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": c,
                    "ds": wide["date"],
                    "y": wide[c],
                    "price": wide["HUFL"],
                    "promotion": wide["MUFL"],
                }
            )
            for c in ("OT", "LULL")
        ]
    )
    history = frame.groupby("unique_id").head(600)
    history.drop(columns=["price", "promotion"]).to_csv(tmp_path / "series.csv", index=False)
    history.to_csv(tmp_path / "sales.csv", index=False)
    frame.groupby("unique_id").tail(24).drop(columns="y").to_csv(
        tmp_path / "next-two-weeks-plan.csv", index=False
    )
    monkeypatch.chdir(tmp_path)
    commands = _commands(FORECASTING)
    assert any("--future" in c for c in commands) and any("autoregressive" in c for c in commands)
    _run(commands, capsys, monkeypatch)
    code = "\n".join(body for kind, body in _blocks(FORECASTING) if kind == "python")
    exec(compile(code, str(FORECASTING), "exec"), {})


def test_readme_python_runs(tmp_path, monkeypatch):
    for name in ("sms-spam-collection", "conll2003", "tinyshakespeare"):
        shared(name)
    monkeypatch.chdir(tmp_path)
    _quick(monkeypatch)
    code = "\n".join(body for kind, body in _blocks(README) if kind == "python")
    exec(compile(code, str(README), "exec"), {})


def test_seq2seq_guide_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _quick(monkeypatch)
    code = "\n".join(body for kind, body in _blocks(SEQ2SEQ) if kind == "python")
    exec(compile(code, str(SEQ2SEQ), "exec"), {})


def test_deploy_guide_runs(tmp_path, monkeypatch, capsys):
    """docs/deploy.md: train, export, the runtime's Python, and the export served beside its run."""
    pytest.importorskip("onnxruntime")
    for name in ("sms-spam-collection", "tinyshakespeare", "pathquestion"):
        shared(name)
    monkeypatch.chdir(tmp_path)
    _run(_commands(DEPLOY), capsys, monkeypatch)
    code = "\n".join(body for kind, body in _blocks(DEPLOY) if kind == "python")
    exec(compile(code, str(DEPLOY), "exec"), {})
    served = {m["name"]: m["backend"] for m in SERVED["client"].get("/v1/models").json()["models"]}
    assert served == {
        "spam": "pytorch",
        "spam-onnx": "onnxruntime",
        "poet": "onnxruntime",
        "paths": "onnxruntime",
    }


def test_reliability_guide_runs(tmp_path, monkeypatch, capsys):
    """docs/reliability.md: its commands, the benchmark at its smallest."""
    shared("sms-spam-collection")
    monkeypatch.chdir(tmp_path)
    commands = _commands(RELIABILITY)
    assert any(c.startswith("seqlab bench reliability") for c in commands)
    _run(commands, capsys, monkeypatch)
    assert "| bad inputs held" in (tmp_path / "reliability-check" / "RELIABILITY.md").read_text()
