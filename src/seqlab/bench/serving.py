"""`seqlab bench serve`: the server measured on loopback, beside itself unbatched and beside LitServe.

One classifier (a GRU trained on SMS Spam) behind three servers in turn, each in a process of its own:
`seqlab serve` with dynamic batching, `seqlab serve --max-batch 1` (none), and LitServe with its
batching on (benchmarks/litserve_peer.py). An async client (aiohttp) keeps 1, 8 and 32 requests in flight, one
text each, for a fixed time, and reports requests per second and latency percentiles; the whole is
repeated and the ratios of each repeat are shown with their spread. Then: the server's overhead per
request at one client (its latency minus the model's own time), a 60-second load at 32 clients
(errors, and the server's memory after warm-up and at the end), and schemathesis's made-up requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from seqlab.bench.measurements import table_row
from seqlab.errors import UserError

CLIENTS = (1, 8, 32)
TEXTS = [
    "WINNER!! As a valued network customer you have been selected to receive a prize reward",
    "Sorry, I'll call later in the meeting",
    "Ok lar... Joking wif u oni...",
    "URGENT! You have won a 1 week FREE membership in our prize Jackpot",
]


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(command: list[str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(  # a session of its own: stopping it stops the workers it starts too
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the server did not start: {' '.join(command)}")


def _stop(process: subprocess.Popen) -> None:
    """The server and every process it started (LitServe's workers outlive their parent otherwise)."""
    for signal_number, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal_number)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):  # workers that ignored the parent's end
        os.killpg(process.pid, signal.SIGKILL)


async def _load(url: str, clients: int, seconds: float) -> dict:
    """`clients` loops each sending one request after another for `seconds`, over aiohttp (whose C parser
    keeps the client's own share of each request's time small beside the server's)."""
    import aiohttp

    bodies = [json.dumps({"texts": [text]}).encode() for text in TEXTS]
    headers = {"content-type": "application/json"}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        stop = time.monotonic() + seconds

        async def one_client(n: int) -> None:
            i = n
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    async with session.post(url, data=bodies[i % len(bodies)], headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    status = 0
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
                i += 1

        began = time.monotonic()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 2),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "errors": sum(count for status, count in statuses.items() if status != 200),
    }


def _servers(run_dir: Path, root: Path) -> dict[str, tuple[list[str], str]]:
    """name → (command with {port}, the route a request goes to)."""
    seqlab = [sys.executable, "-m", "seqlab", "serve", f"spam={run_dir}", "--port", "{port}"]
    return {
        "seqlab, batched": (seqlab, "/v1/models/spam/predict"),
        "seqlab, unbatched": (
            [*seqlab, "--max-batch", "1", "--batch-wait-ms", "0"],
            "/v1/models/spam/predict",
        ),
        "LitServe, batched": (
            [sys.executable, str(root / "benchmarks" / "litserve_peer.py"), str(run_dir), "{port}"],
            "/predict",
        ),
    }


def measure_load(run_dir: Path, root: Path, seconds: float, repeats: int) -> list[dict]:
    """Every server at every client count, `repeats` times, servers taking turns."""
    rows = []
    for repeat in range(repeats):
        for name, (command, route) in _servers(run_dir, root).items():
            port = _port()
            process = _start([part.replace("{port}", str(port)) for part in command], port)
            try:
                asyncio.run(_load(f"http://127.0.0.1:{port}{route}", 4, 2))  # warm-up
                for clients in CLIENTS:
                    row = asyncio.run(_load(f"http://127.0.0.1:{port}{route}", clients, seconds))
                    rows.append({"server": name, "repeat": repeat, **row})
            finally:
                _stop(process)
    return rows


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def soak(run_dir: Path, seconds: float = 60, warm_up: float = 10) -> dict:
    """32 clients for `seconds` on the batched server: errors, and its memory after warm-up and at the end."""
    port = _port()
    command = [sys.executable, "-m", "seqlab", "serve", f"spam={run_dir}", "--port", str(port)]
    process = _start(command, port)
    url = f"http://127.0.0.1:{port}/v1/models/spam/predict"
    try:
        asyncio.run(_load(url, 32, warm_up))
        before = _rss_kib(process.pid)
        row = asyncio.run(_load(url, 32, seconds))
        after = _rss_kib(process.pid)
    finally:
        _stop(process)
    return {**row, "seconds": seconds, "rss_after_warm_up_kib": before, "rss_at_end_kib": after}


def overhead(run_dir: Path, root: Path, calls: int = 300) -> dict:
    """At one client: the unbatched server's median latency; the model's median time on a request in the
    server (its Server-Timing) and alone in this process (the prediction rows of one text); and the
    server's own share of a request, its app time minus its model time."""
    from seqlab.pipeline import load

    pipeline = load(run_dir)
    own = []
    for i in range(calls):
        records = pipeline.task.records_from_texts([TEXTS[i % len(TEXTS)]])
        started = time.perf_counter()
        list(pipeline.task.prediction_rows(pipeline, records))
        own.append(time.perf_counter() - started)
    command, route = _servers(run_dir, root)["seqlab, unbatched"]
    port = _port()
    process = _start([part.replace("{port}", str(port)) for part in command], port)
    try:
        asyncio.run(_load(f"http://127.0.0.1:{port}{route}", 1, 2))
        served = asyncio.run(_load(f"http://127.0.0.1:{port}{route}", 1, 15))
        inside = asyncio.run(_server_timings(f"http://127.0.0.1:{port}{route}", calls))
    finally:
        _stop(process)
    server_model_ms = statistics.median(m for m, _ in inside)
    return {
        "model_ms": round(1000 * statistics.median(own), 2),
        "served_p50_ms": served["p50_ms"],
        "server_model_ms": round(server_model_ms, 2),
        "overhead_ms": round(served["p50_ms"] - server_model_ms, 2),
        "server_overhead_ms": round(statistics.median(app - m for m, app in inside), 2),
    }


async def _server_timings(url: str, calls: int) -> list[tuple[float, float]]:
    """(model, app) milliseconds of `calls` requests one after another, as each answer's Server-Timing
    header gives them: the app's share of a request without the client's or the network's."""
    import aiohttp

    from seqlab.serve import read_server_timing

    timings = []
    async with aiohttp.ClientSession() as session:
        for i in range(calls):
            async with session.post(url, json={"texts": [TEXTS[i % len(TEXTS)]]}) as response:
                await response.read()
                timing = read_server_timing(response.headers["server-timing"])
                timings.append((timing["model"], timing["app"]))
    return timings


def fuzz(run_dir: Path, per_route: int = 150, at_least: int = 1000) -> dict:
    """schemathesis's requests from the OpenAPI schema, up to `per_route` per route in each sweep over the
    routes (fewer where a route takes few distinct requests), sweeps until `at_least` requests: how many,
    and how many answered with a 5xx."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from seqlab.serve import Limits, build_app, load_models

    limits = Limits(timeout_s=20)
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", build_app(load_models([f"spam={run_dir}"], limits), limits)
    )
    counts = {"requests": 0, "server_errors": 0, "sweeps": 0}
    while counts["requests"] < at_least:
        counts["sweeps"] += 1
        for result in schema.get_all_operations():

            @given(result.ok().as_strategy())
            @settings(
                max_examples=per_route, deadline=None, suppress_health_check=list(HealthCheck), database=None
            )
            def send(case):
                counts["requests"] += 1
                counts["server_errors"] += case.call().status_code >= 500

            send()
    return counts


# -- exports: ONNX Runtime beside PyTorch, in this process -------------------------------------------

SENTENCES = [
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn reported from Brussels on Tuesday",
    "The European Commission said it disagreed with the advice",
    "Germany 's representative to the European Union 's veterinary committee Werner Zwingmann said",
]


def _median_ms(work: Callable[[int], object], calls: int) -> float:
    times = []
    for i in range(calls):
        started = time.perf_counter()
        work(i)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def predict_latency(
    run_dir: Path, export_dir: Path, texts: list[str], calls: int, repeats: int
) -> list[dict]:
    """Batch 1, one text per call, the whole prediction (tokens in, labels or tags out): PyTorch eager
    (the pipeline) and ONNX Runtime (the runtime) in turns, `repeats` times; the median of `calls` each."""
    from seqlab import runtime
    from seqlab.pipeline import load

    pipeline, exported = _fp32(load(run_dir)), runtime.load(export_dir)
    task = pipeline.task
    rows = []
    for repeat in range(repeats):
        eager = _median_ms(
            lambda i: list(task.prediction_rows(pipeline, task.records_from_texts([texts[i % len(texts)]]))),
            calls,
        )
        onnx = _median_ms(lambda i: exported.predict([texts[i % len(texts)]]), calls)
        rows.append({"repeat": repeat, "pytorch_ms": round(eager, 3), "onnxruntime_ms": round(onnx, 3)})
    return rows


def _fp32(pipeline):
    """The pipeline computing in fp32, as its export does (a CPU run trained in bf16 predicts in bf16)."""
    pipeline.bf16 = False
    return pipeline


def generation_speed(run_dir: Path, export_dir: Path, tokens: int, repeats: int) -> list[dict]:
    """Greedy generation of `tokens` tokens after one prompt: seqlab's cached PyTorch generation and the
    export's step graph in turns; tokens per second, and whether the tokens are the same."""
    from seqlab import runtime
    from seqlab.generation import GenerationConfig
    from seqlab.pipeline import load

    pipeline, exported = _fp32(load(run_dir)), runtime.load(export_dir)
    rows = []
    for repeat in range(repeats):
        started = time.perf_counter()
        eager = pipeline.generate("ROMEO:", GenerationConfig(max_new_tokens=tokens, temperature=0))
        eager_s = time.perf_counter() - started
        started = time.perf_counter()
        onnx = exported.generate("ROMEO:", runtime.Sampling(max_new_tokens=tokens, temperature=0))
        onnx_s = time.perf_counter() - started
        rows.append(
            {
                "repeat": repeat,
                "pytorch_tokens_per_s": round(tokens / eager_s, 1),
                "onnxruntime_tokens_per_s": round(tokens / onnx_s, 1),
                "same_tokens": eager == onnx,
            }
        )
    return rows


def _train(folder: Path, name: str, arguments: str) -> Path:
    """The run FOLDER/NAME, trained once per measurement: the parts that use one model share it."""
    out = folder / name
    if (out / "meta.json").is_file():
        return out
    command = [sys.executable, "-m", "seqlab", "train", *arguments.split(), "--out", str(out)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def _export(run_dir: Path, out: Path | None = None) -> Path:
    out = out or run_dir.parent / f"{run_dir.name}.onnx"
    if (out / "export.json").is_file():
        return out
    subprocess.run(
        [sys.executable, "-m", "seqlab", "export", str(run_dir), "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out


EXPORTED = {  # the models of the export rows: name → (training arguments, what is measured)
    "classify-gru": ("--task classify --data sms-spam --encoder gru --max-steps 300", "predict"),
    "tag-lstm": ("--task tag --data conll2003 --encoder lstm --max-steps 300", "predict"),
    "lm-gru": ("--task lm --data tinyshakespeare --encoder gru --max-minutes 1.5", "generate"),
    "lm-transformer": (
        "--task lm --data tinyshakespeare --encoder transformer --max-minutes 1.5",
        "generate",
    ),
}


def measure_exports(folder: Path, repeats: int = 5) -> dict:
    """Each model of EXPORTED trained, exported and measured both ways."""
    result = {}
    for name, (arguments, measured) in EXPORTED.items():
        run_dir = _train(folder, name, arguments)
        export_dir = _export(run_dir)
        if measured == "predict":
            texts = TEXTS if name.startswith("classify") else SENTENCES
            result[name] = predict_latency(run_dir, export_dir, texts, 300, repeats)
        else:
            result[name] = generation_speed(run_dir, export_dir, 300, repeats)
    return result


VOICE_ROW = "fsdd-speech-gru"  # the quality row whose first seed's voice `speaking_speed` times


def speaking_speed(root: Path, folder: Path, repeats: int = 5) -> list[dict]:
    """The real-time factor (seconds of synthesis per second of speech) of the voice of VOICE_ROW's first
    seed, saying every digit word in each of its speakers' voices, one text per call as `seqlab speak`
    says one: PyTorch (the pipeline) and the voice's export (the runtime) in turns, `repeats` times after
    a word each to warm up."""
    from seqlab import runtime
    from seqlab.data.audio import DIGITS
    from seqlab.pipeline import load

    run_dir = root / "runs" / "bench" / VOICE_ROW / "seed-0" / "run"
    if not (run_dir / "meta.json").is_file():
        raise UserError(f"the speak part times the voice of row {VOICE_ROW}'s first seed: run that row first")
    pipeline = load(run_dir)
    speakers = pipeline.task.voice["speakers"]
    backends = {
        "pytorch": pipeline.verb("speak", "seqlab speak"),
        "onnxruntime": runtime.load(_export(run_dir, folder / "voice.onnx")).speak,
    }
    rate = pipeline.config.data.sample_rate
    for speak in backends.values():  # the first call of each pays for what it sets up once
        speak([DIGITS[0]], speakers[0])
    rows = []
    for repeat in range(repeats):
        row: dict = {"repeat": repeat}
        for name, speak in backends.items():
            seconds = spoken = 0.0
            for word in DIGITS:
                for speaker in speakers:
                    started = time.perf_counter()
                    (samples,) = speak([word], speaker)
                    seconds += time.perf_counter() - started
                    spoken += len(samples) / rate
            row[f"{name}_real_time_factor"] = round(seconds / spoken, 4)
            row["seconds_per_word"] = round(spoken / (len(DIGITS) * len(speakers)), 3)
        rows.append(row)
    return rows


def _site_packages_mib(venv: Path) -> float:
    (site,) = venv.glob("lib/python*/site-packages")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def _seconds(python: Path, code: str, repeats: int) -> float:
    """The median wall time of a fresh `python -c code`, start to exit."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


def footprint(root: Path, folder: Path, repeats: int = 5) -> dict:
    """Two fresh virtual environments, one with seqlab-runtime alone (`pip install ./runtime`), one with
    seqlab and PyTorch (`pip install torch==2.13.0 .`, no extras): each one's installed size, the time a
    fresh process takes to import what it predicts with, and to load the SMS classifier and predict a text."""
    run_dir = train_classifier(folder)
    export_dir = _export(run_dir)
    installs = {
        "runtime": (["./runtime"], "from seqlab import runtime", f"runtime.load({str(export_dir)!r})"),
        "full": (
            ["torch==2.13.0", "."],
            "import seqlab.pipeline",
            f"seqlab.pipeline.load({str(run_dir)!r}).predict([{{'text': 'win'}}])",
        ),
    }
    result = {}
    for name, (packages, imports, use) in installs.items():
        venv = folder / f"venv-{name}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        for package in packages:  # torch first, so that its CPU build is the one taken
            subprocess.run([*pip, package], check=True, cwd=root, stderr=subprocess.DEVNULL)
        python = venv / "bin" / "python"
        if name == "runtime":
            use += ".predict(['win'])"
        result[name] = {
            "site_packages_mib": round(_site_packages_mib(venv), 1),
            "import_s": _seconds(python, imports, repeats),
            "load_and_predict_s": _seconds(python, f"{imports}; {use}", repeats),
        }
    return result


def train_classifier(folder: Path) -> Path:
    """The served model: a GRU classifier of SMS Spam, 300 steps."""
    return _train(folder, "classify-gru", EXPORTED["classify-gru"][0])


PARTS = ("load", "overhead", "soak", "fuzz", "exports", "footprint", "speak")


def run(out: Path, root: Path, parts: tuple[str, ...] = PARTS, seconds: float = 20, repeats: int = 3) -> dict:
    """Measure `parts` (the others are kept from OUT/serve.json); write OUT/SERVE.md and OUT/serve.json."""
    from seqlab.files import atomic_write, read_json

    kept = read_json(out / "serve.json") if (out / "serve.json").is_file() else {}
    missing = [part for part in PARTS if part not in parts and part not in kept]
    if missing:
        raise UserError(f"{out / 'serve.json'} has no {', '.join(missing)}: measure them too")
    with tempfile.TemporaryDirectory(prefix="seqlab-serve-") as scratch:
        folder = Path(scratch)
        run_dir = train_classifier(folder) if set(parts) - {"exports", "footprint", "speak"} else folder
        measure = {
            "load": lambda: measure_load(run_dir, root, seconds, repeats),
            "overhead": lambda: overhead(run_dir, root),
            "soak": lambda: soak(run_dir),
            "fuzz": lambda: fuzz(run_dir),
            "exports": lambda: measure_exports(folder),
            "footprint": lambda: footprint(root, folder),
            "speak": lambda: speaking_speed(root, folder),
        }
        result = {**kept, "machine": f"{os.cpu_count()} cores", "seconds_per_point": seconds}
        for part in parts:
            result[part] = measure[part]()
    atomic_write(out / "serve.json", json.dumps(result, indent=2) + "\n")
    atomic_write(out / "SERVE.md", markdown(result))
    return result


def _ratios(load: list[dict], top: str, bottom: str, clients: int, key: str) -> list[float]:
    by = {(r["server"], r["repeat"]): r for r in load if r["clients"] == clients}
    repeats = sorted({r["repeat"] for r in load})
    return [by[(top, k)][key] / by[(bottom, k)][key] for k in repeats]


def _spread(values: list[float]) -> str:
    mean = statistics.mean(values)
    return f"{mean:.2f}× (range {min(values):.2f}–{max(values):.2f}, {len(values)} runs)"


def _median_of(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} (range {min(values):.3f}–{max(values):.3f}, {len(values)} runs)"


def markdown(result: dict) -> str:
    load, over, soak_row, fuzzed = result["load"], result["overhead"], result["soak"], result["fuzz"]
    exports, small, full = result["exports"], result["footprint"]["runtime"], result["footprint"]["full"]
    speech = result["speak"]
    batching = _ratios(load, "seqlab, batched", "seqlab, unbatched", 32, "requests_per_second")
    p99 = _ratios(load, "seqlab, batched", "seqlab, unbatched", 32, "p99_ms")
    peer = _ratios(load, "seqlab, batched", "LitServe, batched", 32, "requests_per_second")
    peer_p99 = _ratios(load, "seqlab, batched", "LitServe, batched", 32, "p99_ms")
    growth = soak_row["rss_at_end_kib"] / max(soak_row["rss_after_warm_up_kib"], 1) - 1
    lines = [
        "# Serving",
        "",
        "Measured by `seqlab bench serve` on loopback, the client (aiohttp) and the server on the same "
        f"{result['machine']} (they share the CPU), {result['seconds_per_point']:g} s per point. The "
        "model: a GRU classifier of SMS Spam; one text per request. `seqlab serve` runs as its defaults "
        "have it (its passes on every core but one), LitServe as its own have it. The export rows: that "
        "classifier and a CoNLL-2003 tagger trained 300 steps, Tiny Shakespeare language models 1.5 "
        "minutes (at the budget's sizes), exported (`seqlab export`) and timed in one process, PyTorch "
        "and ONNX Runtime taking turns (batch 1: the median of 300 one-text predictions, tokens in, labels "
        "or tags out; generation: 300 greedy tokens after `ROMEO:`), both in fp32. The speak row: the "
        f"voice of the {VOICE_ROW} quality row's first seed saying every digit word in each of its "
        "speakers' voices, one word a call, PyTorch and the voice's export in turns, Griffin-Lim included.",
        "",
        table_row("measure", "measured", "target"),
        table_row("---", "---", "---"),
        *(
            table_row(
                f"ONNX Runtime vs PyTorch eager, batch 1 latency, {name} (eager / ONNX)",
                _spread([r["pytorch_ms"] / r["onnxruntime_ms"] for r in rows]),
                "≥ 1.4×",
            )
            for name, rows in exports.items()
            if "pytorch_ms" in rows[0]
        ),
        *(
            table_row(
                f"exported greedy generation vs seqlab's cached generation, {name}, tokens/s",
                _spread([r["onnxruntime_tokens_per_s"] / r["pytorch_tokens_per_s"] for r in rows])
                + ("; the same tokens" if all(r["same_tokens"] for r in rows) else "; **other tokens**"),
                "≥ 1.2×, same tokens",
            )
            for name, rows in exports.items()
            if "pytorch_tokens_per_s" in rows[0]
        ),
        table_row(
            f"real-time factor of `seqlab speak`, a digit word ({speech[0]['seconds_per_word']:.2f} s of "
            "speech), PyTorch / the export",
            " / ".join(
                _median_of([r[f"{name}_real_time_factor"] for r in speech])
                for name in ("pytorch", "onnxruntime")
            ),
            "≤ 0.1",
        ),
        table_row(
            "installed size, seqlab-runtime / seqlab with PyTorch",
            f"{small['site_packages_mib']:,.0f} MiB / {full['site_packages_mib']:,.0f} MiB",
            "(measure)",
        ),
        table_row(
            "a fresh process: import; load and predict one text, runtime / full",
            f"{small['import_s']:.2f} s / {full['import_s']:.2f} s; "
            f"{small['load_and_predict_s']:.2f} s / {full['load_and_predict_s']:.2f} s",
            "(measure)",
        ),
        table_row("dynamic batching vs none, 32 clients, requests/s", _spread(batching), "≥ 3×"),
        table_row("— p99 latency, batched / unbatched, 32 clients", _spread(p99), "≤ 1×"),
        table_row("seqlab serve vs LitServe (batching on), 32 clients, requests/s", _spread(peer), "≥ 1.0×"),
        table_row("— p99 latency, seqlab / LitServe", _spread(peer_p99), "< 1×"),
        table_row(
            "server overhead per request at 1 client: the client's latency minus the model's time",
            f"{over['overhead_ms']:.2f} ms (p50 {over['served_p50_ms']:.2f} ms; the model "
            f"{over['server_model_ms']:.2f} ms in the server, {over['model_ms']:.2f} ms alone)",
            "≤ 2 ms",
        ),
        table_row(
            "— of which inside the server (Server-Timing: app minus model, median)",
            f"{over['server_overhead_ms']:.2f} ms",
            "≤ 2 ms",
        ),
        table_row(
            "schemathesis, made-up requests",
            f"{fuzzed['requests']:,} requests, {fuzzed['server_errors']} with a 5xx",
            "≥ 1,000, 0 with a 5xx",
        ),
        table_row(
            f"load, {soak_row['seconds']:g} s at 32 clients",
            f"{soak_row['requests']:,} requests, "
            f"{soak_row['errors']} errors; memory {growth:+.1%} after warm-up "
            f"({soak_row['rss_after_warm_up_kib'] // 1024} → {soak_row['rss_at_end_kib'] // 1024} MiB)",
            "0 errors, ≤ +10%",
        ),
        "",
        "## Every point",
        "",
        table_row("server", "repeat", "clients", "requests/s", "p50 ms", "p99 ms", "errors"),
        table_row(*["---"] * 7),
    ]
    lines += [
        table_row(
            r["server"],
            r["repeat"],
            r["clients"],
            r["requests_per_second"],
            r["p50_ms"],
            r["p99_ms"],
            r["errors"],
        )
        for r in load
    ]
    return "\n".join(lines) + "\n"
