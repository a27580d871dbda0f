"""Published-results rows, run under one protocol that the runner enforces:

- a row is declared here before it runs: its config, encoder, budget in optimizer steps and seeds;
- it runs every declared seed (5 where the test split holds fewer than 1,000 examples, else 3) and the
  table shows the mean ± standard deviation, the range and a 95% interval of the mean;
- "met" means the mean clears the target; an interval that straddles the target says "within noise";
- every choice (the checkpoint, an encoder among several) is made on validation data: a set without a
  validation split validates each seed on its own fold of the training data (cross-validation);
- each seed's validation and test metrics go to benchmarks/results.json, and RESULTS.md is made from it.

    seqlab bench quality --list                  # the rows, the choices and the measurements
    seqlab bench quality --row sms-spam-gru      # one row's missing seeds; --seeds K, --again
    python benchmarks/run.py --row sms-spam-gru  # the same from anywhere: the script names its checkout

A row reads its YAML config in configs/ of a checkout of the seqlab repository and writes results.json
and RESULTS.md in its benchmarks/ folder, its runs in runs/bench/: the checkout is the current folder, or
`--root`. Data comes from the seqlab cache: SEQLAB_DATA (the Makefile points it at ../shared/data).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from seqlab.bench import measurements
from seqlab.errors import UserError
from seqlab.files import write_json

FEW_TEST_EXAMPLES = 1000  # below this many test examples (sequences, pieces, forecast windows) a row
# takes 5 seeds


@dataclass(frozen=True)
class Row:
    name: str
    config: str  # a file in configs/
    metric: str  # compared with `target`
    target: float | None  # the mean must clear it; None: reported, not judged
    reference: str  # the published figures the target stands beside, each with its source
    steps: int  # optimizer steps per run: train.max_steps; its configs set no wall-clock budget
    seeds: int = 3
    lower_is_better: bool = False
    split: str = "test"  # where the metric is read; val only where the benchmark reports validation
    overrides: dict = field(default_factory=dict)
    folds: int = 0  # > 0: no validation split of its own: seed s validates on fold s of the training data
    pretrain: str | None = None  # a config whose run (per seed) starts this one (train.init_from)
    pretrain_steps: int = 0
    baselines: bool = False  # also score baselines on the same split (statsforecast models; for text: the
    # majority class and a TF-IDF linear SVM)
    beam: int = 0  # seq2seq, ctc: also decode the test set with this many beams, beside greedy, and time both
    versus: str = ""  # a test metric of the same run (a baseline's; `baseline_…`: the task's own baseline)
    # that is the target, in place of `target`
    listener: str = ""  # tts: the row whose seed-0 run (a classifier of spoken words trained on real
    # recordings) hears the test texts spoken: heard_accuracy, stopped, real_time_factor
    minutes: float | None = None  # a defaults row: this time budget, for which the budget rule sizes the run
    # (`steps` then only caps it); what such a row measures is the rule itself, at a wall-clock budget


@dataclass(frozen=True)
class Choice:
    """The row among `rows` whose validation mean is best: the protocol's way to pick an encoder."""

    name: str
    rows: tuple[str, ...]


@dataclass(frozen=True)
class Average:
    """The mean over `rows` (the folds of one protocol) of each row's metric, seed by seed: seed s's
    average is the mean of seed s over the folds; the table shows those averages' mean ± sd."""

    name: str
    rows: tuple[str, ...]
    target: float | None
    reference: str
    beside: tuple[
        str, ...
    ] = ()  # other test metrics of the rows, averaged over folds the same way, not judged


ENCODERS = ("rnn", "lstm", "gru", "transformer")
PATCHTST = (
    "PatchTST/64 {}, PatchTST/42 {}, DLinear {} (Nie et al. 2023, Table 3; single models, scored without the "
    "test loader's last partial batch); PatchTST/64 over every window {} (FITS repository's re-run)"
)

# ETTh1's long horizons: a larger head, which overfits within a hundred steps at lr 1e-3 (validation
# MSE at 336: 1.356 at lr 1e-3 for 3 minutes, 1.295 at PatchTST's lr 1e-4 for 10).
ETTH1 = (
    (96, 0.370, 1000, PATCHTST.format(0.370, 0.375, 0.375, 0.385), {}),
    (192, 0.413, 1000, PATCHTST.format(0.413, 0.414, 0.405, 0.413), {}),
    (336, 0.422, 1500, PATCHTST.format(0.422, 0.431, 0.439, 0.440), {"train.lr": 1e-4}),
    (720, 0.447, 1000, PATCHTST.format(0.447, 0.449, 0.472, 0.456), {"train.lr": 1e-4}),
)

# JSB Chorales: the transformer validates best with less dropout and averaged weights (validation NLL
# 8.01-8.05 in four runs, against 8.10-8.11 at the config's dropout 0.3 without averaging); the GRU
# with averaged weights (8.54 and 8.57 in two runs, against 8.62 without, in 8 minutes on one thread).
JSB_SETTINGS = {"transformer": {"model.dropout": 0.1, "train.ema": 0.995}, "gru": {"train.ema": 0.995}}
JSB_STEPS = {"lstm": 3300, "gru": 3300, "transformer": 2000}
JSB_REFERENCE = (
    "TCN 8.10, LSTM 8.45, GRU 8.43 (Bai et al. 2018, Table 1; single models; the LSTM and GRU figures "
    "unconfirmed); GRU 8.54, LSTM 8.67 (Chung et al. 2014, Table 2)"
)
NADE_REFERENCE = (
    "RNN-NADE 5.19 at its best training and 5.56 (Boulanger-Lewandowski et al. 2012, Table 1; single "
    "models; which training gives which is unconfirmed)"
)

# ETH/UCY's leave-one-scene-out folds; per fold, Social-STGCNN's best-of-20 ADE / FDE and the LSTM's
# ADE / FDE of Social GAN's table (Gupta et al. 2018, Table 1), in metres.
ETH_UCY = (
    ("eth", (0.64, 1.11), (1.09, 2.41)),
    ("hotel", (0.49, 0.85), (0.86, 1.91)),
    ("univ", (0.44, 0.79), (0.61, 1.31)),
    ("zara1", (0.34, 0.53), (0.41, 0.88)),
    ("zara2", (0.30, 0.48), (0.52, 1.11)),
)
STGCNN = "Social-STGCNN (Mohamed et al. 2020, best of 20) ADE/FDE {}/{}; average of folds 0.44/0.75"
SOCIAL = "; here each observed step also counts the others around the walker (a 4×4 grid of 1 m cells)"
SGAN_LSTM = "the LSTM of Social GAN's table (Gupta et al. 2018) ADE/FDE {}/{}; average of folds 0.70/1.52"

# UCR/UEA sets (no validation split: five folds of the training data), the best single model's test
# accuracy, steps, the points stacked into one step (series of 150 points or more become about 15 steps),
# and the published single models. ROCKET: mean of 10 runs (results_ucr.csv of its repository); Inception:
# mean of the 5 networks InceptionTime averages (results-inception-128.csv); FCN, ResNet: mean of 10 runs
# (Fawaz et al. 2019, results-uea-avg-std.csv; JapaneseVowels from results-mts-avg-std.csv).
UCR_SETS = (
    ("gunpoint", 1.0, 2000, 10, "ROCKET 1.000, Inception 1.000, FCN 1.000, ResNet 0.991"),
    ("italy-power-demand", 0.9696, 2500, 1, "ROCKET 0.9696, Inception 0.9642, FCN 0.961, ResNet 0.963"),
    ("arrowhead", 0.8469, 1500, 16, "Inception 0.8469, ResNet 0.845, FCN 0.843, ROCKET 0.8143"),
    ("basic-motions", None, 1500, 1, "no confirmed single-model figure (InceptionTime's file was withdrawn)"),
    ("japanese-vowels", 0.993, 3000, 1, "FCN 0.993, ResNet 0.992 (Baydogan's version of the set)"),
)

M4_REFERENCE = (
    "M4 Hourly: best entry {} (id 238, Doornik et al., a combination), the winner's {} (Smyl's ES-RNN, an "
    "ensemble), seasonal naive {} (the organisers' point-forecasts-by-frequency ranks)"
)

SEMEVAL_SCRATCH = (
    "without pretrained vectors: CNN with word and position embeddings 0.789 (Zeng et al. 2014; "
    "unconfirmed); the same model with GloVe vectors: the row below"
)
SEMEVAL_VECTORS = (
    "with pretrained vectors, single models: Att-BLSTM 0.840 (Zhou et al. 2016, 100-d GloVe; unconfirmed), "
    "CR-CNN 0.841 (dos Santos et al. 2015; unconfirmed); the task's best system 0.822 (Rink & Harabagiu "
    "2010); all by the official scorer"
)
PATHQUESTION_REFERENCE = (
    "IRN {} (Zhou et al. 2018, Table 3; unconfirmed); both split 8:1:1 at random, so paraphrases of one "
    "question can fall in different splits"
)

GEOQUERY_REFERENCE = (
    "seq2seq with attention and copying, exact match of the query with variables: about 0.68-0.71 on the "
    "question split, 0.2-0.3 on the query split (Finegan-Dollak et al. 2018, Table 3; unconfirmed)"
)
LINK_REFERENCE = (
    "filtered MRR, single models: ConvE {} (Dettmers et al. 2018; its repository's README: 0.43 / 0.32), "
    "RotatE {} (Sun et al. 2019; unconfirmed), each trained for hours; here one CPU thread for about "
    "half an hour"
)

ROWS = {
    r.name: r
    for r in [
        Row(
            "shakespeare-65s",
            "shakespeare-65s.yaml",
            "loss",
            1.75,
            "nanoGPT's CPU config: val loss 1.88 in about 3 minutes (its README); 850 steps took 65 s here",
            steps=850,
            lower_is_better=True,
            split="val",
        ),
        *[
            Row(
                f"defaults-char-lm-{enc}",
                "defaults-shakespeare.yaml",
                "loss",
                1.75,
                "the tuned GRU config: 1.675 ± 0.005 (the shakespeare-65s row, 850 steps, 89 s a seed on one "
                "thread); nanoGPT's CPU config: val loss 1.88 in about 3 minutes (its README)",
                steps=100_000,
                lower_is_better=True,
                split="val",
                overrides={"model.encoder": enc},
                minutes=1.1,
            )
            for enc in ("gru", "transformer")
        ],
        Row(
            "defaults-sst2-lstm",
            "defaults-sst2.yaml",
            "accuracy",
            0.826,
            "a TF-IDF word+char linear SVM on the same split (C chosen on validation): 0.826 (below); the "
            "tuned config sst2.yaml: the sst2-scratch row",
            steps=100_000,
            baselines=True,
            overrides={"model.encoder": "lstm"},
            minutes=5.0,
        ),
        Row(
            "shakespeare-30min",
            "shakespeare-30min.yaml",
            "loss",
            1.55,
            "nanoGPT's baby GPT: 1.4697 after 5000 steps on an A100 (its README); 1700 steps: 30 min here",
            steps=1700,
            lower_is_better=True,
            split="val",
        ),
        *[
            Row(
                f"sms-spam-{enc}",
                "sms-spam.yaml",
                "accuracy",
                0.985,
                "a TF-IDF linear SVM on the same split (below); SVM ~0.976 on a 30/70 split (Almeida et al. "
                "2011; unconfirmed)",
                steps=1680,
                seeds=5,
                baselines=True,
                overrides={"model.encoder": enc, **({"train.lr": 0.001} if enc == "transformer" else {})},
            )
            for enc in ENCODERS
        ],
        Row(
            "sst2-scratch",
            "sst2.yaml",
            "accuracy",
            0.85,
            "test: CNN-rand 0.827 without pretrained vectors (Kim 2014, Table 2; unconfirmed); a TF-IDF "
            "linear SVM on the same split (below)",
            steps=6000,
            baselines=True,
        ),
        Row(
            "sst2-pretrained",
            "sst2.yaml",
            "accuracy",
            0.875,
            "test: CNN-multichannel 0.881 with word2vec (Kim 2014, Table 2); Bi-LSTM 0.875 with GloVe (Tai "
            "et al. 2015, Table 2; unconfirmed)",
            steps=5500,
            pretrain="sst2-lm.yaml",
            pretrain_steps=3000,
        ),
        Row(
            "sst2-glove",
            "sst2.yaml",
            "accuracy",
            0.875,
            "test: Bi-LSTM 0.875 with GloVe (Tai et al. 2015, Table 2; unconfirmed); CNN-multichannel 0.881 "
            "with word2vec (Kim 2014, Table 2); here GloVe 6B 50d, the only vectors installable as a package",
            steps=6000,
            baselines=True,
            overrides={"model.embeddings": "glove-6b-50d", "model.embed_dim": 50},
        ),
        Row(
            "conll2003-glove",
            "conll2003.yaml",
            "f1",
            0.89,
            "LSTM-CRF with char features and 100-d pretrained vectors: 0.9094 (Lample et al. 2016, Table 1); "
            "here GloVe 6B 50d",
            steps=28000,
            overrides={"model.embeddings": "glove-6b-50d", "model.embed_dim": 50},
        ),
        Row(
            "conll2003-bilstm-crf",
            "conll2003.yaml",
            "f1",
            0.86,
            "LSTM-CRF with char features: 0.9094 with pretrained embeddings (Lample et al. 2016, Table 1), "
            "about 0.836 with random ones (its ablation table; unconfirmed)",
            steps=28000,
        ),
        *[
            Row(
                f"etth1-{h}-{enc}",
                "etth1.yaml",
                "mse_scaled",
                mse,
                reference,
                steps=steps,
                lower_is_better=True,
                overrides={"model.encoder": enc, "data.horizon": h, **settings},
            )
            for h, mse, steps, reference, settings in ETTH1
            for enc in ENCODERS
        ],
        *[
            Row(
                f"ucr-{name}-{enc}",
                "ucr.yaml",
                "accuracy",
                bound,
                reference,
                steps=steps,
                seeds=5,
                folds=5,
                overrides={"data.path": name, "model.encoder": enc, "data.stack_frames": stack},
            )
            for name, bound, steps, stack, reference in UCR_SETS
            for enc in ENCODERS
        ],
        *[
            Row(
                f"multi30k-{enc}",
                f"multi30k-{enc}.yaml",
                "bleu",
                bleu,
                "GRU+attention 28.11, Transformer 36.52 (bentrevett/pytorch-seq2seq notebooks 4 and 6; "
                "BLEU on lower-cased tokens, not sacrebleu)",
                steps=steps,
                beam=5,
            )
            for enc, bleu, steps in (("gru", 30.0, 4000), ("transformer", 37.0, 3600))
        ],
        *[
            Row(
                f"semeval-{name}",
                "semeval.yaml",
                "f1_macro",
                target,
                reference,
                steps=6000,
                overrides=settings,
            )
            for name, target, reference, settings in (
                ("lstm-scratch", None, SEMEVAL_SCRATCH, {}),
                (
                    "lstm-glove",
                    0.840,
                    SEMEVAL_VECTORS,
                    {"model.embeddings": "glove-6b-50d", "model.embed_dim": 50},
                ),
                (
                    "lstm-glove-chars",
                    0.840,
                    SEMEVAL_VECTORS,
                    {
                        "model.embeddings": "glove-6b-50d",
                        "model.embed_dim": 50,
                        "model.char_dim": 30,
                        "model.char_filters": 50,
                        "data.lowercase": True,
                    },
                ),
            )
        ],
        *[
            Row(
                f"pathquestion-{hops}h",
                "pathquestion.yaml",
                "accuracy",
                target,
                PATHQUESTION_REFERENCE.format(target),
                steps=steps,
                seeds=5,
                overrides={"data.path": f"pathquestion-{hops}h"},
            )
            for hops, target, steps in ((2, 0.960, 1500), (3, 0.877, 3000))
        ],
        *[
            Row(
                f"geoquery-{split}-gru{suffix}",
                "geoquery.yaml",
                "exact_match",
                None,
                GEOQUERY_REFERENCE,
                steps=1000,
                seeds=5,
                overrides={"data.path": f"geoquery-{split}", **copy},
            )
            for split in ("question", "query")
            for suffix, copy in (("", {}), ("-copy", {"model.copy": True}))
        ],
        *[
            Row(
                f"{dataset}-gru",
                "link.yaml",
                "mrr",
                conve,
                LINK_REFERENCE.format(conve, rotate),
                steps=steps,
                overrides={"data.path": dataset},
            )
            for dataset, conve, rotate, steps in (
                ("wn18rr", 0.43, 0.476, 3000),  # 0.53 s a step on a thread beside another run
                ("fb15k-237", 0.325, 0.338, 4000),  # 0.26 s
            )
        ],
        Row(
            "bbc-extract",
            "bbc-extract.yaml",
            "rouge2",
            None,
            "the lead baseline's test ROUGE-2 on the same articles",
            steps=600,
            seeds=5,  # 224 test articles
            versus="lead_rouge2",
        ),
        *[
            Row(
                f"splice-{enc}",
                "splice.yaml",
                "accuracy",
                0.97,
                "no published figure on this split (copies of a sequence kept in one split); StatLog's best "
                "0.959 on its own split and features (dna.names)",
                steps=4000,
                seeds=5,
                overrides={"model.encoder": enc},
            )
            for enc in ENCODERS
        ],
        *[
            Row(
                f"jsb-chorales-{enc}",
                "jsb-chorales.yaml",
                "nll",
                8.0,
                JSB_REFERENCE,
                steps=JSB_STEPS[enc],
                seeds=5,
                lower_is_better=True,
                overrides={"model.encoder": enc, **JSB_SETTINGS.get(enc, {})},
            )
            for enc in ("lstm", "gru", "transformer")
        ],
        *[
            Row(
                f"jsb-chorales-nade-{enc}",
                "jsb-chorales.yaml",
                "nll",
                5.19,
                NADE_REFERENCE,
                steps=steps,
                seeds=5,
                lower_is_better=True,
                overrides={"model.encoder": enc, "model.nade_hidden": 150},
            )
            for enc, steps in (("gru", 1300), ("transformer", 3300))
        ],
        Row(
            "leptospira-cds-gru",
            "leptospira-cds.yaml",
            "f1",
            None,
            "no published figure: coding segments (CDS) found base by base",
            steps=1600,
        ),
        *[
            Row(
                f"fsdd-{enc}",
                "fsdd.yaml",
                "accuracy",
                0.985,
                "no published figure on the official split (takes 0-4 test)",
                steps=2000,
                seeds=5,
                overrides={"model.encoder": enc},
            )
            for enc in ENCODERS
        ],
        *[
            Row(
                f"digits-8x8-{enc}",
                "digits.yaml",
                "accuracy",
                0.98,
                "no published figure on this split (359 test images); the bar is seqlab's own",
                steps=600,
                seeds=5,
                overrides={"model.encoder": enc},
            )
            for enc in ENCODERS
        ],
        *[
            Row(
                f"digits-8x8-pixels-{enc}",
                "digits-pixels.yaml",
                "bits_per_pixel",
                None,
                "no published figure on this split; the bar: each pixel drawn on its own from its "
                "position's training histogram in the digit's class",
                steps=3000,
                seeds=5,  # 359 test images
                lower_is_better=True,
                versus="baseline_bits_per_pixel",
                overrides={"model.encoder": enc},
            )
            for enc in ("gru", "transformer")
        ],
        *[
            Row(
                f"flickr8k-{enc}",
                "flickr8k.yaml",
                "bleu4",
                None,
                "the bar: the caption of the nearest training image by pixels, on the same 125 test images; "
                "on the full Flickr8k (6,000 training images): Show and Tell about 27 BLEU-4 (Vinyals et al. "
                "2015; unconfirmed), for orientation only",
                steps=1600,
                seeds=5,  # 125 test images
                versus="baseline_bleu4",
                overrides={"model.encoder": enc},
            )
            for enc in ("gru", "transformer")
        ],
        *[
            Row(
                f"netsurfp-{enc}",
                "netsurfp.yaml",
                "accuracy",
                0.75,
                "Q3 over resolved residues from single sequences; on CB513 (another test set): TAPE's best "
                "pretrained single-sequence model 0.73-0.75, one-hot features 0.69, alignment profiles 0.80 "
                "(Rao et al. 2019)",
                steps=1500,
                seeds=5,  # 364 test chains
                overrides={"model.encoder": enc, **settings},
            )
            for enc, settings in (("tcn", {}), ("transformer", {"model.hidden_size": 128}))
        ],
        Row(
            "netsurfp-transformer-lm",
            "netsurfp.yaml",
            "accuracy",
            0.75,
            "the netsurfp rows' reference; here the transformer starts from a protein language model "
            "trained on the training chains (configs/netsurfp-lm.yaml, train.init_from)",
            steps=1500,
            seeds=5,  # 364 test chains
            overrides={"model.encoder": "transformer"},
            pretrain="netsurfp-lm.yaml",
            pretrain_steps=3000,
        ),
        *[
            Row(
                f"natops-{enc}",
                "natops.yaml",
                "accuracy",
                0.9778,
                "the UEA multivariate bake-off's best on NATOPS's own split: ResNet 0.9778, InceptionTime "
                "0.9611, ROCKET 0.8889, HIVE-COTE 0.8889, DTW_D 0.8833 (Ruiz et al. 2021, result files of "
                "time-series-machine-learning/tsml-eval; means over 30 resamples: ResNet 0.9711)",
                steps=1000,
                seeds=5,  # 180 test recordings; seed s validates on fold s of five
                folds=5,
                overrides={"model.encoder": enc},
            )
            for enc in ENCODERS
        ],
        *[
            row
            for fold, (ade20, fde20), (ade, fde) in ETH_UCY
            for row in (
                *[
                    Row(
                        f"eth-ucy-{fold}-best-of-20{suffix}",
                        "eth-ucy.yaml",
                        "ade@20",
                        ade20,
                        STGCNN.format(ade20, fde20) + note,
                        steps=2000,
                        seeds=5,
                        lower_is_better=True,
                        overrides={"data.path": f"eth-ucy-{fold}", "train.monitor": "ade@20", **grid},
                    )
                    for suffix, grid, note in (("", {}, ""), ("-social", {"data.social_grid": 4}, SOCIAL))
                ],
                Row(
                    f"eth-ucy-{fold}-one-path",
                    "eth-ucy.yaml",
                    "ade",
                    None,
                    SGAN_LSTM.format(ade, fde) + "; the bar: constant velocity on the same windows",
                    steps=2000,
                    seeds=5,
                    lower_is_better=True,
                    versus="baseline_ade",
                    overrides={"data.path": f"eth-ucy-{fold}", "model.gaussian": False},
                ),
            )
        ],
        Row(
            "fsdd-speech-gru",
            "fsdd-speech.yaml",
            "heard_accuracy",
            0.95,
            "every digit said in every speaker's voice (60 clips) and heard by the fsdd-gru row's first "
            "classifier, trained on real recordings only (which hears the real test recordings at 0.9907)",
            steps=4000,
            seeds=5,  # 60 spoken digits
            listener="fsdd-gru",
        ),
        Row(
            "fsdd-strings-speech-gru",
            "fsdd-speech.yaml",
            "heard_wer",
            0.10,
            "fsdd-strings' 500 test strings said in their speakers' voices and transcribed by the "
            "fsdd-strings-gru row's first recogniser, trained on real recordings only; four frames a "
            "decoder step (a string is up to five words long)",
            steps=6000,
            seeds=5,  # 500 test strings
            lower_is_better=True,
            overrides={"data.path": "fsdd-strings-speech", "data.stack_frames": 4},
            listener="fsdd-strings-gru",
        ),
        Row(
            "fsdd-speaker-gru",
            "fsdd.yaml",
            "accuracy",
            None,
            "an unheard speaker (theo), reported beside the official split",
            steps=1500,
            seeds=5,
            overrides={"data.path": "fsdd-speaker"},
        ),
        *[
            Row(
                f"fsdd-strings-{enc}",
                "fsdd-strings.yaml",
                "wer",
                0.03,
                "no published figure: digit strings joined from the official test takes",
                steps=1750,
                seeds=5,  # 500 test strings
                lower_is_better=True,
                beam=8,
                overrides={"model.encoder": enc},
            )
            for enc in ("lstm", "gru", "transformer")
        ],
        Row(
            "m4-hourly-smape",
            "m4-hourly.yaml",
            "smape",
            8.913,
            M4_REFERENCE.format("8.913", "9.328", "13.912"),
            steps=2000,
            seeds=5,
            lower_is_better=True,
            baselines=True,
        ),
        Row(
            "m4-hourly-mase",
            "m4-hourly.yaml",
            "mase",
            0.801,
            M4_REFERENCE.format("0.801", "0.893", "1.193"),
            steps=2000,
            seeds=5,
            lower_is_better=True,
            overrides={"data.scaling": "seasonal"},
        ),
    ]
}

CHOICES = {
    c.name: c
    for c in [
        Choice("sms-spam", tuple(f"sms-spam-{enc}" for enc in ENCODERS)),
        *[Choice(f"etth1-{h}", tuple(f"etth1-{h}-{enc}" for enc in ENCODERS)) for h, *_ in ETTH1],
        *[Choice(f"ucr-{name}", tuple(f"ucr-{name}-{enc}" for enc in ENCODERS)) for name, *_ in UCR_SETS],
        Choice("splice", tuple(f"splice-{enc}" for enc in ENCODERS)),
        Choice("jsb-chorales", tuple(f"jsb-chorales-{enc}" for enc in ("lstm", "gru", "transformer"))),
        Choice("fsdd", tuple(f"fsdd-{enc}" for enc in ENCODERS)),
        Choice("digits-8x8", tuple(f"digits-8x8-{enc}" for enc in ENCODERS)),
        Choice("flickr8k", ("flickr8k-gru", "flickr8k-transformer")),
        Choice("netsurfp", ("netsurfp-tcn", "netsurfp-transformer", "netsurfp-transformer-lm")),
        Choice("natops", tuple(f"natops-{enc}" for enc in ENCODERS)),
        Choice("digits-8x8-pixels", ("digits-8x8-pixels-gru", "digits-8x8-pixels-transformer")),
        Choice("semeval-glove", ("semeval-lstm-glove", "semeval-lstm-glove-chars")),
        *[
            Choice(f"geoquery-{split}", (f"geoquery-{split}-gru", f"geoquery-{split}-gru-copy"))
            for split in ("question", "query")
        ],
    ]
}

AVERAGES = {
    a.name: a
    for a in [
        *[
            Average(
                f"eth-ucy-best-of-20{suffix}",
                tuple(f"eth-ucy-{fold}-best-of-20{suffix}" for fold, *_ in ETH_UCY),
                0.44,
                "Social-STGCNN's average of folds, best of 20: ADE 0.44, FDE 0.75" + note,
                beside=("fde@20",),
            )
            for suffix, note in (
                ("", ""),
                ("-social", "; beside eth-ucy-best-of-20, the model without its neighbours"),
            )
        ],
        Average(
            "eth-ucy-one-path",
            tuple(f"eth-ucy-{fold}-one-path" for fold, *_ in ETH_UCY),
            0.70,
            "the LSTM of Social GAN's table, average of folds: ADE 0.70, FDE 1.52",
            beside=("fde", "baseline_ade", "baseline_fde"),
        ),
    ]
}

# Rows of earlier tables that the protocol retired, and why.
RETIRED = {
    "ucr-*-x5, splice-transformer-x5": "ensembles of five seeds of the encoder with the best test score; "
    "an ensemble returns as a row declared in advance, beside published ensembles",
    "jsb-chorales-transformer-x4, etth1-336-transformer-x3": "ensembles of an encoder picked by its test "
    "score, compared with single models",
    "generation-speed": "one run of cached against uncached generation; benchmarks/SPEED.md measures the "
    "same shapes beside transformers' GPT-2 (`seqlab bench speed`)",
}

FORECAST_BASELINES = ("naive", "seasonal_naive", "auto_theta", "auto_ets")
# The M4 organisers' Naive2 (seasonally adjusted naive) sMAPE and MASE, the reference of OWA.
NAIVE2 = {"m4-hourly": (18.383, 2.395)}


def checkout(root: Path) -> Path:
    """`root` if it is a checkout of the seqlab repository, with the configs/ the rows read and the
    benchmarks/ folder they write; else a UserError."""
    missing = " or ".join(f"{name}/" for name in ("configs", "benchmarks") if not (root / name).is_dir())
    if missing:
        raise UserError(
            f"the published-results rows read configs/ and write benchmarks/ of a checkout of "
            f"the seqlab repository, and {root} has no {missing}: run `seqlab bench quality` in "
            "the checkout's root folder, or `python CHECKOUT/benchmarks/run.py ROW` from anywhere"
        )
    return root


def declaration(row: Row, root: Path) -> dict:
    """What a row's runs depend on, with a fingerprint: seeds recorded under another fingerprint are stale."""
    configs = [row.config] + ([row.pretrain] if row.pretrain else [])
    declared = {
        "config": f"configs/{row.config}",
        "overrides": row.overrides,
        "steps": row.steps,
        "seeds": row.seeds,
        "folds": row.folds,
        "pretrain": row.pretrain,
        "pretrain_steps": row.pretrain_steps,
        "metric": row.metric,
        "split": row.split,
        "selection_split": "val (a fold of train)" if row.folds else "val",
        **({"minutes": row.minutes} if row.minutes else {}),
        **({"listener": row.listener} if row.listener else {}),
    }
    if row.listener:  # the row's numbers are what the listener row's first run hears
        declared["listener_fingerprint"] = declaration(ROWS[row.listener], root)["fingerprint"]
    texts = {name: (root / "configs" / name).read_text() for name in configs}
    content = json.dumps({**declared, "seeds": None, "texts": texts}, sort_keys=True)
    return {**declared, "fingerprint": hashlib.sha256(content.encode()).hexdigest()[:16]}


def require_step_budget(row: Row, root: Path) -> None:
    """Refuse a row declared in steps whose configs set a wall-clock budget: train.max_minutes would stop
    its seeds, and pace their schedule and evaluations, by the speed of the machine they ran on."""
    from seqlab.config import load_config

    if row.minutes:
        return
    for name in [row.config] + ([row.pretrain] if row.pretrain else []):
        if load_config(root / "configs" / name).train.max_minutes is not None:
            raise UserError(
                f"{row.name} is declared in steps ({row.steps}), but configs/{name} sets train.max_minutes, "
                "which would stop its seeds by the clock: remove it from the config"
            )


def run_seed(row: Row, root: Path, seed: int) -> dict:
    """Train one seed of `row` and score its chosen checkpoint on validation and test data."""
    from seqlab.config import load_config
    from seqlab.data.datasets import load_splits
    from seqlab.pipeline import fit

    out = root / "runs" / "bench" / row.name / f"seed-{seed}"
    shutil.rmtree(out, ignore_errors=True)
    budget = {"train.max_steps": row.steps, "train.max_minutes": row.minutes, "train.seed": seed}
    overrides = {**row.overrides, **budget}
    if row.folds:
        overrides.update({"data.folds": row.folds, "data.fold": seed % row.folds})
    started = time.monotonic()
    if row.pretrain:
        pre = {**budget, "train.max_steps": row.pretrain_steps}
        fit(load_config(root / "configs" / row.pretrain, **pre), out / "pretrain")
        overrides["train.init_from"] = str(out / "pretrain")
    config = load_config(root / "configs" / row.config, **overrides)
    splits = load_splits(config.task, config.data)
    pipeline = fit(config, out / "run", splits)
    seconds = time.monotonic() - started
    meta = json.loads((out / "run" / "meta.json").read_text())
    scores = {"val": pipeline.evaluate(splits["val"])}
    if "test" in splits:
        scores["test"] = json.loads((out / "run" / "metrics.json").read_text())
        baseline = out / "run" / "baseline.json"  # the task's own baseline on the same test split
        if baseline.exists():
            scores["test"].update({f"baseline_{k}": v for k, v in json.loads(baseline.read_text()).items()})
        if row.listener:
            listener = root / "runs" / "bench" / row.listener / "seed-0" / "run"
            if not (listener / "meta.json").exists():
                raise UserError(
                    f"row {row.name} is heard by row {row.listener}'s first seed: run that row first"
                )
            scores["test"].update(measurements.heard(pipeline, listener, splits["test"]))
    return {
        "seed": seed,
        **{split: _numbers(metrics) for split, metrics in scores.items()},
        "steps": meta["steps"],
        "stopped_by": meta["stopped_by"],
        "train_seconds": meta["train_seconds"],
        "items_per_second": round(meta["items_seen"] / max(meta["train_seconds"], 1e-9), 1),  # what the loss
        # counts: examples, tokens, residues, windows
        "wall_seconds": round(seconds, 1),
        "parameters": meta["parameters"],
        "split_sizes": meta["split_sizes"],
        "dataset": config.data.path,
        "encoder": config.model.encoder,
        "date": date.today().isoformat(),
        "extras": _extras(row, pipeline, splits) if seed == 0 else {},
    }


def _numbers(metrics: dict) -> dict[str, float]:
    return {k: round(v, 6) for k, v in metrics.items() if isinstance(v, (int, float)) and k != "split"}


SCORING_SPEED = ("tag", "trajectory", "classify", "link")  # tasks whose rows also time their test scoring


def _extras(row: Row, pipeline, splits: dict) -> dict:
    """What a row measures once, on its first seed's run: baselines, decoding speed, feature speed."""
    from seqlab.baselines import text_classification_baselines
    from seqlab.data.inputs import kind_of

    extras: dict = {}
    if row.baselines and pipeline.config.task == "forecast":
        extras["baselines"] = pipeline.evaluate_baselines(splits["test"], list(FORECAST_BASELINES))
    elif row.baselines:
        extras["text_baselines"] = text_classification_baselines(
            splits["train"], splits["val"], splits["test"]
        )
    if row.beam and "transcribe" in pipeline.task.verbs:
        extras["recognition"] = measurements.transcription_speed(pipeline, splits["test"], row.beam)
    elif row.beam:
        extras["decoding"] = measurements.decoding_speed(pipeline, splits["test"], row.beam)
    if kind_of(pipeline.config.data).stacked:  # frames computed from audio as records are readied
        extras["features_per_second"] = measurements.feature_speed(pipeline.config.data)
    if pipeline.config.task in SCORING_SPEED and "test" in splits:
        extras["scoring"] = measurements.scoring_speed(pipeline, splits["test"])
    return extras


def values(row: Row, entry: dict) -> list[float]:
    """The row's metric, one value per recorded seed."""
    return [s[row.split][row.metric] for s in entry["seeds"]]


def summary(xs: list[float]) -> dict:
    """Mean, sample standard deviation, range and the 95% t-interval of the mean of `xs`."""
    from scipy import stats

    mean = statistics.fmean(xs)
    sd = statistics.stdev(xs) if len(xs) > 1 else math.nan
    half = float(stats.t.ppf(0.975, len(xs) - 1)) * sd / math.sqrt(len(xs)) if len(xs) > 1 else math.nan
    return {
        "n": len(xs),
        "mean": mean,
        "sd": sd,
        "min": min(xs),
        "max": max(xs),
        "ci95": (mean - half, mean + half),
    }


def target_of(row: Row, entry: dict) -> float | None:
    """The value the mean must clear: the declared target, or the mean of the baseline it is versus."""
    if row.versus:
        return statistics.fmean(s["test"][row.versus] for s in entry["seeds"])
    return row.target


def verdict(row: Row, entry: dict) -> str:
    """met | not met, with "within noise" where the 95% interval holds the target; reported where
    the row has no target; incomplete while the declared seeds are not all in."""
    target = target_of(row, entry)
    if len(entry["seeds"]) < row.seeds:
        return f"incomplete: {len(entry['seeds'])} of {row.seeds} seeds"
    if target is None:
        return "reported"
    s = summary(values(row, entry))
    clears = s["mean"] <= target if row.lower_is_better else s["mean"] >= target
    noise = s["ci95"][0] <= target <= s["ci95"][1]
    return ("met" if clears else "not met") + (", within noise" if noise else "")


def chosen(choice: Choice, rows: dict[str, dict]) -> str | None:
    """The candidate row with the best validation mean, once every candidate has all its seeds."""
    candidates = [ROWS[name] for name in choice.rows]
    if any(name not in rows or len(rows[name]["seeds"]) < ROWS[name].seeds for name in choice.rows):
        return None

    def validation(row: Row) -> tuple[float, float]:
        """The validation mean of the row's metric, then of the loss: a tie on accuracy (small folds
        score 1.0 alike) goes to the lower loss."""
        seeds = rows[row.name]["seeds"]
        mean = statistics.fmean(s["val"][row.metric] for s in seeds)
        loss = statistics.fmean(s["val"].get("loss", 0.0) for s in seeds)
        return (-mean if row.lower_is_better else mean), -loss

    return max(candidates, key=validation).name


def run_row(row: Row, root: Path, seeds: Iterable[int], again: bool) -> None:
    """Run the `seeds` of `row` that results.json lacks under its current declaration (all of them with
    `again`), writing results.json and RESULTS.md after each one."""
    require_step_budget(row, root)
    path = root / "benchmarks" / "results.json"
    declared = declaration(row, root)
    for seed in seeds:
        entry = _declared_entry(read_results(path), row.name, declared)
        if not again and any(s["seed"] == seed for s in entry["seeds"]):
            continue
        print(f"{row.name}: seed {seed} ({row.steps} steps)", file=sys.stderr, flush=True)
        record = run_seed(row, root, seed)
        results = read_results(path)  # rows may run side by side
        kept = [s for s in results["rows"].get(row.name, entry)["seeds"] if s["seed"] != seed]
        if results["rows"].get(row.name, entry)["declaration"]["fingerprint"] != declared["fingerprint"]:
            kept = []
        entry = {"row": row.name, "declaration": declared, "seeds": sorted([*kept, record], key=_seed)}
        results["rows"][row.name] = entry
        results["earlier"].pop(row.name, None)
        write_results(results, path.parent)
        print(json.dumps({"row": row.name, "seed": seed, row.split: record[row.split]}), flush=True)


def merge(results: dict, other: dict, root: Path) -> dict[str, list[int]]:
    """Add to `results` the seeds that `other` (another checkout's results.json, whose seeds ran side by
    side with these) has and `results` lacks, for rows declared there as here; per row, the seeds added."""
    added = {}
    for name, entry in other["rows"].items():
        if name not in ROWS:
            continue
        declared = declaration(ROWS[name], root)
        if entry["declaration"]["fingerprint"] != declared["fingerprint"]:
            continue
        ours = _declared_entry(results, name, declared)
        have = {s["seed"] for s in ours["seeds"]}
        new = [s for s in entry["seeds"] if s["seed"] not in have]
        if new:
            results["rows"][name] = {**ours, "seeds": sorted([*ours["seeds"], *new], key=_seed)}
            results["earlier"].pop(name, None)
            added[name] = [s["seed"] for s in new]
    return added


def _declared_entry(results: dict, name: str, declared: dict) -> dict:
    """The row's entry in `results` where it was recorded under `declared`, else one without seeds."""
    entry = results["rows"].get(name)
    if entry is None or entry["declaration"]["fingerprint"] != declared["fingerprint"]:
        return {"row": name, "declaration": declared, "seeds": []}
    return entry


def _seed(record: dict) -> int:
    return record["seed"]


def read_results(path: Path) -> dict:
    results = json.loads(path.read_text()) if path.exists() else {}
    return {"rows": {}, "earlier": {}, "measurements": {}, **results}


def write_results(results: dict, folder: Path) -> None:
    write_json(folder / "results.json", results)
    (folder / "RESULTS.md").write_text("\n".join(tables(results)) + "\n")


def _number(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 10 else f"{x:.2f}"


def _bound(row: Row, target: float | None) -> str:
    return "" if target is None else ("≤ " if row.lower_is_better else "≥ ") + _number(target)


def tables(results: dict) -> list[str]:
    """RESULTS.md: the rows under the protocol, the choices made on validation, what each row measured
    beside its metric, the earlier single runs still to repeat, and the measurements."""
    from seqlab.bench.speed import machine

    rows = results["rows"]
    lines = [
        "# Benchmarks: published-results rows",
        "",
        f"Measured by `seqlab bench quality --row ROW` on {machine()}. Every row is declared in "
        "`src/seqlab/bench/quality.py` before it runs: config, encoder, budget in optimizer steps (the "
        "defaults rows, which measure the budget rule, in minutes) and "
        f"seeds (5 where the test split holds fewer than {FEW_TEST_EXAMPLES:,} examples, else 3). "
        "Checkpoints and encoders are chosen on validation data only (sets without a validation split: "
        "a fold of the training data per seed). A value is the mean ± standard deviation over seeds, "
        'with the range and the 95% t-interval of the mean; "met" means the mean clears the target, '
        "\"within noise\" that the interval holds it. Every seed's metrics are in `results.json`.'",
        "",
        "| row | dataset | encoder | metric | mean ± sd | min–max | 95% interval | seeds | target | "
        "verdict | steps | train time per seed | reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in ROWS.items():
        if name not in rows or not rows[name]["seeds"]:
            continue
        entry, s = rows[name], summary(values(row, rows[name]))
        first, target = entry["seeds"][0], target_of(row, entry)
        seconds = statistics.fmean(x["train_seconds"] for x in entry["seeds"])
        lines.append(
            f"| {name} | {first['dataset']} | {first['encoder']} | {row.metric} ({row.split}) | "
            f"{_number(s['mean'])} ± {_number(s['sd']) if s['n'] > 1 else '–'} | "
            f"{_number(s['min'])}–{_number(s['max'])} | "
            + (f"{_number(s['ci95'][0])}–{_number(s['ci95'][1])}" if s["n"] > 1 else "–")
            + f" | {s['n']} | {_bound(row, target)}"
            f" | {verdict(row, entry)} | {_steps_cell(row, entry)} | {seconds:.0f} s | {row.reference} |"
        )
    lines += choice_table(rows) + average_table(rows) + extras_tables(rows)
    lines += earlier_table(results["earlier"], rows)
    lines += [
        "",
        "## Retired rows",
        "",
        "| rows | why |",
        "|---|---|",
        *[f"| {names} | {why} |" for names, why in RETIRED.items()],
    ]
    return lines + measurements.tables(results["measurements"])


def _steps_cell(row: Row, entry: dict) -> str:
    """The declared steps; for a defaults row, its time budget and the steps its seeds took in it."""
    if not row.minutes:
        return str(row.steps)
    taken = [s["steps"] for s in entry["seeds"]]
    return f"{row.minutes:g} min: {min(taken)}–{max(taken)} taken"


def choice_table(rows: dict[str, dict]) -> list[str]:
    lines = [
        "",
        "## Encoders chosen on validation",
        "",
        "Per dataset, the row whose validation mean is best; its test mean is reported as it came.",
        "",
        "| dataset | candidates | chosen | validation mean | test mean ± sd | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for name, choice in CHOICES.items():
        pick = chosen(choice, rows)
        if pick is None:
            continue
        row, entry = ROWS[pick], rows[pick]
        s = summary(values(row, entry))
        validation = statistics.fmean(x["val"][row.metric] for x in entry["seeds"])
        lines.append(
            f"| {name} | {', '.join(r.removeprefix(name + '-') for r in choice.rows)} | {pick} | "
            f"{_number(validation)} | {_number(s['mean'])} ± {_number(s['sd'])} | {verdict(row, entry)} |"
        )
    return lines if len(lines) > 7 else []


def fold_mean(rows: dict[str, dict], members: list[Row], metric: str) -> float:
    """A test metric's mean over the folds of the per-fold means over seeds."""
    return statistics.fmean(
        statistics.fmean(x["test"][metric] for x in rows[r.name]["seeds"]) for r in members
    )


def average_table(rows: dict[str, dict]) -> list[str]:
    """The averages over folds whose rows all hold their declared seeds, with each fold's mean beside."""
    table = []
    for name, average in AVERAGES.items():
        members = [ROWS[r] for r in average.rows]
        if any(r.name not in rows or len(rows[r.name]["seeds"]) < r.seeds for r in members):
            continue
        per_fold = [values(r, rows[r.name]) for r in members]
        s = summary([statistics.fmean(fold[n] for fold in per_fold) for n in range(min(map(len, per_fold)))])
        first = members[0]
        judged = "reported"
        if average.target is not None:
            clears = s["mean"] <= average.target if first.lower_is_better else s["mean"] >= average.target
            judged = "met" if clears else "not met"
        folds = ", ".join(f"{r.name}: {_number(statistics.fmean(v))}" for r, v in zip(members, per_fold))
        beside = ", ".join(
            f"{metric} {_number(fold_mean(rows, members, metric))}" for metric in average.beside
        )
        table.append(
            [name, first.metric, folds, f"{_number(s['mean'])} ± {_number(s['sd'])}"]
            + [_bound(first, average.target), judged, beside or "–", average.reference]
        )
    columns = [
        "average",
        "metric",
        "folds (mean each)",
        "mean ± sd",
        "target",
        "verdict",
        "beside",
        "reference",
    ]
    caption = "Seed by seed, the mean of the folds' metric; then the mean ± sd of those averages."
    return measurements.section("Averages over folds", caption, columns, table) if table else []


def extras_tables(rows: dict[str, dict]) -> list[str]:
    """What rows measured on their first seed's run: statistical baselines, decoding and recognition speed."""
    section = measurements.section
    lines: list[str] = []
    speeds: list[list] = []  # rows that timed their test set's scoring
    for name, entry in rows.items():
        extras, when = entry["seeds"][0]["extras"], entry["seeds"][0]["date"]
        if "baselines" in extras:
            smape2, mase2 = NAIVE2[entry["seeds"][0]["dataset"]]
            lines += section(
                f"{name}: the model beside statistical baselines",
                f"Test metrics of seed 0 and of statsforecast models on the same windows, {when}. OWA is "
                f"relative to the official Naive2 (sMAPE {smape2}, MASE {mase2}).",
                ["model", "sMAPE", "MASE", "OWA", "MAE", "MSE"],
                [
                    [model, f"{m['smape']:.3f}", f"{m['mase']:.3f}"]
                    + [f"{0.5 * (m['smape'] / smape2 + m['mase'] / mase2):.3f}", f"{m['mae']:.2f}"]
                    + [f"{m['mse']:.1f}"]
                    for model, m in extras["baselines"].items()
                ],
            )
        if "text_baselines" in extras:
            mean = statistics.fmean(s["test"]["accuracy"] for s in entry["seeds"])
            lines += section(
                f"{name}: the model beside baselines on the same split",
                f"Test accuracy, {when}: the majority class, and a linear SVM on TF-IDF word (1-2) and "
                "character (2-5) n-grams whose C was chosen on the validation split.",
                ["model", "accuracy"],
                [[f"{name} (mean of {len(entry['seeds'])} seeds)", f"{mean:.4f}"]]
                + [[model, f"{m['accuracy']:.4f}"] for model, m in extras["text_baselines"].items()],
            )
        if "decoding" in extras:
            lines += section(
                f"{name}: greedy and beam search",
                f"Seed 0 on the test pairs, {when}: sacrebleu on detokenised output; sentences per second "
                f"decoding at batch {extras['decoding']['batch']} with the state or KV cache carried.",
                ["decoding", "BLEU", "chrF", "sentences/s"],
                [
                    [how, v["bleu"], v["chrf"], v["sentences_per_second"]]
                    for how, v in extras["decoding"].items()
                    if how != "batch"
                ],
            )
        if "scoring" in extras:
            trained = [x["items_per_second"] for x in entry["seeds"] if "items_per_second" in x]
            speeds.append(
                [name, f"{statistics.fmean(trained):,.0f}" if trained else "–"]
                + [f"{extras['scoring'][k]:,.0f}" for k in ("examples_per_second", "positions_per_second")]
                + [when]
            )
        if "recognition" in extras:
            lines += section(
                f"{name}: best path and prefix beam search",
                f"Seed 0 on the test utterances, {when}: WER and CER with jiwer; utterances per second "
                f"transcribed from frames. Frames are computed at {extras['features_per_second']} "
                "utterances/s (read, joined and turned into log-mel frames with librosa, uncached).",
                ["decoding", "WER", "CER", "utterances/s"],
                [
                    [how, v["wer"], v["cer"], v["utterances_per_second"]]
                    for how, v in extras["recognition"].items()
                ],
            )
    if speeds:
        lines += section(
            "Speed beside quality",
            "Training: what the loss counts (examples, residues, windows) per second, the mean over seeds, "
            "one thread; scoring: the test set, encoded beforehand, scored by seed 0's model (a link "
            "row's examples are queries, two a test triple, each ranked among every entity, filtered).",
            ["row", "trained items/s", "scored examples/s", "scored positions/s", "measured"],
            speeds,
        )
    return lines


def earlier_table(earlier: dict[str, dict], rows: dict[str, dict]) -> list[str]:
    """Runs recorded before their rows' current declarations, whose rows wait for seeds under the
    protocol: shown for reference, judged by nothing."""
    waiting = {name: r for name, r in earlier.items() if name not in rows}
    if not waiting:
        return []
    return [
        "",
        "## Earlier runs, still to repeat under the protocol",
        "",
        "Not evidence until the row's seeds are in the table above: each was recorded under a wall-clock "
        "budget, which makes a number depend on the machine's speed.",
        "",
        "| row | metric | value | steps | measured | why it waits |",
        "|---|---|---|---|---|---|",
        *[
            f"| {name} | {r['metric']} ({r['split']}) | {_earlier_value(r)} | {r['steps']} | {r['date']} | "
            f"{r.get('why', 'one seed, with test-score choices in places')} |"
            for name, r in waiting.items()
        ],
    ]


def _earlier_value(run: dict) -> str:
    """An earlier run's value, or its seeds' mean ± sd."""
    if "sd" not in run:
        return f"{run['value']:.4f}"
    return f"{_number(run['value'])} ± {_number(run['sd'])} ({run['seeds']} seeds)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seqlab bench quality", description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", help="rows or measurements to run (default: every row)")
    parser.add_argument("--row", action="append", default=[], help="a row to run (repeatable)")
    parser.add_argument("--seeds", type=int, help="run seeds 0 … K-1 (default: the row's declared seeds)")
    parser.add_argument(
        "--seed", type=int, action="append", default=[], help="run this seed only (repeatable), side by side"
    )
    parser.add_argument("--again", action="store_true", help="rerun seeds that results.json already has")
    parser.add_argument(
        "--merge",
        metavar="RESULTS.json",
        help="add the seeds of another checkout's results.json that this one lacks",
    )
    parser.add_argument("--tables", action="store_true", help="only rewrite RESULTS.md from results.json")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--root", default=".", help="the checkout of the seqlab repository (default: here)")
    args = parser.parse_args(argv)
    if args.list:
        for row in ROWS.values():
            judged = (
                f"{row.metric} {'below' if row.lower_is_better else 'above'} {row.versus}"
                if row.versus
                else f"{row.metric}, reported"
                if row.target is None
                else f"{row.metric} {_bound(row, row.target)}"
            )
            budget = (
                f"{row.minutes:g} min (at most {row.steps} steps)" if row.minutes else f"{row.steps} steps"
            )
            print(f"{row.name:36} {judged}, {row.seeds} seeds × {budget}")
        for choice in CHOICES.values():
            print(f"{choice.name:36} chosen on validation among {', '.join(choice.rows)}")
        for average in AVERAGES.values():
            print(f"{average.name:36} the mean of {', '.join(average.rows)}")
        for name, what in measurements.MEASUREMENTS.items():
            print(f"{name:36} {what}")
        return 0
    names = args.rows + args.row
    unknown = [n for n in names if n not in ROWS and n not in measurements.MEASUREMENTS]
    if unknown:
        print(f"error: unknown row {unknown[0]}; see --list", file=sys.stderr)
        return 2
    if args.seeds is not None and args.seeds < 1:
        print(f"error: --seeds {args.seeds}: give 1 or more", file=sys.stderr)
        return 2
    if any(seed < 0 for seed in args.seed):
        print(f"error: --seed {min(args.seed)}: seeds count from 0", file=sys.stderr)
        return 2
    root = checkout(Path(args.root).resolve())
    folder = root / "benchmarks"
    if args.tables:
        write_results(read_results(folder / "results.json"), folder)
        return 0
    if args.merge:
        other = Path(args.merge)
        if not other.is_file():
            print(
                f"error: --merge {other}: no such file; give another checkout's results.json", file=sys.stderr
            )
            return 2
        results = read_results(folder / "results.json")
        for name, seeds in merge(results, read_results(other), root).items():
            print(f"{name}: {'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))} added")
        write_results(results, folder)
        return 0
    for name in names or list(ROWS):
        if name in ROWS:
            run_row(ROWS[name], root, args.seed or range(args.seeds or ROWS[name].seeds), args.again)
            continue
        result = measurements.measure(name, root)
        results = read_results(folder / "results.json")
        results["measurements"][name] = result
        write_results(results, folder)
        print(json.dumps(result), flush=True)
    return 0
