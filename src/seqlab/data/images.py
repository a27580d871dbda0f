"""Images as sequences (`data.input=image`): an image's rows, or its patches, read one after another.

Images are read with Pillow as grey (`data.channels=1`) or RGB (3) pixels in [0, 1], resized to
`data.image_size` pixels square where it is set. `prepare` gives each record its `"values"`, what
every numeric-input task reads: (H, W·C), row r of the image at step r, or with `data.patch_size=P`
(H/P · W/P, P·P·C), P×P patches in reading order (as a Vision Transformer reads an image).

Files: a folder with a subfolder per class (torchvision's ImageFolder layout), or a manifest with
`path` and `label` columns; the records of a built-in set (scikit-learn's 8×8 digits) hold arrays.
A language model over images draws them pixel by pixel (`seqlab.tasks.pixels`); sequence to sequence
writes their captions (`seqlab.tasks.caption`), read from a CSV of `image,caption` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data import media
from seqlab.data.inputs import InputKind
from seqlab.data.media import MANIFEST_SUFFIXES
from seqlab.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class ImageSettings:
    image_size: int | None = None  # image input: resize every image to this many pixels square (None: as
    # read, and all of one size)
    channels: int = 1  # image input: 1 (grey) or 3 (RGB)
    patch_size: int = 0  # image input: 0 reads the rows as steps; P > 0 reads P×P patches
    levels: int = 16  # image lm: grey levels a pixel is quantised to, each one choice of the model


@contextmanager
def opened(path: str | Path) -> Iterator:
    """A Pillow image of the file at `path`; a file Pillow cannot read is a UserError naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            yield image
    except (UnidentifiedImageError, OSError) as exc:
        raise UserError(f"{path} is not an image Pillow can read ({exc.__class__.__name__})") from None


def read_image(path: str | Path, channels: int = 1, size: int | None = None) -> np.ndarray:
    """(H, W, C) float32 pixels in [0, 1] of one image file."""
    from PIL import Image

    with opened(path) as image:
        image = image.convert("L" if channels == 1 else "RGB")
        if size is not None:
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.float32) / 255.0
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


def as_sequence(pixels: np.ndarray, patch_size: int = 0) -> np.ndarray:
    """(H, W, C) pixels → (H, W·C) rows, or (H/P · W/P, P·P·C) patches of side P = `patch_size`."""
    H, W, C = pixels.shape
    if not patch_size:
        return pixels.reshape(H, W * C)
    P = patch_size
    if H % P or W % P:
        raise UserError(f"data.patch_size={P} does not divide the {H}×{W} images; pick a divisor of both")
    patches = pixels.reshape(H // P, P, W // P, P, C).transpose(0, 2, 1, 3, 4)  # (H/P, W/P, P, P, C)
    return patches.reshape((H // P) * (W // P), P * P * C)


def image_steps(data) -> int | None:
    """The steps an image is read in, its rows or its patches, where `data.image_size` fixes its side."""
    if not data.image_size:
        return None
    return (data.image_size // data.patch_size) ** 2 if data.patch_size else data.image_size


def write_png(images: np.ndarray, path: Path) -> None:
    """(N, H, W) grey images in [0, 1] side by side as one PNG, a dark pixel column between them."""
    from seqlab.files import atomic_write

    atomic_write(path, png_bytes(images))


def png_bytes(images: np.ndarray) -> bytes:
    """The bytes of `write_png`'s file."""
    import io

    from PIL import Image

    N, H, W = images.shape
    row = np.zeros((H, N * (W + 1) - 1), dtype=np.float32)
    for n, image in enumerate(images):
        row[:, n * (W + 1) : n * (W + 1) + W] = image
    buffer = io.BytesIO()
    Image.fromarray(np.rint(row * 255).astype(np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def prepare(records: list, data) -> list:
    """Records holding `"image"` (a file or an (H, W, C) array) get `"values"`: the image as a sequence."""
    if not holds_images(records) or "values" in records[0]:
        return records
    if data.channels not in (1, 3):
        raise UserError(f"data.channels must be 1 (grey) or 3 (RGB); got {data.channels}")
    prepared = []
    for record in records:
        image = record["image"]
        pixels = read_image(image, data.channels, data.image_size) if isinstance(image, str) else image
        prepared.append({**record, "values": as_sequence(pixels, data.patch_size)})
    return prepared


def start_token(labels: list[str], levels: int, label: str | None) -> int:
    """The token a drawn image's pixels follow: its class's, after the `levels` grey levels, or (`label`
    None) the last, "any class"."""
    if label is None:
        return levels + len(labels)
    if label not in labels:
        raise UserError(f"class '{label}' is not one the model was trained on: {', '.join(labels)}")
    return levels + labels.index(label)


def holds_images(records: list) -> bool:
    return bool(records) and isinstance(records[0], dict) and "image" in records[0]


def read_images(path: Path, labelled: bool = True, loose: bool = False) -> list[dict]:
    """Records `{"image", "label"}` from a folder with a subfolder per class, a manifest (`path` and
    `label` columns; paths relative to it), or one image (unlabelled, to predict). `loose`: images
    outside class folders are read without a label instead of refused (for drawing)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} does not exist")
    if path.is_file() and path.suffix.lower() in MANIFEST_SUFFIXES:
        return [
            {"image": str(image), **({"label": label} if labelled else {})}
            for image, label in media.read_manifest(path, ("label",), labelled)
        ]
    if path.is_file():
        if labelled:
            raise UserError(
                f"{path} is one image without a label: give a folder of class folders or a manifest"
            )
        return [{"image": str(path)}]
    records = []
    for image in media.files_in(path, IMAGE_SUFFIXES, "images"):
        classed = labelled and image.parent != path
        if labelled and not classed and not loose:
            raise UserError(
                f"{image} is not in a class folder: put each class's images in a folder named by it"
            )
        records.append({"image": str(image), **({"label": image.parent.name} if classed else {})})
    return records


def read_captions(path: Path) -> list[dict]:
    """Records `{"image", "captions"}`, one per image, from a table whose rows pair an image (an `image` or
    `path` column, relative to the file or to an `images/` folder beside it) with a `caption`; a folder
    holding such a `captions.txt` or `captions.csv` (Flickr8k's layout) names it."""
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in ("captions.txt", "captions.csv") if (path / name).is_file()]
        if not found:
            raise UserError(f"{path} holds no captions.txt or captions.csv (rows of image,caption)")
        path = found[0]
    rows = media.read_rows(path)
    column = next((c for c in ("image", "path") if rows and c in rows[0]), None)
    if column is None or "caption" not in rows[0]:
        raise UserError(f"{path}: captions need an 'image' (or 'path') column and a 'caption' column")
    folder = path.parent / "images" if (path.parent / "images").is_dir() else path.parent
    captions: dict[str, list[str]] = {}
    for row in rows:
        captions.setdefault(row[column], []).append(row["caption"].strip())
    missing = [name for name in captions if not (folder / name).is_file()]
    if missing:
        raise UserError(f"{len(missing)} captioned image(s) are missing from {folder}, {missing[0]} first")
    return [{"image": str(folder / name), "captions": texts} for name, texts in captions.items()]


def _read(shape: str, path: Path, data, labelled: bool) -> list[dict]:
    if shape == "pairs" and labelled:
        records = read_captions(path)
    else:
        records = read_images(path, labelled and shape != "pairs", loose=shape == "stream")
    if data.image_size is None:
        same_size([r["image"] for r in records])
    return records


def same_size(paths: list[str]) -> None:
    """Refuse images of several sizes (read from their headers) where the run does not resize them."""
    sizes: dict[tuple[int, int], str] = {}
    for path in paths:
        with opened(path) as image:
            sizes.setdefault(image.size, path)
    if len(sizes) > 1:
        shown = ", ".join(f"{w}×{h} ({Path(p).name})" for (w, h), p in list(sizes.items())[:2])
        raise UserError(f"the images differ in size: {shown}; set data.image_size=N to resize them all")


IMAGE = InputKind(
    "image",
    read=_read,
    reads=("labelled", "stream", "pairs"),
    detect=lambda path, data: media.holds(path, IMAGE_SUFFIXES),
    holds=holds_images,
    tasks={
        "classify": "seqlab.tasks.series:SeriesClassifyTask",
        "lm": "seqlab.tasks.pixels:PixelTask",
        "seq2seq": "seqlab.tasks.caption:CaptionTask",
    },
    folders=True,
    prepare=prepare,
    settings=ImageSettings,
)
