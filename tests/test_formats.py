"""Run directories written by earlier versions of seqlab keep loading and predicting the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import seqlab

FIXTURES = Path(__file__).parent / "fixtures"


def test_format_1_run_directory_predicts_as_it_did():
    expected = json.loads((FIXTURES / "run-v1-classify.expected.json").read_text())
    pipeline = seqlab.load(FIXTURES / "run-v1-classify")
    predictions = pipeline.predict([{"text": t} for t in expected["texts"]])
    for got, want in zip(predictions, expected["predictions"]):
        assert got["label"] == want["label"]
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=1e-5)


def test_estimator_loads_the_same_directory():
    classifier = seqlab.SequenceClassifier.load(FIXTURES / "run-v1-classify")
    assert classifier.classes_ == ["ham", "spam"]
    assert classifier.predict_proba(["ok see you"]).shape == (1, 2)
