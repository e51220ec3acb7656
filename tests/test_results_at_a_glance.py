"""A run's results-at-a-glance table (docs/results.md), printed from its leaderboard CSV."""

import importlib.util
from pathlib import Path

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "results_at_a_glance.py"


def _glance():
    spec = importlib.util.spec_from_file_location("results_at_a_glance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _board() -> pd.DataFrame:
    rows = [
        {"model": "lstm", "kind": "lstm", "bits_per_note": 4.05, "mean_oa": 0.71, "mean_oa_sd": 0.01},
        {"model": "bach (training chorales)", "bits_per_note": float("nan"), "mean_oa": 0.83, "mean_oa_sd": 0.02},
        {"model": "nb02 HMM-32", "bits_per_note": 4.6, "mean_oa": float("nan"), "mean_oa_sd": float("nan")},
        {"model": "nb04 WaveNet M", "bits_per_note": 4.37, "mean_oa": 0.855, "mean_oa_sd": 0.03},
        {"model": "Bach (test chorales)", "bits_per_note": float("nan"), "mean_oa": float("nan")},
        {"model": "unigram", "kind": "unigram", "bits_per_note": 5.57, "mean_oa": 0.59, "mean_oa_sd": 0.004},
        {"model": "vae", "kind": "vae", "bits_per_note": 11.35, "mean_oa": 0.64, "mean_oa_sd": 0.03,
         "notes": "negative ELBO bound"},
    ]
    frame = pd.DataFrame(rows).assign(benchmark=float("nan"), split="test", nats_per_frame=float("nan"))
    jsb = pd.DataFrame([{"model": "HMM, 256 states", "nats_per_frame": 6.433, "notes": "exact"},
                        {"model": "Independent Bernoulli (floor)", "nats_per_frame": 11.06, "notes": "exact"}])
    return pd.concat([frame, jsb.assign(benchmark="jsb", split="test")], ignore_index=True)


def test_box_has_floor_first_ceiling_last_and_only_the_comparison_rows():
    lines = _glance().glance(_board()).splitlines()
    rows = [line for line in lines[2:] if line.startswith("| ") and "JSB" not in line and line.count("|") == 5]
    assert [row.split(" | ")[1] for row in rows] == ["unigram", "lstm", "vae", "bach (training chorales)"]
    assert rows[0].startswith("| floor | unigram | 5.57 | 0.590 ± 0.004")
    assert rows[-1].startswith("| ceiling |") and "| – |" in rows[-1]   # the ceiling has no likelihood
    assert "11.35 (ELBO bound)" in rows[2]
    assert not any("HMM-32" in line or "WaveNet M" in line for line in lines)   # notebooks' own experiment rows
    assert not any("Bach (test chorales)" in line for line in lines)            # the voice-leading reference


def test_jsb_rows_are_sorted_best_first():
    text = _glance().glance(_board())
    assert text.index("HMM, 256 states | 6.433") < text.index("Independent Bernoulli (floor) | 11.060")


def test_unreadable_file_names_the_file(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert _glance().main([str(missing)]) == 2
    assert "nope.csv" in capsys.readouterr().err
