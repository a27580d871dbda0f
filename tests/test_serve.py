"""`seqlab serve`: the routes answer as the Python API does, requests share forward passes, and every
limit is a JSON error with its status, never a 500."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from conftest import tiny
from hypothesis import HealthCheck, given, settings

pytest.importorskip("fastapi")
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from seqlab.pipeline import fit, load  # noqa: E402
from seqlab.serve import Limits, build_app, load_models, read_server_timing  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory, spam_splits, conll_splits, shakespeare_splits, digits) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("served")
    made = {
        "spam": fit(tiny("classify", "gru"), folder / "spam", spam_splits),
        "ner": fit(tiny("tag", "gru"), folder / "ner", conll_splits),
        "shakespeare": fit(tiny("lm", "gru"), folder / "shakespeare", shakespeare_splits),
        "digits": fit(
            tiny("lm", "gru", **{"data.input": "image", "data.levels": 5}), folder / "digits", digits
        ),
    }
    return {name: pipeline.run_dir for name, pipeline in made.items()}


def _client(
    runs, limits: Limits | None = None, api_key: str | None = None, names=("spam", "ner", "shakespeare")
):
    limits = limits or Limits()
    models = load_models([f"{name}={runs[name]}" for name in names], limits)
    return TestClient(build_app(models, limits, api_key)), models


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    problem = response.json()["error"]
    assert problem["status"] == status
    return problem["message"]


def test_routes_answer_as_the_python_api_does(runs):
    client, _ = _client(runs)
    texts = ["WINNER!! claim your prize now", "see you at lunch"]
    answer = client.post("/v1/models/spam/predict", json={"texts": texts})
    predicted = answer.json()["predictions"]
    timing = read_server_timing(answer.headers["server-timing"])
    assert 0 < timing["model"] <= timing["app"]  # milliseconds
    expected = load(runs["spam"]).predict([{"text": t} for t in texts])
    assert [row["label"] for row in predicted] == [row["label"] for row in expected]
    assert predicted[0]["probabilities"] == pytest.approx(expected[0]["probabilities"], abs=1e-6)
    tagged = client.post("/v1/models/ner/predict", json={"texts": ["EU rejects German call"]}).json()
    assert tagged["predictions"][0]["tokens"] == ["EU", "rejects", "German", "call"]
    assert len(tagged["predictions"][0]["tags"]) == 4
    body = {"prompt": "ROMEO:", "max_new_tokens": 12, "temperature": 0, "num_samples": 2}
    generated = client.post("/v1/models/shakespeare/generate", json=body).json()["samples"]
    assert generated == load(runs["shakespeare"]).generate("ROMEO:", _greedy(12), 2)


def test_generation_streams_as_server_sent_events(runs):
    client, _ = _client(runs, names=("shakespeare",))
    body = {"prompt": "ROMEO:", "max_new_tokens": 16, "temperature": 0}
    whole = client.post("/v1/models/shakespeare/generate", json=body).json()["samples"][0]
    answer = client.post("/v1/models/shakespeare/generate", json={**body, "stream": True})
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in answer.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and len(events) > 2
    assert "".join(json.loads(event)["text"] for event in events[:-1]) == whole


def test_exports_are_served_by_onnx_runtime(runs, tmp_path):
    """An export folder beside a run directory: the same answers, from ONNX Runtime."""
    pytest.importorskip("onnxruntime")
    from seqlab.export import export

    records = {
        "spam": [{"text": "see you soon"}, {"text": "win a prize now"}],
        "shakespeare": ["ROMEO: " * 4],
    }
    for name, traced_on in records.items():
        export(load(runs[name]), tmp_path / name, traced_on)
    limits = Limits()
    models = load_models(
        [f"spam={runs['spam']}", f"spam-onnx={tmp_path / 'spam'}", str(tmp_path / "shakespeare")], limits
    )
    client = TestClient(build_app(models, limits))
    described = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert described["spam-onnx"]["backend"] == "onnxruntime" and described["spam"]["backend"] == "pytorch"
    assert described["spam-onnx"]["verbs"] == ["predict"] and described["shakespeare"]["verbs"] == [
        "generate"
    ]
    texts = {"texts": ["WINNER!! claim your prize now", "see you at lunch"]}
    onnx = client.post("/v1/models/spam-onnx/predict", json=texts).json()["predictions"]
    torch = client.post("/v1/models/spam/predict", json=texts).json()["predictions"]
    assert [row["label"] for row in onnx] == [row["label"] for row in torch]
    assert onnx[0]["probabilities"] == pytest.approx(torch[0]["probabilities"], abs=1e-5)
    body = {"prompt": "ROMEO:", "max_new_tokens": 12, "temperature": 0}
    generated = client.post("/v1/models/shakespeare/generate", json=body).json()["samples"]
    assert generated == load(runs["shakespeare"]).generate("ROMEO:", _greedy(12))
    streamed = client.post("/v1/models/shakespeare/generate", json={**body, "stream": True}).text
    pieces = [json.loads(line[6:])["text"] for line in streamed.splitlines() if line[6:].startswith("{")]
    assert "".join(pieces) == generated[0]


def test_exported_forecasters_and_recognisers_answer_uploads(listeners):
    """A CSV of series and a WAV file, answered by a run and by its export alike."""
    from conftest import shared

    models = [
        spec
        for name in ("direct", "ctc")
        for spec in (f"{name}={listeners[name][0].run_dir}", f"x-{name}={listeners[name][1]}")
    ]
    limits = Limits()
    client = TestClient(build_app(load_models(models, limits), limits))
    series = {"series": ("ett.csv", listeners["series"].read_bytes())}
    answers = [
        client.post(f"/v1/models/{m}direct/forecast", files=series, data={"horizon": "6"}) for m in ("", "x-")
    ]
    pytorch, onnx = (answer.json()["forecasts"] for answer in answers)
    assert len(onnx) == 7 * 6 and [row["ds"] for row in onnx] == [row["ds"] for row in pytorch]
    assert [row["q0.9"] for row in onnx] == pytest.approx([row["q0.9"] for row in pytorch], rel=1e-4)
    wav = {"audio": ("seven.wav", shared("free-spoken-digit", "recordings", "7_theo_0.wav").read_bytes())}
    heard = [
        client.post(f"/v1/models/{m}ctc/transcribe", files=wav).json()["transcripts"] for m in ("", "x-")
    ]
    assert heard[0] == heard[1] and heard[0][0]["file"] == "seven.wav"
    assert "best path" in _error(
        client.post("/v1/models/x-ctc/transcribe", files=wav, data={"beam": "4"}), 422
    )


def test_the_serve_command_leaves_a_core_to_http_unless_told(runs, monkeypatch, capsys):
    import gc
    import os

    import torch
    import uvicorn

    from seqlab.cli import main

    heard = {}

    def run(app, **options):
        heard.update(options, threads=torch.get_num_threads())

    monkeypatch.setattr(uvicorn, "run", run)
    before = torch.get_num_threads()
    try:
        assert main(["serve", str(runs["spam"]), "--port", "8123"]) == 0
        assert heard["threads"] == max(1, os.cpu_count() - 1) and heard["host"] == "127.0.0.1"
        assert main(["serve", str(runs["spam"]), "--threads", "3"]) == 0 and heard["threads"] == 3
    finally:
        torch.set_num_threads(before)
        gc.unfreeze()
    assert main(["serve", str(runs["spam"]), "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_image_models_answer_uploaded_images(digits, tmp_path):
    """An 8×8 digit classifier, its run and its export: PNG uploads in, labels with probabilities out, as
    `seqlab predict --image`."""
    import io

    import numpy as np
    from PIL import Image

    from seqlab.export import export

    run = fit(
        tiny("classify", "gru", **{"data.input": "image", "data.patch_size": 2}), tmp_path / "d", digits
    )
    export(run, tmp_path / "x", digits["val"])
    limits = Limits()
    client = TestClient(
        build_app(load_models([f"digits={run.run_dir}", f"x={tmp_path / 'x'}"], limits), limits)
    )
    assert [m["verbs"] for m in client.get("/v1/models").json()["models"]] == [["files"], ["files"]]
    pngs = []
    for record in digits["test"][:2]:
        png = io.BytesIO()
        Image.fromarray((record["image"][..., 0] * 255).astype(np.uint8), "L").save(png, format="PNG")
        pngs.append(("file", (f"{record['label']}.png", png.getvalue(), "image/png")))
    answers = [client.post(f"/v1/models/{name}/files", files=pngs) for name in ("digits", "x")]
    assert all(answer.status_code == 200 for answer in answers), answers[1].text
    pytorch, onnx = (answer.json()["predictions"] for answer in answers)
    assert [row["file"] for row in onnx] == [name for _, (name, _, _) in pngs]
    assert [row["label"] for row in onnx] == [row["label"] for row in pytorch]
    for got, expected in zip(onnx, pytorch):
        assert got["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-5)
    for name in ("digits", "x"):
        broken = client.post(
            f"/v1/models/{name}/files", files=[("file", ("x.png", b"not an image", "image/png"))]
        )
        assert broken.status_code == 422


def test_models_of_scenes_answer_uploaded_files(walkers, tmp_path):
    """A trajectory model, its run and its export: an ETH/UCY scene file in, each walker's next positions
    out, as `seqlab predict --data FILE` prints them."""
    from conftest import shared

    from seqlab.export import export

    run = fit(tiny("trajectory", "gru"), tmp_path / "walk", walkers)
    export(run, tmp_path / "x", walkers["val"])
    limits = Limits()
    with TestClient(
        build_app(load_models([f"walk={run.run_dir}", f"x={tmp_path / 'x'}"], limits), limits)
    ) as client:
        assert [m["verbs"] for m in client.get("/v1/models").json()["models"]] == [["files"], ["files"]]
        scene = shared("eth-ucy", "zara1", "test", "crowds_zara01.txt").read_bytes()
        answers = [
            client.post(f"/v1/models/{name}/files", files=[("file", ("zara.txt", scene, "text/plain"))])
            for name in ("walk", "x")
        ]
        pytorch, onnx = (answer.json()["predictions"] for answer in answers)
        assert len(onnx) == len(pytorch) > 0 and onnx[0].keys() == {"scene", "ped", "step", "x", "y"}
        assert [row["x"] for row in onnx] == pytest.approx([row["x"] for row in pytorch], abs=1e-4)
        empty = client.post("/v1/models/x/files", files=[("file", ("empty.txt", b"", "text/plain"))])
        assert empty.status_code == 422


def test_exports_of_questions_and_relations_answer_as_their_runs(
    pathquestion_splits, semeval_splits, tmp_path
):
    """A path-question model and a relation model, each served from its run and from its export: the
    same answers, paths and relations."""
    from conftest import PQ_KB

    from seqlab.export import export

    models = []
    for name, config, data in (
        ("paths", tiny("kgqa", "gru", **{"data.kb": PQ_KB}), pathquestion_splits),
        ("relations", tiny("relation", "gru"), semeval_splits),
    ):
        run = fit(config, tmp_path / name, data)
        export(run, tmp_path / f"x-{name}", data["val"])
        models += [f"{name}={run.run_dir}", f"x-{name}={tmp_path / f'x-{name}'}"]
    limits = Limits()
    with TestClient(build_app(load_models(models, limits), limits)) as client:  # one event loop
        asked = {
            "paths": [r["question"] for r in pathquestion_splits["test"][:3]],
            "relations": ["The <e1>fire</e1> was caused by a <e2>candle</e2> .", "<e1>A</e1> b <e2>c</e2>"],
        }
        for name, texts in asked.items():
            pytorch, onnx = (
                client.post(f"/v1/models/{m}/predict", json={"texts": texts}).json()["predictions"]
                for m in (name, f"x-{name}")
            )
            assert [row.get("label", row.get("answer")) for row in onnx] == [
                row.get("label", row.get("answer")) for row in pytorch
            ]
            assert [row.get("path") for row in onnx] == [row.get("path") for row in pytorch]
        unmarked = client.post("/v1/models/x-relations/predict", json={"texts": ["no entities"]})
        assert "mark both entities" in _error(unmarked, 422)


def _greedy(tokens: int):
    from seqlab.generation import GenerationConfig

    return GenerationConfig(max_new_tokens=tokens, temperature=0)


def test_service_routes_and_the_schema(runs):
    client, _ = _client(runs)
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json()["models"] == ["spam", "ner", "shakespeare"]
    listed = {m["name"]: m for m in client.get("/v1/models").json()["models"]}
    assert listed["spam"]["verbs"] == ["predict"] and listed["shakespeare"]["verbs"] == ["generate"]
    assert listed["spam"]["labels"] == ["ham", "spam"]
    paths = client.get("/openapi.json").json()["paths"]
    assert {f"/v1/models/{{name}}/{verb}" for verb in ("predict", "generate", "transcribe")} <= set(paths)
    page = client.get("/")
    assert (
        page.status_code == 200
        and "seqlab playground" in page.text
        and "http" not in page.text.split("<script")[0]
    )


def test_requests_arriving_together_share_forward_passes(runs):
    async def together(limits: Limits) -> tuple[int, list[str]]:
        models = load_models([str(runs["spam"])], limits)
        app = build_app(models, limits)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            texts = [f"call now to claim prize {i}" for i in range(24)]
            answers = await asyncio.gather(
                *(client.post("/v1/models/spam/predict", json={"texts": [t]}) for t in texts)
            )
        labels = [a.json()["predictions"][0]["label"] for a in answers]
        return next(iter(models.values())).batcher.passes, labels

    batched, labels = asyncio.run(together(Limits(batch_wait_ms=50, max_batch=64)))
    unbatched, same = asyncio.run(together(Limits(max_batch=1, batch_wait_ms=0)))
    assert unbatched == 24 and batched < 24 and labels == same


def test_requests_that_come_while_the_model_is_busy_share_its_next_pass(runs):
    """Continuous batching, no wait: six requests at once take one pass, or two where the first started
    before the others were queued; never one each."""
    app, batcher = _slowed(runs, Limits(), 0.2)
    assert _crowd(app, 6) == [200] * 6
    assert batcher.passes <= 2


def test_bad_requests_are_json_errors_with_their_status(runs):
    client, _ = _client(runs, Limits(max_texts=4, max_chars=50, max_body_bytes=2_000))
    assert "texts" in _error(client.post("/v1/models/spam/predict", json={"texts": []}), 422)
    assert "texts" in _error(client.post("/v1/models/spam/predict", json={"texts": ["a"] * 5}), 422)
    assert "texts.0" in _error(client.post("/v1/models/spam/predict", json={"texts": ["x" * 51]}), 422)
    assert "texts" in _error(client.post("/v1/models/spam/predict", json={"text": "hi"}), 422)
    _error(
        client.post(
            "/v1/models/spam/predict", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    huge = {"texts": ["y" * 40] * 4, "pad": "z" * 3_000}
    assert "larger than 2,000 bytes" in _error(client.post("/v1/models/spam/predict", json=huge), 413)
    chunks = (b'{"texts": ["' + b"y" * 1_500, b"y" * 1_500 + b'"]}')  # no Content-Length: counted as it comes
    chunked = client.post(
        "/v1/models/spam/predict", content=iter(chunks), headers={"content-type": "application/json"}
    )
    assert "larger than 2,000 bytes" in _error(chunked, 413)
    body = {"prompt": "A", "max_new_tokens": 10**9}
    assert "max_new_tokens" in _error(client.post("/v1/models/shakespeare/generate", json=body), 422)
    body = {"prompt": "A", "temperature": float("nan")}
    _error(
        client.post(
            "/v1/models/shakespeare/generate",
            content=b'{"prompt": "A", "temperature": NaN}',
            headers={"content-type": "application/json"},
        ),
        422,
    )
    assert "no model named cat" in _error(client.post("/v1/models/cat/predict", json={"texts": ["a"]}), 404)
    assert "does not generate" in _error(client.post("/v1/models/spam/generate", json={"prompt": "a"}), 404)
    assert "does not predict" in _error(
        client.post("/v1/models/shakespeare/predict", json={"texts": ["a"]}), 404
    )


def test_an_api_key_guards_the_models_but_not_the_health_checks(runs):
    client, _ = _client(runs, api_key="s3cret", names=("spam",))
    assert "API key" in _error(client.get("/v1/models"), 401)
    assert "API key" in _error(
        client.post("/v1/models/spam/predict", json={"texts": ["a"]}, headers={"X-API-Key": "no"}), 401
    )
    assert client.get("/v1/models", headers={"X-API-Key": "s3cret"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 200


def _slowed(runs, limits: Limits, seconds: float):
    """An app whose model takes `seconds` over every pass, and the model's batcher."""
    models = load_models([f"spam={runs['spam']}"], limits)
    batcher = models["spam"].batcher
    work = batcher.work
    batcher.work = lambda items: time.sleep(seconds) or work(items)
    return build_app(models, limits), batcher


def _crowd(app, count: int) -> list[int]:
    async def crowd():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            return await asyncio.gather(
                *(client.post("/v1/models/spam/predict", json={"texts": [f"text {i}"]}) for i in range(count))
            )

    return sorted(answer.status_code for answer in asyncio.run(crowd()))


def test_a_full_queue_is_429_and_a_slow_answer_504(runs):
    statuses = _crowd(_slowed(runs, Limits(max_queue=1, max_batch=1), 0.1)[0], 6)
    assert statuses[0] == 200 and statuses[-1] == 429
    assert _crowd(_slowed(runs, Limits(timeout_s=0.2), 1.0)[0], 1) == [504]


def test_the_playground_works_in_headless_chromium(runs, tmp_path):
    """A real server on a free loopback port, and a real browser filling the playground's forms."""
    import shutil
    import socket
    import threading

    import uvicorn

    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed: apt-get install chromium")
    from PIL import Image

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limits = Limits()
    names = ("spam", "ner", "shakespeare", "digits")
    app = build_app(load_models([f"{n}={runs[n]}" for n in names], limits), limits)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
            )
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            outside: list[str] = []
            page.on(
                "request",
                lambda r: (
                    outside.append(r.url)
                    if not r.url.startswith((f"http://127.0.0.1:{port}", "blob:"))  # a drawing the page holds
                    else None
                ),
            )
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#model-spam")
            page.fill("#model-spam textarea", "WINNER!! claim your prize\nsee you at lunch")
            page.click("#model-spam button")
            page.wait_for_selector("#model-spam .prediction >> nth=1")
            spam = page.locator("#model-spam .prediction").all_inner_texts()
            page.fill("#model-ner textarea", "EU rejects German call")
            page.click("#model-ner button")
            page.wait_for_selector("#model-ner .tok")
            tokens = page.locator("#model-ner .tok").all_inner_texts()
            page.fill("#model-shakespeare input", "ROMEO:")
            page.click("#model-shakespeare button")
            page.wait_for_function(
                "document.querySelector('#model-shakespeare .generated')?.textContent.length > 20"
            )
            page.fill("#model-digits input", "3")
            page.click("#model-digits button")
            page.wait_for_function("document.querySelector('#model-digits img.drawn')?.naturalWidth > 0")
            drawn = page.eval_on_selector(
                "#model-digits img.drawn", "img => [img.naturalWidth, img.naturalHeight]"
            )
            shot = tmp_path / "playground.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert len(spam) == 2 and all(label in spam[0] for label in ("ham", "spam"))
    assert tokens == ["EU", "rejects", "German", "call"] and not outside
    assert drawn == [4 * 8 + 3, 8]  # four drawn digits side by side
    image = Image.open(shot).convert("RGB")
    assert image.width == 1000 and len(image.getcolors(maxcolors=1 << 20) or []) > 30  # text and bars drawn


schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture(scope="module")
def api_schema(runs):
    limits = Limits(max_texts=8, max_chars=200, timeout_s=20)
    names = ("spam", "ner", "shakespeare", "digits")
    app = build_app(load_models([f"{n}={runs[n]}" for n in names], limits), limits)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_request_the_schema_allows_gets_a_server_error(api_schema):
    """Requests made up from the OpenAPI schema (schemathesis), 25 per route: answers, or JSON errors with
    their status, never a 5xx."""
    calls = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def answers(case):
            nonlocal calls
            response = case.call()
            calls += 1
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
            if response.status_code >= 400 and case.formatted_path.startswith("/v1/"):
                assert response.json()["error"]["status"] == response.status_code

        answers()
    assert calls >= 100


def test_drawing_and_composing_models_answer_with_files(digits, chorales, tmp_path):
    """An image model draws PNG images and a piano-roll model composes MIDI, from their runs and their
    exports alike; a class the model never saw is a 422."""
    import io

    import pretty_midi
    from PIL import Image

    from seqlab.export import export

    models = []
    for name, config, data in (
        ("digits", tiny("lm", "gru", **{"data.input": "image", "data.levels": 5}), digits),
        ("bach", tiny("lm", "gru", **{"data.input": "music", "model.bidirectional": False}), chorales),
    ):
        run = fit(config, tmp_path / name, data)
        export(run, tmp_path / f"x-{name}", data["val"])
        models += [f"{name}={run.run_dir}", f"x-{name}={tmp_path / f'x-{name}'}"]
    limits = Limits()
    with TestClient(build_app(load_models(models, limits), limits)) as client:
        verbs = {m["name"]: m["verbs"] for m in client.get("/v1/models").json()["models"]}
        assert verbs == {"digits": ["draw"], "x-digits": ["draw"], "bach": ["compose"], "x-bach": ["compose"]}
        for name in ("digits", "x-digits"):
            drawn = client.post(f"/v1/models/{name}/draw", json={"label": "3", "count": 2, "seed": 0})
            assert drawn.headers["content-type"] == "image/png"
            assert Image.open(io.BytesIO(drawn.content)).size == (2 * 8 + 1, 8)
            assert "class 'x' is not one" in _error(
                client.post(f"/v1/models/{name}/draw", json={"label": "x"}), 422
            )
        for name in ("bach", "x-bach"):
            body = {"pitches": [60, 64, 67], "frames": 16, "seed": 1}
            composed = [client.post(f"/v1/models/{name}/compose", json=body).content for _ in range(2)]
            assert composed[0] == composed[1]  # the same seed, the same piece
            midi = pretty_midi.PrettyMIDI(io.BytesIO(composed[0]))
            assert {60, 64, 67} <= {note.pitch for note in midi.instruments[0].notes}
