"""Shared fixtures: tiny slices of real benchmark data, and tiny model settings."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if SHARED_DATA.is_dir():
    os.environ.setdefault("SEQLAB_DATA", str(SHARED_DATA))
os.environ.setdefault("SEQLAB_FEATURES", tempfile.mkdtemp(prefix="seqlab-features-"))  # audio frames of this run

from seqlab.registry import ENCODERS as _REGISTERED  # noqa: E402

ENCODERS = _REGISTERED.names()  # every registered encoder: seqlab's own and installed plug-ins'


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"benchmark data not present: {path}")
    return path


def tiny(task: str, encoder: str = "lstm", **settings) -> "RunConfig":  # noqa: F821
    """A config small enough to train in a second, computed in fp32 for exact comparisons."""
    from seqlab.config import load_config

    values = {"task": task, "model.encoder": encoder, "model.hidden_size": 16, "model.embed_dim": 12,
              "model.num_layers": 2, "model.num_heads": 2, "model.dropout": 0.0, "train.batch_size": 8,
              "train.max_steps": 4, "train.precision": "fp32", "data.block_size": 32, "train.log_every": 1000}
    if task == "seq2seq":
        values.update({"data.vocab_size": 300, "data.max_length": 96})
    values.update(settings)
    return load_config(None, **values)


@pytest.fixture(scope="session")
def spam_records() -> list[dict]:
    lines = shared("sms-spam-collection", "SMSSpamCollection").read_text(encoding="utf-8").splitlines()[:160]
    return [{"label": l.split("\t")[0], "text": l.split("\t")[1]} for l in lines]


@pytest.fixture(scope="session")
def conll_records() -> list[dict]:
    from seqlab.data.text import read_conll

    return read_conll(shared("conll2003", "valid.txt"))[:80]


@pytest.fixture(scope="session")
def shakespeare_text() -> str:
    return shared("tinyshakespeare", "input.txt").read_text(encoding="utf-8")[:6000]


@pytest.fixture(scope="session")
def pair_records() -> list[dict]:
    """German → English image captions from the Multi30k validation set."""
    from seqlab.data.pairs import read_aligned

    raw = shared("multi30k", "raw")
    return read_aligned(raw / "val.de.gz", raw / "val.en.gz")[:160]


@pytest.fixture(scope="session")
def splits(spam_records, conll_records, shakespeare_text, pair_records):
    """Split records per task: train / val / test from the real slices."""
    def three(records):
        return {"train": records[:100], "val": records[100:130], "test": records[130:160]}

    return {
        "classify": three(spam_records),
        "tag": {"train": conll_records[:50], "val": conll_records[50:65], "test": conll_records[65:80]},
        "lm": {"train": [shakespeare_text[:5000]], "val": [shakespeare_text[5000:]]},
        "seq2seq": three(pair_records),
    }


@pytest.fixture
def spam_file(tmp_path, spam_records) -> Path:
    path = tmp_path / "spam.tsv"
    path.write_text("".join(f"{r['label']}\t{r['text']}\n" for r in spam_records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def ett_rows() -> list[str]:
    return shared("ETT", "ETTh1.csv").read_text().splitlines()[:401]  # header + 400 hours


@pytest.fixture
def ett_file(tmp_path, ett_rows):
    path = tmp_path / "ett.csv"
    path.write_text("\n".join(ett_rows) + "\n")
    return path


@pytest.fixture(scope="session")
def ecg():
    """The MIT-BIH ECG excerpt that sktime ships, its last 1,500 points: 1,148 normal ones, then the
    labelled anomalous stretch."""
    pytest.importorskip("sktime")
    from seqlab.data.datasets import REGISTRY
    from seqlab.data.series import Series

    series = REGISTRY["mitdb"].loader()["train"][0]  # all 7,500 points
    tail = Series("ecg", series.values[6000:], labels=series.labels[6000:])
    return {"train": [tail.head(900)], "val": [tail.head(1100, start=900)], "test": [tail.head(1500, start=1100)]}


@pytest.fixture(scope="session")
def bbc() -> dict[str, list]:
    """56 BBC News articles with their summaries."""
    from seqlab.data.pairs import read_document_folders

    records = read_document_folders(shared("bbc-news-summary", "BBC News Summary"))[::40]
    return {"train": records[:40], "val": records[40:48], "test": records[48:]}


@pytest.fixture(scope="session")
def chorales() -> dict[str, list]:
    """The first chorales of each JSB split (quarter-note grid)."""
    from seqlab.data import music

    splits = music.read_roll_json(shared("jsb-chorales", "jsb-chorales-quarter.json"))
    return {"train": splits["train"][:12], "val": splits["val"][:4], "test": splits["test"][:4]}
