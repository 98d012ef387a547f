"""A wider check of a Self-Lengthen run: base vs one Generator on the first 40 items of slbench-lf test.

One sampled answer per item with the run's own evaluation settings (``eval_config``: decoding, seed,
cap), item-paired difference with its 95% bootstrap CI (docs/benchmarks.md, Self-Lengthen, session 3).

    python docs/measurements/self_lengthen_test40.py RUN_DIR/self-lengthen base
    python docs/measurements/self_lengthen_test40.py RUN_DIR/self-lengthen iter_2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from slbench.harness.evaluation import run_eval
from slbench.training.self_lengthen.config import SelfLengthenConfig
from slbench.training.self_lengthen.evaluate import eval_config, item_means, paired_difference


def main(root: Path, label: str) -> None:
    torch.set_num_threads(1)
    cfg = SelfLengthenConfig.model_validate(json.loads((root / "config.json").read_text()))
    weights = None if label == "base" else root / label / "generator_adapter"
    out = root.parent / "eval_test40" / label
    config = eval_config(cfg, out, weights).model_copy(update={"split": "test", "limit": 40})
    result = run_eval(config)
    print(label, result["words_mean"], result["words_ci"], result.get("truncated_share"), flush=True)
    base = root.parent / "eval_test40" / "base"
    if label != "base" and (base / "samples.jsonl").exists():
        print("vs base", paired_difference(item_means([base]), item_means([out])), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
