"""The HMM harmonizer: counting, decoding, sampling, notes from chords, the zoo kind."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from musicalpy import zoo
from musicalpy.harmonizer import (
    ChoraleHarmonizer,
    ChordHMM,
    ChordSequence,
    beat_chords,
    chords_to_notes,
    melody_beats,
    nats_per_chord,
)
from musicalpy.melody import Melody

A, B = (4, 7, 12), (3, 8, 15)


def _two_chorales() -> list[ChordSequence]:
    """Chorale 1: A A B under E E G; chorale 2: B A under G E."""
    return [ChordSequence("one", "major", np.arange(3.0), np.array([64, 64, 67]), [A, A, B], 0),
            ChordSequence("two", "major", np.arange(2.0), np.array([67, 64]), [B, A], 0)]


def test_counting_gives_the_hand_computed_probabilities():
    alpha, beta = 0.5, 0.25
    hmm = ChordHMM(alpha, beta).fit(_two_chorales())
    # States are the sorted voicings, then UNSEEN: B = (3, 8, 15) is 0, A is 1.
    assert hmm.states_ == [B, A, None]
    np.testing.assert_allclose(hmm.startprob_, np.array([1.5, 1.5, 0.5]) / 3.5)
    # From A: A->A once, A->B once; from B: B->A once; UNSEEN never left: uniform.
    np.testing.assert_allclose(hmm.transmat_[1], np.array([1.5, 1.5, 0.5]) / 3.5)
    np.testing.assert_allclose(hmm.transmat_[0], np.array([0.5, 1.5, 0.5]) / 2.5)
    np.testing.assert_allclose(hmm.transmat_[2], np.full(3, 1 / 3))
    # A sits under E (64) three times, B under G (67) twice, over 128 pitches.
    assert hmm.emissionprob_[1, 64] == pytest.approx((3 + beta) / (3 + 128 * beta))
    assert hmm.emissionprob_[1, 67] == pytest.approx(beta / (3 + 128 * beta))
    assert hmm.emissionprob_[0, 67] == pytest.approx((2 + beta) / (2 + 128 * beta))
    np.testing.assert_allclose(hmm.unigram_, np.array([2 + alpha, 3 + alpha, alpha]) / (5 + 3 * alpha))
    # A voicing training never saw is scored as UNSEEN.
    assert hmm.state_ids([(5, 9, 17), A]).tolist() == [2, 1]
    # The saved arrays give the same model back.
    again = ChordHMM.from_arrays(hmm.arrays())
    assert again.states_ == hmm.states_
    np.testing.assert_allclose(again.transmat_, hmm.transmat_)


def _all_paths(hmm: ChordHMM, soprano: np.ndarray, states) -> dict[tuple, float]:
    return {path: hmm.log_joint(soprano, path) for path in itertools.product(states, repeat=len(soprano))}


def test_viterbi_and_the_forward_pass_equal_brute_force():
    hmm = ChordHMM(0.3, 0.2).fit(_two_chorales())
    soprano = np.array([64, 67, 67, 64, 65])
    seen = _all_paths(hmm, soprano, [A, B])
    assert tuple(hmm.viterbi(soprano)) == max(seen, key=seen.get)
    # The melody's likelihood sums over every path, the UNSEEN state's included.
    every = _all_paths(hmm, soprano, hmm.states_)
    assert hmm.log_melody(soprano) == pytest.approx(logsumexp(list(every.values())))
    best = max(seen, key=seen.get)
    assert hmm.log_chords_given_melody(soprano, best) == pytest.approx(seen[best] - logsumexp(list(every.values())))


def test_backward_sampling_draws_from_the_posterior():
    hmm = ChordHMM(0.3, 0.2).fit(_two_chorales())
    soprano = np.array([64, 67, 64])
    # The sampler never decodes UNSEEN: its posterior is the joint over seen states,
    # with the UNSEEN entries of start and transitions removed and rows renormalized.
    start, trans = hmm.startprob_[:2] / hmm.startprob_[:2].sum(), hmm.transmat_[:2, :2]
    trans = trans / trans.sum(axis=1, keepdims=True)
    index = {B: 0, A: 1}
    exact = {}
    for path in itertools.product([A, B], repeat=3):
        ids = [index[c] for c in path]
        p = start[ids[0]] * np.prod([trans[i, j] for i, j in itertools.pairwise(ids)])
        exact[path] = p * np.prod([hmm.emissionprob_[i, s] for i, s in zip(ids, soprano, strict=True)])
    total = sum(exact.values())
    rng = np.random.default_rng(0)
    draws = pd.Series([tuple(hmm.sample(soprano, rng=rng)) for _ in range(4000)]).value_counts(normalize=True)
    for path, p in exact.items():
        assert draws.get(path, 0.0) == pytest.approx(p / total, abs=0.03)
    # A low temperature concentrates the draws on Viterbi's path.
    cold = [tuple(hmm.sample(soprano, rng=rng, temperature=0.05)) for _ in range(50)]
    assert all(path == tuple(hmm.viterbi(soprano)) for path in cold)


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
    from musicalpy.harmonizer import selected_table

    def both_modes(sequences):
        import dataclasses

        return [*sequences, *(dataclasses.replace(s, mode="minor", piece=s.piece + "m") for s in sequences)]

    counted = both_modes(_two_chorales())
    held = both_modes([ChordSequence("held", "major", np.arange(4.0), np.array([64, 67, 64, 64]), [A, B, A, A], 0)])
    test = both_modes([ChordSequence("test", "major", np.arange(3.0), np.array([67, 64, 67]), [B, A, B], 0)])
    alphas, betas = (0.01, 0.1, 1.0), (0.01, 1.0)
    table, harmonizer, selection = selected_table(counted, held, counted, test, alphas, betas)
    # The chain's held-out nats per chord, by hand for each alpha: it reads no beta.
    chain = {a: -sum(ChordHMM(a, 1.0).fit(_two_chorales()).log_chain(s.chords) for s in held[:1]) / 4 for a in alphas}
    assert selection["chord Markov chain"]["alpha"] == min(chain, key=chain.get)
    assert selection["chord Markov chain"]["candidates"]["alpha=0.01"] == pytest.approx(chain[0.01])
    hmm_row = selection["given the melody (HMM)"]
    assert (harmonizer.alpha, harmonizer.beta) == (hmm_row["alpha"], hmm_row["beta"])
    chosen = ChordHMM(hmm_row["alpha"], hmm_row["beta"]).fit(_two_chorales())
    expected = -chosen.log_chords_given_melody(test[0].soprano, test[0].chords) / 3
    assert table.loc["given the melody (HMM)", "major"] == pytest.approx(expected)
    assert table.loc["chords", "all"] == 6


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
    hmm = ChordHMM(0.5, 0.25).fit(training)
    harmonizer = ChoraleHarmonizer(0.5, 0.25)
    harmonizer.models_ = {"major": hmm, "minor": hmm}
    return harmonizer, hmm


def _two_beat_case(rows):
    """The piece of ``rows``, the tiny harmonizer in its key, and a hand computation:
    ``path_probability(i, j)`` of the two soprano notes under chord states i then j, and
    P(melody), the sum over all 3 x 3 chord paths (the two voicings and UNSEEN)."""
    from musicalpy.harmonizer import tonic_shift

    notes = _piece(rows)
    shift, _ = tonic_shift(notes)
    harmonizer, hmm = _tiny_harmonizer(shift)
    s0, s1 = 72 + shift, 74 + shift
    start, trans, emit = hmm.startprob_, hmm.transmat_, hmm.emissionprob_

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
