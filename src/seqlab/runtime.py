"""`seqlab.runtime`: an export directory (`seqlab export`) used with ONNX Runtime, numpy and Hugging Face
`tokenizers` alone, without PyTorch: `pip install ./runtime` (the seqlab-runtime distribution), then

    model = seqlab.runtime.load("exports/sms")
    model.predict(["Free entry to win a prize"])   # [{"label": "spam", "probabilities": {…}}]

`load(DIR).predict` gives the rows `seqlab predict` prints: for typed texts (labels, tags, relations, answers
over a knowledge base, a graph's likeliest links, summaries), for files or arrays of values (labels of
series, audio and images, captions), for series (anomaly scores) and scenes (where walkers go next).
`.translate` writes a sequence-to-sequence model's targets; `.generate` continues a prompt as `seqlab
generate` does and `.draw` draws images pixel by pixel. Those decoders call a step graph once per token
with the state carried between calls: greedy decoding gives PyTorch's tokens, sampling draws from the same
distribution with numpy's random numbers. `.forecast` reads a CSV file as `seqlab forecast` does (pandas:
`pip install './runtime[forecast]'`); `.transcribe` hears audio files as `seqlab transcribe` does and
`.speak` says texts as `seqlab speak` does (soundfile and librosa: `./runtime[audio]`); image files need
Pillow (`./runtime[images]`). This module imports nothing that imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from seqlab.errors import UserError
from seqlab.files import damaged, read_json

if TYPE_CHECKING:
    from seqlab.data.text import TextTokenizer

FORMAT = 1  # the export format this runtime reads
PAD, UNK, BOS, EOS = 0, 1, 2, 3  # seqlab's special tokens
CPU = "CPUExecutionProvider"
AGAIN = "export the run again"  # what mends a damaged export
EXTRAS = {  # what reading each input kind's files needs: (module, the runtime's extra that installs it)
    "audio": (("soundfile", "audio"), ("librosa", "audio")),
    "image": (("PIL", "images"),),
}


@dataclass(frozen=True)
class Sampling:
    """How `generate` picks each token: temperature 0 is greedy."""

    max_new_tokens: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None


def load(path: str | Path, threads: int | None = None) -> Exported:
    """The export in folder `path`; `threads`: ONNX Runtime's intra-op threads (its default: all cores)."""
    import onnxruntime

    path = Path(path)
    if not (path / "export.json").is_file():
        raise UserError(f"{path} is not a seqlab export (no export.json); make one with seqlab export RUN")
    description = read_json(path / "export.json")
    if description.get("format_version") != FORMAT:
        version = description.get("format_version")
        raise UserError(f"{path} has export format {version}; this runtime reads format {FORMAT}")
    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    sessions = {}
    for name, graph in description["graphs"].items():
        file = path / graph["file"]
        try:
            sessions[name] = onnxruntime.InferenceSession(
                str(file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ONNX Runtime's load errors have no type of their own
            raise UserError(damaged(file, exc)) from None
    return Exported(path, description, sessions)


def _tokenizer(path: Path):
    """The Hugging Face tokenizer saved at `path`, None where the export has none."""
    from tokenizers import Tokenizer

    if not path.is_file():
        return None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the tokenizers library's parse errors have no type of their own
        raise UserError(damaged(path, exc, AGAIN)) from None


class Exported:
    """An exported model: its graphs' sessions, its tokenizers and labels, and the verbs its task offers."""

    def __init__(self, path: Path, description: dict, sessions: dict):
        self.path, self.description, self.sessions = path, description, sessions
        self.config: dict[str, Any] = description["config"]
        self.task: str = description["task"]
        self.labels: list[str] = description["labels"]
        self.tokenizer = _tokenizer(path / "tokenizer.json")  # None: the model reads no text
        self.chars = _tokenizer(path / "chars.json")
        self.target_tokenizer = _tokenizer(path / "target_tokenizer.json") or self.tokenizer
        first = description["graphs"].get("forward") or description["graphs"]["start"]
        self.inputs = [field["name"] for field in first["inputs"]]
        self.data = SimpleNamespace(**self.config["data"])  # the run's data settings, as readers take them
        self._files: dict[str, Any] = {}

    @property
    def verbs(self) -> list[str]:
        tokens = self.tokenizer is not None and not self.reads_values
        return (
            (["predict"] if self.task in PREDICTORS and (self.task != "seq2seq" or self.reads_values) else [])
            + (["translate"] if self.task == "seq2seq" and tokens else [])
            + (["generate"] if "prefill" in self.sessions and tokens else [])
            + (["draw"] if "prefill" in self.sessions and self.kind.name == "image" else [])
            + (["forecast"] if self.task == "forecast" else [])
            + (["transcribe"] if self.task == "ctc" else [])
            + (["speak"] if self.task == "tts" else [])
        )

    # -- predict ---------------------------------------------------------------------------------

    def predict(self, inputs: list) -> list[dict]:
        """Per input, the row `seqlab predict` prints of it. Models of text, DNA and proteins take typed
        texts: a classifier gives the label and every label's probability, a tagger each word's tag, a
        relation model the relation between the entities marked `<e1>…</e1>` and `<e2>…</e2>`, a path
        model the answer and the path over its knowledge base that reached it, a link model the likeliest
        tails of a `HEAD RELATION` query, a summariser the sentences of its summary. Models of series,
        audio and images take files (or folders of them) or arrays of values (T, C): classifiers give
        labels, captioners captions."""
        if "predict" not in self.verbs:
            raise UserError(f"the runtime's predict does not answer {self.task} models of {self.kind.name}")
        records = self._records(inputs)
        return getattr(self, PREDICTORS[self.task])(records)

    @property
    def kind(self):
        """The input kind the model reads (`seqlab.data.inputs.InputKind`)."""
        from seqlab.data.inputs import kind_of

        return kind_of(self.data)

    @property
    def quantiles(self) -> list[float]:
        """The quantiles a forecaster (or detector) writes beside its point forecast."""
        return self.config["model"]["quantiles"] or []

    @property
    def reads_texts(self) -> bool:
        """Its `predict` takes typed texts (not files, series or arrays)."""
        return not self.reads_values and self.task not in FILES

    @property
    def reads_values(self) -> bool:
        """It reads numbers (series, audio frames, image pixels), not tokens."""
        return self.kind.name in ("series", "audio", "image")

    def _records(self, inputs: list) -> list:
        """The records of typed texts, or of files and arrays of values, as the run's input kind readies
        them (DNA cleaned, audio heard as frames, images read as rows or patches)."""
        kind = self.kind
        if self.task in FILES:  # series, scenes: a file (or records of the task's own shape) per input
            read = FILES[self.task]
            return [r for item in inputs for r in (read(Path(item), self.data) if _is_path(item) else [item])]
        if not self.reads_values:
            typed = TYPED[self.task]
            records = [typed(text, n, kind) for n, text in enumerate(inputs, start=1)]
            return kind.prepare(records, self.data) if kind.prepare is not None else records
        if any(not isinstance(item, np.ndarray) for item in inputs):
            for module, extra in EXTRAS.get(kind.name, ()):
                needs(module, extra, f"reading {kind.name} files")
        records = []
        for item in inputs:
            if isinstance(item, np.ndarray):
                records.append({"values": item})  # values as the model's input kind makes them
                continue
            read = kind.read("labelled", Path(item), self.data, False)  # type: ignore[misc]
            records += kind.prepare(read, self.data) if kind.prepare is not None else read
        return records

    def _in_batches(self, examples: list, run: Callable[[list], list]) -> list:
        """`run` over the examples a training batch at a time, its outputs joined."""
        size = self.config["train"]["batch_size"]
        return [out for start in range(0, len(examples), size) for out in run(examples[start : start + size])]

    @property
    def words(self) -> TextTokenizer:
        """The tokenizer as seqlab's tasks use it (a word's id, [UNK] for unseen words)."""
        from seqlab.data.text import TextTokenizer

        return TextTokenizer(self.tokenizer, self.data.tokenizer)

    def _limited(self, ids: list[list[int]], what: str, cut: bool = False) -> list[list[int]]:
        """Token ids within data.max_length (`cut` to it, or refused), an empty sequence read as [PAD]."""
        limit = self.data.max_length
        for n, seq in enumerate(ids, start=1):
            if len(seq) > limit and not cut:
                raise UserError(
                    f"{what} {n} has {len(seq)} tokens, over the model's limit data.max_length={limit}"
                )
        return [seq[:limit] or [PAD] for seq in ids]

    def _labelled(self, probabilities: np.ndarray) -> dict:
        """A classifier's row: the label (or labels) and each label's probability."""
        named = {label: float(p) for label, p in zip(self.labels, probabilities)}
        if self.data.multi_label:
            return {"labels": [label for label, p in named.items() if p > 0.5], "probabilities": named}
        return {"label": self.labels[int(probabilities.argmax())], "probabilities": named}

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        """(B, L) logits → probabilities: a sigmoid per label for several labels, else the softmax."""
        return 1 / (1 + np.exp(-logits)) if self.data.multi_label else softmax(logits)

    def _classify(self, records: list) -> list[dict]:
        """Texts (DNA, proteins): with data.strand_symmetric, a sequence's probabilities are the mean of its
        two strands'. Values: each channel standardised as in training, data.stack_frames points a step."""
        if self.reads_values:
            return self._classify_values(records)
        cut = self.data.truncate
        ids = self._limited(self.words.encode_batch([r["text"] for r in records]), "text", cut)
        probabilities = self._in_batches(ids, self._text_probabilities)
        if self.kind.reverse is not None and self.data.strand_symmetric:
            reverse = [self.words.encode(self.kind.reverse(r["text"])) for r in records]
            other = self._in_batches(self._limited(reverse, "text", cut), self._text_probabilities)
            probabilities = [(a + b) / 2 for a, b in zip(probabilities, other)]
        return [self._labelled(p) for p in probabilities]

    def _text_probabilities(self, ids: list[list[int]]) -> list[np.ndarray]:
        inputs, mask = pad(ids)
        (logits,) = self._forward(inputs=inputs, mask=mask)  # (B, L)
        return list(self._probabilities(logits))

    def _classify_values(self, records: list) -> list[dict]:
        from seqlab.data.media import file_of
        from seqlab.data.series import stack_steps

        stack = 1 if self.kind.stacked else self.data.stack_frames
        steps = [stack_steps(v, stack) for v in self._standardised([r["values"] for r in records], "series")]

        def run(chunk: list[np.ndarray]) -> list[np.ndarray]:
            (logits,) = self._forward(**dict(zip(("inputs", "mask"), pad_frames(chunk))))
            return list(self._probabilities(logits))

        return [{**file_of(r), **self._labelled(p)} for r, p in zip(records, self._in_batches(steps, run))]

    def _standardised(self, values: list[np.ndarray], what: str) -> list[np.ndarray]:
        """Values (T, C) as the model reads them: each channel less its training mean, over its spread
        (scaling.json), as float32; a shape the model cannot read, or a length over data.max_length, is
        a UserError naming the item."""
        stats = self._file("scaling.json")
        mean, spread = np.array(stats["mean"]), np.array(stats["spread"])
        for n, v in enumerate(values, start=1):
            if v.ndim != 2 or v.shape[1] != len(mean):
                raise UserError(f"{what} {n} is not values (T, {len(mean)}), which the model reads")
            if len(v) > self.data.max_length:
                raise UserError(
                    f"{what} {n} has {len(v)} steps, over the model's limit "
                    f"data.max_length={self.data.max_length}"
                )
        return [((v - mean) / spread).astype(np.float32) for v in values]

    def _tag(self, records: list) -> list[dict]:
        sentences = [r["tokens"] for r in records]
        for n, words in enumerate(sentences, start=1):
            if not words:
                raise UserError(f"sentence {n} has no tokens")
        examples = list(zip(self._limited(self.words.encode_words(sentences), "sentence"), sentences))

        def run(chunk: list) -> list[dict]:
            inputs, mask = pad([ids for ids, _ in chunk])
            fields = {"inputs": inputs, "mask": mask}
            if self.chars is not None:
                fields["chars"] = pad_chars(
                    [[e.ids for e in self.chars.encode_batch(w, add_special_tokens=False)] for _, w in chunk]
                )
            (emissions,) = self._forward(**fields)  # (B, T, K)
            crf = self.description["crf"]
            tagged = []
            for row, (_, words) in zip(emissions, chunk):
                scores = row[: len(words)]
                best = viterbi(scores, crf) if crf else scores.argmax(-1).tolist()
                tagged.append({"tokens": words, "tags": [self.labels[t] for t in best]})
            return tagged

        return self._in_batches(examples, run)

    def _relate(self, records: list) -> list[dict]:
        """Each sentence's relation, read with a marker word at each entity's edges."""
        from seqlab.data.relations import entity_words, marked

        readied = [marked(r) for r in records]
        ids = self._limited(self.words.encode_words([tokens for tokens, _, _ in readied]), "sentence")

        def run(chunk: list) -> list[np.ndarray]:
            inputs, mask = pad([seq for seq, _ in chunk])
            fields = {"inputs": inputs, "mask": mask}
            fields["spans"] = np.array([[e1, e2] for _, (_, e1, e2) in chunk], dtype=np.int64)  # (B, 2, 2)
            if self.chars is not None:
                spelled = [
                    self.chars.encode_batch(tokens, add_special_tokens=False) for _, (tokens, _, _) in chunk
                ]
                fields["chars"] = pad_chars([[e.ids for e in words] for words in spelled])
            (logits,) = self._forward(**fields)  # (B, L)
            return list(softmax(logits))

        probabilities = self._in_batches(list(zip(ids, readied)), run)
        return [{**entity_words(r), **self._labelled(p)} for r, p in zip(records, probabilities)]

    def _answer(self, records: list) -> list[dict]:
        """Each question's answer: its topic entity read as a word of its own, each hop's relation scored,
        the knowledge base walked from the topic."""
        from seqlab.data.kb import question_words, read_kb

        if "kb" not in self._files:
            self._files["kb"] = read_kb(self.path / "kb.tsv")
        kb, topics = self._files["kb"], []
        for n, r in enumerate(records, start=1):
            topic = kb.topic_of(r["question"].split())
            if topic is None:
                raise UserError(f"question {n} names no entity of the knowledge base: '{r['question']}'")
            topics.append(topic)
        ids = [
            seq or [PAD]
            for seq in self.words.encode_words(
                [question_words(r["question"], t) for r, t in zip(records, topics)]
            )
        ]

        def run(chunk: list[list[int]]) -> list[np.ndarray]:
            inputs, mask = pad(chunk)
            (logits,) = self._forward(inputs=inputs, mask=mask)  # (B, P, R + 1)
            return list(log_softmax(logits))

        scores = self._in_batches(ids, run)
        return [
            {"question": r["question"], **kb.answer(topic, self.labels, s.tolist())}
            for r, topic, s in zip(records, topics, scores)
        ]

    def _link(self, records: list) -> list[dict]:
        """Each query's likeliest tails, best first, with their probabilities."""
        from seqlab.data.kb import FIRST_ENTITY, TAILS_SHOWN, relation_ids

        graph = self._file("link.json")
        entities, relations = graph["entities"], relation_ids(graph["entities"], graph["relations"])
        index = {e: i for i, e in enumerate(entities)}
        for n, r in enumerate(records, start=1):
            if r["head"] not in index or r["relation"] not in relations:
                what = f"entity '{r['head']}'" if r["head"] not in index else f"relation '{r['relation']}'"
                raise UserError(f"{what} of query {n} was never seen in training")
        ids = [[FIRST_ENTITY + index[r["head"]], relations[r["relation"]]] for r in records]

        def run(chunk: list[list[int]]) -> list[np.ndarray]:
            inputs = np.array(chunk, dtype=np.int64)  # (B, 2)
            (logits,) = self._forward(inputs=inputs, mask=np.ones_like(inputs, dtype=bool))  # (B, E)
            return list(softmax(logits))

        rows = []
        for r, p in zip(records, self._in_batches(ids, run)):
            best = np.argsort(-p, kind="stable")[:TAILS_SHOWN]
            tails = [{"entity": entities[j], "probability": float(p[j])} for j in best]
            rows.append({"head": r["head"], "relation": r["relation"], "tails": tails})
        return rows

    def _summarise(self, records: list) -> list[dict]:
        """Each document's summary: its sentences read as words, then as a sequence of sentences; the
        likeliest in document order, as many as training summaries' share of their documents."""
        from seqlab.data.pairs import split_sentences, summary_of

        documents = []
        for n, r in enumerate(records, start=1):
            sentences = split_sentences(r["source"])
            if not sentences:
                raise UserError(f"document {n} has no sentences")
            limit = self.data.max_length
            if len(sentences) > limit and not self.data.truncate:
                raise UserError(f"document {n} has {len(sentences)} sentences, over data.max_length={limit}")
            documents.append(sentences[:limit])

        def run(chunk: list[list[str]]) -> list[np.ndarray]:
            words = [
                [ids[: self.data.sentence_length] or [UNK] for ids in self.words.encode_batch(d)]
                for d in chunk
            ]
            inputs = np.zeros(
                (len(chunk), max(map(len, words)), max(len(w) for d in words for w in d)), np.int64
            )
            for b, document in enumerate(words):
                for s, ids in enumerate(document):
                    inputs[b, s, : len(ids)] = ids  # (B, S, W)
            mask = np.arange(inputs.shape[1]) < np.array([[len(d)] for d in chunk])  # (B, S)
            (logits,) = self._forward(inputs=inputs, mask=mask)  # (B, S, 2)
            return [row[: len(d), 1] for row, d in zip(softmax(logits), chunk)]

        share = self._file("extract.json")["share"]
        scores = self._in_batches(documents, run)
        return [summary_of(s.tolist(), d, share) for s, d in zip(scores, documents)]

    def _detect(self, series: list) -> list[dict]:
        """A row per point with a full data.lookback before it: its score (how far the one-step forecast
        from that lookback missed it, on the series' standardised scale, or with data.anomaly_score=
        likelihood how improbable that miss is among the series' earlier ones) and whether it reaches the
        threshold chosen on validation."""
        from seqlab.data.anomalies import likelihoods
        from seqlab.data.series import SeriesScaling, median_index

        d, L = self.data, self.data.lookback
        stats = self._file("scaling.json")
        scaling, point = SeriesScaling(d.transform, d.scaling, d.season, stats), median_index(self.quantiles)
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
            return list(self._rollout(spans, ahead, point)[:, 0, point])  # (B,)

        forecasts, rows, done = np.array(self._in_batches(windows, run)), [], 0
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

    def _trajectories(self, scenes: list) -> list[dict]:
        """A row per predicted position of every walker with data.observed_steps consecutive positions at
        the end of its scene: scene, pedestrian, step ahead (1, 2, …), x, y (the most likely path)."""
        from seqlab.data import trajectories as tracks

        d, walkers = self.data, []
        for scene in scenes:
            frames = tracks.by_frame(scene) if d.social_grid else []
            for window in tracks.last_windows(scene, d.observed_steps):
                inputs = tracks.walker_inputs(window, frames, d.observed_steps, d.social_grid, d.social_cell)
                walkers.append((window, inputs))
        if not walkers:
            raise UserError(
                f"no walker is tracked for {d.observed_steps} consecutive frames: nothing to predict"
            )

        def run(chunk: list) -> list[np.ndarray]:
            inputs = np.stack([steps for _, steps in chunk])  # (B, observed, F)
            (params,) = self._forward(inputs=inputs, mask=np.ones(inputs.shape[:2], dtype=bool))  # (B, P, O)
            last = np.stack([window["track"][-1] for window, _ in chunk]).astype(np.float32)  # (B, 2)
            return list(last[:, None] + params[..., :2].cumsum(axis=1))  # (B, P, 2) positions

        rows = []
        for (window, _), path in zip(walkers, self._in_batches(walkers, run)):
            for step, (x, y) in enumerate(path.tolist(), 1):
                rows.append({"scene": window["scene"], "ped": window["ped"], "step": step, "x": x, "y": y})
        return rows

    def _caption(self, records: list) -> list[dict]:
        """Each image's caption, greedy: its values standardised, read by the start graph, decoded step by
        step."""
        from seqlab.data.media import file_of

        values = self._standardised([r["values"] for r in records], "image")

        def run(chunk: list[np.ndarray]) -> list[str]:
            fields = dict(zip(("inputs", "mask"), pad_frames(chunk)))
            written = decode(self.sessions["start"], self.sessions["step"], fields, self.limit, GREEDY)
            return [self.target_tokenizer.decode(row, skip_special_tokens=True).strip() for row in written]

        return [{**file_of(r), "caption": c} for r, c in zip(records, self._in_batches(values, run))]

    def _file(self, name: str) -> Any:
        """The run's JSON file `name` (scaling.json, alphabet.json, voice.json …), read once."""
        if name not in self._files:
            self._files[name] = read_json(self.path / name)
        return self._files[name]

    def _forward(self, **fields: np.ndarray) -> list[np.ndarray]:
        """The forward graph's outputs; `fields` may hold inputs the traced graph found it never reads."""
        return self.sessions["forward"].run(None, {name: fields[name] for name in self.inputs})

    def _named(self, probs: np.ndarray) -> dict[str, float]:
        return {label: float(p) for label, p in zip(self.labels, probs)}

    # -- forecast --------------------------------------------------------------------------------

    def forecast(self, series: str | Path | list, horizon: int | None = None) -> list[dict]:
        """The next `horizon` points (at most the trained horizon) after the end of every series of a CSV
        file (or of `seqlab.data.series.Series`): one row per series and step with the point forecast
        and any quantiles, the rows `seqlab forecast` writes."""
        from seqlab.data.series import SeriesScaling, forecast_rows, median_index, read_series

        if "forecast" not in self.verbs:
            raise UserError(f"the runtime forecasts with forecasters; this export is {self.task}")
        needs("pandas", "forecast", "forecasting")
        d = self.data
        horizon = horizon or d.horizon
        if not 1 <= horizon <= d.horizon:
            raise UserError(
                f"this model forecasts at most {d.horizon} points ahead (data.horizon); got {horizon}"
            )
        if isinstance(series, (str, Path)):
            series = read_series(Path(series), self.data)
        scaling = SeriesScaling(d.transform, d.scaling, d.season, self._file("scaling.json"))
        spans, ahead, stats = [], [], []
        for s in series:
            if len(s) < d.lookback:
                raise UserError(
                    f"series '{s.id}' has {len(s)} points, fewer than data.lookback={d.lookback}; "
                    "give a longer history"
                )
            values = scaling.transformed(s)
            mean, spread = scaling.stats_of(s.id, values)
            y = np.concatenate([(values - mean) / spread, np.full(d.horizon, np.nan)])
            known = scaling.known_ahead(s, d.horizon)  # (T + h, K) or None
            spans.append(scaling.features(s, y, known, d.horizon)[len(s) - d.lookback :])  # (L + h, F)
            ahead.append(None if known is None else known[len(s) :])  # (h, K)
            stats.append((mean, spread))
        quantiles = self.quantiles
        scaled = self._rollout(np.stack(spans).astype(np.float32), ahead, median_index(quantiles))
        mean, spread = np.array(stats).T[..., None, None]  # (S, 1, 1) each
        forecasts = scaling.from_scaled(scaled, mean, spread)[:, :horizon]  # (S, h, Q)
        return forecast_rows(series, forecasts, quantiles)

    def _rollout(self, spans: np.ndarray, ahead: list, point: int) -> np.ndarray:
        """(S, h, Q) forecasts on each series' scale from its lookback and horizon features (S, L + h, F):
        one pass for the whole horizon, or (model.strategy=autoregressive) model.ar_step points a pass,
        each pass's point forecast the history of the next; every window centred on its own history."""
        from seqlab.data.series import patch_count

        L, h, m = self.data.lookback, self.data.horizon, self.config["model"]
        k = m["ar_step"] if m["strategy"] == "autoregressive" else h
        future = None if ahead[0] is None else np.stack(ahead).astype(np.float32)  # (S, h, K)
        patches = patch_count(L, m["patch_len"], m["patch_stride"])
        passes = []
        for t in range(0, h, k):
            window = spans[:, t : t + L]  # (S, L, F)
            history = window[..., 0]
            loc = history.mean(axis=1, keepdims=True)  # (S, 1)
            scale = history.std(axis=1, keepdims=True) + 1e-5
            inputs = np.concatenate([((history - loc) / scale)[..., None], window[..., 1:]], axis=-1)
            (forecast,) = self._forward(
                inputs=inputs,
                mask=np.ones((len(spans), patches), dtype=bool),
                future=None if future is None else future[:, t : t + k],
                loc=loc,
                scale=scale,
            )  # (S, k, Q)
            spans[:, L + t : L + t + k, 0] = forecast[..., point]
            passes.append(forecast)
        return np.concatenate(passes, axis=1)

    # -- transcribe ------------------------------------------------------------------------------

    def transcribe(self, audio: list) -> list[str]:
        """The best-path transcript of every audio file (WAV, FLAC, OGG; a folder or a manifest of them) or
        of every array of frames (T, F) computed as the run computes them."""
        from seqlab.data.audio import featurize, read_clips

        if "transcribe" not in self.verbs:
            raise UserError(f"the runtime transcribes with speech recognisers; this export is {self.task}")
        frames = [a for a in audio if isinstance(a, np.ndarray)]
        if len(frames) < len(audio):
            needs("soundfile", "audio", "hearing audio files")
            needs("librosa", "audio", "hearing audio files")
            records = [r for name in audio for r in read_clips(Path(name), labelled=False)]
            frames = [r["values"] for r in featurize(records, self.data)]
        stats, alphabet = self._file("scaling.json"), self._file("alphabet.json")
        mean, spread = np.array(stats["mean"]), np.array(stats["spread"])
        for n, f in enumerate(frames):
            if f.ndim != 2 or f.shape[1] != len(mean):
                raise UserError(f"utterance {n + 1} is not frames (T, {len(mean)}), which the model reads")
            if len(f) > self.data.max_length:
                raise UserError(
                    f"utterance {n + 1} has {len(f)} frames, over the model's limit "
                    f"data.max_length={self.data.max_length}"
                )
        size, transcripts = self.config["train"]["batch_size"], []
        for start in range(0, len(frames), size):
            inputs, mask = pad_frames([(f - mean) / spread for f in frames[start : start + size]])
            (log_probs,) = self._forward(inputs=inputs, mask=mask)  # (B, T, K)
            for row, length in zip(log_probs.argmax(-1), mask.sum(1)):
                transcripts.append("".join(alphabet[s - 1] for s in best_path(row[:length])))
        return transcripts

    # -- speak -----------------------------------------------------------------------------------

    def speak(self, texts: list[str], speaker: str | None = None) -> list[np.ndarray]:
        """Each text as mono float32 samples at data.sample_rate, as `seqlab speak` says it: the voice's
        frames step by step until its stop probability passes one half (ten seconds at most), then heard
        by Griffin-Lim."""
        from seqlab.data.audio import FrameSettings, most_steps, voice_characters, waveform

        if "speak" not in self.verbs:
            raise UserError(f"the runtime speaks with voices (task tts); this export is {self.task}")
        needs("librosa", "audio", "speaking")
        voice, settings = self._file("voice.json"), FrameSettings.of(self.data)
        speaker = speaker or voice["speakers"][0]
        if speaker not in voice["speakers"]:
            raise UserError(f"speaker '{speaker}' is not one of the voice's: {', '.join(voice['speakers'])}")
        ids = [voice_characters(self.tokenizer, n, text) for n, text in enumerate(texts)]
        size, spoken = self.config["train"]["batch_size"], []
        for begin in range(0, len(ids), size):
            inputs, mask = pad(ids[begin : begin + size])
            speakers = np.full(len(inputs), voice["speakers"].index(speaker), dtype=np.int64)
            fields = {"inputs": inputs, "mask": mask, "speakers": speakers}
            for steps in self._frames(fields, len(voice["mean"]), most_steps(settings)):
                spoken.append(waveform(steps, voice, settings))
        return spoken

    def _frames(self, fields: dict[str, np.ndarray], width: int, most: int) -> list[np.ndarray]:
        """Per row of the characters' `fields`, the voice's standardised steps (T_i, `width`) until its stop
        probability passes one half, `most` of them at most."""
        memory, keys, state, context = self.sessions["start"].run(None, {n: fields[n] for n in self.inputs})
        step, rows = self.sessions["step"], len(fields["inputs"])
        reads = [value.name for value in step.get_inputs()]
        frame = np.zeros((rows, width), dtype=np.float32)
        frames, ends = [], np.full(rows, most)
        for t in range(most):
            known = {"previous": frame, "state": state, "context": context, "memory": memory, "keys": keys}
            known["mask"] = fields["mask"]
            frame, stop, state, context = step.run(None, {name: known[name] for name in reads})
            frames.append(frame)
            ends = np.where((1 / (1 + np.exp(-stop)) > 0.5) & (ends == most), t + 1, ends)
            if (ends < most).all():
                break
        stacked = np.stack(frames, axis=1)  # (B, T, D)
        return [row[:end] for row, end in zip(stacked, ends)]

    # -- draw ------------------------------------------------------------------------------------

    def draw(self, label: str | None = None, count: int = 1, seed: int | None = None) -> np.ndarray:
        """(count, H, W) grey images in [0, 1] drawn pixel by pixel, as `seqlab generate` draws them: of
        class `label` (None: any), each pixel's grey level sampled after the ones before it."""
        if "draw" not in self.verbs:
            raise UserError(f"the runtime draws with language models of images; this export is {self.task}")
        from seqlab.data.images import start_token

        saved, levels = self._file("pixels.json"), self.data.levels
        start = start_token(saved["labels"], levels, label)
        height, width = saved["shape"]
        sampling = Sampling(max_new_tokens=height * width, seed=seed)
        pixels = self.tokens(np.full((count, 1), start, dtype=np.int64), sampling)  # (N, HW)
        return pixels.reshape(count, height, width) / (levels - 1)

    # -- translate -------------------------------------------------------------------------------

    def translate(self, sources: list[str], sampling: Sampling = Sampling(temperature=0)) -> list[str]:
        """The target the model writes for every source text, greedy unless `sampling` says otherwise."""
        if "translate" not in self.verbs:
            raise UserError(f"the runtime translates with text seq2seq models, not {self.task} models")
        data, size, outputs = self.config["data"], self.config["train"]["batch_size"], []
        for start in range(0, len(sources), size):
            ids = [
                e.ids
                for e in self.tokenizer.encode_batch(sources[start : start + size], add_special_tokens=False)
            ]
            for n, seq in enumerate(ids):
                if not seq:
                    raise UserError(f"source {start + n + 1} is empty")
                if len(seq) > data["max_length"] and not data["truncate"]:
                    raise UserError(
                        f"source {start + n + 1} has {len(seq)} tokens, more than "
                        f"data.max_length={data['max_length']}"
                    )
            inputs, mask = pad([seq[: data["max_length"]] for seq in ids])
            fields = {"inputs": inputs, "mask": mask}
            if self.description["copy_table"] is not None:
                fields["copy_ids"] = np.asarray(self.description["copy_table"], dtype=np.int64)[inputs]
            written = decode(self.sessions["start"], self.sessions["step"], fields, self.limit, sampling)
            outputs += [
                self.target_tokenizer.decode(row, skip_special_tokens=True).strip() for row in written
            ]
        return outputs

    @property
    def limit(self) -> int:
        """The most target tokens a decoder writes."""
        return self.description["target_limit"]

    # -- generate --------------------------------------------------------------------------------

    def generate(
        self,
        prompt: str = "",
        sampling: Sampling = Sampling(),
        num_samples: int = 1,
        on_text: Callable[[str], None] | None = None,
    ) -> list[str]:
        """`num_samples` continuations of `prompt`, without it; `on_text(piece)` hears the first sample's
        text as it grows."""
        if "generate" not in self.verbs:
            raise UserError(f"the runtime generates with language models; this export is {self.task}")
        ids = self.tokenizer.encode(prompt or self.description["start"], add_special_tokens=False).ids
        if not ids:
            raise UserError("the prompt is empty and the vocabulary cannot start a sample; give a prompt")
        said, streamed = "", []

        def hear(token: int) -> None:
            nonlocal said
            assert on_text is not None
            streamed.append(token)
            text = self.continuation(ids, streamed)
            if text.startswith(said) and not text.endswith("\ufffd"):
                on_text(text[len(said) :])
                said = text

        prompt_ids = np.array([ids] * num_samples, dtype=np.int64)  # (N, T)
        new = self.tokens(prompt_ids, sampling, (lambda tokens: hear(int(tokens[0]))) if on_text else None)
        return [self.continuation(ids, row) for row in new.tolist()]

    def tokens(
        self,
        prompt: np.ndarray,
        sampling: Sampling,
        on_token: Callable[[np.ndarray], None] | None = None,
    ) -> np.ndarray:
        """(N, max_new_tokens) token ids after each row of `prompt` (N, T), as seqlab.generation.generate
        picks them: a window of the model's context slides by half a context when it is full."""
        context = self.description["context"]
        prefill, step = self.sessions["prefill"], self.sessions["step"]
        state_names = [value.name for value in step.get_inputs()[1:]]
        random = np.random.default_rng(sampling.seed)
        tokens, state, seen = prompt, None, 0
        feed = prompt if context is None else prompt[:, -context:]
        new = []
        for _ in range(sampling.max_new_tokens):
            if context is not None and seen + feed.shape[1] > context:
                state, seen, feed = None, 0, tokens[:, -(context // 2) :]
            if state is None:
                logits, *state = prefill.run(None, {"ids": feed})
            else:
                logits, *state = step.run(None, {"ids": feed, **dict(zip(state_names, state))})
            seen += feed.shape[1]
            token = next_token(logits, sampling, random)  # (N,)
            new.append(token)
            if on_token is not None:
                on_token(token)
            tokens = np.concatenate([tokens, token[:, None]], axis=1)
            feed = token[:, None]
        return np.stack(new, axis=1) if new else prompt[:, :0]

    def continuation(self, prompt: list[int], new: list[int]) -> str:
        """The text `new` adds after `prompt`."""
        before = self.tokenizer.decode(prompt, skip_special_tokens=True)
        return self.tokenizer.decode(prompt + new, skip_special_tokens=True)[len(before) :]


GREEDY = Sampling(temperature=0)
PREDICTORS = {  # task → the method of Exported that answers its `predict`
    "classify": "_classify",
    "tag": "_tag",
    "relation": "_relate",
    "kgqa": "_answer",
    "link": "_link",
    "extract": "_summarise",
    "seq2seq": "_caption",  # of images; a text seq2seq model translates
    "anomaly": "_detect",
    "trajectory": "_trajectories",
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


def decode(start, step, fields: dict[str, np.ndarray], limit: int, sampling: Sampling) -> list[list[int]]:
    """Token ids (without [EOS]) for each source of `fields`, at most `limit` of them, as
    seqlab.generation.decode writes them: start.onnx reads the source and takes the [BOS] step, step.onnx
    the others; a row that has ended takes padding until every row has."""
    random = np.random.default_rng(sampling.seed)
    logits, *state = start.run(None, {value.name: fields[value.name] for value in start.get_inputs()})
    names = [value.name for value in step.get_inputs()[1:]]
    ended = np.zeros(len(logits), dtype=bool)
    written = []
    for _ in range(min(sampling.max_new_tokens, limit)):
        token = np.where(ended, PAD, next_token(logits, sampling, random))  # (B,)
        written.append(token)
        ended |= token == EOS
        if ended.all():
            break
        logits, *state = step.run(None, {"ids": token[:, None], **dict(zip(names, state))})
    rows = np.stack(written, axis=1).tolist() if written else [[] for _ in ended]
    return [row[: row.index(EOS)] if EOS in row else row for row in rows]


def needs(module: str, extra: str, what: str) -> None:
    """A UserError naming the runtime's extra that brings `module`, where it is not installed."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"{what} needs {module}: pip install './runtime[{extra}]' (seqlab-runtime[{extra}])")


# -- numbers -------------------------------------------------------------------------------------


def pad(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ids (B, T) and the mask of real positions (B, T)."""
    width = max(len(s) for s in sequences)
    ids = np.zeros((len(sequences), width), dtype=np.int64)
    mask = np.zeros((len(sequences), width), dtype=bool)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)], mask[row, : len(seq)] = seq, True
    return ids, mask


def pad_frames(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Frames (T, F) of several utterances padded into (B, T, F) float32, and the mask of real frames."""
    width = max(len(f) for f in frames)
    inputs = np.zeros((len(frames), width, frames[0].shape[1]), dtype=np.float32)
    mask = np.zeros((len(frames), width), dtype=bool)
    for row, f in enumerate(frames):
        inputs[row, : len(f)], mask[row, : len(f)] = f, True
    return inputs, mask


def best_path(symbols: np.ndarray) -> list[int]:
    """CTC's best path: each frame's best symbol (T,), repeats merged and blanks (0) dropped."""
    merged = symbols[np.r_[True, symbols[1:] != symbols[:-1]]]
    return [int(s) for s in merged if s != 0]


def pad_chars(words: list[list[list[int]]]) -> np.ndarray:
    """Character ids per word per sentence (B, T, C), padded."""
    width = max((len(w) for sentence in words for w in sentence), default=1)
    out = np.zeros((len(words), max(len(s) for s in words), max(width, 1)), dtype=np.int64)
    for row, sentence in enumerate(words):
        for col, word in enumerate(sentence):
            out[row, col, : len(word)] = word
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def viterbi(emissions: np.ndarray, crf: dict) -> list[int]:
    """The best tag sequence of one sentence's emissions (T, K) under a CRF's start, end and transition
    scores (transitions[from, to])."""
    transitions = np.asarray(crf["transitions"])
    score = np.asarray(crf["start"]) + emissions[0]  # (K,)
    back = []
    for emission in emissions[1:]:
        step = score[:, None] + transitions  # (K, K)
        back.append(step.argmax(0))
        score = step.max(0) + emission
    best = [int((score + np.asarray(crf["end"])).argmax())]
    for pointers in reversed(back):
        best.append(int(pointers[best[-1]]))
    return best[::-1]


def next_token(logits: np.ndarray, sampling: Sampling, random: np.random.Generator) -> np.ndarray:
    """(N, V) logits → (N,) token ids, as seqlab.generation.next_token picks them."""
    if sampling.temperature == 0:
        return logits.argmax(-1)
    logits = logits.astype(np.float64) / sampling.temperature
    if sampling.top_k is not None:
        kth = np.sort(logits, axis=-1)[:, -min(sampling.top_k, logits.shape[-1])][:, None]
        logits = np.where(logits < kth, -np.inf, logits)
    if sampling.top_p is not None and sampling.top_p < 1:
        order = np.argsort(-logits, axis=-1)
        ranked = np.take_along_axis(logits, order, -1)
        probs = softmax(ranked)
        drop = np.cumsum(probs, -1) - probs >= sampling.top_p  # keep the first token past p
        np.put_along_axis(logits, order, np.where(drop, -np.inf, ranked), -1)
    probs = softmax(logits)
    return np.array([random.choice(len(row), p=row) for row in probs], dtype=np.int64)
