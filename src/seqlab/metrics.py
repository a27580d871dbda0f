"""Metric definitions, as thin wrappers over the field's libraries. One function per number."""

from __future__ import annotations

import math

LOWER_IS_BETTER = (
    "loss",
    "nll",
    "perplexity",
    "mse",
    "mae",
    "smape",
    "mase",
    "mse_scaled",
    "mae_scaled",
    "quantile_loss",
    "wer",
    "cer",
    "bits_per_pixel",
    "ade",
    "fde",
    "ade@20",
    "fde@20",
    "heard_wer",
    "real_time_factor",
)
HIGHER_IS_BETTER = (
    "accuracy",
    "f1",
    "f1_macro",
    "precision",
    "recall",
    "roc_auc",
    "bleu",
    "chrf",
    "rouge1",
    "rouge2",
    "rougeL",
    "f1_micro",
    "path_accuracy",
    "exact_match",
    "execution_accuracy",
    "mrr",
    "hits@1",
    "hits@3",
    "hits@10",
    "bleu1",
    "bleu2",
    "bleu3",
    "bleu4",
    "heard_accuracy",
)


def classification(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1_macro": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


def relations(truth: list[str], predicted: list[str], other: str = "Other") -> dict[str, float]:
    """SemEval-2010 Task 8's official measure (scorer v1.2, "(9+1)-way, directionality taken into
    account"): per relation without its direction, precision = right / (predicted as it + predicted as
    it with the wrong direction), recall = right / its true examples; `f1_macro` averages the relations'
    F1 with `other` left out, `f1_micro` pools their counts. Labels name their direction as
    `Relation(e1,e2)`; `accuracy` is over the directed labels."""
    from collections import Counter

    right, proposed, wrong_direction, actual = Counter(), Counter(), Counter(), Counter()
    for gold, guess in zip(truth, predicted):
        g, p = gold.split("(", 1)[0], guess.split("(", 1)[0]
        actual[g] += 1
        if guess == gold:
            right[g] += 1
            proposed[p] += 1
        elif p == g:
            wrong_direction[g] += 1
        else:
            proposed[p] += 1
    scored = [r for r in actual if r != other.split("(", 1)[0]]
    f1s = []
    for r in scored:
        precision = right[r] / (proposed[r] + wrong_direction[r]) if proposed[r] else 0.0
        recall = right[r] / actual[r]
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    pooled_right = sum(right[r] for r in scored)
    pooled_proposed = sum(proposed[r] + wrong_direction[r] for r in scored)
    pooled_precision = pooled_right / pooled_proposed if pooled_proposed else 0.0
    pooled_recall = pooled_right / sum(actual[r] for r in scored) if scored else 0.0
    pooled_sum = pooled_precision + pooled_recall
    return {
        "f1_macro": sum(f1s) / len(f1s) if f1s else 0.0,
        "f1_micro": 2 * pooled_precision * pooled_recall / pooled_sum if pooled_sum else 0.0,
        "accuracy": sum(g == p for g, p in zip(truth, predicted)) / max(len(truth), 1),
    }


def ranking(ranks: list[float]) -> dict[str, float]:
    """Link prediction from the rank of each true answer among all candidates (1 = first): the mean
    reciprocal rank and the share ranked in the top 1, 3 and 10."""
    n = max(len(ranks), 1)
    return {
        "mrr": sum(1 / r for r in ranks) / n,
        **{f"hits@{k}": sum(r <= k for r in ranks) / n for k in (1, 3, 10)},
    }


def sql(
    outputs: list[str], queries: list[list[str]], variables: list[dict], database=None
) -> dict[str, float]:
    """Questions to SQL (Finegan-Dollak et al. 2018): `exact_match`, the written query (with its
    variables, spaces normalised) is one of the gold variants; with a `database` (a
    `text2sql.ReadOnlyDatabase`), `execution_accuracy`: with the variables' values filled in, it returns
    the gold query's rows. A gold query that the database rejects leaves its question out, counted as
    `gold_rejected`."""
    from seqlab.data.text2sql import filled, normalized

    n = max(len(outputs), 1)
    scores = {"exact_match": sum(normalized(o) in q for o, q in zip(outputs, queries)) / n}
    if database is None:
        return scores
    right, rejected = 0, 0
    for output, gold, values in zip(outputs, queries, variables):
        expected = database.rows(filled(gold[0], values))
        if expected is None:
            rejected += 1
        elif database.rows(filled(output, values)) == expected:
            right += 1
    judged = len(outputs) - rejected
    return {**scores, "execution_accuracy": right / judged if judged else 0.0, "gold_rejected": rejected}


def selection(chosen_truth: list[int], chosen: list[int]) -> dict[str, float]:
    """Precision, recall and F1 of items chosen (1) or not (0), such as a summary's sentences."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, _ = precision_recall_fscore_support(
        chosen_truth, chosen, average="binary", zero_division=0
    )
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1)}


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


def positions(true_tags: list[list[str]], pred_tags: list[list[str]], labels: list[str]) -> dict[str, float]:
    """Tags scored position by position, as classes (secondary structure's Q3 is the accuracy): accuracy,
    micro F1 as `f1` (with one tag per position, the accuracy again), the classes' mean F1 as `f1_macro`
    and each class's F1 as `f1_<tag>`."""
    from sklearn.metrics import accuracy_score, f1_score

    truth = [t for row in true_tags for t in row]
    guess = [t for row in pred_tags for t in row]
    per_class = f1_score(truth, guess, labels=labels, average=None, zero_division=0)
    return {
        "accuracy": float(accuracy_score(truth, guess)),
        "f1": float(f1_score(truth, guess, labels=labels, average="micro", zero_division=0)),
        "f1_macro": float(per_class.mean()),
        **{f"f1_{label}": float(f1) for label, f1 in zip(labels, per_class)},
    }


def trajectories(truth, predicted, samples=None) -> dict[str, float]:
    """Displacement errors in the data's units (metres): `truth` and `predicted` (N, P, 2) positions;
    `ade` averages the distance over every predicted step, `fde` takes the last one. With `samples` (N, K,
    P, 2), `ade@K` and `fde@K` take each walker's best of its K paths (Social GAN's best of K)."""
    import numpy as np

    errors = np.linalg.norm(predicted - truth, axis=-1)  # (N, P)
    scores = {"ade": float(errors.mean()), "fde": float(errors[:, -1].mean())}
    if samples is not None:
        each = np.linalg.norm(samples - truth[:, None], axis=-1)  # (N, K, P)
        k = samples.shape[1]
        scores[f"ade@{k}"] = float(each.mean(axis=2).min(axis=1).mean())
        scores[f"fde@{k}"] = float(each[..., -1].min(axis=1).mean())
    return scores


def language_model(mean_nll: float) -> dict[str, float]:
    """`mean_nll`: cross-entropy per token in nats."""
    return {"loss": mean_nll, "perplexity": math.exp(min(mean_nll, 50.0))}


def translation(outputs: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU and chrF (sacrebleu's defaults, 0–100) of detokenised outputs against one reference
    each."""
    import sacrebleu

    return {
        "bleu": sacrebleu.corpus_bleu(outputs, [references]).score,
        "chrf": sacrebleu.corpus_chrf(outputs, [references]).score,
    }


def captions(outputs: list[str], references: list[list[str]]) -> dict[str, float]:
    """Corpus BLEU-1 … BLEU-4 (sacrebleu, lower-cased, 0–100) of outputs against every reference of each
    (references repeated to an equal count: a repeat changes neither clipped counts nor the closest
    length). Captions are scored as written, tokenised or not, as captioning papers score them."""
    from sacrebleu.metrics import BLEU

    most = max(len(r) for r in references)
    streams = [[r[k % len(r)] for r in references] for k in range(most)]
    return {
        f"bleu{n}": BLEU(max_ngram_order=n, lowercase=True, force=True).corpus_score(outputs, streams).score
        for n in (1, 2, 3, 4)
    }


def recognition(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Word and character error rates (jiwer, 0-1 and above: insertions count) over the whole corpus."""
    import jiwer

    return {"wer": float(jiwer.wer(references, hypotheses)), "cer": float(jiwer.cer(references, hypotheses))}


def summarization(outputs: list[str], references: list[str]) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L F1 (rouge-score, Porter stemming, 0–1), averaged over texts."""
    from rouge_score import rouge_scorer

    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds), use_stemmer=True)
    totals = dict.fromkeys(kinds, 0.0)
    for output, reference in zip(outputs, references):
        for kind, score in scorer.score(reference, output).items():
            totals[kind] += score.fmeasure
    return {kind: total / max(len(outputs), 1) for kind, total in totals.items()}


def forecast(
    windows: list[str],
    truth,
    point,
    standardised,
    naive_error,
    quantiles: list[float] | None = None,
    quantile_forecasts=None,
) -> dict[str, float]:
    """Point (and quantile) accuracy of M forecast windows of h points each, via utilsforecast.

    `truth`, `point`: (M, h) on the series' own scale; `standardised`: the two of them on the scale
    the model works in, for `mae_scaled` and `mse_scaled` (the ETT convention); `naive_error`: (M,) the
    in-sample mean absolute seasonal difference of each window's series (MASE's denominator).
    sMAPE is in percent, 0 to 200 (the M4 convention). Every metric is averaged over windows.
    """
    import numpy as np
    import pandas as pd
    from utilsforecast import losses

    h = truth.shape[1]
    frame = pd.DataFrame({"unique_id": np.repeat(windows, h), "y": truth.ravel(), "model": point.ravel()})

    def by_window(table) -> np.ndarray:  # (M,) in the order of `windows`
        return table.set_index("unique_id")["model"].reindex(windows).to_numpy()

    per_window = {
        "mae": by_window(losses.mae(frame, ["model"])),
        "mse": by_window(losses.mse(frame, ["model"])),
        "smape": 200 * by_window(losses.smape(frame, ["model"])),
    }
    result = {name: float(np.mean(v)) for name, v in per_window.items()}
    scaled_error = standardised[0] - standardised[1]  # (M, h)
    result["mae_scaled"] = float(np.mean(np.abs(scaled_error).mean(axis=1)))
    result["mse_scaled"] = float(np.mean(np.square(scaled_error).mean(axis=1)))
    with np.errstate(divide="ignore", invalid="ignore"):
        mase = per_window["mae"] / naive_error
    if np.isfinite(mase).all():
        result["mase"] = float(np.mean(mase))
    if quantiles:
        for j in range(len(quantiles)):
            frame[f"q{j}"] = quantile_forecasts[..., j].ravel()
        columns = {"model": [f"q{j}" for j in range(len(quantiles))]}
        result["quantile_loss"] = float(
            np.mean(by_window(losses.mqloss(frame, columns, np.array(quantiles))))
        )
        low, high = quantile_forecasts[..., 0], quantile_forecasts[..., -1]
        result[f"coverage_{round(100 * (quantiles[-1] - quantiles[0]))}"] = float(
            np.mean((truth >= low) & (truth <= high))
        )
    return result


def detection(labels, scores, threshold: float | None) -> dict[str, float]:
    """Point-wise anomaly detection: ROC-AUC of the scores, and precision, recall and F1 of the
    points flagged at `threshold` (score >= threshold)."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    result = {"roc_auc": float(roc_auc_score(labels, scores))}
    if threshold is not None:
        precision, recall, f1, _ = precision_recall_fscore_support(
            labels, scores >= threshold, average="binary", zero_division=0
        )
        result.update(precision=float(precision), recall=float(recall), f1=float(f1))
    return result


def best_f1_threshold(labels, scores) -> float:
    """The score threshold with the highest point-wise F1."""
    import numpy as np
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    return float(thresholds[int(np.argmax(f1[:-1]))])
