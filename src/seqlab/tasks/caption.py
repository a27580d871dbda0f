"""Captions from images (`--task seq2seq` with `data.input=image`): the encoder reads an image's rows or
patches (`seqlab.data.images`), standardised with training statistics, and the encoder family's decoder
writes the caption, as it writes a translation. Every caption of an image trains; a held-out image is
captioned once and scored by corpus BLEU-1 … BLEU-4 against all of its captions. The baseline gives
each held-out image the first caption of the training image nearest to it (cosine of the standardised
pixels)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from seqlab import metrics
from seqlab.data.batch import IGNORE_INDEX, Batch, pad
from seqlab.data.images import image_steps
from seqlab.data.media import file_of
from seqlab.data.text import BOS, EOS, TextTokenizer
from seqlab.errors import UserError
from seqlab.files import read_json, write_json
from seqlab.generation import GenerationConfig
from seqlab.tasks.seq2seq import GREEDY, Seq2SeqTask
from seqlab.tasks.series import fit_scaling, padded_frames, standardise
from seqlab.training.run_dir import require


class CaptionTask(Seq2SeqTask):
    """Records {"image", "captions": [str, …], "values": (S, F) pixels}; to caption, {"image", "values"}."""

    files = ("tokenizer.json", "scaling.json")
    default_tokenizer = "word"
    verbs = ()

    def __init__(self, config, tokenizer: TextTokenizer | None = None, stats: dict | None = None):
        super().__init__(config, tokenizer)
        self.stats = stats or {}

    @classmethod
    def context_length(cls, config, adapter) -> int:
        """The steps an image is read in (data.image_size fixes them); else data.max_length."""
        return image_steps(config.data) or config.data.max_length

    def fit(self, train: list) -> None:
        d = self.config.data
        if self.config.model.copy:
            raise UserError("model.copy copies the source's tokens, and an image has none: leave it false")
        captions = [caption for record in train for caption in record["captions"]]
        self.tokenizer = TextTokenizer.train(d.tokenizer, captions, d.vocab_size, d.min_freq, d.lowercase)
        self.target_tokenizer = self.tokenizer
        self.stats = fit_scaling([r["values"] for r in train])

    def model_sizes(self) -> dict[str, int]:
        return {"num_features": len(self.stats["mean"]), "target_vocab_size": self.tokenizer.vocab_size}

    def save(self, run_dir: Path) -> None:
        self.tokenizer.save(run_dir / "tokenizer.json")
        write_json(run_dir / "scaling.json", self.stats)

    @classmethod
    def load(cls, config, run_dir: Path) -> CaptionTask:
        require(run_dir, list(cls.files))
        stats = read_json(run_dir / "scaling.json")
        return cls(config, TextTokenizer.load(run_dir / "tokenizer.json", config.data.tokenizer), stats)

    # -- data ---------------------------------------------------------------------------------

    def encode(self, records: list, with_targets: bool = True) -> list:
        """An example per caption (with all of its image's captions as references, the first marked to
        be decoded), or per image without targets."""
        features, positions = len(self.stats["mean"]), self.context_length(self.config, None)
        examples = []
        for n, record in enumerate(records):
            if record["values"].shape[1] != features:
                raise UserError(
                    f"image {n + 1} gives {record['values'].shape[1]} values per step; the model reads "
                    f"{features} (its data.image_size, data.channels and data.patch_size)"
                )
            if len(record["values"]) > positions:
                raise UserError(
                    f"image {n + 1} is read in {len(record['values'])} steps, more than the encoder's "
                    f"{positions}: set data.image_size (or data.patch_size)"
                )
            values = standardise(record["values"], self.stats)  # (S, F)
            if not with_targets:
                examples.append({"values": values})
                continue
            captions = record["captions"]
            for k, target in enumerate(self._limited(self.tokenizer.encode_batch(captions), "caption")):
                examples.append({"values": values, "target": target, "references": captions, "first": k == 0})
        return examples

    def collate(self, examples: list) -> Batch:
        inputs, mask = padded_frames(examples)  # (B, S, F), (B, S)
        batch = Batch(inputs=inputs, mask=mask)
        if "target" in examples[0]:
            batch.target_inputs = pad([[BOS] + e["target"] for e in examples])  # (B, U)
            batch.targets = pad([e["target"] + [EOS] for e in examples], IGNORE_INDEX)  # (B, U)
        return batch

    def length(self, example) -> int:
        return max(len(example["values"]), len(example.get("target") or ()))

    # -- use ----------------------------------------------------------------------------------

    @torch.no_grad()
    def evaluate(
        self, model, examples: list, batch_size: int, autocast, settings: GenerationConfig = GREEDY
    ) -> dict[str, float]:
        """Cross-entropy per caption token (teacher-forced, every caption), and BLEU-1 … 4 of one decoded
        caption per image against all of its captions."""
        images = [e for e in examples if e["first"]]
        outputs = self.decode_examples(model, images, batch_size, autocast, settings)
        return {
            **metrics.language_model(self.teacher_forced_loss(model, examples, batch_size, autocast)),
            **metrics.captions(outputs, [e["references"] for e in images]),
        }

    def baseline(self, train: list, held_out: list) -> dict | None:
        """Each held-out image captioned by the first caption of its nearest training image."""
        known = [e for e in train if e["first"]]
        images = [e for e in held_out if e["first"]]
        flat = torch.nn.functional.normalize(torch.stack([e["values"].flatten() for e in known]), dim=1)
        asked = torch.nn.functional.normalize(torch.stack([e["values"].flatten() for e in images]), dim=1)
        nearest = (asked @ flat.T).argmax(dim=1).tolist()
        outputs = [known[i]["references"][0] for i in nearest]
        return {
            "baseline": "the caption of the nearest training image (cosine of the standardised pixels)",
            **metrics.captions(outputs, [e["references"] for e in images]),
        }

    def predict(self, pipeline, records: list) -> list[str]:
        examples = self.encode(records, with_targets=False)  # prepared by the pipeline
        return self.decode_examples(pipeline.model, examples, pipeline.batch_size, pipeline.autocast)

    def records_from_texts(self, texts: list[str]) -> list[dict]:
        raise UserError("a captioning model reads images: give --data IMAGE (a file or a folder of them)")

    def prediction_rows(self, pipeline, records: list, decoding=None) -> Iterator[dict]:
        from seqlab.pipeline import prepare

        examples = self.encode(prepare(pipeline.config, records), with_targets=False)
        settings = (decoding or GREEDY).check()
        outputs = self.decode_examples(
            pipeline.model, examples, pipeline.batch_size, pipeline.autocast, settings
        )
        for record, caption in zip(records, outputs):
            yield {**file_of(record), "caption": caption}

    @torch.no_grad()
    def artifacts(self, model, held_out: list, batch_size: int, autocast) -> dict[str, object]:
        """The first held-out images' greedy captions beside their references."""
        shown = [e for e in held_out if e["first"]][:8]
        outputs = self.decode_examples(model, shown, batch_size, autocast)
        return {
            "captions.json": [
                {"output": output, "references": e["references"]} for e, output in zip(shown, outputs)
            ]
        }
