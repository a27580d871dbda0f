"""Images as sequences (`data.input=image`): rows and patches in reading order, the folder and manifest
layouts, the built-in 8×8 digits, prediction from an image file, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import tiny
from PIL import Image

from seqlab.cli import main
from seqlab.data.images import as_sequence, read_image, read_images
from seqlab.data.loaders import digits_8x8
from seqlab.errors import UserError
from seqlab.pipeline import fit

TINY = ["model.hidden_size=16", "model.embed_dim=12", "train.max_steps=4", "train.batch_size=8"]


def test_rows_and_patches_are_read_in_reading_order():
    pixels = np.arange(16, dtype=np.float32).reshape(4, 4, 1)  # pixel (r, c) holds 4r + c
    assert as_sequence(pixels).tolist()[1] == [4, 5, 6, 7]  # step 1: the second row
    patches = as_sequence(pixels, patch_size=2)  # (4 patches, 2·2 pixels)
    assert patches.tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    rgb = np.stack([pixels, pixels + 100, pixels + 200], axis=-1).reshape(4, 4, 3)
    assert as_sequence(rgb).shape == (4, 12) and as_sequence(rgb)[0, :3].tolist() == [0, 100, 200]


def save(pixels: np.ndarray, path) -> None:
    """(H, W) pixels in [0, 1] as a grey PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((pixels * 255).round().astype(np.uint8), "L").save(path)


@pytest.fixture(scope="module")
def digit_folder(tmp_path_factory):
    """The first 120 built-in digits as PNGs in a folder per class."""
    root = tmp_path_factory.mktemp("digits")
    for n, record in enumerate(digits_8x8()["train"][:120]):
        save(record["image"][..., 0], root / record["label"] / f"{n}.png")
    return root


def test_a_folder_per_class_is_read_as_labelled_images(digit_folder):
    records = read_images(digit_folder)
    assert len(records) == 120 and {r["label"] for r in records} == {str(d) for d in range(10)}
    first = read_image(records[0]["image"])
    assert first.shape == (8, 8, 1) and 0.0 <= first.min() and first.max() <= 1.0
    assert read_image(records[0]["image"], channels=3, size=16).shape == (16, 16, 3)


def test_a_model_trained_on_a_folder_predicts_an_image_file(capsys, tmp_path, digit_folder, spam_splits):
    run = tmp_path / "run"
    args = ["train", "--task", "classify", "--data", digit_folder, "--out", run, "data.image_size=8"]
    assert main([str(a) for a in [*args, *TINY]]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["data"]["input"] == "image"  # found by itself
    big = tmp_path / "seven.png"
    Image.open(next((digit_folder / "7").iterdir())).resize((64, 64)).save(big)  # resized to 8×8 to predict
    capsys.readouterr()
    assert main(["predict", str(run), "--image", str(big)]) == 0
    prediction = json.loads(capsys.readouterr().out)
    assert prediction["label"] in prediction["probabilities"] and len(prediction["probabilities"]) == 10
    assert prediction["path"] == str(big)
    assert main(["predict", str(run), "--data", str(digit_folder / "7")]) == 0  # a folder: a line per file
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["path"] for r in lines) == sorted(str(p) for p in (digit_folder / "7").iterdir())
    texts = tmp_path / "texts"
    fit(tiny("classify", "gru"), texts, spam_splits)
    assert main(["predict", str(texts), "--image", str(big)]) == 2  # a model of texts reads no image
    assert "--image needs a model of images" in capsys.readouterr().err


def test_the_built_in_digits_deal_a_fifth_to_test():
    from seqlab.data.datasets import load_dataset

    splits = load_dataset("digits-8x8")
    assert {k: len(v) for k, v in splits.items()} == {"train": 1259, "val": 179, "test": 359}
    assert splits["test"][0]["image"].shape == (8, 8, 1)  # a row of 8 pixels per step, once prepared


def test_a_manifest_names_its_images_beside_their_labels(tmp_path, digit_folder):
    manifest = tmp_path / "images.csv"
    seven = next((digit_folder / "7").iterdir())
    manifest.write_text(f"path,label\n{seven},seven\n")
    assert read_images(manifest) == [{"image": str(seven), "label": "seven"}]


@pytest.mark.parametrize(
    "layout,settings,message",
    [
        ("empty-file", [], "is not an image Pillow can read"),
        ("two-sizes", [], "set data.image_size=N"),
        ("loose", [], "is not in a class folder"),
        ("one-size", ["data.patch_size=3"], "does not divide"),
        ("one-size", ["data.channels=2"], "data.channels must be 1 (grey) or 3 (RGB)"),
    ],
)
def test_bad_images_are_one_clear_line(capsys, tmp_path, layout, settings, message):
    folder = tmp_path / "images"
    for label in ("a", "b"):
        for n in range(3):
            save(np.full((8, 8), n / 3), folder / label / f"{n}.png")
    if layout == "empty-file":
        (folder / "a" / "broken.png").write_bytes(b"")
    if layout == "two-sizes":
        save(np.zeros((6, 6)), folder / "b" / "small.png")
    if layout == "loose":
        save(np.zeros((8, 8)), folder / "loose.png")
    args = ["train", "--task", "classify", "--data", str(folder), "--out", str(tmp_path / "run")]
    assert main([*args, *settings, *TINY]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not (tmp_path / "run").exists()


def test_reading_a_missing_image_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="is not an image"):
        read_image(tmp_path / "none.png")


# -- drawing images pixel by pixel (`--task lm`) -------------------------------------------------------


def pixel_task(levels: int = 4, labels=("a", "b"), shape=(2, 2)):
    from seqlab.config import RunConfig
    from seqlab.tasks.pixels import PixelTask

    config = RunConfig.from_dict({"task": "lm", "data": {"input": "image", "levels": levels}})
    return PixelTask(config, list(labels), shape)


def test_an_image_is_its_class_then_its_pixels_each_predicting_the_next():
    task = pixel_task()
    values = np.array([[0.0, 1 / 3], [2 / 3, 1.0]], dtype=np.float32)  # levels 0, 1, 2, 3
    batch = task.collate(task.encode([{"values": values, "label": "b"}]))
    assert batch.targets.tolist() == [[0, 1, 2, 3]]
    assert batch.inputs.tolist() == [[4 + 1, 0, 1, 2]]  # class b is token levels + 1
    assert task.start_token(None) == 4 + 2  # "any class"


def test_the_independent_pixel_baseline_is_each_positions_smoothed_histogram_in_its_class():
    task = pixel_task(levels=2, labels=("a", "b"), shape=(1, 2))
    a, b = np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    train = task.encode([{"values": a, "label": "a"}] * 2 + [{"values": b, "label": "b"}])
    held_out = task.encode([{"values": np.array([[0.0, 0.0]]), "label": "a"}])
    # class a, position 1: p(0) = (2 + 1) / (2 + 2); position 2: p(0) = (0 + 1) / (2 + 2)
    expected = -(np.log(3 / 4) + np.log(1 / 4)) / 2
    assert task.baseline(train, held_out)["nll"] == pytest.approx(expected)


def test_a_model_of_digit_folders_draws_a_class_as_png(capsys, tmp_path, digit_folder):
    run = tmp_path / "run"
    args = ["train", "--task", "lm", "--data", digit_folder, "--out", run, "data.levels=17"]
    assert main([str(a) for a in [*args, *TINY]]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["bits_per_pixel"] == pytest.approx(metrics["nll"] / np.log(2))
    out = tmp_path / "sevens.png"
    assert (
        main(["generate", str(run), "--prompt", "7", "--num-samples", "3", "--seed", "0", "--out", str(out)])
        == 0
    )
    with Image.open(out) as drawn:
        assert drawn.size == (3 * 9 - 1, 8) and drawn.mode == "L"
    for prompt, where, message in (("eleven", "x.png", "class 'eleven' is not one"), ("7", "x.jpg", "PNG")):
        assert main(["generate", str(run), "--prompt", prompt, "--out", str(tmp_path / where)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and not (tmp_path / where).exists()


def test_a_written_image_gets_the_mode_of_any_new_file(tmp_path):
    import os

    from seqlab.data.images import write_png

    umask = os.umask(0o022)
    try:
        write_png(np.zeros((2, 3, 3)), tmp_path / "drawn.png")
    finally:
        os.umask(umask)
    assert (tmp_path / "drawn.png").stat().st_mode & 0o777 == 0o644  # not the temporary file's 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
