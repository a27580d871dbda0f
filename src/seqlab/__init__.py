"""seqlab: one toolkit for sequence models. The model stays the same; only the data changes.

The public surface is the task estimators and `load`. Torch is imported only when one of them is
used, so `seqlab --help` and `import seqlab` answer at once.
"""

__version__ = "0.1.0"

_LAZY = {
    "SequenceClassifier": "seqlab.estimators",
    "SequenceTagger": "seqlab.estimators",
    "RelationClassifier": "seqlab.estimators",
    "LanguageModel": "seqlab.estimators",
    "Seq2Seq": "seqlab.estimators",
    "Forecaster": "seqlab.estimators",
    "AnomalyDetector": "seqlab.estimators",
    "load": "seqlab.pipeline",
    "load_dataset": "seqlab.data.datasets",
    "RunConfig": "seqlab.config",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqlab' has no attribute {name!r}")
