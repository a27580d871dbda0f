"""Shared fixtures: tiny slices of real benchmark data, and tiny model settings."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if SHARED_DATA.is_dir():
    os.environ.setdefault("SEQLAB_DATA", str(SHARED_DATA))
os.environ.setdefault(
    "SEQLAB_FEATURES", tempfile.mkdtemp(prefix="seqlab-features-")
)  # audio frames of this run

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs a worker per core: one thread each, and
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # in the processes its tests start

from seqlab.registry import ENCODERS as _REGISTERED  # noqa: E402

ENCODERS = _REGISTERED.names()  # every registered encoder: seqlab's own and installed plug-ins'


PQ_KB = "pathquestion/2H-kb.txt"  # in the dataset cache

# test files that take minutes, longest first: collected first, so that each starts on a worker of its
# own early and the workers of `make test` end together
SLOW_FILES = ("test_readme.py", "test_demo.py", "test_compare.py", "test_text2sql.py", "test_plugins.py")


def pytest_collection_modifyitems(items) -> None:
    rank = {name: n for n, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FILES)))


def shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"benchmark data not present: {path}")
    return path


def run_in_process(case, folder: Path, runs: dict[str, Path]) -> tuple[int, str]:
    """Run a case of seqlab.bench.reliability through seqlab.cli.main in this process: (exit code, stderr)."""
    import contextlib
    import io
    import traceback

    from seqlab.bench.reliability import prepare
    from seqlab.cli import main

    args = prepare(case, folder, runs)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except BaseException as exc:  # noqa: BLE001  (what escapes main is what a user would see)
            traceback.print_exc(file=err)
            code = int(exc.code or 0) if isinstance(exc, SystemExit) else 1
    return code, err.getvalue()


def tiny(task: str, encoder: str = "lstm", **settings) -> RunConfig:  # noqa: F821
    """A config small enough to train in a second, computed in fp32 for exact comparisons."""
    from seqlab.config import load_config

    values = {
        "task": task,
        "model.encoder": encoder,
        "model.hidden_size": 16,
        "model.embed_dim": 12,
        "model.num_layers": 2,
        "model.num_heads": 2,
        "model.dropout": 0.0,
        "train.batch_size": 8,
        "train.max_steps": 4,
        "train.precision": "fp32",
        "data.block_size": 32,
        "train.log_every": 1000,
    }
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


def _three(records: list, val: int, test: int) -> dict[str, list]:
    """train / val / test: the records before `val`, from `val` to `test`, and from `test` on."""
    return {"train": records[:val], "val": records[val:test], "test": records[test:]}


@pytest.fixture(scope="session")
def spam_splits(spam_records) -> dict[str, list]:
    return _three(spam_records, 100, 130)


@pytest.fixture(scope="session")
def semeval_splits() -> dict[str, list]:
    """The first 160 sentences of SemEval-2010 Task 8's training file, each with two marked entities
    (those held out only where their relation also trains)."""
    from seqlab.data.relations import read_semeval

    lines = shared("semeval2010-task8", "TRAIN_FILE.TXT").read_text(encoding="utf-8").splitlines()
    slice_ = Path(tempfile.mkdtemp(prefix="seqlab-semeval-")) / "train.txt"
    slice_.write_text("\n".join(lines[: 160 * 4]) + "\n", encoding="utf-8")
    splits = _three(read_semeval(slice_, labelled=True), 100, 130)
    seen = {r["label"] for r in splits["train"]}
    return {name: [r for r in records if r["label"] in seen] for name, records in splits.items()}


@pytest.fixture(scope="session")
def pathquestion_splits() -> dict[str, list]:
    """The first 200 two-hop questions of PathQuestion (their knowledge base: data.kb=PQ_KB)."""
    from seqlab.data.kb import read_questions

    shared("pathquestion", PQ_KB.split("/")[1])
    return _three(read_questions(shared("pathquestion", "PQ-2H.txt"), labelled=True)[:200], 140, 170)


@pytest.fixture(scope="session")
def wn18rr_splits() -> dict[str, list]:
    """300 WordNet links; validation and test ask again about 40 of them each (so that every entity is
    known: WN18RR's own held-out links are too sparse for a slice)."""
    lines = shared("wn18rr", "train.txt").read_text(encoding="utf-8").splitlines()[:300]
    train = [dict(zip(("head", "relation", "tail"), line.split("\t"))) for line in lines]
    return {"train": train, "val": train[:40], "test": train[40:80]}


@pytest.fixture(scope="session")
def conll_splits(conll_records) -> dict[str, list]:
    return _three(conll_records, 50, 65)


@pytest.fixture(scope="session")
def shakespeare_splits(shakespeare_text) -> dict[str, list]:
    """One stream of text: no test split."""
    return {"train": [shakespeare_text[:5000]], "val": [shakespeare_text[5000:]]}


@pytest.fixture(scope="session")
def multi30k_splits(pair_records) -> dict[str, list]:
    return _three(pair_records, 100, 130)


@pytest.fixture(scope="session")
def splits(spam_splits, conll_splits, shakespeare_splits, multi30k_splits):
    """The text slices' splits by task name."""
    return {
        "classify": spam_splits,
        "tag": conll_splits,
        "lm": shakespeare_splits,
        "seq2seq": multi30k_splits,
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


# Forecasting settings small enough for 400 hourly points: two days back, half a day ahead, in patches.
FORECAST = {
    "data.lookback": 48,
    "data.horizon": 12,
    "data.season": 24,
    "model.patch_len": 8,
    "model.patch_stride": 4,
    "train.batch_size": 16,
}


@pytest.fixture
def ett_splits(ett_file):
    """The seven ETTh1 series, split in time."""
    from seqlab.data.datasets import load_splits

    config = tiny("forecast", "gru", **FORECAST)
    config.data.path = str(ett_file)
    return load_splits("forecast", config.data)


# Anomaly settings for the ECG: one point ahead of 32, in patches.
ANOMALY = {
    "data.lookback": 32,
    "data.horizon": 1,
    "model.patch_len": 8,
    "model.patch_stride": 4,
    "train.batch_size": 32,
    "train.max_steps": 6,
}


@pytest.fixture(scope="session")
def ecg():
    """The MIT-BIH ECG excerpt that sktime ships, its last 1,500 points: 1,148 normal ones, then the
    labelled anomalous stretch."""
    pytest.importorskip("sktime")
    from seqlab.data.datasets import REGISTRY
    from seqlab.data.series import Series

    series = REGISTRY["mitdb"].loader()["train"][0]  # all 7,500 points
    tail = Series("ecg", series.values[6000:], labels=series.labels[6000:])
    return {
        "train": [tail.head(900)],
        "val": [tail.head(1100, start=900)],
        "test": [tail.head(1500, start=1100)],
    }


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


@pytest.fixture(scope="session")
def vowels():
    """JapaneseVowels: 12 channels, 7 to 29 points per utterance."""
    pytest.importorskip("sktime")
    from seqlab.data.datasets import load_dataset

    data = load_dataset("japanese-vowels")
    return {"train": data["train"][::4], "val": data["val"], "test": data["test"][::9]}  # every class


@pytest.fixture(scope="session")
def digits():
    """150 of scikit-learn's 8×8 digits as images: 100 train, 30 validate, 20 test."""
    from seqlab.data.loaders import digits_8x8

    return _three(digits_8x8()["train"][:150], 100, 130)


@pytest.fixture(scope="session")
def flickr():
    """The first 18 captioned Flickr8k images, 5 captions each, as 16 patches of 4×4 RGB pixels: 12 train,
    3 validate, 3 test."""
    from types import SimpleNamespace

    from seqlab.data.images import prepare, read_captions

    pixels = SimpleNamespace(channels=3, image_size=16, patch_size=4)
    return _three(prepare(read_captions(shared("flickr8k-subset"))[:18], pixels), 12, 15)


RATE = 8000  # FSDD's sample rate


@pytest.fixture(scope="session")
def fsdd(tmp_path_factory):
    """A small FSDD copy in its own layout: digits 0-2 of two speakers, takes 0-11."""
    from itertools import product

    source = shared("free-spoken-digit", "recordings")
    folder = tmp_path_factory.mktemp("fsdd")
    (folder / "recordings").mkdir()
    for digit, speaker, take in product(range(3), ("george", "jackson"), range(12)):
        name = f"{digit}_{speaker}_{take}.wav"
        (folder / "recordings" / name).symlink_to(source / name)
    return folder


@pytest.fixture(scope="session")
def strings(fsdd) -> dict[str, list]:
    """Spoken strings of up to three digits, as frames of three stacked log-mel frames."""
    from seqlab.config import DataConfig
    from seqlab.data import audio

    splits = audio.fsdd_digit_strings(fsdd, {"train": 24, "val": 6, "test": 6}, longest=3)
    data = DataConfig(sample_rate=RATE, stack_frames=3)
    return {name: audio.featurize(records, data) for name, records in splits.items()}


@pytest.fixture(scope="session")
def splice_records() -> list[dict]:
    """120 real splice-junction sequences, 40 of each class."""
    from seqlab.config import DataConfig
    from seqlab.data import dna

    records = dna.read_splice(shared("uci-splice-junction", "spliceData.txt"), DataConfig())
    by_class = {label: [r for r in records if r["label"] == label] for label in ("EI", "IE", "N")}
    return [r for group in zip(*(rs[:40] for rs in by_class.values())) for r in group]


@pytest.fixture(scope="session")
def splice_splits(splice_records) -> dict[str, list]:
    return _three(splice_records, 90, 105)


LEPTOSPIRA = Path("/usr/share/doc/any2fasta/examples/test.gbk.gz")


@pytest.fixture(scope="session")
def genome_windows():
    """Windows of 64 bases from the first contigs of an annotated Leptospira genome (Debian's
    any2fasta-examples)."""
    from seqlab.config import DataConfig
    from seqlab.data import dna

    if not LEPTOSPIRA.is_file():
        pytest.skip("apt-get install any2fasta-examples for the annotated genome")
    return dna.read_feature_tags(LEPTOSPIRA, DataConfig(max_length=64))


@pytest.fixture(scope="session")
def genome_splits(genome_windows) -> dict[str, list]:
    """40 windows that hold a coding sequence's edge (more than one tag)."""
    return _three([w for w in genome_windows if len(set(w["tags"])) > 1][:40], 28, 34)


@pytest.fixture(scope="session")
def chains() -> dict[str, list]:
    """40 NetSurfP-2.0 chains of at most 80 residues, their secondary structure scored where resolved:
    28 train, 6 validate, 6 test."""
    from seqlab.data import protein

    folder = shared("netsurfp-secondary-structure", "splits")
    short = [c for c in protein.flip_splits(folder)["train"] if len(c["tokens"]) <= 80][:40]
    return _three(short, 28, 34)


@pytest.fixture(scope="session")
def chain_text(chains) -> dict[str, list]:
    """The same chains as a protein language model reads them."""
    from seqlab.data import protein

    return {name: [protein.as_text(records)] for name, records in chains.items()}


@pytest.fixture(scope="session")
def walkers() -> dict[str, list]:
    """ETH/UCY scenes cut short: Zara's second clip trains (its first 1,500 rows) and validates (its
    val part's first 800), Zara's first clip tests (its first 800)."""
    from seqlab.data import trajectories

    fold = shared("eth-ucy", "zara1")

    def cut(path, rows):
        scene = trajectories.read_scene(path)
        return {**scene, **{k: scene[k][:rows] for k in ("frames", "peds", "xy")}}

    return {
        "train": [cut(fold / "train" / "crowds_zara02_train.txt", 1500)],
        "val": [cut(fold / "val" / "crowds_zara02_val.txt", 800)],
        "test": [cut(fold / "test" / "crowds_zara01.txt", 800)],
    }


@pytest.fixture(scope="session")
def voices(fsdd) -> dict[str, list]:
    """FSDD's digits 0-2 of two speakers as speech to learn, in frames two at a time: takes 10-11 train,
    5-9 validate, 0-4 test (so 12, 30 and 30 clips)."""
    from seqlab.config import DataConfig
    from seqlab.data import audio

    data = DataConfig(sample_rate=RATE, stack_frames=2)
    return {name: audio.featurize(records, data) for name, records in audio.fsdd_speech(fsdd).items()}


@pytest.fixture(scope="session")
def listeners(tmp_path_factory, ett_rows, strings):
    """Runs that read series and audio, and their exports: a GRU forecasting quantiles of ETTh1 from its
    calendar in one pass, a transformer forecasting four points a pass, and a CTC recogniser."""
    from seqlab.data.datasets import load_splits
    from seqlab.export import export
    from seqlab.pipeline import fit

    folder = tmp_path_factory.mktemp("listeners")
    (folder / "ett.csv").write_text("\n".join(ett_rows) + "\n")
    settings = {**FORECAST, "data.path": str(folder / "ett.csv")}
    runs = {
        "direct": tiny("forecast", "gru", **settings, **{"model.quantiles": [0.1, 0.5, 0.9]}),
        "rollout": tiny(
            "forecast", "transformer", **settings, **{"model.strategy": "autoregressive", "model.ar_step": 4}
        ),
        "ctc": tiny("ctc", "gru", **{"data.sample_rate": RATE, "data.stack_frames": 3}),
    }
    made = {}
    for name, config in runs.items():
        data = strings if name == "ctc" else load_splits("forecast", config.data)
        pipeline = fit(config, folder / name, data)
        export(pipeline, folder / f"{name}.onnx", data["val"])
        made[name] = (pipeline, folder / f"{name}.onnx")
    made["series"] = folder / "ett.csv"
    return made


def without_torch(*lines: str) -> list[str]:
    """What a Python process that cannot import torch prints, line by line, after `from seqlab import
    runtime` and the statements `lines`; it must exit cleanly."""
    import subprocess
    import sys

    script = "\n".join(
        [
            "import sys",
            "class NoTorch:",  # any import of torch now fails
            "    def find_spec(self, name, *args):",
            "        if name.split('.')[0] == 'torch': raise ImportError(name)",
            "sys.meta_path.insert(0, NoTorch())",
            "from seqlab import runtime",
            *lines,
        ]
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()
