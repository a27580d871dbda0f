"""Metric definitions, as thin wrappers over the field's libraries. One function per number."""

from __future__ import annotations

import math


def classification(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def multilabel(y_true, y_pred) -> dict[str, float]:
    """`y_true`, `y_pred`: (N, L) 0/1 arrays. Accuracy is exact-set accuracy."""
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def tagging(true_tags: list[list[str]], pred_tags: list[list[str]]) -> dict[str, float]:
    """Entity-level micro F1 (seqeval, conlleval rules) and token accuracy."""
    from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score

    return {
        "f1": float(f1_score(true_tags, pred_tags, zero_division=0)),
        "precision": float(precision_score(true_tags, pred_tags, zero_division=0)),
        "recall": float(recall_score(true_tags, pred_tags, zero_division=0)),
        "accuracy": float(accuracy_score(true_tags, pred_tags)),
    }


def language_model(mean_nll: float) -> dict[str, float]:
    """`mean_nll`: cross-entropy per token in nats."""
    return {"loss": mean_nll, "perplexity": math.exp(min(mean_nll, 50.0))}
