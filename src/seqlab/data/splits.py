"""From files to split records: reading a folder or one file the way a task needs it, carving the splits
the data does not bring out of its training split, and readying them for a run.

A folder holds `train`, `valid` (or `val`, `dev`, `validation`) and `test` files; one file is the
training split. Named datasets (`seqlab.data.datasets`) come here for their records' last steps.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

from seqlab.data import audio as audio_io
from seqlab.data import dna as dna_io
from seqlab.data import pairs as pairs_io
from seqlab.data import series as series_io
from seqlab.data import text as text_io
from seqlab.data.download import derived_dir
from seqlab.data.inputs import InputKind
from seqlab.errors import UserError
from seqlab.files import read_text
from seqlab.registry import INPUTS, TASKS

_SPLIT_NAMES = {"train": ("train",), "val": ("valid", "val", "dev", "validation"), "test": ("test",)}
_SUFFIXES = (".tsv", ".csv", ".jsonl", ".json", ".txt", ".conll", ".ts", "")


# ---------------------------------------------------------------------------------------------
# Reading


def input_kind(task: str, path: Path, data) -> InputKind:
    """The kind of input a task reads at `path`: data.input, what the task always reads, or (auto) the
    first kind that recognises the path; plain text otherwise."""
    name = data.input if data.input != "auto" else TASKS[task].input
    if name is None:
        name = next(
            (n for n, kind in INPUTS.items() if kind.detect is not None and kind.detect(Path(path), data)),
            "text",
        )
        if name == "text" and Path(path).is_file() and _sequence_format(Path(path)):
            raise UserError(
                f"{path} is a {_sequence_format(Path(path))} file: say what its sequences are, "
                "data.input=dna or data.input=protein"
            )
    return INPUTS[name]


def _sequence_format(path: Path) -> str | None:
    """fasta, fastq or genbank for a file named as one (gzipped too)."""
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return dna_io.FORMATS.get(suffixes[-1]) if suffixes else None


def read_splits(task: str, path: Path, data) -> dict[str, list]:
    """The records of a folder or one file by split, as many splits as the data brings."""
    kind, reader = input_kind(task, path, data), TASKS[task]
    own = kind.split_file(path) if kind.split_file is not None else None
    if own is None and kind.layout_splits is not None:
        own = kind.layout_splits(path, reader.records)
    if own is not None:
        return own
    if kind.folders and reader.records in kind.reads:  # a folder of the kind's files, or a manifest of them
        return {"train": _read(kind, reader, path, data, labelled=True)}
    own = reader.read_splits(path, data)
    if own is not None:
        return own
    if path.is_dir():
        return {s: read_records(task, p, data) for s, p in _split_files(path).items()}  # each file its kind
    return {"train": _read(kind, reader, path, data, labelled=True)}


def read_records(task: str, path: Path, data, labelled: bool = True) -> list:
    """The records of one file, read by the input kind where it reads what the task needs, by the
    task otherwise. Unlabelled files (`labelled=False`, for prediction) may also be plain text."""
    return _read(input_kind(task, path, data), TASKS[task], path, data, labelled)


def _read(kind: InputKind, reader, path: Path, data, labelled: bool) -> list:
    if kind.read is not None and reader.records in kind.reads:
        return kind.read(reader.records, Path(path), data, labelled)
    return reader.read(Path(path), data, labelled)


def read_table(path: Path, data, labelled: bool) -> list[dict]:
    """Texts and their labels from a table; unlabelled, also one text per line of a .txt file."""
    if not labelled and data.format in ("auto", "text") and path.suffix.lower() == ".txt":
        return [{"text": line} for line in read_text(path).splitlines() if line.strip()]
    records = text_io.read_table(path, data.format, data.text_column, data.label_column, need_label=labelled)
    if data.multi_label and labelled:
        for record in records:
            parts = str(record["label"]).split(data.label_separator)
            record["label"] = [p.strip() for p in parts if p.strip()]
    return records


def read_tagged(path: Path, data, labelled: bool) -> list[dict]:
    """Sentences of words and their tags: CoNLL columns, or JSON lines of token and tag lists."""
    if data.format == "jsonl" or (data.format == "auto" and path.suffix.lower() in (".jsonl", ".json")):
        return text_io.read_token_jsonl(path, data.tokens_column, data.tags_column)
    return text_io.read_conll(path, need_tags=labelled)


def read_pairs(path: Path, data, labelled: bool) -> list[dict]:
    """Pairs from a table, line-aligned files or document folders; without `labelled`, sources alone
    may come one per line in a plain or gzip text file."""
    if data.source_lang and not labelled:
        source, _ = pairs_io.aligned_files(path, data.source_lang, data.source_lang)
        return [{"source": line} for line in pairs_io.read_lines(source) if line.strip()]
    if data.source_lang or path.is_dir():
        return pair_splits(path, data)["train"]
    if not labelled and data.format in ("auto", "text") and path.name.endswith((".txt", ".gz")):
        return [{"source": line} for line in pairs_io.read_lines(path) if line.strip()]
    return pairs_io.read_pair_table(
        path, data.format, data.source_column, data.target_column, need_target=labelled
    )


def pair_splits_of(path: Path, data) -> dict[str, list] | None:
    """The splits of line-aligned files or a folder of documents and summaries; None for other layouts."""
    if data.source_lang or path.is_dir() and not _has_split_files(path):
        return pair_splits(path, data)
    return None


def pair_splits(path: Path, data) -> dict[str, list]:
    """Pairs from line-aligned files (a folder of SPLIT.LANG files, or one PREFIX) or a folder of documents
    and summaries."""
    if not data.source_lang:
        return {"train": pairs_io.read_document_folders(path)}
    if not data.target_lang:
        raise UserError(
            "data.source_lang needs data.target_lang: the files PREFIX.SOURCE_LANG and PREFIX.TARGET_LANG"
        )
    if not path.is_dir():
        return {
            "train": pairs_io.read_aligned(*pairs_io.aligned_files(path, data.source_lang, data.target_lang))
        }
    splits = {}
    for split, names in _SPLIT_NAMES.items():
        for name in names:
            if split not in splits and any(path.glob(f"{name}.{data.source_lang}*")):
                splits[split] = pairs_io.read_aligned(
                    *pairs_io.aligned_files(path / name, data.source_lang, data.target_lang)
                )
    if "train" not in splits:
        raise UserError(f"{path} has no train.{data.source_lang} (or .gz) file")
    return splits


def _has_split_files(folder: Path) -> bool:
    return any(_named_split(path) is not None for path in folder.iterdir())


def _split_files(folder: Path) -> dict[str, Path]:
    """Each split's file in `folder`: train.tsv, valid.csv, test.jsonl …, or as the UCR and UEA archives
    publish them, NAME_TRAIN.ts and NAME_TEST.ts (the first suffix of _SUFFIXES wins)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir(), key=_rank):
        split = _named_split(path)
        if split is not None:
            found.setdefault(split, path)
    if "train" not in found:
        raise UserError(
            f"{folder} has no train file (expected train.tsv, train.csv, train.jsonl, train.txt or "
            "NAME_TRAIN.ts)"
        )
    return found


def _rank(path: Path) -> tuple[int, str]:
    return (_SUFFIXES.index(path.suffix) if path.suffix in _SUFFIXES else len(_SUFFIXES), path.name)


def _named_split(path: Path) -> str | None:
    """The split a file's name gives it (train.tsv, dev.txt, ECG200_TEST.ts …), if any."""
    if not path.is_file() or path.suffix not in _SUFFIXES:
        return None
    stem = path.stem if path.suffix else path.name
    for split, names in _SPLIT_NAMES.items():
        if stem in names or any(stem.upper().endswith(f"_{name.upper()}") for name in names):
            return split
    return None


# ---------------------------------------------------------------------------------------------
# Carving and readying


def complete_splits(
    task: str,
    splits: dict[str, list],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    horizon: int = 1,
    lookback: int = 0,
    folds: int = 0,
    fold: int = 0,
) -> dict[str, list]:
    """Keep the splits the data brings; carve the missing ones out of train with a fixed seed.

    Language-model text is cut contiguously (train first); classification is stratified by label, and
    every copy of one text lands in the same split. With `folds` > 1, validation is fold `fold` of that
    many folds of what train keeps after the test split (cross-validation, one run per fold).
    """
    if folds == 1 or folds < 0 or not 0 <= fold < max(folds, 1):
        raise UserError(
            f"data.folds={folds}, data.fold={fold}: folds is 0 (no cross-validation) or at least 2, "
            "and fold counts from 0 to folds - 1"
        )
    missing = [s for s in ("val", "test") if s not in splits]
    fractions = {"val": val_fraction, "test": test_fraction}
    shape = TASKS[task].records
    if folds and ("val" in splits or shape in ("series", "stream")):
        raise UserError(
            f"data.folds={folds} deals records of the training data into validation folds, and this "
            + (
                "data brings its own validation split"
                if "val" in splits
                else f"task {task} cuts its data in time"
            )
            + ": leave data.folds at 0"
        )
    if shape == "series":
        return _complete_series_splits(splits, fractions, horizon, lookback)
    if shape == "stream" and isinstance(splits["train"][0], str):  # running text; otherwise pieces of music
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
        taken = _carve(train, missing, fractions, shape in ("labelled", "relations"), seed, folds, fold)
        held = {i for split in missing for i in taken[split]}
        for split in missing:
            if taken[split]:
                splits[split] = [train[i] for i in sorted(taken[split])]
        splits["train"] = [r for i, r in enumerate(train) if i not in held]
    if not splits["train"] or (shape == "stream" and not splits["train"][0]):
        raise UserError("the training split is empty after holding out validation and test data")
    if "val" not in splits and val_fraction == 0:
        warnings.warn(
            "data.val_fraction=0: checkpoints are judged on the training data, which every "
            "example trains on (InceptionTime's choice for small sets)"
        )
        splits["val"] = splits["train"]
    if "val" not in splits:
        raise UserError("no validation data: give a validation file or set data.val_fraction above 0")
    return splits


def _carve(
    train: list,
    missing: list[str],
    fractions: dict[str, float],
    stratified: bool,
    seed: int,
    folds: int,
    fold: int,
) -> dict[str, list[int]]:
    """The indices of train that each missing split takes: groups of records holding the same text are
    shuffled within their label and dealt out whole, so no held-out text also trains."""
    groups: dict[object, list[int]] = {}
    for i, record in enumerate(train):
        text = record.get("text", record.get("source")) if isinstance(record, dict) else None
        groups.setdefault(text if isinstance(text, str) else i, []).append(i)
    strata: dict[str, list[list[int]]] = {}
    for members in groups.values():
        label = str(train[members[0]].get("label", "")) if stratified else ""
        strata.setdefault(label, []).append(members)
    rng = random.Random(seed)
    dealt = [split for split in missing if not (split == "val" and folds)]
    counts = {split: _stratum_counts([len(s) for s in strata.values()], fractions[split]) for split in dealt}
    taken: dict[str, list[int]] = {s: [] for s in missing}
    for n, stratum in enumerate(strata.values()):
        rng.shuffle(stratum)
        start = 0
        for split in dealt:
            count = counts[split][n]
            taken[split] += [i for members in stratum[start : start + count] for i in members]
            start += count
        if "val" in missing and folds:
            taken["val"] += [i for members in stratum[start:][fold::folds] for i in members]
    return taken


def _stratum_counts(sizes: list[int], fraction: float) -> list[int]:
    """How many of each stratum's groups a split takes: its share, rounded; where every stratum rounds
    to none yet the fraction asks for some (ten classes of five series at 0.1), one each from the
    largest strata until the split holds its share of the whole, at least one."""
    counts = [round(size * fraction) for size in sizes]
    if fraction > 0 and not any(counts):
        wanted = max(1, round(sum(sizes) * fraction))
        for n in sorted(range(len(sizes)), key=lambda n: -sizes[n])[:wanted]:
            counts[n] = 1
    return counts


def _complete_series_splits(
    splits: dict[str, list], fractions: dict[str, float], horizon: int, lookback: int
) -> dict[str, list]:
    """Series splits are cuts in time. A val or test file continues the training series (the M4
    layout); what no file gives is held out from the last points of every training series."""
    train = splits["train"]
    given: dict[str, list] = {
        name: series_io.continue_series(train, splits[name]) for name in ("val", "test") if name in splits
    }
    if "val" in given:
        carved = {"train": train}
    else:
        test = 0.0 if "test" in given else fractions["test"]
        carved = series_io.split_in_time(train, fractions["val"], test, horizon, lookback)
    parts: dict[str, list] = {**carved, **given}
    if "val" not in parts:
        raise UserError("no validation data: give a validation file or set data.val_fraction above 0")
    return parts


def _as_pairs(records: list[dict], context_turns: int) -> list[dict]:
    if records and "turns" in records[0]:
        return pairs_io.dialogue_pairs([r["turns"] for r in records], context_turns)
    return records


def finish_splits(task: str, splits: dict[str, list], data) -> dict[str, list]:
    """The splits a run uses: the missing ones carved out of train (a fixed seed), audio turned into
    frames, dialogues cut into (context, reply) pairs. A series task's data.lookback=None becomes the
    number of points the shortest series leaves room for (`series.fitting_lookback`)."""
    if TASKS[task].records == "series" and data.lookback is None:
        val = 0.0 if "val" in splits else data.val_fraction  # a validation file: nothing is carved
        test = 0.0 if "test" in splits or "val" in splits else data.test_fraction
        data.lookback = series_io.fitting_lookback(splits["train"], val, test, data.horizon, least=1)
    splits = complete_splits(
        task,
        splits,
        data.val_fraction,
        data.test_fraction,
        seed=0,
        horizon=data.horizon,
        lookback=data.lookback,
        folds=data.folds,
        fold=data.fold,
    )
    splits = {name: audio_io.featurize(records, data, derived_dir()) for name, records in splits.items()}
    if TASKS[task].records == "pairs":  # dialogues are split whole, then cut into (context, reply) pairs
        splits = {name: _as_pairs(records, data.context_turns) for name, records in splits.items()}
    return splits
