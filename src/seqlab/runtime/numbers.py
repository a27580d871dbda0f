"""The runtime's arithmetic on numpy arrays: padding a batch, softmax, Viterbi and CTC's best path, and how
the next token is chosen and a sequence-to-sequence model's targets are decoded step by step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD, UNK, BOS, EOS = 0, 1, 2, 3  # seqlab's special tokens


@dataclass(frozen=True)
class Sampling:
    """How `generate` picks each token: temperature 0 is greedy."""

    max_new_tokens: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None


GREEDY = Sampling(temperature=0)
SAMPLED = Sampling()  # generate's default


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
