"""A run's report.html: self-contained (its plots inside the page, nothing fetched), the kept checkpoint
marked, the task's own views, only the configuration keys that apply, and a page that renders in a
real browser (Debian's chromium, driven by Playwright, where both are installed)."""

from __future__ import annotations

import math
import re
import shutil

import pytest
from conftest import tiny

from seqlab.pipeline import fit

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def reports(splits, tmp_path_factory) -> dict:
    """Run directories of a tagger and a translator, trained for a few steps."""
    root = tmp_path_factory.mktemp("reports")
    settings = {"train.max_steps": 6, "train.eval_every": 2}
    fit(tiny("tag", "gru", **settings), root / "tag", splits["tag"])
    fit(tiny("seq2seq", "gru", **settings, **{"data.max_length": 16}), root / "seq2seq", splits["seq2seq"])
    return {name: (root / name / "report.html").read_text() for name in ("tag", "seq2seq")} | {"root": root}


def test_a_report_holds_its_plots_and_fetches_nothing(reports):
    page = reports["tag"]
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "http" not in page.split("<body>")[1]


def test_a_report_marks_the_kept_checkpoint_and_shows_the_task_views(reports):
    tag, seq2seq = reports["tag"], reports["seq2seq"]
    assert re.search(r"The kept checkpoint: step [246]\.", tag)
    assert "Tagged sentences" in tag and 'class="tokens"' in tag
    assert "Outputs beside references" in seq2seq and "<th>reference</th>" in seq2seq


def test_a_report_puts_the_metrics_beside_a_naive_baseline(reports):
    tag, seq2seq = reports["tag"], reports["seq2seq"]
    assert "<th>baseline: each word&#x27;s most frequent training tag</th>" in tag
    assert "<th>baseline: the source, copied</th>" in seq2seq


def test_task_baselines_score_what_they_say_they_predict(splits):
    from seqlab.tasks.text import ClassifyTask, LMTask, TagTask

    train, test = splits["classify"]["train"], splits["classify"]["test"]
    task = ClassifyTask(tiny("classify"))
    task.fit(train)
    share = sum(r["label"] == "ham" for r in test) / len(test)  # ham is the majority in training
    assert task.baseline(task.encode(train), task.encode(test))["accuracy"] == pytest.approx(share)
    tagger = TagTask(tiny("tag"))
    tagger.fit(splits["tag"]["train"])
    seen = tagger.encode(splits["tag"]["train"])
    assert tagger.baseline(seen, seen)["accuracy"] > 0.9  # on its own training words, nearly always right
    lm = LMTask(tiny("lm"))
    lm.fit(splits["lm"]["train"])
    uniform = math.log(lm.tokenizer.vocab_size)
    val = lm.encode(splits["lm"]["val"])
    assert 2.0 < lm.baseline(lm.encode(splits["lm"]["train"]), val)["loss"] < uniform


def test_a_report_shows_only_the_configuration_keys_that_apply(reports):
    page = reports["tag"]
    keys = re.findall(r"<td><code>([a-z_.]+)</code></td>", page)
    assert "model.encoder" in keys and "train.max_steps" in keys
    assert not {"data.n_mels", "data.horizon", "data.pitch_low", "model.nade_hidden"} & set(keys)
    assert len(keys) < 40  # of about 110 in config.yaml


def test_the_report_renders_in_headless_chromium(reports, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    from PIL import Image

    report = reports["root"] / "tag" / "report.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report.as_uri())
        headings = page.locator("h2").all_inner_texts()
        drawn = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert (
        headings[:3] == ["Held-out metrics", "Training", "Tagged sentences"] and "Configuration" in headings
    )
    assert drawn and all(url.startswith("file:") or url.startswith("data:") for url in requests)
    image = Image.open(shot).convert("RGB")
    assert image.width == 1100 and image.height > 1200  # the whole page, its sections one under another
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 50  # text and plots, not a blank page


def test_the_demo_index_shows_each_stop_beside_its_baseline():
    from seqlab.demo import _index

    stop = {"name": "sentiment", "task": "classify", "dataset": "fine-food", "encoder": "gru"}
    stop |= {"run_dir": "runs/demo/sentiment", "metrics": {"accuracy": 0.812, "f1_macro": 0.75}}
    stop["baseline"] = {"what": "the majority class", "accuracy": 0.658, "f1_macro": 0.397}
    page = _index([stop, {**stop, "name": "no baseline", "baseline": None}])
    assert '<a href="sentiment/report.html">sentiment</a>' in page
    assert (
        "<td>accuracy 0.812, f1_macro 0.750</td><td>the majority class: accuracy 0.658, f1_macro 0.397</td>"
        in page
    )
    assert "<td>accuracy 0.812, f1_macro 0.750</td><td></td>" in page


def test_the_demo_table_folds_its_cells_at_80_columns():
    from rich.console import Console

    from seqlab.demo import results_table

    stop = {"task": "classify", "dataset": "amazon-fine-food-reviews", "encoder": "transformer"}
    stop |= {"run_dir": "runs/demo/sentiment-of-reviews", "metrics": {"accuracy": 0.812, "f1_macro": 0.75}}
    stop["baseline"] = {"what": "the majority class", "accuracy": 0.658, "f1_macro": 0.397}
    console = Console(width=80, record=True)
    console.print(results_table([stop, {**stop, "task": "tag", "baseline": None}]))
    shown = console.export_text()
    assert max(len(line) for line in shown.splitlines()) <= 80 and "…" not in shown
    assert "majority" in shown and "0.658" in shown
    narrow = Console(width=80, record=True)
    narrow.print(results_table([stop], narrow.width))  # one metric per stop, whole words in its cells
    shown = narrow.export_text()
    assert (
        max(len(line) for line in shown.splitlines()) <= 80 and "0.812" in shown and "f1_macro" not in shown
    )
    assert "accuracy 0.658" in shown and "run directory" not in shown
