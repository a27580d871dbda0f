"""What `seqlab.runtime.Exported.predict` makes of its inputs for each task: the records `seqlab predict`
reads (of typed texts, files, arrays, or records of the task's own shape), readied by the run's input kind,
read by the forward graph a training batch at a time, and written as the rows `seqlab predict` prints.
Every function takes the export first; nothing here imports torch."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from seqlab.errors import UserError
from seqlab.runtime.numbers import (
    GREEDY,
    PAD,
    UNK,
    decode,
    log_softmax,
    pad,
    pad_chars,
    pad_frames,
    softmax,
    viterbi,
)

if TYPE_CHECKING:
    from seqlab.data.text import TextTokenizer
    from seqlab.runtime import Exported

VALUE_INPUTS = ("series", "audio", "image")  # input kinds read as numbers, from files or arrays
EXTRAS = {  # what reading each input kind's files needs: (module, the runtime's extra that installs it)
    "audio": (("soundfile", "audio"), ("librosa", "audio")),
    "image": (("PIL", "images"),),
}


def needs(module: str, extra: str, what: str) -> None:
    """A UserError naming the runtime's extra that brings `module`, where it is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"{what} needs {module}: pip install './runtime[{extra}]' (seqlab-runtime[{extra}])")


def records_of(model: Exported, inputs: list) -> list:
    """The records of typed texts, or of files and arrays of values, as the run's input kind readies
    them (DNA cleaned, audio heard as frames, images read as rows or patches)."""
    kind = model.kind
    if model.task in FILES:  # series, scenes: a file (or records of the task's own shape) per input
        read = FILES[model.task]
        return [r for item in inputs for r in (read(Path(item), model.data) if _is_path(item) else [item])]
    if not model.reads_values:
        typed = TYPED[model.task]
        records = [typed(text, n, kind) for n, text in enumerate(inputs, start=1)]
        return kind.prepare(records, model.data) if kind.prepare is not None else records
    if any(not isinstance(item, np.ndarray) for item in inputs):
        for module, extra in EXTRAS.get(kind.name, ()):
            needs(module, extra, f"reading {kind.name} files")
    records = []
    for item in inputs:
        if isinstance(item, np.ndarray):
            records.append({"values": item})  # values as the model's input kind makes them
            continue
        read = kind.read("labelled", Path(item), model.data, False)  # type: ignore[misc]
        records += kind.prepare(read, model.data) if kind.prepare is not None else read
    return records


def in_batches(model: Exported, examples: list, run: Callable[[list], list]) -> list:
    """`run` over the examples a training batch at a time, its outputs joined."""
    size = model.config["train"]["batch_size"]
    return [out for start in range(0, len(examples), size) for out in run(examples[start : start + size])]


def tokenizer_of(model: Exported) -> TextTokenizer:
    """The tokenizer as seqlab's tasks use it (a word's id, [UNK] for unseen words)."""
    from seqlab.data.text import TextTokenizer

    return TextTokenizer(model.tokenizer, model.data.tokenizer)


def limited(model: Exported, ids: list[list[int]], what: str, cut: bool = False) -> list[list[int]]:
    """Token ids within data.max_length (`cut` to it, or refused), an empty sequence read as [PAD]."""
    limit = model.data.max_length
    for n, seq in enumerate(ids, start=1):
        if len(seq) > limit and not cut:
            raise UserError(
                f"{what} {n} has {len(seq)} tokens, over the model's limit data.max_length={limit}"
            )
    return [seq[:limit] or [PAD] for seq in ids]


def label_row(model: Exported, probabilities: np.ndarray) -> dict:
    """A classifier's row: the label (or labels) and each label's probability."""
    named = {label: float(p) for label, p in zip(model.labels, probabilities)}
    if model.data.multi_label:
        return {"labels": [label for label, p in named.items() if p > 0.5], "probabilities": named}
    return {"label": model.labels[int(probabilities.argmax())], "probabilities": named}


def label_probabilities(model: Exported, logits: np.ndarray) -> np.ndarray:
    """(B, L) logits → probabilities: a sigmoid per label for several labels, else the softmax."""
    return 1 / (1 + np.exp(-logits)) if model.data.multi_label else softmax(logits)


def classify(model: Exported, records: list) -> list[dict]:
    """Texts (DNA, proteins): with data.strand_symmetric, a sequence's probabilities are the mean of its
    two strands'. Values: each channel standardised as in training, data.stack_frames points a step."""
    if model.reads_values:
        return classify_values(model, records)
    cut = model.data.truncate
    ids = limited(model, tokenizer_of(model).encode_batch([r["text"] for r in records]), "text", cut)
    read = partial(text_probabilities, model)
    probabilities = in_batches(model, ids, read)
    if model.kind.reverse is not None and model.data.strand_symmetric:
        reverse = [tokenizer_of(model).encode(model.kind.reverse(r["text"])) for r in records]
        other = in_batches(model, limited(model, reverse, "text", cut), read)
        probabilities = [(a + b) / 2 for a, b in zip(probabilities, other)]
    return [label_row(model, p) for p in probabilities]


def text_probabilities(model: Exported, ids: list[list[int]]) -> list[np.ndarray]:
    """Each sequence's probability per label, read in one batch."""
    inputs, mask = pad(ids)
    (logits,) = model.forward(inputs=inputs, mask=mask)  # (B, L)
    return list(label_probabilities(model, logits))


def classify_values(model: Exported, records: list) -> list[dict]:
    """Each series', clip's or image's label, a row of one file naming it."""
    from seqlab.data.media import file_of
    from seqlab.data.series import stack_steps

    stack = 1 if model.kind.stacked else model.data.stack_frames
    values = model.standardised([r["values"] for r in records], "series")
    steps = [stack_steps(v, stack) for v in values]  # (T / stack, C * stack) each

    def run(chunk: list[np.ndarray]) -> list[np.ndarray]:
        (logits,) = model.forward(**dict(zip(("inputs", "mask"), pad_frames(chunk))))
        return list(label_probabilities(model, logits))

    return [{**file_of(r), **label_row(model, p)} for r, p in zip(records, in_batches(model, steps, run))]


def tag(model: Exported, records: list) -> list[dict]:
    """Each sentence's words (or a sequence's letters) and their tags; with a CRF, by Viterbi decoding."""
    sentences = [r["tokens"] for r in records]
    for n, words in enumerate(sentences, start=1):
        if not words:
            raise UserError(f"sentence {n} has no tokens")
    examples = list(zip(limited(model, tokenizer_of(model).encode_words(sentences), "sentence"), sentences))

    def run(chunk: list) -> list[dict]:
        inputs, mask = pad([ids for ids, _ in chunk])
        fields = {"inputs": inputs, "mask": mask}
        if model.chars is not None:
            fields["chars"] = pad_chars(
                [[e.ids for e in model.chars.encode_batch(w, add_special_tokens=False)] for _, w in chunk]
            )
        (emissions,) = model.forward(**fields)  # (B, T, K)
        crf = model.description["crf"]
        tagged = []
        for row, (_, words) in zip(emissions, chunk):
            scores = row[: len(words)]
            best = viterbi(scores, crf) if crf else scores.argmax(-1).tolist()
            tagged.append({"tokens": words, "tags": [model.labels[t] for t in best]})
        return tagged

    return in_batches(model, examples, run)


def relate(model: Exported, records: list) -> list[dict]:
    """Each sentence's relation, read with a marker word at each entity's edges."""
    from seqlab.data.relations import entity_words, marked

    readied = [marked(r) for r in records]
    ids = limited(model, tokenizer_of(model).encode_words([tokens for tokens, _, _ in readied]), "sentence")

    def run(chunk: list) -> list[np.ndarray]:
        inputs, mask = pad([seq for seq, _ in chunk])
        fields = {"inputs": inputs, "mask": mask}
        fields["spans"] = np.array([[e1, e2] for _, (_, e1, e2) in chunk], dtype=np.int64)  # (B, 2, 2)
        if model.chars is not None:
            spelled = [
                model.chars.encode_batch(tokens, add_special_tokens=False) for _, (tokens, _, _) in chunk
            ]
            fields["chars"] = pad_chars([[e.ids for e in words] for words in spelled])
        (logits,) = model.forward(**fields)  # (B, L)
        return list(softmax(logits))

    probabilities = in_batches(model, list(zip(ids, readied)), run)
    return [{**entity_words(r), **label_row(model, p)} for r, p in zip(records, probabilities)]


def answer(model: Exported, records: list) -> list[dict]:
    """Each question's answer: its topic entity read as a word of its own, each hop's relation scored,
    the knowledge base walked from the topic."""
    from seqlab.data.kb import question_words, read_kb

    kb, topics = model.file("kb.tsv", read_kb), []
    for n, r in enumerate(records, start=1):
        topic = kb.topic_of(r["question"].split())
        if topic is None:
            raise UserError(f"question {n} names no entity of the knowledge base: '{r['question']}'")
        topics.append(topic)
    ids = [
        seq or [PAD]
        for seq in tokenizer_of(model).encode_words(
            [question_words(r["question"], t) for r, t in zip(records, topics)]
        )
    ]

    def run(chunk: list[list[int]]) -> list[np.ndarray]:
        inputs, mask = pad(chunk)
        (logits,) = model.forward(inputs=inputs, mask=mask)  # (B, P, R + 1)
        return list(log_softmax(logits))

    scores = in_batches(model, ids, run)
    return [
        {"question": r["question"], **kb.answer(topic, model.labels, s.tolist())}
        for r, topic, s in zip(records, topics, scores)
    ]


def link(model: Exported, records: list) -> list[dict]:
    """Each query's likeliest tails, best first, with their probabilities."""
    from seqlab.data.kb import FIRST_ENTITY, TAILS_SHOWN, relation_ids

    graph = model.file("link.json")
    entities, relations = graph["entities"], relation_ids(graph["entities"], graph["relations"])
    index = {e: i for i, e in enumerate(entities)}
    for n, r in enumerate(records, start=1):
        if r["head"] not in index or r["relation"] not in relations:
            what = f"entity '{r['head']}'" if r["head"] not in index else f"relation '{r['relation']}'"
            raise UserError(f"{what} of query {n} was never seen in training")
    ids = [[FIRST_ENTITY + index[r["head"]], relations[r["relation"]]] for r in records]

    def run(chunk: list[list[int]]) -> list[np.ndarray]:
        inputs = np.array(chunk, dtype=np.int64)  # (B, 2)
        (logits,) = model.forward(inputs=inputs, mask=np.ones_like(inputs, dtype=bool))  # (B, E)
        return list(softmax(logits))

    rows = []
    for r, p in zip(records, in_batches(model, ids, run)):
        best = np.argsort(-p, kind="stable")[:TAILS_SHOWN]
        tails = [{"entity": entities[j], "probability": float(p[j])} for j in best]
        rows.append({"head": r["head"], "relation": r["relation"], "tails": tails})
    return rows


def summarise(model: Exported, records: list) -> list[dict]:
    """Each document's summary: its sentences read as words, then as a sequence of sentences; the
    likeliest in document order, as many as training summaries' share of their documents."""
    from seqlab.data.pairs import split_sentences, summary_of

    documents = []
    for n, r in enumerate(records, start=1):
        sentences = split_sentences(r["source"])
        if not sentences:
            raise UserError(f"document {n} has no sentences")
        limit = model.data.max_length
        if len(sentences) > limit and not model.data.truncate:
            raise UserError(f"document {n} has {len(sentences)} sentences, over data.max_length={limit}")
        documents.append(sentences[:limit])

    def run(chunk: list[list[str]]) -> list[np.ndarray]:
        words = [
            [ids[: model.data.sentence_length] or [UNK] for ids in tokenizer_of(model).encode_batch(d)]
            for d in chunk
        ]
        inputs = np.zeros((len(chunk), max(map(len, words)), max(len(w) for d in words for w in d)), np.int64)
        for b, document in enumerate(words):
            for s, ids in enumerate(document):
                inputs[b, s, : len(ids)] = ids  # (B, S, W)
        mask = np.arange(inputs.shape[1]) < np.array([[len(d)] for d in chunk])  # (B, S)
        (logits,) = model.forward(inputs=inputs, mask=mask)  # (B, S, 2)
        return [row[: len(d), 1] for row, d in zip(softmax(logits), chunk)]

    share = model.file("extract.json")["share"]
    scores = in_batches(model, documents, run)
    return [summary_of(s.tolist(), d, share) for s, d in zip(scores, documents)]


def detect(model: Exported, series: list) -> list[dict]:
    """A row per point with a full data.lookback before it: its score (how far the one-step forecast
    from that lookback missed it, on the series' standardised scale, or with data.anomaly_score=
    likelihood how improbable that miss is among the series' earlier ones) and whether it reaches the
    threshold chosen on validation."""
    from seqlab.data.anomalies import likelihoods
    from seqlab.data.series import SeriesScaling, median_index

    d, L = model.data, model.data.lookback
    stats = model.file("scaling.json")
    scaling, point = SeriesScaling(d.transform, d.scaling, d.season, stats), median_index(model.quantiles)
    judged = []  # (series, standardised values (T,), features (T, F), known covariates (T, K) or None)
    for s in (s for s in series if len(s) > L):  # a shorter series has no scored point
        values = scaling.transformed(s)
        mean, spread = scaling.stats_of(s.id, values)
        y = ((values - mean) / spread).astype(np.float32)
        known = scaling.known_ahead(s, 0)
        judged.append((s, y, scaling.features(s, y, known, 0).astype(np.float32), known))
    windows = [(n, o) for n, (s, _, _, _) in enumerate(judged) for o in range(L, len(s))]

    def run(chunk: list[tuple[int, int]]) -> list[float]:
        spans = np.stack([judged[n][2][o - L : o + 1] for n, o in chunk])  # (B, L + 1, F)
        ahead = [None if judged[n][3] is None else judged[n][3][o : o + 1] for n, o in chunk]
        return list(model.rollout(spans, ahead, point)[:, 0, point])  # (B,)

    forecasts, rows, done = np.array(in_batches(model, windows, run)), [], 0
    for s, y, _, _ in judged:
        truth, predicted = y[L:], forecasts[done : done + len(s) - L]
        done += len(s) - L
        errors = np.abs(truth - predicted)
        scores = likelihoods(y[:L], errors, truth) if d.anomaly_score == "likelihood" else errors.tolist()
        for o, score in enumerate(scores, start=L):
            rows.append(
                {
                    "unique_id": s.id,
                    "ds": str(s.timestamps[o]) if s.timestamps is not None else o,
                    "value": float(s.values[o]),
                    "score": score,
                    "anomaly": score >= stats["threshold"],
                }
            )
    return rows


def trajectories(model: Exported, scenes: list) -> list[dict]:
    """A row per predicted position of every walker with data.observed_steps consecutive positions at
    the end of its scene: scene, pedestrian, step ahead (1, 2, …), x, y (the most likely path)."""
    from seqlab.data import trajectories as tracks

    d, walkers = model.data, []
    for scene in scenes:
        frames = tracks.by_frame(scene) if d.social_grid else []
        for window in tracks.last_windows(scene, d.observed_steps):
            inputs = tracks.walker_inputs(window, frames, d.observed_steps, d.social_grid, d.social_cell)
            walkers.append((window, inputs))
    if not walkers:
        raise UserError(f"no walker is tracked for {d.observed_steps} consecutive frames: nothing to predict")

    def run(chunk: list) -> list[np.ndarray]:
        inputs = np.stack([steps for _, steps in chunk])  # (B, observed, F)
        (params,) = model.forward(inputs=inputs, mask=np.ones(inputs.shape[:2], dtype=bool))  # (B, P, O)
        last = np.stack([window["track"][-1] for window, _ in chunk]).astype(np.float32)  # (B, 2)
        return list(last[:, None] + params[..., :2].cumsum(axis=1))  # (B, P, 2) positions

    rows = []
    for (window, _), path in zip(walkers, in_batches(model, walkers, run)):
        for step, (x, y) in enumerate(path.tolist(), 1):
            rows.append({"scene": window["scene"], "ped": window["ped"], "step": step, "x": x, "y": y})
    return rows


def caption(model: Exported, records: list) -> list[dict]:
    """Each image's caption, greedy: its values standardised, read by the start graph, decoded step by
    step."""
    from seqlab.data.media import file_of

    values = model.standardised([r["values"] for r in records], "image")

    def run(chunk: list[np.ndarray]) -> list[str]:
        fields = dict(zip(("inputs", "mask"), pad_frames(chunk)))
        written = decode(model.sessions["start"], model.sessions["step"], fields, model.limit, GREEDY)
        return [model.target_tokenizer.decode(row, skip_special_tokens=True).strip() for row in written]

    return [{**file_of(r), "caption": c} for r, c in zip(records, in_batches(model, values, run))]


PREDICTORS: dict[str, Callable[[Exported, list], list[dict]]] = {  # task → what answers its `predict`
    "classify": classify,
    "tag": tag,
    "relation": relate,
    "kgqa": answer,
    "link": link,
    "extract": summarise,
    "seq2seq": caption,  # of images; a text seq2seq model translates
    "anomaly": detect,
    "trajectory": trajectories,
}


def _read_series(path: Path, data) -> list:
    from seqlab.data.series import read_series

    needs("pandas", "forecast", "reading series")
    return read_series(path, data)


def _read_scenes(path: Path, data) -> list:
    from seqlab.data.trajectories import read_scenes

    return read_scenes(path)


FILES: dict[str, Callable[[Path, Any], list]] = {
    "anomaly": _read_series,
    "trajectory": _read_scenes,
}  # task →
# its reader of files, where predict reads files the task's own way


def _is_path(item) -> bool:
    return isinstance(item, (str, Path))


def _relation_record(text: str, n: int, kind) -> dict:
    from seqlab.data.relations import from_text, unmark

    return from_text(*unmark(text, f"text {n}"), f"text {n}")


def _link_record(text: str, n: int, kind) -> dict:
    from seqlab.data.kb import link_query

    return link_query(text, n)


TYPED: dict[str, Callable[[str, int, Any], Any]] = {  # task → (text, its number, input kind) → record
    "classify": lambda text, n, kind: {"text": text},
    "tag": lambda text, n, kind: {"tokens": kind.words(text)},
    "relation": _relation_record,
    "kgqa": lambda text, n, kind: {"question": text},
    "link": _link_record,
    "extract": lambda text, n, kind: {"source": text},
}
