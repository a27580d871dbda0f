"""`seqlab.runtime`: an export directory (`seqlab export`) used with ONNX Runtime, numpy and Hugging Face
`tokenizers` alone, without PyTorch: `pip install ./runtime` (the seqlab-runtime distribution), then

    model = seqlab.runtime.load("exports/sms")
    model.predict(["Free entry to win a prize"])   # [{"label": "spam", "probabilities": {…}}]

`load(DIR).predict` gives the rows `seqlab predict` prints: for typed texts (labels, tags, relations, answers
over a knowledge base, a graph's likeliest links, summaries), for files or arrays of values (labels of
series, audio and images, captions), for series (anomaly scores) and scenes (where walkers go next).
`.translate` writes a sequence-to-sequence model's targets; `.generate` continues a prompt as `seqlab
generate` does, `.draw` draws images pixel by pixel and `.compose` piano rolls frame by frame. Those
decoders call a step graph once per token with the state carried between calls: greedy decoding gives
PyTorch's tokens, sampling draws from the same distribution with numpy's random numbers. `.forecast` reads
a CSV file as `seqlab forecast` does (pandas: `pip install './runtime[forecast]'`); `.transcribe` hears
audio files as `seqlab transcribe` does and `.speak` says texts as `seqlab speak` does (soundfile and
librosa: `./runtime[audio]`); image files need Pillow (`./runtime[images]`). Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from seqlab.errors import UserError
from seqlab.files import damaged, read_json
from seqlab.runtime.numbers import (
    GREEDY,
    SAMPLED,
    Sampling,
    best_path,
    decode,
    next_token,
    pad,
    pad_frames,
)
from seqlab.runtime.predictions import FILES, PREDICTORS, VALUE_INPUTS, in_batches, needs, records_of

FORMAT = 1  # the export format this runtime reads
CPU = "CPUExecutionProvider"
AGAIN = "export the run again"  # what mends a damaged export


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

    @cached_property
    def verbs(self) -> list[str]:
        """What the export answers (each a method), as its task and graphs allow."""
        tokens = self.tokenizer is not None and not self.reads_values
        return (
            (["predict"] if self.task in PREDICTORS and (self.task != "seq2seq" or self.reads_values) else [])
            + (["translate"] if self.task == "seq2seq" and tokens else [])
            + (["generate"] if "prefill" in self.sessions and tokens else [])
            + (["draw"] if "prefill" in self.sessions and self.kind.name == "image" else [])
            + (["compose"] if "frame" in self.sessions else [])
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
        labels, captioners captions; anomaly detectors take series (CSV files, or `Series`) and score every
        point, trajectory models take scene files and give each walker's next positions."""
        if "predict" not in self.verbs:
            raise UserError(f"the runtime's predict does not answer {self.task} models of {self.kind.name}")
        return PREDICTORS[self.task](self, records_of(self, inputs))

    @cached_property
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
        return self.kind.name in VALUE_INPUTS

    def file(self, name: str, read: Callable[[Path], Any] = read_json) -> Any:
        """The export's file `name` (scaling.json, alphabet.json, voice.json, kb.tsv …) as `read` reads it,
        read once."""
        if name not in self._files:
            self._files[name] = read(self.path / name)
        return self._files[name]

    def forward(self, **fields: np.ndarray) -> list[np.ndarray]:
        """The forward graph's outputs; `fields` may hold inputs the traced graph found it never reads."""
        return self.sessions["forward"].run(None, {name: fields[name] for name in self.inputs})

    def standardised(self, values: list[np.ndarray], what: str, rows: str = "steps") -> list[np.ndarray]:
        """Values (T, C) as the model reads them: each channel less its training mean, over its spread
        (scaling.json), as float32; a shape the model cannot read, or more `rows` than data.max_length, is
        a UserError naming the item."""
        stats = self.file("scaling.json")
        mean, spread = np.array(stats["mean"]), np.array(stats["spread"])
        for n, v in enumerate(values, start=1):
            if v.ndim != 2 or v.shape[1] != len(mean):
                raise UserError(f"{what} {n} is not {rows} (T, {len(mean)}), which the model reads")
            if len(v) > self.data.max_length:
                raise UserError(
                    f"{what} {n} has {len(v)} {rows}, over the model's limit "
                    f"data.max_length={self.data.max_length}"
                )
        return [((v - mean) / spread).astype(np.float32) for v in values]

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
        scaling = SeriesScaling(d.transform, d.scaling, d.season, self.file("scaling.json"))
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
        scaled = self.rollout(np.stack(spans).astype(np.float32), ahead, median_index(quantiles))
        mean, spread = np.array(stats).T[..., None, None]  # (S, 1, 1) each
        forecasts = scaling.from_scaled(scaled, mean, spread)[:, :horizon]  # (S, h, Q)
        return forecast_rows(series, forecasts, quantiles)

    def rollout(self, spans: np.ndarray, ahead: list, point: int) -> np.ndarray:
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
            (forecast,) = self.forward(
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
        alphabet = self.file("alphabet.json")

        def run(chunk: list[np.ndarray]) -> list[str]:
            inputs, mask = pad_frames(chunk)
            (log_probs,) = self.forward(inputs=inputs, mask=mask)  # (B, T, K)
            best = zip(log_probs.argmax(-1), mask.sum(1))
            return ["".join(alphabet[s - 1] for s in best_path(row[:length])) for row, length in best]

        return in_batches(self, self.standardised(frames, "utterance", "frames"), run)

    # -- speak -----------------------------------------------------------------------------------

    def speak(self, texts: list[str], speaker: str | None = None) -> list[np.ndarray]:
        """Each text as mono float32 samples at data.sample_rate, as `seqlab speak` says it: the voice's
        frames step by step until its stop probability passes one half (ten seconds at most), then heard
        by Griffin-Lim."""
        from seqlab.data.audio import FrameSettings, most_steps, voice_characters, waveform

        if "speak" not in self.verbs:
            raise UserError(f"the runtime speaks with voices (task tts); this export is {self.task}")
        needs("librosa", "audio", "speaking")
        voice, settings = self.file("voice.json"), FrameSettings.of(self.data)
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

        saved, levels = self.file("pixels.json"), self.data.levels
        start = start_token(saved["labels"], levels, label)
        height, width = saved["shape"]
        sampling = Sampling(max_new_tokens=height * width, seed=seed)
        pixels = self.tokens(np.full((count, 1), start, dtype=np.int64), sampling)  # (N, HW)
        return pixels.reshape(count, height, width) / (levels - 1)

    # -- compose ---------------------------------------------------------------------------------

    def compose(self, first: list[int], frames: int, seed: int | None = None) -> np.ndarray:
        """A (1 + `frames`, P) piano roll of 0/1 pitches, as `seqlab generate` composes it: a frame of the
        MIDI pitches `first`, then `frames` more, each drawn given the frames before it (and, by a NADE,
        pitch by pitch given the pitches below)."""
        from seqlab.data.music import check_frames, roll_matrix

        if "compose" not in self.verbs:
            raise UserError(f"the runtime composes with models of piano rolls; this export is {self.task}")
        d = self.data
        opening = roll_matrix([first, first], d.pitch_low, d.pitch_high, "the first frame")[:1]  # (1, P)
        if self.description["context"] is not None:
            check_frames(frames, self.description["context"])
        opening = opening.astype(np.float32)
        prefill, step, draw = self.sessions["prefill"], self.sessions["step"], self.sessions["frame"]
        names, random = [value.name for value in step.get_inputs()[1:]], np.random.default_rng(seed)
        hidden, *state = prefill.run(None, {"frames": opening[None]})  # (1, H), the state after it
        new: list[np.ndarray] = []
        while len(new) < frames:
            uniforms = random.random(opening.shape, dtype=np.float32)  # (1, P)
            (frame,) = draw.run(None, {"hidden": hidden, "uniforms": uniforms})  # (1, P)
            new.append(frame[0])
            if len(new) < frames:
                hidden, *state = step.run(None, {"frames": frame[:, None], **dict(zip(names, state))})
        return np.concatenate([opening, np.stack(new)]) if new else opening

    # -- translate -------------------------------------------------------------------------------

    def translate(self, sources: list[str], sampling: Sampling = GREEDY) -> list[str]:
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
        sampling: Sampling = SAMPLED,
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
