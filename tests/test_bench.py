"""The speed harness at toy sizes (it must not rot; no time is asserted), and `seqlab bench`'s input
checks."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from test_readme import _commands

from seqlab.cli import main
from seqlab.errors import UserError

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def _guide_command(prefix: str) -> list[str]:
    return shlex.split(next(c for c in _commands(GUIDE) if c.startswith(prefix)))[1:]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """docs/performance.md's smoke command, writing to a temporary folder."""
    out = tmp_path_factory.mktemp("speed")
    args = _guide_command("seqlab bench speed --smoke")
    args[args.index("--out") + 1] = str(out)
    assert main(args) == 0
    return out, json.loads((out / "speed.json").read_text())


def test_speed_harness_writes_its_table_json_and_plot(smoke):
    out, results = smoke
    assert sorted(p.name for p in out.iterdir()) == ["SPEED.md", "speed.json", "speed.png"]
    assert results["smoke"] is True
    table = (out / "SPEED.md").read_text()
    assert "smoke sizes: not a measurement" in table
    assert all(f"| {name} |" in table for name in results["training"])


def test_speed_harness_measures_seqlab_beside_its_plain_peers(smoke):
    _, results = smoke
    training = results["training"]
    expected = {
        "seqlab transformer fp32",
        "seqlab transformer bf16",
        "plain PyTorch transformer fp32",
        *(f"seqlab {cell} fp32" for cell in ("lstm", "gru", "rnn")),
        *(f"plain nn.{cell} fp32" for cell in ("LSTM", "GRU", "RNN")),
    }
    assert expected <= set(training)
    for row in training.values():
        assert row["tokens_per_second"] > 0 and row["flops_per_token"] > 0 and 0 < row["peak_share"]
        assert len(row["rounds"]) == results["sizes"]["rounds"] == 2  # interleaved, so ratios have a spread
        assert min(row["rounds"]) <= row["tokens_per_second"] <= max(row["rounds"])
    limit = results["limit"]
    assert limit["fp32_flops"] == max(limit["fp32_flops_by_size"].values()) > 0  # the best over sizes
    assert len(limit["bf16_flops_by_size"]) == len(results["sizes"]["matmul"])
    for target in results["targets"]:
        assert target["range"][0] <= target["measured"] <= target["range"][1]
    same = (
        training["seqlab transformer fp32"]["parameters"],
        training["plain PyTorch transformer fp32"]["parameters"],
    )
    assert abs(same[0] - same[1]) / same[1] < 0.05  # the same model, give or take biases
    generation = results["generation"]
    assert all(r["cached"] > 0 and r["uncached"] > 0 for r in generation.values() if "cached" in r)
    assert all(len(r["rounds"]) == 2 for r in generation.values())  # so are generation's
    assert {t["target"] for t in results["targets"]} >= {
        "`seqlab --help` wall time, seconds",
        "loop overhead: plain loop / seqlab at fp32, minus 1",
    }
    assert all(isinstance(t["met"], bool) for t in results["targets"])
    assert {lever["lever"].split(",")[0] for lever in results["levers"]} >= {
        "bf16 autocast",
        "KV cache",
        "scaled_dot_product_attention",
        "packed sequences",
        "length bucketing",
        "pre-tokenised stream",
        "training windows from the uint16 memory map (off: an int64 array in memory)",
    }


def test_a_gpu_table_shows_memory_and_kernels_and_judges_cudnn(smoke):
    from seqlab.bench import speed

    _, results = smoke
    gpu = {
        **results,
        "device": "cuda",
        "training": {name: {**row, "peak_memory": 2**30} for name, row in results["training"].items()},
    }
    gpu["training"]["seqlab lstm fp32"]["kernel"] = "cuDNN"
    gpu["training"]["seqlab gru fp32"]["kernel"] = "PyTorch"
    targets = {t["target"]: t for t in speed.targets(gpu)}
    assert targets["share of seqlab's recurrent rows that ran cuDNN's kernels"]["measured"] == 0.5
    assert not targets["share of seqlab's recurrent rows that ran cuDNN's kernels"]["met"]
    table = speed.markdown({**gpu, "targets": list(targets.values())})
    assert "| seqlab lstm fp32 | fp32 |" in table and "| 1.00 GiB | cuDNN |" in table


def test_bench_speed_refuses_rows(capsys):
    assert main(["bench", "speed", "sms-spam-gru"]) == 2
    assert "takes no rows" in capsys.readouterr().err


def test_bench_quality_names_its_rows_and_refuses_unknown_ones(capsys):
    assert main(_guide_command("seqlab bench quality --list")) == 0
    assert "multi30k-transformer" in capsys.readouterr().out
    assert main(["bench", "quality", "no-such-row"]) == 2
    assert "unknown row no-such-row" in capsys.readouterr().err


def test_bench_quality_runs_in_a_checkout_and_says_so_elsewhere(capsys, monkeypatch, tmp_path):
    from seqlab.bench import quality

    checkout = Path(__file__).resolve().parents[1]
    assert quality.checkout(checkout) == checkout  # configs/ to read, benchmarks/ to write
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "quality", "sms-spam-gru"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no configs/ or benchmarks/" in err and "benchmarks/run.py" in err


def test_speed_says_when_the_gpt2_peer_is_missing(monkeypatch, tmp_path):
    from seqlab.bench import speed

    monkeypatch.setitem(sys.modules, "transformers", None)  # importing it fails, as where it is not installed
    with pytest.warns(UserWarning, match="GPT-2 rows and their targets are left out"):
        rows = speed.training_rows(
            "To be, or not to be, that is the question. " * 20,
            speed.SMOKE,
            tmp_path,
            speed.torch.device("cpu"),
        )
    assert "seqlab transformer fp32" in rows and not any("GPT-2" in name for name in rows)


def test_a_reader_that_goes_away_ends_the_output_quietly(monkeypatch, capsys):
    def closed(*args, **kwargs):
        raise BrokenPipeError

    monkeypatch.setattr("seqlab.bench.quality.print", closed, raising=False)
    assert main(["bench", "quality", "--list"]) == 141  # as `seqlab bench quality --list | head` ends
    assert "Traceback" not in capsys.readouterr().err


def test_the_serving_table_reads_its_measurements():
    """benchmarks/SERVE.md from serve.json: each ratio is the mean of its repeats' ratios, and an export
    whose tokens differ from PyTorch's says so."""
    from seqlab.bench import serving

    result = json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / "serve.json").read_text())
    table = serving.markdown(result)
    latency = result["exports"]["classify-gru"]
    mean = sum(r["pytorch_ms"] / r["onnxruntime_ms"] for r in latency) / len(latency)
    assert f"classify-gru (eager / ONNX) | {mean:.2f}×" in table
    result["exports"]["lm-gru"][0]["same_tokens"] = False
    assert "lm-gru, tokens/s | " in serving.markdown(result)
    assert "**other tokens**" in serving.markdown(result) and "**other tokens**" not in table


def test_the_speak_part_names_the_row_whose_voice_it_times(tmp_path):
    from seqlab.bench import serving

    with pytest.raises(UserError, match=f"row {serving.VOICE_ROW}'s first seed: run that row first"):
        serving.speaking_speed(tmp_path, tmp_path)


def test_the_forecasting_speed_table_times_each_fit_beside_seqlabs_round_by_round():
    from seqlab.bench.measurements import medians, tables

    def timed(fit: float) -> dict:
        return {"fit_seconds": fit, "predict_seconds": None, "smape": 12.5}

    speed = {
        "command": "python benchmarks/run.py forecast-speed",
        "date": "2026-12-07",
        **{"steps": 300, "windows_per_step": 256, "threads": 2, "rounds": 2},
        "models": {
            "seqlab transformer": medians([timed(10.0), timed(12.0)]),
            "a peer": medians([timed(20.0), timed(18.0)]),  # twice, then 1.5 times seqlab's time
        },
        "backtest": medians([{"windows": 100, "windows_per_second": w} for w in (900, 1100)]),
    }
    table = "\n".join(tables({"forecast-speed": speed}))
    assert "| a peer |  | 19.0 s | 18.0 s–20.0 s | 1.75x (1.50–2.00) |  | 12.5 |" in table
    assert "at 1,000 windows/s (900–1,100)." in table and "timed in 2 interleaved rounds" in table


def test_the_demo_tours_time_is_the_median_of_its_runs():
    from seqlab.bench.measurements import tables

    stop = {"name": "sentiment", "dataset": "fine-foods", "encoder": "lstm", "seconds": 48.0}
    stop |= {"metrics": {"accuracy": 0.79}, "baseline": {"what": "the majority class", "accuracy": 0.66}}
    tour = {"command": "seqlab bench quality demo-tour", "date": "2026-12-07", "cores": 2}
    tour |= {"seconds": 282.0, "runs": [300.0, 270.0, 282.0], "stops": [stop]}
    table = "\n".join(tables({"demo-tour": tour}))
    assert "**4.7 minutes** from start to index page (the median of 3 runs, 4.5–5.0)" in table
    assert "| sentiment | fine-foods | lstm | accuracy 0.790 | the majority class: 0.660 | 48 |" in table
