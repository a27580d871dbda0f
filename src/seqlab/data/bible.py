"""The Bible as a parallel corpus: the SWORD modules of Debian's sword-text-kjv and sword-text-sparv, read
with pysword into English-Spanish verse pairs (datasets `bible-en-es` and `bible-es-en`).

Both modules follow the KJV versification, so the n-th verse of one is the n-th verse of the other.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from seqlab.data.download import cache_dir, import_package
from seqlab.errors import UserError
from seqlab.files import atomic_write

SWORD_ROOT = Path("/usr/share/sword")
# language → (SWORD module, the Debian package that installs it)
BIBLES = {"en": ("engKJV2006eb", "sword-text-kjv"), "es": ("spaRV1909eb", "sword-text-sparv")}


def read_bibles(books: list[str] | None = None) -> list[dict[str, str]]:
    """The non-empty verse pairs of `books` (SWORD's short names, "Ruth"; None: all) by language."""
    import_package("pysword", "bible-en-es")
    from pysword.modules import SwordModules

    missing = [
        package
        for module, package in BIBLES.values()
        if not (SWORD_ROOT / "mods.d" / f"{module}.conf").is_file()
    ]
    if missing:
        raise UserError(
            "dataset 'bible-en-es' reads Debian's SWORD modules: apt-get install " + " ".join(missing)
        )
    library = SwordModules(str(SWORD_ROOT))
    library.parse_modules()

    def clean(verse: str) -> str:
        return re.sub(
            r"^(\w )?([A-ZÁÉÍÓÚÑ])([A-ZÁÉÍÓÚÑ]+)\b",
            lambda m: (m[1] or "") + m[2] + m[3].lower(),
            " ".join(verse.split()),
        )

    texts = {
        lang: [clean(v) for v in library.get_bible_from_module(module).get_iter(books, clean=True)]
        for lang, (module, _) in BIBLES.items()
    }
    return [dict(zip(texts, verse)) for verse in zip(*texts.values()) if all(verse)]


def verse_pairs(source: str, target: str) -> dict[str, list]:
    """The King James Bible and the Reina-Valera 1909, verse by verse: 31,084 non-empty pairs.

    Reading the modules takes a minute or two, so the pairs are kept in the cache after the first
    read (`bible/verses.jsonl`). A chapter's first word, in capitals in print ("EN el principio",
    "Y FUERON acabados"), is written as a word ("En el principio", "Y Fueron acabados")."""
    cached = cache_dir() / "bible" / "verses.jsonl"
    if not cached.is_file():
        atomic_write(cached, "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in read_bibles()))
    verses = [json.loads(line) for line in cached.read_text(encoding="utf-8").splitlines()]
    return {"train": [{"source": v[source], "target": v[target]} for v in verses]}
