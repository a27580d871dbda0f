"""Pedestrian trajectories: scene files and their refusals, Social GAN's windows, the occupancy grid, the
baselines, the displacement errors, the bivariate Gaussian head, and training, predicting and the CLI on
ETH/UCY scenes. (Every encoder trains, reloads and predicts alike in tests/test_contract.py.)"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from conftest import shared, tiny

from seqlab import metrics
from seqlab.cli import main
from seqlab.data import trajectories
from seqlab.errors import UserError
from seqlab.heads.trajectory import TrajectoryHead
from seqlab.pipeline import fit, load


def _scene(walkers: dict[float, list[tuple[int, float, float]]]) -> dict:
    """A scene from {pedestrian: [(frame, x, y), …]}, its rows in frame order."""
    rows = sorted((f, ped, x, y) for ped, points in walkers.items() for f, x, y in points)
    table = np.array(rows, dtype=float)
    return {"scene": "s", "frames": table[:, 0], "peds": table[:, 1], "xy": table[:, 2:]}


def _walk(start: int, frames: int, x0: float, dx: float, y: float = 0.0) -> list[tuple[int, float, float]]:
    return [(10 * (start + t), x0 + dx * t, y) for t in range(frames)]


def test_scene_files_are_read_in_frame_order_or_refused(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("780\t1.0\t8.46\t3.59\n790\t1.0\t9.57\t3.79\n790\t2.0\t1.0\t2.0\n")
    scene = trajectories.read_scene(good)
    assert scene["scene"] == "good" and scene["xy"].shape == (3, 2) and scene["peds"].tolist() == [1, 1, 2]
    shuffled = tmp_path / "shuffled.txt"
    shuffled.write_text("790\t1.0\t9.57\t3.79\n780\t1.0\t8.46\t3.59\n")
    with pytest.raises(
        UserError, match="line 2 of .*: frame 780 comes after frame 790; sort the rows by frame"
    ):
        trajectories.read_scene(shuffled)
    broken = tmp_path / "broken.txt"
    broken.write_text("780\t1.0\t8.46\n")
    with pytest.raises(UserError, match="line 1 of .* is not 'frame pedestrian x y'"):
        trajectories.read_scene(broken)


def test_windows_need_a_whole_track_and_a_second_walker():
    scene = _scene({1.0: _walk(0, 21, 0.0, 0.5), 2.0: _walk(0, 20, 5.0, -0.5), 3.0: _walk(0, 6, 9.0, 0.1)})
    found, short = trajectories.windows(scene, 8, 12)
    assert short == 1  # walker 3 is tracked for 6 frames
    assert sorted((w["ped"], w["step"]) for w in found) == [(1.0, 0), (2.0, 0)]  # at step 1 walker 1 is alone
    assert found[0]["track"].shape == (20, 2)
    last = trajectories.last_windows(scene, 8)
    assert [(w["ped"], w["step"]) for w in last] == [(1.0, 13), (2.0, 12)]


def test_the_occupancy_grid_counts_the_others_around_a_walker():
    scene = _scene({1.0: _walk(0, 3, 0.0, 0.0), 2.0: _walk(0, 3, 0.6, 0.0, 0.4), 3.0: _walk(0, 3, -5.0, 0.0)})
    window = {"ped": 1.0, "step": 0, "track": np.zeros((3, 2))}
    counts = trajectories.neighbour_grid(trajectories.by_frame(scene), window, 3, grid=2, cell=1.0)
    # a 2×2 grid of 1 m cells around (0, 0): walker 2 at (0.6, 0.4) is in the upper right; walker 3 is outside
    assert counts.tolist() == [[0.0, 0.0, 0.0, 1.0]] * 3


def test_baselines_continue_a_straight_walk_exactly():
    seen = np.stack([np.arange(8) * 0.4, np.full(8, 2.0)], axis=1)[None]  # (1, 8, 2)
    truth = np.stack([np.arange(8, 20) * 0.4, np.full(12, 2.0)], axis=1)[None]
    np.testing.assert_allclose(trajectories.constant_velocity(seen, 12), truth, atol=1e-9)
    np.testing.assert_allclose(trajectories.linear(seen, 12), truth, atol=1e-9)


def test_displacement_errors_and_the_best_of_k():
    truth = np.zeros((1, 2, 2))
    predicted = np.array([[[3.0, 4.0], [0.0, 1.0]]])  # off by 5 m, then 1 m
    assert metrics.trajectories(truth, predicted) == {"ade": 3.0, "fde": 1.0}
    samples = np.stack([predicted[0], np.zeros((2, 2)) + [0.0, 2.0]])[None]  # (1, 2, 2, 2)
    scores = metrics.trajectories(truth, predicted, samples)
    assert scores["ade@2"] == 2.0 and scores["fde@2"] == 1.0


def test_the_gaussian_head_is_a_bivariate_normal():
    params = torch.tensor(
        [[[0.3, -0.2, np.log(0.5), np.log(2.0), np.arctanh(0.6 / 0.999)]]], dtype=torch.float32
    )
    step = torch.tensor([[[1.0, 0.5]]])
    covariance = torch.tensor([[0.25, 0.6 * 0.5 * 2.0], [0.6 * 0.5 * 2.0, 4.0]])
    normal = torch.distributions.MultivariateNormal(torch.tensor([0.3, -0.2]), covariance)
    torch.testing.assert_close(TrajectoryHead.log_likelihood(params, step)[0, 0], normal.log_prob(step[0, 0]))
    head = TrajectoryHead(4, 8, 1, gaussian=True)
    drawn = head.sample(params, 20000, torch.Generator().manual_seed(0))[0, :, 0]  # (K, 2)
    torch.testing.assert_close(torch.cov(drawn.T), covariance, atol=0.1, rtol=0.05)


def test_a_walker_model_is_scored_beside_the_baselines_and_reloads(walkers, tmp_path):
    pipeline = fit(tiny("trajectory", "gru", **{"train.max_steps": 30}), tmp_path / "run", walkers)
    scores = json.loads((tmp_path / "run" / "metrics.json").read_text())
    baseline = json.loads((tmp_path / "run" / "baseline.json").read_text())
    assert {"ade", "fde", "ade@20", "fde@20"} <= set(scores) and scores["ade@20"] <= scores["ade"]
    assert {"ade", "fde", "linear_ade", "linear_fde"} <= set(baseline)
    assert (tmp_path / "run" / "plots" / "trajectories.png").exists()
    assert load(tmp_path / "run").evaluate(walkers["test"]) == pytest.approx(
        pipeline.evaluate(walkers["test"])
    )


def test_predict_writes_each_walkers_path_as_csv(walkers, tmp_path):
    fit(tiny("trajectory", "lstm", **{"model.gaussian": False}), tmp_path / "run", walkers)
    scene = shared("eth-ucy", "zara1", "test", "crowds_zara01.txt")
    out = tmp_path / "paths.csv"
    assert main(["predict", str(tmp_path / "run"), "--data", str(scene), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["scene", "ped", "step", "x", "y"]
    assert [r["step"] for r in rows[:12]] == [str(s) for s in range(1, 13)]
    assert main(["predict", str(tmp_path / "run"), "--text", "a typed text"]) == 2  # scenes come in files


def test_cli_refuses_frames_out_of_order(tmp_path, capsys):
    for split in ("train", "test"):
        (tmp_path / "fold" / split).mkdir(parents=True)
        (tmp_path / "fold" / split / "a.txt").write_text("10\t1\t0.0\t0.0\n0\t1\t0.4\t0.0\n")
    code = main(
        ["train", "--task", "trajectory", "--data", str(tmp_path / "fold"), "--out", str(tmp_path / "run")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "sort the rows by frame" in err
    assert not (tmp_path / "run").exists()
