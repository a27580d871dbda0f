"""`seqlab serve`: trained models over HTTP, FastAPI on uvicorn.

One route per verb, the same for every model (`POST /v1/models/{model}/predict`, `/generate`,
`/translate`, `/transcribe`, `/speak`, `/forecast`), each answering only for models whose task offers
that verb; `/v1/models` lists them; `/health` and `/ready` for an orchestrator; `/` a playground page.

A model runs one forward pass at a time, and the requests for it that arrive while it is busy share its
next pass (`Batcher`, continuous batching), up to `Limits.max_batch` texts; `Limits.batch_wait_ms` also
holds a pass that many milliseconds for company. Every limit answers with a
JSON error, never a 500: a body over `max_body_bytes` 413, a malformed or out-of-range body 422, a full
queue or too many requests in flight 429, a request past `timeout_s` 504, a missing API key 401. Every
answer says in its `Server-Timing` header how long the model worked on it and how long the app took.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations, local classes among them.
import asyncio
import gc
import io
import json
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from seqlab.config import MAX_NEW_TOKENS
from seqlab.errors import UserError
from seqlab.runtime import Exported, Sampling
from seqlab.runtime.predictions import FILES, VALUE_INPUTS

VERBS = ("predict", "generate", "translate", "transcribe", "speak", "forecast", "draw", "compose")
# `predict` takes typed texts, as `seqlab predict --text` does: not for the records of these shapes, nor for
# inputs that are not text
NOT_TYPED = ("stream", "series", "scenes")
TYPED_INPUTS = ("auto", "text", "dna", "protein")


@dataclass(frozen=True)
class Limits:
    """What one server accepts, and how it batches."""

    max_body_bytes: int = 10 * 2**20
    max_texts: int = 64  # texts in one request
    max_chars: int = 20_000  # characters in one text
    max_new_tokens: int = 1_000  # tokens one generation request may ask for (at most MAX_NEW_TOKENS)
    max_in_flight: int = 512  # requests being answered at once, over all models
    max_queue: int = 256  # requests waiting for one model
    timeout_s: float = 30.0
    batch_wait_ms: float = 0.0  # how long a pass waits for more requests than those already queued
    max_batch: int = 64  # texts in one forward pass; 1 turns batching off


class Busy(Exception):
    """A queue or the server is full: 429."""


MODEL_SECONDS: ContextVar[list[float]] = ContextVar("model_seconds")  # the model's time on this request,
# counted where it runs and reported by `Guard`


def timed(work: Callable, *args) -> tuple[Any, float]:
    """`work(*args)` and the seconds it took."""
    started = time.perf_counter()
    return work(*args), time.perf_counter() - started


def read_server_timing(header: str) -> dict[str, float]:
    """A Server-Timing header's durations in milliseconds, by name: {"model": …, "app": …}."""
    return {name.strip(): float(ms) for name, ms in (part.split(";dur=") for part in header.split(","))}


def count_model_time(seconds: float) -> None:
    """Add `seconds` of model work to the request being answered (none outside a request)."""
    spent = MODEL_SECONDS.get(None)
    if spent is not None:
        spent[0] += seconds


class Batcher:
    """Requests for one model share calls of `work`, which maps a list of items to a list of results in
    order; one call runs at a time, on the model's worker thread. A call takes every request queued when it
    starts (those that came while the last call ran), and waits `batch_wait_ms` for more, up to
    `max_batch` items."""

    def __init__(self, work: Callable[[list], list], limits: Limits, worker: ThreadPoolExecutor):
        self.work, self.limits, self.worker = work, limits, worker
        self.queue: asyncio.Queue | None = None
        self.passes = 0  # calls of `work` so far (what batching saves)

    async def submit(self, items: list) -> list:
        if self.queue is None:
            self.queue = asyncio.Queue(maxsize=self.limits.max_queue)
            asyncio.get_running_loop().create_task(self._serve())
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait((items, future))
        except asyncio.QueueFull:
            raise Busy(f"the model's queue is full ({self.limits.max_queue} requests); try again") from None
        results, seconds = await future
        count_model_time(seconds)  # the whole pass it shared
        return results

    async def _serve(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            count, deadline = len(batch[0][0]), loop.time() + self.limits.batch_wait_ms / 1000
            while count < self.limits.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
                count += len(batch[-1][0])
            while count < self.limits.max_batch and (left := deadline - loop.time()) > 0:
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
                count += len(batch[-1][0])
            live = [(items, future) for items, future in batch if not future.done()]  # timed-out ones gone
            if not live:
                continue
            try:
                self.passes += 1
                items = [item for items, _ in live for item in items]
                results, seconds = await loop.run_in_executor(self.worker, timed, self.work, items)
            except Exception as exc:  # noqa: BLE001  (each waiting request hears it)
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            start = 0
            for items, future in live:
                if not future.done():
                    future.set_result((results[start : start + len(items)], seconds))
                start += len(items)


# -- the models ---------------------------------------------------------------------------------


@dataclass
class Served:
    """One model: a trained pipeline (PyTorch) or an export (`seqlab.runtime`, ONNX Runtime), the verbs it
    answers, and its batcher."""

    name: str
    pipeline: Any
    batcher: Batcher
    worker: ThreadPoolExecutor  # the one thread that runs the model: a model's memory stays in one thread's
    # allocator arena, where a pool of threads would each grow their own
    lock: asyncio.Lock | None = None  # generation and audio run one request at a time

    async def run(self, work: Callable, *args):
        """`work(*args)` on the model's thread."""
        result, seconds = await asyncio.get_running_loop().run_in_executor(self.worker, timed, work, *args)
        count_model_time(seconds)
        return result

    @property
    def exported(self) -> bool:
        return isinstance(self.pipeline, Exported)

    @property
    def data(self):
        """The run's data settings (data.*) as attributes."""
        return self.pipeline.data if self.exported else self.pipeline.config.data

    @property
    def task(self) -> str:
        return self.pipeline.task if self.exported else self.pipeline.config.task

    @property
    def verbs(self) -> list[str]:
        """Its routes: `predict` for typed texts, `files` for uploaded files, and its task's own verbs."""
        files = self.task in FILES or (  # tasks that read files their own way, models of numbers
            self.task in ("classify", "seq2seq") and self.data.input in VALUE_INPUTS
        )
        if self.exported:
            exported = self.pipeline
            verbs = [v for v in exported.verbs if v != "predict" or exported.reads_texts]
            return verbs + (["files"] if files and "predict" in exported.verbs else [])
        task, data = self.pipeline.task, self.pipeline.config.data
        typed = task.records not in NOT_TYPED and task.input != "audio" and data.input in TYPED_INPUTS
        return (
            (["predict"] if typed else [])
            + [verb for verb in VERBS[1:] if verb in task.verbs]
            + (["files"] if files else [])
        )

    def describe(self) -> dict:
        if self.exported:
            config, labels, source = (
                self.pipeline.config,
                self.pipeline.labels,
                {"export": str(self.pipeline.path)},
            )
        else:
            config = self.pipeline.config.to_dict()
            labels = getattr(self.pipeline.task, "labels", None) or []
            source = {"run_dir": str(self.pipeline.run_dir)}
        return {
            "name": self.name,
            "task": self.task,
            "encoder": config["model"]["encoder"],
            "input": config["data"]["input"],
            "verbs": self.verbs,
            "backend": "onnxruntime" if self.exported else "pytorch",
            **source,
            "labels": list(labels),
        }

    def translate(self, texts: list[str], settings) -> list[str]:
        """The pipeline's or the runtime's targets for `texts`; the runtime decodes without beams."""
        if not self.exported:
            return self.pipeline.translate(texts, settings.check())
        if settings.num_beams > 1:
            raise UserError("beam search runs with the run directory; an export decodes greedily or samples")
        s = settings
        return self.pipeline.translate(
            texts, Sampling(s.max_new_tokens, s.temperature, s.top_k, s.top_p, s.seed)
        )

    def generate(self, prompt: str, settings, num_samples: int, on_text=None) -> list[str]:
        """Samples after `prompt`, as the pipeline's or the runtime's `generate` writes them."""
        if not self.exported:
            return self.pipeline.generate(prompt, settings, num_samples, on_text)
        return self.pipeline.generate(prompt, _sampling(settings), num_samples, on_text)

    def transcribe(self, paths: list[Path], beam: int) -> list[str]:
        """The transcript of every audio file (folders and manifests read as `seqlab transcribe` reads
        them); the runtime takes the best path, the pipeline searches `beam` prefixes."""
        if self.exported:
            if beam > 1:
                raise UserError("beam search runs with the run directory; an export takes the best path")
            return self.pipeline.transcribe(paths)
        from seqlab.data.audio import read_clips

        records = [record for path in paths for record in read_clips(path, labelled=False)]
        return self.pipeline.transcribe(records, beam)

    def files(self, paths: list[Path], beam: int) -> list[dict]:
        """What the model makes of files, the rows `seqlab predict --data FILE` prints: labels with their
        probabilities, captions (`beam` > 1: beam search, with the run directory), anomaly scores, walkers'
        next positions."""
        if self.exported:
            if beam > 1:
                raise UserError("beam search runs with the run directory; an export captions greedily")
            return self.pipeline.predict([str(path) for path in paths])
        from seqlab.data.splits import read_records
        from seqlab.generation import GenerationConfig

        pipeline = self.pipeline
        config, settings = pipeline.config, GenerationConfig(temperature=0, num_beams=beam)
        records = [record for path in paths for record in read_records(config.task, path, config.data, False)]
        return list(pipeline.task.prediction_rows(pipeline, records, settings))

    def forecast(self, path: Path, horizon: int | None) -> list[dict]:
        """The rows `seqlab forecast` writes for the series of a CSV file."""
        if self.exported:
            return self.pipeline.forecast(path, horizon)
        from seqlab.data.datasets import retarget
        from seqlab.data.splits import read_records

        config = self.pipeline.config
        series = read_records(config.task, path, retarget(config.data, str(path)))
        return self.pipeline.forecast(series, horizon)


def _sampling(settings) -> Sampling:
    """The runtime's decoding settings for a GenerationConfig's."""
    s = settings
    return Sampling(s.max_new_tokens, s.temperature, s.top_k, s.top_p, s.seed)


def load_models(sources: list[str], limits: Limits, threads: int | None = None) -> dict[str, Served]:
    """Each run directory or export folder as a served model named by its folder (NAME=PATH names it);
    `threads`: an export's ONNX Runtime threads (PyTorch's are the process's)."""
    from seqlab import runtime
    from seqlab.pipeline import load

    models: dict[str, Served] = {}
    for spec in sources:
        name, _, path = spec.rpartition("=") if "=" in spec else ("", "", spec)
        name = name or Path(path).resolve().name
        if name in models:
            raise UserError(f"two models are named {name}: name them, NAME=PATH")
        is_export = (Path(path) / "export.json").is_file()
        pipeline = runtime.load(path, threads) if is_export else load(path)
        if is_export and not pipeline.verbs:
            raise UserError(
                f"{path}: the runtime offers no verb for an export of task {pipeline.task} "
                f"(data.input={pipeline.data.input}); serve its run directory"
            )
        predict = _exported_predictor(pipeline) if is_export else _predictor(pipeline)
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"seqlab-{name}")
        models[name] = Served(name, pipeline, Batcher(predict, limits, worker), worker)
    return models


def _exported_predictor(exported) -> Callable[[list], list]:
    """Texts → one prediction row each, from an export (which takes no decoding settings)."""
    return lambda items: exported.predict([text for text, _ in items])


def _predictor(pipeline) -> Callable[[list], list]:
    """Texts → one prediction row each (the rows `seqlab predict` prints), in one pass over all alike."""

    def predict(items: list[tuple[str, Any]]) -> list:
        """(text, decoding settings) → rows; texts with other settings (beam, length …) run apart."""
        rows: list = [None] * len(items)
        alike: dict[str, list[int]] = {}
        for n, (_, settings) in enumerate(items):
            alike.setdefault(repr(settings), []).append(n)
        for indices in alike.values():
            records = pipeline.task.records_from_texts([items[n][0] for n in indices])
            for n, row in zip(
                indices, pipeline.task.prediction_rows(pipeline, records, items[indices[0]][1])
            ):
                rows[n] = row
        return rows

    return predict


# -- the application ----------------------------------------------------------------------------------


class Guard:
    """ASGI middleware that checks what applies before any route runs: the body's size (by its
    Content-Length, and as it arrives), the API key on /v1/ routes, the requests in flight, and the time an
    answer may take."""

    def __init__(self, app, limits: Limits, api_key: str | None):
        self.app, self.limits, self.api_key, self.in_flight = app, limits, api_key, 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limits, headers = self.limits, dict(scope["headers"])
        too_large_message = f"the body is larger than {limits.max_body_bytes:,} bytes"
        length = headers.get(b"content-length", b"0")
        if not length.isdigit() or int(length) > limits.max_body_bytes:
            return await _problem(send, 413, too_large_message)
        if self.api_key and scope["path"].startswith("/v1/"):
            given = headers.get(b"x-api-key") or headers.get(b"authorization", b"").removeprefix(b"Bearer ")
            if not secrets.compare_digest(given, self.api_key.encode()):
                message = "a valid API key is needed: X-API-Key: KEY or Authorization: Bearer KEY"
                return await _problem(send, 401, message)
        if self.in_flight >= limits.max_in_flight:
            return await _problem(send, 429, f"{limits.max_in_flight} requests are being answered; try again")
        received, started, too_large = 0, False, False

        async def counted_receive():
            """The body as it arrives; past the limit, its end (the app's answer is then a 413)."""
            nonlocal received, too_large
            message = await receive()
            received += len(message.get("body", b""))
            if received > limits.max_body_bytes:
                too_large = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def watched_send(message) -> None:
            nonlocal started
            if too_large:  # whatever the app made of a body cut short, the answer is a 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _problem(send, 413, too_large_message)
                return
            if message["type"] == "http.response.start":
                started, app_ms = True, 1000 * (time.perf_counter() - began)
                timing = f"model;dur={1000 * spent[0]:.2f}, app;dur={app_ms:.2f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", timing)]}
            await send(message)

        self.in_flight += 1
        spent, began = [0.0], time.perf_counter()
        counting = MODEL_SECONDS.set(spent)  # the app's task starts from this context, and so shares `spent`
        try:
            await asyncio.wait_for(self.app(scope, counted_receive, watched_send), limits.timeout_s)
        except TimeoutError:
            if not started:
                await _problem(send, 504, f"no answer within {limits.timeout_s:g} s")
        finally:
            MODEL_SECONDS.reset(counting)
            self.in_flight -= 1


async def _problem(send, status: int, message: str) -> None:
    """A JSON error, sent straight through ASGI."""
    body = json.dumps({"error": {"status": status, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_app(models: dict[str, Served], limits: Limits = Limits(), api_key: str | None = None):
    """The FastAPI application serving `models`."""
    from fastapi import FastAPI, File, Form, Request, UploadFile
    from fastapi import Path as PathParameter
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
    from pydantic import BaseModel, Field

    from seqlab import __version__
    from seqlab.generation import GenerationConfig

    app = FastAPI(
        title="seqlab",
        version=__version__,
        description="Trained seqlab models: one route per verb, JSON in and out.",
    )

    class HTTPProblem(Exception):
        def __init__(self, status: int, message: str):
            self.status, self.message = status, message

    def problem(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": {"status": status, "message": message}}, status_code=status)

    @app.exception_handler(HTTPProblem)
    async def _problem(request: Request, exc: HTTPProblem):
        return problem(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return problem(422, f"{where}: {first.get('msg')}" if where else str(first.get("msg")))

    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError):
        return problem(422, str(exc))

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy):
        return problem(429, str(exc))

    app.add_middleware(Guard, limits=limits, api_key=api_key)

    def model(name: str, verb: str) -> Served:
        if name not in models:
            raise HTTPProblem(404, f"no model named {name}; served: {', '.join(models)}")
        served = models[name]
        if verb not in served.verbs:
            raise HTTPProblem(
                404,
                f"{name} ({served.task}) does not {verb}; it offers {', '.join(served.verbs) or 'nothing'}",
            )
        return served

    def serial(served: Served) -> asyncio.Lock:
        if served.lock is None:
            served.lock = asyncio.Lock()
        return served.lock

    Text = Field(min_length=1, max_length=limits.max_chars)
    ModelName = Annotated[
        str, PathParameter(description="a served model", json_schema_extra={"enum": list(models)})
    ]

    class Decoding(BaseModel):
        max_new_tokens: int = Field(200, ge=0, le=min(limits.max_new_tokens, MAX_NEW_TOKENS))
        temperature: float = Field(0.0, ge=0, allow_inf_nan=False)
        top_k: int | None = Field(None, ge=1)
        top_p: float | None = Field(None, gt=0, le=1)
        seed: int | None = Field(None, ge=0)
        beam: int = Field(1, ge=1, le=16)

        def settings(self) -> GenerationConfig:
            return GenerationConfig(
                self.max_new_tokens, self.temperature, self.top_k, self.top_p, self.seed, num_beams=self.beam
            )

    class Texts(Decoding):
        texts: list[str] = Field(min_length=1, max_length=limits.max_texts)

    class Prompt(Decoding):
        prompt: str = Field("", max_length=limits.max_chars)
        temperature: float = Field(1.0, ge=0, allow_inf_nan=False)
        num_samples: int = Field(1, ge=1, le=16)
        stream: bool = False  # server-sent events of the first sample

    class Speech(BaseModel):
        text: str = Text
        speaker: str | None = None

    class Drawing(BaseModel):
        label: str | None = Field(None, max_length=200)  # the class to draw; none: any
        count: int = Field(1, ge=1, le=16)
        seed: int | None = Field(None, ge=0, le=2**32 - 1)

    class Composing(BaseModel):
        pitches: list[int] = Field([60, 64, 67], max_length=128)  # the opening frame's MIDI pitches
        frames: int = Field(32, ge=1, le=1024)
        seed: int | None = Field(None, ge=0, le=2**32 - 1)

    def check_lengths(texts: list[str]) -> None:
        for n, text in enumerate(texts):
            if not text or len(text) > limits.max_chars:
                raise HTTPProblem(422, f"texts.{n}: between 1 and {limits.max_chars:,} characters")

    @app.get("/health", tags=["service"])
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", tags=["service"])
    async def ready() -> dict:
        return {"ready": True, "models": list(models)}

    @app.get("/v1/models", tags=["models"])
    async def list_models() -> dict:
        return {"models": [served.describe() for served in models.values()]}

    @app.post("/v1/models/{name}/predict", tags=["verbs"])
    async def predict(name: ModelName, body: Texts) -> dict:
        served = model(name, "predict")
        check_lengths(body.texts)
        settings = body.settings()
        rows = await served.batcher.submit([(text, settings) for text in body.texts])
        return {"model": name, "predictions": rows}

    @app.post("/v1/models/{name}/translate", tags=["verbs"])
    async def translate(name: ModelName, body: Texts) -> dict:
        served = model(name, "translate")
        check_lengths(body.texts)
        async with serial(served):
            outputs = await served.run(served.translate, body.texts, body.settings())
        return {"model": name, "translations": outputs}

    @app.post("/v1/models/{name}/generate", tags=["verbs"])
    async def generate(name: ModelName, body: Prompt):
        """The samples as JSON; with `"stream": true`, the first sample as server-sent events, one per
        piece of text (`data: {"text": …}`), then `data: [DONE]`."""
        served = model(name, "generate")
        settings = body.settings().check()
        if body.stream:
            return StreamingResponse(_streamed(served, body.prompt, settings), media_type="text/event-stream")
        async with serial(served):
            samples = await served.run(served.generate, body.prompt, settings, body.num_samples)
        return {"model": name, "prompt": body.prompt, "samples": samples}

    async def _streamed(served: Served, prompt: str, settings: GenerationConfig) -> AsyncIterator[str]:
        loop, pieces = asyncio.get_running_loop(), asyncio.Queue()

        def hear(piece: str) -> None:  # in the generating thread
            loop.call_soon_threadsafe(pieces.put_nowait, piece)

        async with serial(served):
            work = asyncio.ensure_future(served.run(served.generate, prompt, settings, 1, hear))
            while not (work.done() and pieces.empty()):
                getter = asyncio.ensure_future(pieces.get())
                await asyncio.wait({getter, work}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                elif getter.result():
                    yield f"data: {json.dumps({'text': getter.result()})}\n\n"
            if work.exception() is not None:
                yield f"data: {json.dumps({'error': str(work.exception())})}\n\n"
        yield "data: [DONE]\n\n"

    @app.post(
        "/v1/models/{name}/speak",
        tags=["verbs"],
        response_class=Response,
        responses={200: {"content": {"audio/wav": {}}}},
    )
    async def speak(name: ModelName, body: Speech) -> Response:
        import soundfile

        served = model(name, "speak")
        async with serial(served):
            (samples,) = await served.run(served.pipeline.speak, [body.text], body.speaker)
        wav = io.BytesIO()
        soundfile.write(wav, samples, served.data.sample_rate, format="WAV", subtype="PCM_16")
        return Response(wav.getvalue(), media_type="audio/wav")

    @app.post(
        "/v1/models/{name}/draw",
        tags=["verbs"],
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    async def draw(name: ModelName, body: Drawing) -> Response:
        """Images of a class (none: any) drawn pixel by pixel, side by side in one PNG."""
        from seqlab.data.images import png_bytes

        served = model(name, "draw")
        async with serial(served):
            images = await served.run(served.pipeline.draw, body.label, body.count, body.seed)
        return Response(png_bytes(images), media_type="image/png")

    @app.post(
        "/v1/models/{name}/compose",
        tags=["verbs"],
        response_class=Response,
        responses={200: {"content": {"audio/midi": {}}}},
    )
    async def compose(name: ModelName, body: Composing) -> Response:
        """A piano roll after an opening frame of MIDI pitches, composed frame by frame, as a MIDI file."""
        from seqlab.data.music import midi_bytes

        served = model(name, "compose")
        async with serial(served):
            roll = await served.run(served.pipeline.compose, body.pitches, body.frames, body.seed)
        return Response(midi_bytes(roll, served.data.pitch_low), media_type="audio/midi")

    @app.post("/v1/models/{name}/transcribe", tags=["verbs"])
    async def transcribe(
        name: ModelName,
        audio: Annotated[list[UploadFile], File()],
        beam: Annotated[int, Form(ge=1, le=64)] = 1,
    ) -> dict:
        served = model(name, "transcribe")
        with tempfile.TemporaryDirectory() as folder:
            paths = await _saved(audio, Path(folder), ".wav")
            async with serial(served):
                transcripts = await served.run(served.transcribe, paths, beam)
        names = [upload.filename for upload in audio]
        return {
            "model": name,
            "transcripts": [{"file": f, "transcript": t} for f, t in zip(names, transcripts)],
        }

    @app.post("/v1/models/{name}/files", tags=["verbs"])
    async def files(
        name: ModelName,
        file: Annotated[list[UploadFile], File()],
        beam: Annotated[int, Form(ge=1, le=16)] = 1,
    ) -> dict:
        """What a model of images, audio clips, series or scenes makes of uploaded files, the rows `seqlab
        predict --data FILE` prints: labels with their probabilities, captions (`beam` > 1: beam search),
        anomaly scores per point, walkers' next positions. A row of one image or clip names its file."""
        served = model(name, "files")
        with tempfile.TemporaryDirectory() as folder:
            paths = await _saved(file, Path(folder), "")
            rows = await served.run(served.files, paths, beam)
        names = {str(path): upload.filename for path, upload in zip(paths, file)}
        return {"model": name, "predictions": [_named(row, names) for row in rows]}

    @app.post("/v1/models/{name}/forecast", tags=["verbs"])
    async def forecast(
        name: ModelName,
        series: Annotated[UploadFile, File()],
        horizon: Annotated[int | None, Form(ge=1)] = None,
    ) -> dict:
        served = model(name, "forecast")
        with tempfile.TemporaryDirectory() as folder:
            (path,) = await _saved([series], Path(folder), ".csv")
            async with serial(served):
                rows = await served.run(served.forecast, path, horizon)
        return {"model": name, "forecasts": rows}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def playground() -> str:
        from seqlab.playground import page

        return page(api_key is not None)

    return app


def _named(row: dict, names: dict[str, str]) -> dict:
    """A row of one uploaded file, its saved path given as the name it was uploaded with."""
    if "path" not in row:
        return row
    return {**{k: v for k, v in row.items() if k != "path"}, "file": names.get(str(row["path"]), row["path"])}


async def _saved(uploads: list, folder: Path, suffix: str) -> list[Path]:
    """Uploaded files written to `folder`, each keeping its name's suffix (else `suffix`), for the readers
    that take paths."""
    paths = []
    for n, upload in enumerate(uploads):
        path = folder / f"{n}{Path(upload.filename or '').suffix or suffix}"
        path.write_bytes(await upload.read())
        paths.append(path)
    return paths


def serve(
    sources: list[str], host: str, port: int, limits: Limits, api_key: str | None, threads: int | None = None
) -> None:
    """Load the models, then answer until interrupted; `threads`: each model pass's (by default every
    core but one, which the event loop keeps for HTTP and JSON: a pass that took them all would wait for
    it, and it for the pass)."""
    import os

    import torch
    import uvicorn

    threads = threads or max(1, (os.cpu_count() or 1) - 1)
    torch.set_num_threads(threads)
    app = build_app(load_models(sources, limits, threads), limits, api_key)
    gc.freeze()  # the models and libraries loaded so far are never collected: a full collection then
    # scans only what requests made, instead of stalling every request in flight for a second
    uvicorn.run(app, host=host, port=port, log_level="warning")
