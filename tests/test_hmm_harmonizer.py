"""The HMM harmonizer: counting, back-off, the soprano's motion and voice leading in the
transitions, decoding, sampling, notes from chords, files, the zoo kind."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from musicalpy import hmm as hmm_module
from musicalpy import zoo
from musicalpy.hmm_harmonizer import (
    ANY_INPUT,
    MOTION_CLASSES,
    N_INPUTS,
    UNKNOWN_MOTION,
    ChoraleHarmonizer,
    ChordHMM,
    ChordSequence,
    beat_chords,
    chords_to_notes,
    melody_beats,
    nats_per_chord,
    soprano_motion,
    transition_inputs,
    voicing_parallels,
)
from musicalpy.melody import Melody
from musicalpy.metrics.voice_leading import piece_voice_leading
from musicalpy.names import VOICES

A, B = (4, 7, 12), (3, 8, 15)


def _two_chorales() -> list[ChordSequence]:
    """Chorale 1: A A B under E E G; chorale 2: B A under G E."""
    return [ChordSequence("one", "major", np.arange(3.0), np.array([64, 64, 67]), [A, A, B], 0),
            ChordSequence("two", "major", np.arange(2.0), np.array([67, 64]), [B, A], 0)]


def _input(into: str, out_of: str | None) -> int:
    """The input index of a transition: the soprano's motion into the beat and out of it."""
    out = UNKNOWN_MOTION if out_of is None else MOTION_CLASSES.index(out_of)
    return MOTION_CLASSES.index(into) * (UNKNOWN_MOTION + 1) + out


def test_the_soprano_motion_and_the_inputs_read_from_the_melody():
    soprano = np.array([60, 60, 62, 61, 65, 58, -1, 58, 59])
    assert [MOTION_CLASSES[c] if c < UNKNOWN_MOTION else None for c in soprano_motion(soprano)] == \
        [None, "same", "step up", "step down", "leap up", "leap down", None, None, "step up"]
    inputs, steps = transition_inputs(soprano)
    assert inputs.tolist() == [ANY_INPUT, _input("same", "step up"), _input("step up", "step down"),
                               _input("step down", "leap up"), _input("leap up", "leap down"),
                               _input("leap down", None), ANY_INPUT, ANY_INPUT, _input("step up", None)]
    assert steps.tolist() == [0, 0, 2, -1, 4, -7, 0, 0, 1]
    assert N_INPUTS == 30 and max(inputs[inputs != ANY_INPUT]) < N_INPUTS


def test_counting_and_the_back_off_give_the_hand_computed_probabilities():
    alpha, beta, kappa, kappa_motion, rho = 0.5, 0.25, 2.0, 3.0, 0.5
    hmm = ChordHMM(alpha, beta, kappa, kappa_motion, rho).fit(_two_chorales())
    # States are the sorted voicings, then UNSEEN: B = (3, 8, 15) is 0, A is 1.
    assert hmm.states_ == [B, A, None]
    u = np.array([2 + alpha, 3 + alpha, alpha]) / (5 + 3 * alpha)
    np.testing.assert_allclose(hmm.unigram_, u)
    # The start and the unconditioned transitions back off to the frequencies u.
    np.testing.assert_allclose(hmm.startprob_, (np.array([1, 1, 0]) + kappa * u) / (2 + kappa))
    np.testing.assert_allclose(hmm.transmat_[1], (np.array([1, 1, 0]) + kappa * u) / (2 + kappa))  # A -> B, A -> A
    np.testing.assert_allclose(hmm.transmat_[0], (np.array([0, 1, 0]) + kappa * u) / (1 + kappa))  # B -> A
    np.testing.assert_allclose(hmm.transmat_[2], u)  # UNSEEN was never left: its row is the frequencies
    # The three transitions, by input: A -> A under a held E (then a leap up), A -> B on
    # the leap up E -> G, B -> A on the leap down G -> E.
    assert sorted(map(tuple, hmm.counts_["transitions"].tolist())) == sorted(
        [(_input("same", "leap up"), 1, 1, 1), (_input("leap up", None), 1, 0, 1), (_input("leap down", None), 0, 1, 1)])
    # Repeat rates (Jeffreys): 1 of 1 under "same", 0 of 1 under the leaps, 0 of 0 elsewhere.
    assert hmm.repeat_rate_[_input("same", "leap up")] == pytest.approx(1.5 / 2)
    assert hmm.repeat_rate_[_input("leap up", None)] == pytest.approx(0.5 / 2)
    assert hmm.repeat_rate_[_input("step up", None)] == pytest.approx(0.5)
    # A -> A under a soprano leaping up 3: every voice moves 3 with it, the tenor a fifth
    # and the bass an octave below: two parallels. A -> B writes none (the bass holds).
    assert voicing_parallels(A, A, 3) == 2 and voicing_parallels(A, B, 3) == 0
    chain_a = hmm.transmat_[1]
    given, r = _input("leap up", None), 0.25
    prior = np.array([(1 - r) * chain_a[0] / (1 - chain_a[1]), r * rho ** 2, (1 - r) * chain_a[2] / (1 - chain_a[1])])
    prior /= prior.sum()
    expected = (np.array([1, 0, 0]) + kappa_motion * prior) / (1 + kappa_motion)  # A -> B was counted once
    np.testing.assert_allclose(hmm.transitions(given, 3)[1], expected)
    # A row never counted under its input is the voice-leading prior itself.
    unseen_row, r = _input("step up", None), 0.5
    prior = np.array([(1 - r) * chain_a[0] / (1 - chain_a[1]) * rho ** voicing_parallels(A, B, 2),
                      r * rho ** voicing_parallels(A, A, 2), (1 - r) * chain_a[2] / (1 - chain_a[1])])
    np.testing.assert_allclose(hmm.transitions(unseen_row, 2)[1], prior / prior.sum())
    # A sits under E (64) three times, B under G (67) twice, over 128 pitches.
    assert hmm.emissionprob_[1, 64] == pytest.approx((3 + beta) / (3 + 128 * beta))
    assert hmm.emissionprob_[1, 67] == pytest.approx(beta / (3 + 128 * beta))
    assert hmm.emissionprob_[0, 67] == pytest.approx((2 + beta) / (2 + 128 * beta))
    # A voicing training never saw is scored as UNSEEN.
    assert hmm.state_ids([(5, 9, 17), A]).tolist() == [2, 1]


def test_the_back_off_weight_moves_from_the_counts_to_the_prior():
    hmm = ChordHMM(0.5, 0.25, 2.0, 3.0, 0.5).fit(_two_chorales())
    given, step = _input("leap up", None), 3
    counted = np.array([1.0, 0.0, 0.0])  # A -> B, the one transition counted from A under this input
    prior = hmm.with_smoothing(kappa_motion=1e12).transitions(given, step)[1]
    for strength in (0.01, 1.0, 3.0, 100.0):
        row = hmm.with_smoothing(kappa_motion=strength).transitions(given, step)[1]
        # A row counted n = 1 time keeps the weight n / (n + kappa_motion) on its counts.
        np.testing.assert_allclose(row, (counted + strength * prior) / (1 + strength))
    np.testing.assert_allclose(hmm.with_smoothing(kappa_motion=1e-9).transitions(given, step)[1], counted, atol=1e-8)


@pytest.fixture(scope="module")
def counted_chorales():
    """A harmonizer counted on a few real chorales: ~100 voicings per mode."""
    from musicalpy.hmm_harmonizer import chord_sequences

    corpus = zoo.training_corpus("bach", limit=24)
    return ChoraleHarmonizer(2.0, 0.2, kappa=7.0, kappa_motion=3.0, rho=0.3).fit(
        chord_sequences(corpus.split("train").notes)), chord_sequences(corpus.split("validation").notes)


def test_every_transition_row_sums_to_one_and_the_sparse_passes_equal_the_dense(counted_chorales):
    harmonizer, held = counted_chorales
    hmm = harmonizer.models_["major"]
    k, rng = hmm.n_states, np.random.default_rng(0)
    alpha = rng.random((3, k))
    for given in [*range(N_INPUTS), ANY_INPUT]:
        for step in (0, 1, -2, 4, -7, 12):
            table = hmm.transitions(given, step)
            np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-12)
            assert (table > 0).all()
            np.testing.assert_allclose(hmm._advance(alpha, given, step), alpha @ table, rtol=1e-9)
            before, after = rng.integers(0, k, 40), rng.integers(0, k, 40)
            np.testing.assert_allclose(hmm.transition_probs(given, step, before, after), table[before, after],
                                       rtol=1e-12)
    # The forward pass over many melodies at once equals one dense pass per melody.
    for s in [s for s in held if s.mode == "major"][:4]:
        inputs, steps = transition_inputs(s.soprano)
        frames = hmm._frame_probs(s.soprano)
        current, total = hmm.startprob_ * frames[0], 0.0
        for t in range(1, len(frames)):
            total += np.log(current.sum())
            current = (current / current.sum()) @ hmm.transitions(inputs[t], steps[t]) * frames[t]
        assert hmm.log_partition(s.soprano) == pytest.approx(total + np.log(current.sum()))


def _two_beats(before: tuple[int, int, int], after: tuple[int, int, int], step: int) -> pd.DataFrame:
    top = 72
    rows = [(voice, pitch, beat) for beat, (soprano, voicing) in enumerate([(top, before), (top + step, after)])
            for voice, pitch in zip(VOICES, [soprano, *(soprano - v for v in voicing)], strict=True)]
    return pd.DataFrame(rows, columns=["part", "pitch", "start_beat"]).assign(
        end_beat=lambda t: t["start_beat"] + 1.0, piece="p", start=lambda t: t["start_beat"] / 2,
        end=lambda t: t["end_beat"] / 2, velocity=80, program=0, is_drum=False)


def test_voicing_parallels_count_what_the_voice_leading_metric_counts():
    rng = np.random.default_rng(1)
    voicings = [tuple(sorted(rng.choice(np.arange(1, 30), size=3, replace=False).tolist())) for _ in range(60)]
    voicings += [A, B, (0, 7, 12), (12, 19, 24), (4, 7, 12)]
    found = 0
    for before, after in itertools.product(voicings[-12:], voicings[-12:]):
        for step in (-5, -2, -1, 0, 1, 2, 7):
            expected = piece_voice_leading(_two_beats(before, after, step))
            count = int(voicing_parallels(before, after, step))
            assert count == expected["n_parallel_fifths"] + expected["n_parallel_octaves"], (before, after, step)
            found += count > 0
    assert found > 20  # the pairs tried do write parallels
    # Broadcast over every pair of many voicings at once.
    table = voicing_parallels(np.array(voicings)[:, None, :], np.array(voicings)[None, :, :], 2)
    assert table.shape == (len(voicings), len(voicings))
    assert table[3, 7] == voicing_parallels(voicings[3], voicings[7], 2)


def _all_paths(score, soprano: np.ndarray, states) -> dict[tuple, float]:
    return {path: score(soprano, path) for path in itertools.product(states, repeat=len(soprano))}


def test_viterbi_and_the_forward_pass_equal_brute_force():
    hmm = ChordHMM(0.3, 0.2, 1.5, 2.0, 0.4).fit(_two_chorales())
    soprano = np.array([64, 67, 67, 64, 65])
    seen = _all_paths(hmm.log_score, soprano, [A, B])
    assert tuple(hmm.viterbi(soprano)) == max(seen, key=seen.get)
    # The partition sums over every path, the UNSEEN state's included.
    every = _all_paths(hmm.log_score, soprano, hmm.states_)
    assert hmm.log_partition(soprano) == pytest.approx(logsumexp(list(every.values())))
    best = max(seen, key=seen.get)
    assert hmm.log_chords_given_melody(soprano, best) == pytest.approx(seen[best] - logsumexp(list(every.values())))
    # P(chords | melody) sums to one over the chord paths.
    assert logsumexp([hmm.log_chords_given_melody(soprano, p) for p in every]) == pytest.approx(0.0, abs=1e-9)
    # The generative HMM's joint sums over paths to its P(melody).
    joint = _all_paths(hmm.log_joint, soprano, hmm.states_)
    assert hmm.log_melody(soprano) == pytest.approx(logsumexp(list(joint.values())))


def test_backward_sampling_draws_from_the_posterior():
    hmm = ChordHMM(0.3, 0.2, 1.5, 2.0, 0.4).fit(_two_chorales())
    soprano = np.array([64, 67, 64])
    inputs, steps = transition_inputs(soprano)
    # The sampler never decodes UNSEEN: its posterior is the harmonizer's score over seen
    # states, with the UNSEEN entries of start and transitions removed and rows renormalized.
    start = hmm.startprob_[:2] / hmm.startprob_[:2].sum()
    trans = [None, *(hmm.transitions(inputs[t], steps[t])[:2, :2] for t in (1, 2))]
    trans = [None, *(t / t.sum(axis=1, keepdims=True) for t in trans[1:])]
    index = {B: 0, A: 1}
    exact = {}
    for path in itertools.product([A, B], repeat=3):
        ids = [index[c] for c in path]
        p = start[ids[0]] * np.prod([trans[t][ids[t - 1], ids[t]] for t in (1, 2)])
        exact[path] = p * np.prod([hmm.emissionprob_[i, s] for i, s in zip(ids, soprano, strict=True)])
    total = sum(exact.values())
    rng = np.random.default_rng(0)
    draws = pd.Series([tuple(hmm.sample(soprano, rng=rng)) for _ in range(4000)]).value_counts(normalize=True)
    for path, p in exact.items():
        assert draws.get(path, 0.0) == pytest.approx(p / total, abs=0.03)
    # A low temperature concentrates the draws on Viterbi's path.
    cold = [tuple(hmm.sample(soprano, rng=rng, temperature=0.05)) for _ in range(50)]
    assert all(path == tuple(hmm.viterbi(soprano)) for path in cold)


def _runs(*runs: tuple[list[int], list[tuple[int, int, int]], int]) -> list[ChordSequence]:
    """Training runs ``(soprano, chords, copies)``, in major and (the same) in minor."""
    out = []
    for n, (soprano, chords, copies) in enumerate(runs):
        for c in range(copies):
            for mode in ("major", "minor"):
                out.append(ChordSequence(f"{mode}{n}_{c}", mode, np.arange(float(len(soprano))), np.array(soprano),
                                         list(chords), 0))
    return out


def test_a_voicing_bach_does_not_repeat_under_a_moving_soprano_is_not_repeated():
    # A is kept while the soprano holds (six runs each on E and F) and left for B when it
    # steps up (three runs); A sits under F as often as under E, B never does.
    hmm = ChordHMM(0.5, 0.1, 5.0, 1.0, 1.0).fit(_runs(([64, 64], [A, A], 6), ([65, 65], [A, A], 6),
                                                       ([64, 66], [A, B], 3), ([66, 64], [B, A], 3)))
    melody = np.array([64, 65])
    assert hmm.viterbi(melody) == [A, B]
    # Transitions blind to the soprano's motion (the design before) repeat A: all four
    # voices move up a semitone in parallel.
    log_frames = np.log(hmm._frame_probs(melody))
    _, blind = hmm_module.viterbi(log_frames, np.log(hmm.startprob_), np.log(hmm.transmat_))
    assert [hmm.states_[i] for i in blind] == [A, A]
    # Under a held soprano, repeating A is what the counts say.
    assert hmm.viterbi(np.array([65, 65])) == [A, A]


def test_the_prior_prices_parallels_it_has_not_seen():
    low, high = (3, 8, 12), (4, 9, 14)   # from A under E: the first keeps the bass an octave below
    assert voicing_parallels(A, low, 2) >= 1 and voicing_parallels(A, high, 2) == 0
    # A -> low and A -> high once each under a leap; under F# the low voicing sounds more often.
    runs = _runs(([64, 69], [A, low], 1), ([64, 69], [A, high], 1), ([66], [low], 3), ([66], [high], 2),
                 ([64], [A], 2))
    melody = np.array([64, 66])
    blind = ChordHMM(0.5, 0.1, 2.0, 2.0, rho=1.0).fit(runs)
    assert blind.viterbi(melody) == [A, low]
    assert blind.with_smoothing(rho=0.05).viterbi(melody) == [A, high]


def test_beat_chords_read_what_sounds_on_each_beat():
    rows = [("Soprano", 72, 0, 2), ("Soprano", 74, 2, 2.5), ("Soprano", 76, 2.5, 3),
            ("Alto", 67, 0, 1), ("Alto", 65, 1, 3), ("Tenor", 64, 0, 3), ("Bass", 48, 0, 1), ("Bass", 43, 2, 3)]
    notes = pd.DataFrame(rows, columns=["part", "pitch", "start_beat", "end_beat"]).assign(piece="p")
    grid = beat_chords(notes)
    assert grid["beat"].tolist() == [0.0, 1.0, 2.0]
    assert grid["Soprano"].tolist() == [72, 72, 74]
    assert grid["Alto"].tolist() == [67, 65, 65]
    assert grid["Bass"].tolist() == [48, -1, 43]  # the bass rests on beat 1
    # A piece without one of the voices: that voice rests on every beat.
    no_bass = beat_chords(notes[notes["part"] != "Bass"])
    assert no_bass["Bass"].tolist() == [-1, -1, -1]
    assert no_bass["Soprano"].tolist() == [72, 72, 74]


def test_notes_from_chords_keep_the_soprano_and_tie_repeats():
    melody = pd.DataFrame({"pitch": [72, 74, 76, 72], "start_beat": [0.0, 1.0, 1.5, 3.0],
                           "end_beat": [1.0, 1.5, 2.0, 4.0]})
    beats, soprano = melody_beats(melody)
    assert beats.tolist() == [0, 1, 2, 3]
    assert soprano.tolist() == [72, 74, -1, 72]  # beat 2 is a rest
    chords = [(4, 7, 24), (5, 9, 26), None, (4, 7, 24)]
    notes = chords_to_notes(melody, beats, chords, soprano, piece="m")
    top = notes[notes["part"] == "Soprano"]
    assert top["pitch"].tolist() == [72, 74, 76, 72]
    assert top["start_beat"].tolist() == [0.0, 1.0, 1.5, 3.0]
    bass = notes[notes["part"] == "Bass"]
    # 72 - 24 and 74 - 26 are both 48: one note tied over beats 0-1; the rest ends it.
    assert bass["pitch"].tolist() == [48, 48]
    assert bass[["start_beat", "end_beat"]].to_numpy().tolist() == [[0.0, 2.0], [3.0, 4.0]]
    assert notes.loc[notes["part"] == "Alto", "pitch"].tolist() == [68, 69, 68]


def test_nats_per_chord_sums_by_mode():
    scores = pd.DataFrame({"mode": ["major", "major", "minor"], "n_chords": [2, 3, 5], "unseen": [0, 1, 0],
                           "given_melody": [-4.0, -6.0, -20.0], "chain": [-8.0, -12.0, -30.0],
                           "unigram": [-10.0, -10.0, -40.0]})
    table = nats_per_chord(scores)
    assert table.loc["given the melody (HMM)", "major"] == pytest.approx(2.0)
    assert table.loc["chord Markov chain", "minor"] == pytest.approx(6.0)
    assert table.loc["independent chords", "all"] == pytest.approx(6.0)
    assert table.loc["unseen chords (%)", "major"] == pytest.approx(20.0)


# ------------------------------------------------------------------ on real chorales


@pytest.fixture(scope="module")
def corpus():
    return zoo.training_corpus("bach", limit=24)


@pytest.fixture(scope="module")
def model(corpus):
    return zoo.train("hmm_harmonizer", corpus, smoke=True, progress=False)


def test_the_melody_helps_on_held_out_chorales(model, corpus):
    table = model.fitted.table(corpus.split("validation").notes)
    assert table.loc["given the melody (HMM)", "all"] < table.loc["chord Markov chain", "all"]
    assert table.loc["chord Markov chain", "all"] < table.loc["independent chords", "all"]


def test_harmonizing_a_chorale_soprano_keeps_it_exactly(model, corpus):
    piece = corpus.split("test").notes
    piece = piece[piece["piece"] == piece["piece"].iloc[0]]
    soprano = piece[piece["part"] == "Soprano"]
    for sample in (False, True):
        notes = model.harmonize(soprano, sample=sample, seed=1)
        top = notes[notes["part"] == "Soprano"].sort_values("start_beat")
        assert top["pitch"].tolist() == soprano.sort_values("start_beat")["pitch"].tolist()
        np.testing.assert_allclose(top["end_beat"], soprano.sort_values("start_beat")["end_beat"]
                                   - np.floor(soprano["start_beat"].min()))
        assert set(notes["part"]) == {"Soprano", "Alto", "Tenor", "Bass"}
        # On every beat the lower voices hang from the soprano at a voicing Bach used.
        grid = beat_chords(notes)
        grid = grid[(grid[["Soprano", "Alto", "Tenor", "Bass"]] >= 0).all(axis=1)]
        assert len(grid) >= 0.9 * np.ceil(soprano["end_beat"].max() - soprano["start_beat"].min())
        voicings = set(model.fitted.models_["major"].states_) | set(model.fitted.models_["minor"].states_)
        below = grid["Soprano"].to_numpy()[:, None] - grid[["Alto", "Tenor", "Bass"]].to_numpy()
        assert {tuple(int(v) for v in row) for row in below} <= voicings


def test_a_melody_out_of_range_is_moved_and_moved_back(model, capsys):
    melody = pd.DataFrame({"pitch": [96, 98, 100, 96], "start_beat": [0.0, 1.0, 2.0, 3.0],
                           "end_beat": [1.0, 2.0, 3.0, 4.0]})
    notes = model.harmonize(melody)
    assert "moved -24 semitones" in capsys.readouterr().out
    assert notes.loc[notes["part"] == "Soprano", "pitch"].tolist() == [96, 98, 100, 96]
    # The same as harmonizing the melody two octaves down, then moving all four voices up.
    low, high = model.state["soprano_range"]
    assert low <= 72 and 76 <= high
    inside = model.harmonize(melody.assign(pitch=melody["pitch"] - 24))
    assert "moved" not in capsys.readouterr().out
    pd.testing.assert_frame_equal(notes, inside.assign(pitch=inside["pitch"] + 24))


def test_zoo_kind_round_trip_score_and_generate(model, corpus, tmp_path):
    assert "hmm_harmonizer" in zoo.kinds(harmonizes=True)
    assert "hmm_harmonizer" not in zoo.kinds(harmonizes=False)
    held = corpus.split("validation").notes
    score = model.score(held)
    assert score["log_likelihood"] == pytest.approx(model.fitted.scores(held)["joint"].sum())
    assert score["n_tokens"] == model.fitted.scores(held)["n_chords"].sum()
    again = zoo.load(model.save(tmp_path / "h"))
    assert again.score(held)["log_likelihood"] == pytest.approx(score["log_likelihood"])
    melody = held[(held["part"] == "Soprano") & (held["piece"] == held["piece"].iloc[0])]
    pd.testing.assert_frame_equal(again.harmonize(melody), model.harmonize(melody))
    samples = again.generate(beats=8, n_samples=2, seed=3)
    assert set(samples["piece"]) == {"sample_0", "sample_1"}
    assert samples.groupby("piece")["part"].nunique().tolist() == [4, 4]
    assert samples["end_beat"].max() <= 8.0 + 1e-9


def test_kinds_that_do_not_harmonize_say_which_do(corpus):
    markov = zoo.train("markov", corpus, progress=False)
    with pytest.raises(zoo.ModelError, match=r"markov kind does not harmonize.*harmonizes=True"):
        markov.harmonize(Melody(pd.DataFrame({"pitch": [60], "start_beat": [0.0], "end_beat": [1.0]})))


def test_harmonizer_needs_both_modes():
    with pytest.raises(ValueError, match="no minor chorale"):
        ChoraleHarmonizer().fit(_two_chorales())


def test_each_row_of_the_table_gets_its_own_smoothing():
    from musicalpy.hmm_harmonizer import selected_table

    def both_modes(sequences):
        import dataclasses

        return [*sequences, *(dataclasses.replace(s, mode="minor", piece=s.piece + "m") for s in sequences)]

    counted = both_modes(_two_chorales())
    held = both_modes([ChordSequence("held", "major", np.arange(4.0), np.array([64, 67, 64, 64]), [A, B, A, A], 0)])
    test = both_modes([ChordSequence("test", "major", np.arange(3.0), np.array([67, 64, 67]), [B, A, B], 0)])
    grids = {"alphas": (0.01, 0.1, 1.0), "betas": (0.01, 1.0)}
    kappas, motions, rhos = (1.0, 10.0), (0.5, 5.0), (0.2, 1.0)
    table, harmonizer, selection = selected_table(counted, held, counted, test, *grids.values(), kappas=kappas,
                                                  kappa_motions=motions, rhos=rhos)
    # The chain's held-out nats per chord, by hand for each alpha and kappa: it reads
    # neither beta nor the input's smoothing.
    chain = {(a, k): -sum(ChordHMM(a, 1.0, k).fit(_two_chorales()).log_chain(s.chords) for s in held[:1]) / 4
             for a in grids["alphas"] for k in kappas}
    best = min(chain, key=chain.get)
    assert (selection["chord Markov chain"]["alpha"], selection["chord Markov chain"]["kappa"]) == best
    assert selection["chord Markov chain"]["candidates"]["alpha=0.01, kappa=10"] == pytest.approx(chain[0.01, 10.0])
    assert len(selection["independent chords"]["candidates"]) == 3
    hmm_row = selection["given the melody (HMM)"]
    assert len(hmm_row["candidates"]) == 3 * 2 * 2 * 2 * 2
    smoothing = {k: hmm_row[k] for k in ("alpha", "beta", "kappa", "kappa_motion", "rho")}
    assert harmonizer.smoothing == smoothing
    chosen = ChordHMM(**smoothing).fit(_two_chorales())
    expected = -chosen.log_chords_given_melody(test[0].soprano, test[0].chords) / 3
    assert table.loc["given the melody (HMM)", "major"] == pytest.approx(expected)
    assert hmm_row["candidates"][", ".join(f"{k}={v:g}" for k, v in smoothing.items())] == pytest.approx(
        min(hmm_row["candidates"].values()))
    assert table.loc["chords", "all"] == 6


def test_save_and_load_give_the_same_harmonizations_and_old_files_a_clear_error(counted_chorales, tmp_path):
    harmonizer, held = counted_chorales
    harmonizer.save(tmp_path)
    header = json.loads((tmp_path / "harmonizer.json").read_text())
    assert header["format"] == 2 and header["rho"] == pytest.approx(0.3)
    with np.load(tmp_path / "harmonizer_major.npz", allow_pickle=False) as arrays:
        assert arrays["count_transitions"].shape[1] == 4  # (input, from, to, count): no dense (30, K, K) block
    again = ChoraleHarmonizer.load(tmp_path)
    assert again.smoothing == harmonizer.smoothing
    for s in held[:6]:
        hmm, loaded = harmonizer.models_[s.mode], again.models_[s.mode]
        assert loaded.viterbi(s.soprano) == hmm.viterbi(s.soprano)
        assert loaded.log_chords_given_melody(s.soprano, s.chords) == hmm.log_chords_given_melody(s.soprano, s.chords)
    # Files written before the transitions saw the soprano's motion: a clear error, no guess.
    old = {k: v for k, v in header.items() if k not in ("format", "kappa", "kappa_motion", "rho")}
    (tmp_path / "harmonizer.json").write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"older HMM harmonizer.*train it again: musicalpy train hmm_harmonizer"):
        ChoraleHarmonizer.load(tmp_path)
    k = harmonizer.models_["major"].n_states
    with pytest.raises(ValueError, match="older HMM harmonizer"):
        ChordHMM.from_arrays({"states": np.zeros((k - 1, 3)), "smoothing": np.array([0.3, 0.1]),
                              "count_start": np.zeros(k), "count_transitions": np.zeros((k, k)),
                              "count_emissions": np.zeros((k, 128)), "count_chords": np.zeros(k)})


# ------------------------------------------------------ bits per A/T/B note given the soprano

#: Two beats in C major: beat 0 under C5 is (5, 8, 24) below it, beat 1 under D5 is
#: (7, 15, 19); the alto's eighth-note passing tone F4 on beat 1.5 falls between beats.
_TWO_BEATS = [("Soprano", 72, 0.0, 1.0), ("Soprano", 74, 1.0, 2.0),
              ("Alto", 67, 0.0, 1.0), ("Alto", 67, 1.0, 1.5), ("Alto", 65, 1.5, 2.0),
              ("Tenor", 64, 0.0, 1.0), ("Tenor", 59, 1.0, 2.0), ("Bass", 48, 0.0, 1.0), ("Bass", 55, 1.0, 2.0)]
C1, C2 = (5, 8, 24), (7, 15, 19)


def _piece(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["part", "pitch", "start_beat", "end_beat"]).assign(piece="p")


def _tiny_harmonizer(shift: int) -> tuple[ChoraleHarmonizer, ChordHMM]:
    """One hand-made HMM (both modes share it, so the key analysis's mode does not matter)."""
    training = [ChordSequence("t1", "major", np.arange(3.0), np.array([72, 74, 72]) + shift, [C1, C2, C1], shift),
                ChordSequence("t2", "major", np.arange(2.0), np.array([74, 74]) + shift, [C2, C2], shift)]
    hmm = ChordHMM(0.5, 0.25, 2.0, 3.0, 0.5).fit(training)
    harmonizer = ChoraleHarmonizer(0.5, 0.25, kappa=2.0, kappa_motion=3.0, rho=0.5)
    harmonizer.models_ = {"major": hmm, "minor": hmm}
    return harmonizer, hmm


def _two_beat_case(rows):
    """The piece of ``rows``, the tiny harmonizer in its key, and a hand computation:
    ``path_probability(i, j)``, the harmonizer's score of the two soprano notes under
    chord states i then j (the transition sees the soprano step up a tone), and the
    partition, its sum over all 3 x 3 chord paths (the two voicings and UNSEEN)."""
    from musicalpy.hmm_harmonizer import tonic_shift

    notes = _piece(rows)
    shift, _ = tonic_shift(notes)
    harmonizer, hmm = _tiny_harmonizer(shift)
    s0, s1 = 72 + shift, 74 + shift
    start, trans, emit = hmm.startprob_, hmm.transitions(_input("step up", None), 2), hmm.emissionprob_

    def path_probability(i: int, j: int) -> float:
        return start[i] * emit[i, s0] * trans[i, j] * emit[j, s1]

    melody = sum(path_probability(i, j) for i in range(3) for j in range(3))
    return notes, harmonizer, hmm, path_probability, melody


def test_bits_per_lower_note_given_the_soprano_equal_a_hand_computation():
    notes, harmonizer, hmm, path_probability, melody = _two_beat_case(_TWO_BEATS)
    joint = path_probability(hmm.states_.index(C1), hmm.states_.index(C2))
    # Seven A/T/B notes: the passing tone counts in the denominator but prices nothing.
    expected = -math.log2(joint / melody) / 7
    got = harmonizer.score_given_soprano(notes)
    assert got["n_notes"] == 7 and got["n_tokens"] == 2 and got["n_unseen"] == 0
    assert got["bits_per_note"] == pytest.approx(expected)
    assert got["log_likelihood"] == pytest.approx(math.log(joint / melody))


def test_a_chord_no_state_holds_is_priced_as_unseen_and_a_piece_without_chords_raises():
    # Beat 1's bass moved from G3 to E3: (7, 15, 22) was never counted.
    rows = [row if row[:2] != ("Bass", 55) else ("Bass", 52, 1.0, 2.0) for row in _TWO_BEATS]
    notes, harmonizer, hmm, path_probability, melody = _two_beat_case(rows)
    joint = path_probability(hmm.states_.index(C1), hmm.n_states - 1)   # the last state is UNSEEN
    got = harmonizer.score_given_soprano(notes)
    assert got["n_unseen"] == 1
    assert math.isfinite(got["bits_per_note"])
    assert got["bits_per_note"] == pytest.approx(-math.log2(joint / melody) / 7)
    # Without a bass no beat has four sounding voices: nothing to price, one clear error.
    with pytest.raises(ValueError, match="no beat on which all four voices sound"):
        harmonizer.score_given_soprano(notes[notes["part"] != "Bass"])


def test_the_kind_prices_test_chorales_given_their_sopranos(model, corpus):
    test = corpus.split("test").notes
    given = zoo.family("hmm_harmonizer").score_given_soprano(model, test)
    assert {"log_likelihood", "n_tokens", "n_notes", "bits_per_note"} <= set(given)
    assert given["n_notes"] == int(test["part"].isin(["Alto", "Tenor", "Bass"]).sum())
    assert math.isfinite(given["bits_per_note"]) and given["bits_per_note"] > 0
    # The soprano must help: the same chords under the chord chain alone cost more.
    chain = -model.fitted.scores(test)["chain"].sum() / math.log(2) / given["n_notes"]
    assert given["bits_per_note"] < chain
