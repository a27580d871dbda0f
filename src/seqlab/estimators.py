"""The Python API: scikit-learn-style estimators over the same pipeline the CLI runs.

`__init__` stores its arguments and nothing else; validation and building happen in `fit`;
learned state ends in `_`; `fit` returns `self`.

    clf = SequenceClassifier(encoder="gru", max_minutes=2).fit(texts, labels)
    clf.predict(["free entry, text WIN now"])
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from pathlib import Path
from typing import Any

from seqlab.errors import UserError


class _Estimator:
    task = ""

    def __init__(
        self,
        encoder: str = "lstm",
        *,
        epochs: int = 10,
        max_minutes: float | None = None,
        batch_size: int = 32,
        lr: float = 1e-3,
        tokenizer: str = "auto",
        embed_dim: int = 128,
        embeddings: str | None = None,
        hidden_size: int = 256,
        num_layers: int = 2,
        dropout: float = 0.1,
        seed: int = 0,
        out: str | None = None,
        options: dict[str, Any] | None = None,
    ):
        self.encoder = encoder
        self.epochs = epochs
        self.max_minutes = max_minutes
        self.batch_size = batch_size
        self.lr = lr
        self.tokenizer = tokenizer
        self.embed_dim = embed_dim
        self.embeddings = embeddings  # pretrained word vectors (model.embeddings); they set the width
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.seed = seed
        self.out = out
        self.options = options

    # -- scikit-learn parameter protocol ---------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(_Estimator.__init__).parameters if p != "self"] + cls._own_params

    _own_params: list[str] = []

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> _Estimator:
        for name, value in params.items():
            if name not in self._param_names():
                raise ValueError(f"{type(self).__name__} has no parameter '{name}'")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # -- training and persistence ----------------------------------------------------------------

    def _config(self):
        from seqlab.config import load_config

        values = {
            **self._own_settings(),
            "task": self.task,
            "model.encoder": None if self.encoder == "auto" else self.encoder,
            "train.epochs": self.epochs,
            "train.max_minutes": self.max_minutes,
            "train.batch_size": self.batch_size,
            "train.lr": self.lr,
            "data.tokenizer": self.tokenizer,
            **({"model.embed_dim": self.embed_dim} if self.embeddings is None else {}),
            "model.embeddings": self.embeddings,
            "model.hidden_size": self.hidden_size,
            "model.num_layers": self.num_layers,
            "model.dropout": self.dropout,
            "train.seed": self.seed,
            "data.test_fraction": 0.0,
        }
        return load_config(None, **{**values, **(self.options or {})})  # options win

    def _fit(self, train: list, val: list | None):
        from seqlab.data.splits import complete_splits
        from seqlab.pipeline import fit

        config = self._config()
        splits = {"train": train} if val is None else {"train": train, "val": val}
        splits = complete_splits(
            self.task,
            splits,
            config.data.val_fraction,
            0.0,
            seed=self.seed,
            horizon=config.data.horizon,
            lookback=config.data.lookback,
        )
        out = Path(self.out) if self.out else Path(tempfile.mkdtemp(prefix=f"seqlab-{self.task}-")) / "run"
        if self.encoder == "auto":  # a search within max_minutes; the winner's run is this estimator's
            from seqlab.search import search

            self.pipeline_ = search(config, out, config.train.max_minutes, splits)
        else:
            self.pipeline_ = fit(config, out, splits)
        self.run_dir_ = self.pipeline_.run_dir
        return self

    def _check_fitted(self):
        if not hasattr(self, "pipeline_"):
            raise UserError(f"this {type(self).__name__} is not fitted yet: call fit first")
        return self.pipeline_

    def save(self, path: str | Path) -> Path:
        """Copy the run directory to `path`; `load(path)` restores the estimator."""
        source = self._check_fitted().run_dir
        path = Path(path)
        if path.resolve() != source.resolve():
            shutil.copytree(source, path, dirs_exist_ok=True)
        return path

    @classmethod
    def load(cls, path: str | Path) -> _Estimator:
        from seqlab.pipeline import load

        pipeline = load(path)
        if pipeline.config.task != cls.task:
            raise UserError(f"{path} holds a {pipeline.config.task} model, not one for {cls.__name__}")
        m = pipeline.config.model
        estimator = cls(
            encoder=m.encoder,
            embed_dim=m.embed_dim,
            hidden_size=m.hidden_size,
            num_layers=m.num_layers,
            dropout=m.dropout,
            tokenizer=pipeline.config.data.tokenizer,
        )
        estimator.pipeline_, estimator.run_dir_ = pipeline, Path(path)
        return estimator._loaded()

    def _loaded(self) -> _Estimator:
        return self

    def _own_settings(self) -> dict[str, Any]:
        return {}


class SequenceClassifier(_Estimator):
    """Texts → one label each (or several, with options={"data.multi_label": True})."""

    task = "classify"

    def fit(self, X: list[str], y: list, X_val: list[str] | None = None, y_val: list | None = None):
        multi = bool((self.options or {}).get("data.multi_label"))
        to_label = (lambda v: [str(x) for x in v]) if multi else str
        val = None if X_val is None else [{"text": t, "label": to_label(l)} for t, l in zip(X_val, y_val)]
        self._fit([{"text": t, "label": to_label(l)} for t, l in zip(X, y)], val)
        return self._loaded()

    def _loaded(self):
        self.classes_ = list(self.pipeline_.task.labels)
        return self

    def predict(self, X: list[str]) -> list:
        results = self._check_fitted().predict([{"text": t} for t in X])
        return [r["labels"] if "labels" in r else r["label"] for r in results]

    def predict_proba(self, X: list[str]):
        import numpy as np

        results = self._check_fitted().predict([{"text": t} for t in X])
        return np.array([[r["probabilities"][c] for c in self.classes_] for r in results])

    def score(self, X: list[str], y: list) -> float:
        """Accuracy."""
        records = [{"text": t, "label": l} for t, l in zip(X, y)]
        return self._check_fitted().evaluate(records)["accuracy"]


class SequenceTagger(_Estimator):
    """Sentences (lists of words) → one tag per word; options={"model.crf": True} adds a CRF."""

    task = "tag"

    def fit(self, X: list[list[str]], y: list[list[str]], X_val=None, y_val=None):
        val = None if X_val is None else [{"tokens": list(t), "tags": list(g)} for t, g in zip(X_val, y_val)]
        return self._fit([{"tokens": list(t), "tags": list(g)} for t, g in zip(X, y)], val)

    def predict(self, X: list[list[str]]) -> list[list[str]]:
        return self._check_fitted().predict([{"tokens": list(t)} for t in X])

    def predict_proba(self, X: list[list[str]]) -> list:
        """Per sentence, per word: the probability of each tag (the CRF's marginals when it has one)."""
        pipeline = self._check_fitted()
        return pipeline.tag_marginals([{"tokens": list(t)} for t in X])

    def score(self, X: list[list[str]], y: list[list[str]]) -> float:
        """Entity-level micro F1 (seqeval)."""
        records = [{"tokens": list(t), "tags": list(g)} for t, g in zip(X, y)]
        return self._check_fitted().evaluate(records)["f1"]


class RelationClassifier(_Estimator):
    """Sentences with two marked entities (`<e1>…</e1>`, `<e2>…</e2>`) → the directed relation between
    them; `score` is SemEval-2010 Task 8's official macro-F1 (options={"data.other_label": …} names the
    label of no relation)."""

    task = "relation"

    def fit(self, X: list[str], y: list[str], X_val: list[str] | None = None, y_val: list[str] | None = None):
        val = None if X_val is None else self._records(X_val, y_val)
        self._fit(self._records(X, y), val)
        return self._loaded()

    def _loaded(self):
        self.classes_ = list(self.pipeline_.task.labels)
        return self

    @staticmethod
    def _records(X: list[str], y: list[str] | None = None) -> list[dict]:
        from seqlab.data.relations import from_text, unmark

        records = [from_text(*unmark(t, f"sentence {n + 1}"), f"sentence {n + 1}") for n, t in enumerate(X)]
        return records if y is None else [{**r, "label": str(l)} for r, l in zip(records, y)]

    def predict(self, X: list[str]) -> list[str]:
        return [r["label"] for r in self._check_fitted().predict(self._records(X))]

    def predict_proba(self, X: list[str]):
        import numpy as np

        results = self._check_fitted().predict(self._records(X))
        return np.array([[r["probabilities"][c] for c in self.classes_] for r in results])

    def score(self, X: list[str], y: list[str]) -> float:
        """The official macro-F1."""
        return self._check_fitted().evaluate(self._records(X, y))["f1_macro"]


class LanguageModel(_Estimator):
    """Running text → a next-token model that scores and generates text."""

    task = "lm"

    def fit(self, X: str | list[str], X_val: str | None = None):
        text = X if isinstance(X, str) else "\n".join(X)
        return self._fit([text], None if X_val is None else [X_val])

    def generate(
        self,
        prompt: str = "",
        max_new_tokens: int = 200,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> str:
        from seqlab.generation import GenerationConfig

        settings = GenerationConfig(max_new_tokens, temperature, top_k, top_p, seed)
        return self._check_fitted().generate(prompt, settings)[0]

    def predict_proba(self, X: list[str]) -> list[dict[str, float]]:
        """For each prefix, the probability of every possible next token."""
        return self._check_fitted().next_token_probabilities(X)

    def predict(self, X: list[str]) -> list[str]:
        """The most likely next token after each prefix."""
        return [max(p, key=p.get) for p in self.predict_proba(X)]

    def score(self, X: str) -> float:
        """Mean log-likelihood per token in nats (higher is better; the negative of `loss`)."""
        return -self._check_fitted().evaluate([X])["loss"]


class Seq2Seq(_Estimator):
    """Source texts → target texts: translation, summarisation, replies. Decoding settings go with each
    call (greedy by default; `num_beams`, `temperature`, `top_k`, `top_p`, `max_new_tokens`, …).

        model = Seq2Seq("gru", max_minutes=5).fit(german, english)
        model.predict(["Ein Hund rennt."], num_beams=5)
    """

    task = "seq2seq"

    def fit(self, X: list[str], y: list[str], X_val: list[str] | None = None, y_val: list[str] | None = None):
        val = None if X_val is None else [{"source": s, "target": t} for s, t in zip(X_val, y_val)]
        return self._fit([{"source": s, "target": t} for s, t in zip(X, y)], val)

    def predict(self, X: list[str], **decoding) -> list[str]:
        return self._check_fitted().translate(list(X), _greedy_unless(decoding))

    def reply(self, history: list[str], **decoding) -> str:
        """The next turn of a dialogue whose turns so far are `history` (the user's last)."""
        return self._check_fitted().reply(list(history), _greedy_unless(decoding))

    def score(self, X: list[str], y: list[str], **decoding) -> float:
        """Corpus BLEU (sacrebleu) of the outputs against `y`."""
        records = [{"source": s, "target": t} for s, t in zip(X, y)]
        return self._check_fitted().evaluate(records, _greedy_unless(decoding))["bleu"]


def _greedy_unless(decoding: dict):
    """Decoding settings from keyword options; greedy unless they set a temperature."""
    from seqlab.generation import GenerationConfig

    return GenerationConfig.of(**{"temperature": 0.0, **decoding})


class Forecaster(_Estimator):
    """Series → the next `horizon` points of each, from the last `lookback` points.

    Series come as a long DataFrame (`unique_id, ds, y`), a wide one (a time column and a column per
    series), or a dict of id → values.

        model = Forecaster("gru", horizon=24, lookback=96, season=24).fit(frame)
        model.predict(frame)   # unique_id, ds, forecast (and the quantiles)
    """

    task = "forecast"
    _own_params = ["horizon", "lookback", "season", "quantiles", "future_covariates", "strategy"]

    def __init__(
        self,
        encoder: str = "lstm",
        *,
        horizon: int = 24,
        lookback: int = 96,
        season: int = 1,
        quantiles: list[float] | None = None,
        future_covariates: list[str] | None = None,
        strategy: str = "direct",
        **common,
    ):
        super().__init__(encoder, **common)
        self.horizon = horizon
        self.lookback = lookback
        self.season = season
        self.quantiles = quantiles
        self.future_covariates = future_covariates
        self.strategy = strategy

    def _own_settings(self) -> dict[str, Any]:
        return {
            "data.horizon": self.horizon,
            "data.lookback": self.lookback,
            "data.season": self.season,
            "model.quantiles": self.quantiles,
            "data.future_covariates": self.future_covariates or [],
            "model.strategy": self.strategy,
        }

    def _series(self, X) -> list:
        import pandas as pd

        from seqlab.data.series import series_from_frame

        if isinstance(X, dict):
            X = pd.concat(
                [pd.DataFrame({"unique_id": str(k), "ds": range(len(v)), "y": v}) for k, v in X.items()]
            )
        data = self.pipeline_.config.data if hasattr(self, "pipeline_") else self._config().data
        return series_from_frame(X, data)

    def fit(self, X, X_val=None):
        """`X_val`: the same series continued; without it, the last points of `X` validate."""
        from seqlab.data.series import continue_series

        series = self._series(X)
        if X_val is None:
            return self._fit(series, None)
        self._fit(series, continue_series(series, self._series(X_val)))
        return self

    def predict(self, X, future=None):
        """A DataFrame of the forecasts after the end of every series. `future`: a long DataFrame with
        the covariates known over the horizon (`unique_id, ds` and the `future_covariates` columns)."""
        import pandas as pd

        from seqlab.data.series import with_future

        pipeline = self._check_fitted()
        series = self._series(X)
        if future is not None:
            series = with_future(series, future, self.horizon, pipeline.config.data)
        return pd.DataFrame(pipeline.forecast(series))

    def score(self, X) -> float:
        """Negative MAE of forecasts of the last `horizon` points of every series (higher is better)."""
        series = [s.head(len(s), start=len(s) - self.horizon) for s in self._series(X)]
        return -self._check_fitted().evaluate(series)["mae"]

    def _loaded(self):
        d = self.pipeline_.config.data
        self.horizon, self.lookback, self.season = d.horizon, d.lookback, d.season
        self.quantiles = self.pipeline_.config.model.quantiles
        self.future_covariates, self.strategy = d.future_covariates, self.pipeline_.config.model.strategy
        return self


class AnomalyDetector(Forecaster):
    """Series → a score per point (its one-step forecast error, or with `anomaly_score="likelihood"` that
    error's improbability among the series' earlier errors) and a flag above the threshold chosen on
    validation data. A `label` column, where given, only judges.

        detector = AnomalyDetector("lstm", lookback=64).fit(frame)
        detector.predict(frame)          # unique_id, ds, value, score, anomaly
        stream = detector.stream("ecg")  # stream.update(value) → (score, flagged), point by point
    """

    task = "anomaly"
    _own_params = [*Forecaster._own_params, "anomaly_score"]

    def __init__(self, encoder: str = "lstm", *, anomaly_score: str = "error", **settings):
        super().__init__(encoder, **settings)
        self.anomaly_score = anomaly_score

    def _own_settings(self) -> dict[str, Any]:
        return {**super()._own_settings(), "data.anomaly_score": self.anomaly_score}

    def predict(self, X):
        import pandas as pd

        return pd.DataFrame(self._check_fitted().predict(self._series(X)))

    def score(self, X) -> float:
        """ROC-AUC of the scores against the labels of `X` (its last `lookback` points on)."""
        series = [s.head(len(s), start=self.lookback) for s in self._series(X)]
        return self._check_fitted().evaluate(series)["roc_auc"]

    def stream(self, series_id: str):
        from seqlab.tasks import Detector

        pipeline = self._check_fitted()
        return Detector(pipeline.task, pipeline.model, pipeline.autocast, series_id)
