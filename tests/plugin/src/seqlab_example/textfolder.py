"""The `textfolder` input kind: a folder of class folders of .txt files, one text a file, the folder's
name its label (as torchvision's ImageFolder lays out images). Train on a folder with
`data.input=textfolder`; a folder with train/ and test/ folders of that layout gives those splits."""

from __future__ import annotations

from pathlib import Path

from seqlab.data.inputs import InputKind
from seqlab.errors import UserError


def read(shape: str, path: Path, data, labelled: bool) -> list[dict]:
    if not path.is_dir():
        raise UserError(
            f"data.input=textfolder reads a folder of class folders of .txt files; {path} is not one"
        )
    texts = sorted(path.glob("*/*.txt")) if labelled else sorted(path.glob("**/*.txt"))
    if not texts:
        raise UserError(f"{path} has no class folders of .txt files")
    return [
        {"text": f.read_text(encoding="utf-8").strip(), **({"label": f.parent.name} if labelled else {})}
        for f in texts
    ]


def split_folders(path: Path) -> dict[str, list] | None:
    """train/, valid/ (or val/) and test/ folders, each of class folders."""
    names = {"train": "train", "val": "valid", "test": "test"}
    found = {split: path / name for split, name in names.items() if (path / name).is_dir()}
    if "val" not in found and (path / "val").is_dir():
        found["val"] = path / "val"
    if "train" not in found:
        return None
    return {split: read("labelled", folder, None, True) for split, folder in found.items()}


TEXT_FOLDER = InputKind("textfolder", read=read, reads=("labelled",), folders=True, split_file=split_folders)
