"""Speech from text (`--task tts`): characters in, through any encoder, log-mel frames out of a
Tacotron-style decoder (`seqlab.heads.speech`), and a waveform from the frames by Griffin-Lim (librosa).

Records `{"audio": Utterance, "text": what it says, "speaker": who, optional}`, read as recognition's
are (folders of clips with .txt transcripts, manifests with `path` and `transcript`, FSDD). Frames are
log-mel energies (data.features must be logmel), standardised per feature with training statistics;
data.stack_frames frames are predicted at each decoder step. A character never seen in training is
refused, naming it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from seqlab.config import RunConfig
from seqlab.data.audio import FrameSettings, most_steps, voice_characters, waveform
from seqlab.data.batch import Batch, pad
from seqlab.data.text import TextTokenizer
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.heads import mean_loss
from seqlab.heads.speech import SpeechDecoder
from seqlab.tasks.base import HeadParts, Task, padding_mask
from seqlab.tasks.series import fit_scaling, padded_frames, standardise


class TTSTask(Task):
    name = "tts"
    files = ("tokenizer.json", "voice.json")
    primary_metric = "loss"
    higher_is_better = False
    records = "transcribed"
    input = "audio"
    tokenizers = ("char",)
    default_tokenizer = "char"
    verbs = ("speak",)
    steps_through_a_decoder = True

    def __init__(self, config: RunConfig, tokenizer=None, labels=None, chars=None, voice: dict | None = None):
        super().__init__(config, tokenizer)
        self.voice = voice or {}  # {"speakers": [...], "mean": [...], "spread": [...]}

    @classmethod
    def check_config(cls, config, encoder) -> None:
        super().check_config(config, encoder)
        if config.data.features != "logmel":
            raise UserError("task tts speaks from log-mel frames: leave data.features=logmel")

    @classmethod
    def build_head(cls, config, parts: HeadParts) -> nn.Module:
        return SpeechDecoder(parts.width, parts.sizes["frame_dim"], parts.sizes["speakers"])

    def fit(self, train: list) -> None:
        d = self.config.data
        self.tokenizer = TextTokenizer.train("char", [r["text"] for r in train], lowercase=d.lowercase)
        stats = fit_scaling([r["values"] for r in train])
        self.voice = {"speakers": sorted({str(r.get("speaker", "")) for r in train}), **stats}

    def model_sizes(self) -> dict[str, int]:
        assert self.tokenizer is not None, "fit or load the task first"
        sizes = {"frame_dim": len(self.voice["mean"]), "speakers": len(self.voice["speakers"])}
        return {"vocab_size": self.tokenizer.vocab_size, **sizes}

    def save(self, run_dir: Path) -> None:
        super().save(run_dir)
        write_json(run_dir / "voice.json", self.voice)

    @classmethod
    def load(cls, config: RunConfig, run_dir: Path) -> TTSTask:
        tokenizer = TextTokenizer.load(run_dir / "tokenizer.json", "char")
        return cls(config, tokenizer, voice=read_json(run_dir / "voice.json"))

    # -- data -------------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list[dict]:
        """{"ids": characters, "speaker": id, and with targets "values": standardised frames (T, D)}."""
        assert self.tokenizer is not None
        speakers = {name: i for i, name in enumerate(self.voice["speakers"])}
        examples = []
        for n, record in enumerate(records):
            ids = voice_characters(self.tokenizer.backend, n, record["text"])
            speaker = str(record.get("speaker", self.voice["speakers"][0]))
            if speaker not in speakers:
                raise UserError(f"speaker '{speaker}' is not one of the voice's: {', '.join(speakers)}")
            example = {"ids": ids, "speaker": speakers[speaker]}
            if with_targets:
                example["values"] = standardise(record["values"], self.voice)
            examples.append(example)
        return examples

    def length(self, example) -> int:
        return len(example["ids"])

    def collate(self, examples: list) -> Batch:
        inputs = pad([e["ids"] for e in examples])  # (B, S)
        targets, real = padded_frames(examples) if "values" in examples[0] else (None, None)  # (B, T, D)
        return Batch(
            inputs=inputs,
            mask=padding_mask(examples, inputs.shape[1]),
            targets=targets,
            target_mask=real,
            speakers=torch.tensor([e["speaker"] for e in examples]),
        )

    def evaluate(self, model, examples: list, batch_size: int, autocast) -> dict[str, float]:
        """The teacher-forced loss and `mel_error`: the mean absolute error of the predicted frames, in dB
        (log-mel energy) over every real frame and band."""
        model.eval()
        loss_sum, error_sum, count = 0.0, 0.0, 0
        spread = torch.tensor(self.voice["spread"])
        with torch.no_grad():
            for _, batch in self.batches(examples, batch_size):
                with autocast():
                    out = model(batch)
                real = batch.target_mask.unsqueeze(-1)
                error = ((out.logits.float().cpu() - batch.targets) * spread).abs() * real
                loss_sum += float(out.loss_sum)
                error_sum += float(error.sum()) / len(spread)
                count += int(out.count)
        return {"loss": mean_loss(loss_sum, count), "mel_error": mean_loss(error_sum, count)}

    # -- use --------------------------------------------------------------------------------------

    def speak(self, pipeline, texts: list[str], speaker: str | None = None) -> list[np.ndarray]:
        """Each text as mono float32 samples at data.sample_rate."""
        settings = FrameSettings.of(self.config.data)
        records = [{"text": t, **({"speaker": speaker} if speaker else {})} for t in texts]
        examples = self.encode(records, with_targets=False)
        most = most_steps(settings)
        model, spoken = pipeline.model.eval(), {}
        for indices, batch in self.batches(examples, pipeline.batch_size):
            with pipeline.autocast():
                encoded = model.encode(batch)
            for i, frames in zip(indices, model.head.synthesise(encoded, batch, most)):
                spoken[i] = waveform(frames.numpy(), self.voice, settings)
        return [spoken[i] for i in range(len(texts))]

    def predict(self, pipeline, records: list) -> list:
        return self.speak(pipeline, [r["text"] for r in records])

    def records_from_texts(self, texts: list[str]) -> list:
        return [{"text": t} for t in texts]

    def prediction_rows(self, pipeline, records: list, decoding=None):
        raise UserError("a voice speaks into audio files: use seqlab speak RUN --text '…' --out reply.wav")
