"""Which shipped harmonizer `musicalpy harmonize` uses by default: read from the cards'
validation checks, never won by a model whose voices stand still."""

from __future__ import annotations

import json

import pytest

from musicalpy import pretrained


def _card(folder, name, kind, *, atb, parallels, crossing=1.0, motion=0.1, bits=3.0):
    bach = {"parallels per 100": 0.1, "parallels per note (Fang)": 0.001, "voice crossing": 1.0}
    goals = {"parallels": parallels <= 1.5 * 0.1, "crossing": crossing <= 1.5, "motion": motion <= 0.25}
    goals["all"] = all(goals.values())
    card = {"kind": kind, "validation": {"bits_per_note": bits},
            "harmonizing": {"split": "validation", "n_sopranos": 36, "atb_bits_per_note": atb,
                            "row": {"parallels per 100": parallels, "voice crossing": crossing, "motion: worst": motion},
                            "bach": bach, "goals": goals}}
    (folder / name).mkdir()
    (folder / name / "card.json").write_text(json.dumps(card))


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path)
    monkeypatch.setattr(pretrained, "SHIPPED", {k: ("bach", "") for k in ("satb_counts", "satb_lstm", "satb_transformer",
                                                                           "satb_orderless")})
    return tmp_path


def test_the_lowest_bits_among_harmonizers_within_the_goals_wins(shipped):
    _card(shipped, "satb_counts", "satb_counts", atb=2.8, parallels=3.7, motion=0.4)  # cheapest, but static and parallel
    _card(shipped, "satb_transformer", "satb_transformer", atb=2.0, parallels=1.0)  # cheap, 10x Bach's parallels
    _card(shipped, "satb_orderless", "satb_orderless", atb=2.4, parallels=0.12)  # within every goal
    _card(shipped, "satb_lstm", "satb_lstm", atb=2.6, parallels=0.14)  # within every goal, dearer
    name, why = pretrained.choose_harmonizer()
    assert name == "satb_orderless"
    assert "2 of 4 shipped harmonizers" in why and "2.400" in why
    assert pretrained.best(harmonizes=True) == "satb_orderless"
    assert pretrained.best() == "satb_counts"  # lowest validation bits per note: all cards say 3.0, first by name


def test_without_any_within_the_goals_the_nearest_to_them_wins(shipped):
    # counts: parallels 2x Bach's (0.33 over), voices far from Bach's (motion 0.6: 1.4 over) -> 1.73
    _card(shipped, "satb_counts", "satb_counts", atb=2.8, parallels=0.2, motion=0.6)
    # transformer: parallels 3x Bach's (1.0 over), voices as Bach's -> 1.0
    _card(shipped, "satb_transformer", "satb_transformer", atb=2.0, parallels=0.3)
    # lstm: parallels 12x Bach's (7.0 over) -> 7.0
    _card(shipped, "satb_lstm", "satb_lstm", atb=3.4, parallels=1.2)
    name, why = pretrained.choose_harmonizer()
    assert name == "satb_transformer"
    assert why.startswith("no shipped harmonizer keeps every voice-leading goal") and "summed: 1.0" in why
    assert "3.0x Bach's" in why
    assert pretrained._shortfall(json.loads((shipped / "satb_counts" / "card.json").read_text())["harmonizing"]) == \
        pytest.approx(0.5 / 1.5 + 0.35 / 0.25)


def test_cards_without_a_check_fall_back_to_validation_bits(shipped):
    for name, bits in (("satb_counts", 3.1), ("satb_transformer", 2.2)):
        (shipped / name).mkdir()
        (shipped / name / "card.json").write_text(json.dumps({"kind": name, "validation": {"bits_per_note": bits}}))
    name, why = pretrained.choose_harmonizer()
    assert name == "satb_transformer" and "no shipped card records a harmonizing check" in why
