"""Captions from images (`--task seq2seq` with `data.input=image`): BLEU against every reference, the
`image,caption` layout, a run that captions an image file, and bad input."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import shared
from sacrebleu.metrics import BLEU

from seqlab.cli import main
from seqlab.data.images import read_captions
from seqlab.errors import UserError
from seqlab.metrics import captions
from seqlab.pipeline import load

SMALL = [
    "model.hidden_size=16",
    "model.embed_dim=12",
    "train.max_steps=3",
    "train.batch_size=8",
    "data.image_size=16",
    "data.channels=3",
    "data.patch_size=4",
    "data.max_length=30",
]


def test_bleu_reads_every_reference_and_repeating_one_changes_nothing():
    outputs = ["a dog runs on the grass .", "two people sit ."]
    references = [["A dog runs on grass .", "A brown dog is running ."], ["Three people sit at a table ."]]
    scores = captions(outputs, references)
    streams = [[references[0][0], references[1][0]], [references[0][1], references[1][0]]]
    assert scores["bleu4"] == pytest.approx(
        BLEU(lowercase=True, force=True).corpus_score(outputs, streams).score
    )
    assert scores == captions(outputs, [[*references[0], references[0][0]], references[1]])
    assert (
        scores["bleu1"] > captions(outputs, [references[0][1:], references[1]])["bleu1"]
    )  # a reference helps


@pytest.fixture
def caption_folder(tmp_path):
    """Six Flickr8k images in images/ beside a captions.csv of two captions each."""
    source = shared("flickr8k-subset")
    records = read_captions(source)[:6]
    folder = tmp_path / "photos"
    (folder / "images").mkdir(parents=True)
    rows = ["image,caption"]
    for record in records:
        name = record["image"].rsplit("/", 1)[1]
        shutil.copy(record["image"], folder / "images" / name)
        rows += [f'{name},"{caption}"' for caption in record["captions"][:2]]
    (folder / "captions.csv").write_text("\n".join(rows) + "\n")
    return folder


def test_captions_are_grouped_by_image(caption_folder):
    records = read_captions(caption_folder)
    assert len(records) == 6 and all(len(r["captions"]) == 2 for r in records)
    assert records[0]["image"].startswith(str(caption_folder / "images"))


def test_a_run_captions_an_image_file_beside_its_nearest_neighbour_baseline(capsys, tmp_path, caption_folder):
    run = tmp_path / "run"
    args = ["train", "--task", "seq2seq", "--data", caption_folder, "--out", run, "data.input=image"]
    settings = ["data.val_fraction=0.34", "data.test_fraction=0.34", "train.monitor=bleu4"]
    assert main([str(a) for a in [*args, *SMALL, *settings]]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"bleu1", "bleu2", "bleu3", "bleu4", "loss"} <= set(metrics)
    assert "nearest training image" in json.loads((run / "baseline.json").read_text())["baseline"]
    image = next((caption_folder / "images").iterdir())
    capsys.readouterr()
    assert main(["predict", str(run), "--data", str(image)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["path"] == str(image) and isinstance(row["caption"], str)
    assert main(["predict", str(run), "--text", "a dog"]) == 2
    assert "reads images" in capsys.readouterr().err
    with pytest.raises(UserError, match="translate is not offered by a seq2seq model of data.input=image"):
        load(run).translate(["a dog"])


@pytest.mark.parametrize(
    "damage,message",
    [
        ("missing-image", "captioned image(s) are missing"),
        ("no-caption-column", "a 'caption' column"),
        ("no-captions-file", "holds no captions.txt or captions.csv"),
    ],
)
def test_bad_caption_data_is_one_clear_line(capsys, tmp_path, caption_folder, damage, message):
    if damage == "missing-image":
        next((caption_folder / "images").iterdir()).unlink()
    if damage == "no-caption-column":
        text = (caption_folder / "captions.csv").read_text()
        (caption_folder / "captions.csv").write_text(text.replace("image,caption", "image,text", 1))
    if damage == "no-captions-file":
        (caption_folder / "captions.csv").unlink()
    args = ["train", "--task", "seq2seq", "--data", str(caption_folder), "--out", str(tmp_path / "run")]
    assert main([*args, "data.input=image", *SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "run").exists()


def test_copying_is_refused_for_images(capsys, tmp_path, caption_folder):
    args = ["train", "--task", "seq2seq", "--data", str(caption_folder), "--out", str(tmp_path / "run")]
    assert main([*args, "data.input=image", "model.copy=true", *SMALL]) == 2
    assert "an image has none" in capsys.readouterr().err


def test_a_transformer_reads_more_patches_than_a_caption_has_words(tmp_path, caption_folder):
    run = tmp_path / "run"
    args = ["train", "--task", "seq2seq", "--data", caption_folder, "--out", run, "data.input=image"]
    shorter = [*SMALL, "model.encoder=transformer", "data.max_length=12"]  # 16 patches, captions of ≤ 12
    assert main([str(a) for a in [*args, *shorter]]) == 0
    assert load(run).model.encoder.max_len == 16


def test_images_longer_than_the_encoder_reads_are_one_clear_line(capsys, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    (folder / "images").mkdir(parents=True)
    rows = ["image,caption"]
    for n in range(6):
        Image.new("RGB", (16, 16), (40 * n, 0, 0)).save(folder / "images" / f"{n}.png")
        rows.append(f"{n}.png,a red square number {n}")
    (folder / "captions.csv").write_text("\n".join(rows) + "\n")
    args = ["train", "--task", "seq2seq", "--data", str(folder), "--out", str(tmp_path / "run")]
    sized = ("data.image_size", "data.patch_size", "data.max_length")
    unsized = [s for s in SMALL if not s.startswith(sized)]
    assert main([*args, "data.input=image", "model.encoder=transformer", "data.max_length=8", *unsized]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "read in 16 steps" in err and not (tmp_path / "run").exists()
