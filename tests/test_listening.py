"""The listening room and an executed notebook, checked as a person would: in headless
Chromium (Debian's chromium + chromium-driver, installed by `make test`'s set-up).

The page is built from smoke models trained here (Markov and HMM, a few seconds each)
and the real test chorales; the notebook is a small one executed by the runner, so both
checks stay short.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil

import nbformat
import numpy as np
import pandas as pd
import pytest

from musicalpy import listening, zoo
from musicalpy.midi import read_midi, write_midi

KINDS = ("markov", "hmm")


def _chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", browser), ("chromium-driver", driver)) if not path]
    if missing:
        pytest.fail(f"the browser checks need {' and '.join(missing)}: sudo apt-get install {' '.join(missing)}",
                    pytrace=False)
    return browser, driver


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def corpus():
    return zoo.training_corpus("bach")


@pytest.fixture(scope="module")
def room(tmp_path_factory, corpus):
    """A page built from two smoke models, with one harmonization folder on disk."""
    root = tmp_path_factory.mktemp("room")
    for kind in KINDS:
        zoo.train(kind, corpus, smoke=True).save(root / "models" / kind)
    test = corpus.split("test").notes
    first = test["piece"].iloc[0]
    # Its first four bars: a whole chorale would only make the two clips slower to engrave and synthesize.
    chorale = test[(test["piece"] == first) & (test["end_beat"] <= 16)]
    melody = root / "page" / "harmonizations" / "test_melody"
    write_midi(chorale, melody / "bach.mid")
    # Stands in for a model's harmonization: the soprano kept, the lower voices an octave down.
    lower = chorale["part"] != "Soprano"
    write_midi(chorale.assign(pitch=np.where(lower, chorale["pitch"] - 12, chorale["pitch"])), melody / "markov.mid")
    board = root / "leaderboard.csv"
    nan = float("nan")
    # The hmm measured by the Bach-or-model test, markov not; Bach's own row to read them against.
    pd.DataFrame({"benchmark": ["", ""], "model": ["hmm", "Bach (test chorales)"], "representation": ["quantized", ""],
                  "split": ["test", "test"], "bits_per_note": [5.3141, nan], "mean_oa": [nan, nan],
                  "vl_parallel_fifths": [0.5, 0.06], "vl_parallel_octaves": [0.2, 0.04],
                  "told_apart_features": [0.971, nan], "told_apart_features_low": [0.93, nan],
                  "told_apart_features_high": [1.0, nan], "told_apart_windows": [0.88, nan],
                  "told_apart_windows_low": [0.8, nan], "told_apart_windows_high": [0.95, nan],
                  "copied_windows": [0.0, nan], "parallel_fifths_rate": [0.0123, nan],
                  "oa_pitch_range": [0.8765, nan]}).to_csv(board, index=False)
    page = listening.build_page(root / "models", root / "page", leaderboard=board, reference=test, n_samples=2,
                                sample_beats=16, excerpt_beats=8, pairs_per_model=2, seed=3, progress=False)
    return page


def _severe_console_entries(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


# A data: URI fetched and decoded by the Web Audio API: the clip's length in seconds.
_DECODE = """
const [src, done] = arguments;
fetch(src).then(r => r.arrayBuffer())
  .then(b => new OfflineAudioContext(1, 1, 22050).decodeAudioData(b))
  .then(buffer => done(buffer.duration), error => done('error: ' + error));
"""

_AUDIO_STATE = "return Array.from(document.querySelectorAll('audio')).map(a => [a.readyState, a.duration, a.dataset.seconds || null, a.error ? a.error.code : null]);"


def _wait_for_audio(driver, count: int) -> list:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(
        lambda d: len(d.execute_script(_AUDIO_STATE)) == count
        and all(state[0] >= 1 or state[3] for state in d.execute_script(_AUDIO_STATE)))
    return driver.execute_script(_AUDIO_STATE)


def test_page_layout_on_disk(room):
    text = room.read_text(encoding="utf-8")
    page_dir = room.parent
    # The verdict opens the page: the measured model in words, the other named as not measured.
    verdict = text[text.index('id="verdict"'):text.index("</section>", text.index('id="verdict"'))]
    assert text.index('id="verdict"') < min(text.index(f'id="kind-{k}"') for k in KINDS)
    assert ('<li><a href="#model-hmm">hmm</a>: told from Bach 97% of the time by the better of two classifiers '
            "(95% CI 93-100%)</li>") in verdict
    assert 'Not measured yet: <a href="#model-markov">markov</a>.' in verdict
    # One section per kind, each with its two samples; the measured model's kind first.
    assert [k for k in KINDS if f'id="kind-{k}"' in text] == list(KINDS)
    assert text.index('id="kind-hmm"') < text.index('id="kind-markov"')
    for kind in KINDS:
        assert sorted(p.name for p in (page_dir / "samples" / kind).glob("*.mid")) == ["sample_0.mid", "sample_1.mid"]
        for stem in ("sample_0", "sample_1"):
            assert f'href="files/{kind}/{stem}.mid"' in text and f'href="files/{kind}/{stem}.musicxml"' in text
            assert read_midi(page_dir / "files" / kind / f"{stem}.mid")["end_beat"].max() <= 16 + 1e-6
            assert "<score-partwise" in (page_dir / "files" / kind / f"{stem}.musicxml").read_text(encoding="utf-8")
    # Nothing is fetched from the network: no http(s) address in any src or href.
    assert "src=\"http" not in text and "href=\"http" not in text
    assert text.count('class="pair"') == 4
    # The hmm's numbers in words, each beside Bach's, before its full row.
    hmm = text[text.index('id="model-hmm"'):text.index('id="kind-markov"')]
    words = re.findall(r"<li>([^<]*)</li>", hmm[hmm.index('<ul class="words">'):hmm.index("</ul>")])
    assert words == [
        "It is told from Bach 97% of the time (95% CI 93-100%) by a classifier reading per-piece features, 88% "
        "(80-95%) by one reading four-bar windows; 0.0% of its four-bar windows are copied from a training chorale.",
        "Parallel fifths and octaves per 100 moves: 0.7, Bach 0.1.",
        "Bits per note on the test chorales: 5.31 (how surprised the model is by Bach&#x27;s own notes; lower is better).",
    ]
    # The full row, every result column it has (new ones too), folded below the words.
    assert hmm.index("</ul>") < hmm.index('<details class="row"><summary>the full leaderboard row (14 columns)')
    table = hmm[hmm.index('<details class="row">'):]
    table = table[: table.index("</table>")]
    assert re.findall(r"<th>(\w+)</th>", table)[:4] == ["representation", "split", "bits_per_note", "vl_parallel_fifths"]
    assert "<th>told_apart_features</th><td>0.971</td>" in table and "<th>parallel_fifths_rate</th><td>0.012</td>" in table
    # The per-feature overlaps come after, folded under a summary line.
    folded = hmm[hmm.index("</table>"):hmm.index("</details>")]
    assert "<summary>overlap with the test chorales, feature by feature (1)</summary>" in folded
    assert "<th>oa_pitch_range</th><td>0.876</td>" in folded
    markov = text[text.index('id="model-markov"'):text.index('id="harmonizations"')]
    assert "No leaderboard row for this model yet" in markov


def test_blind_pairs_share_length_tempo_and_sound(corpus):
    reference = corpus.split("test").notes
    sample = reference[reference["piece"] == reference["piece"].iloc[-1]].assign(program=52, velocity=100)
    # A sample that starts late and stops after a beat and a half (1 s at the blind tempo):
    # it must not be played against 8 beats of Bach.
    short = sample[sample["start_beat"] < 1.5].assign(start_beat=lambda t: t["start_beat"] + 4,
                                                      end_beat=lambda t: t["end_beat"].clip(upper=1.5) + 4)
    pairs = listening.blind_pairs({"m": [short, sample, sample], "only short": [short]}, reference, beats=8,
                                  pairs_per_model=5, seed=0)
    assert len(pairs) == 2 and {p["model"] for p in pairs} == {"m"}
    assert len({p["reference_piece"] for p in pairs}) == 2  # two different chorales
    for pair in pairs:
        assert pair["beats"] == 8
        for table in (pair["bach"], pair["generated"]):
            # Both exactly 8 beats from their first note: as long as each other and as asked.
            assert table["start_beat"].min() == 0 and table["end_beat"].max() == pytest.approx(8)
            np.testing.assert_allclose(table["start"], table["start_beat"] * 60 / listening.BLIND_TEMPO)
            assert set(table["program"]) == {0} and set(table["velocity"]) == {80}
    # Only chorales that last the excerpt are drawn: none of the test split's lasts 400 beats.
    with pytest.raises(ValueError, match="no piece lasts 400 beats"):
        listening.blind_pairs({"m": [sample]}, reference, beats=400)
    with pytest.raises(ValueError, match="beats must be a positive number"):
        listening.blind_pairs({"m": [sample]}, reference, beats=0)
    with pytest.raises(ValueError, match="reference: a note table with start_beat"):
        listening.blind_pairs({"m": [sample]}, reference.iloc[:0])


def test_find_models_names_a_bad_card(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "card.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken/card\.json: unreadable model card"):
        listening.find_models(tmp_path)
    with pytest.raises(FileNotFoundError, match="no_such': no such folder"):
        listening.find_models(tmp_path / "no_such")
    # An unknown kind (a newer MusicalPy's) is listed after the registered ones.
    (tmp_path / "broken" / "card.json").write_text(json.dumps({"kind": "zzz_new"}), encoding="utf-8")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "card.json").write_text(json.dumps({"kind": "markov"}), encoding="utf-8")
    assert [(e.name, e.kind) for e in listening.find_models(tmp_path)] == [("m", "markov"), ("broken", "zzz_new")]


def test_a_model_that_cannot_sample_is_reported_on_the_page(tmp_path, corpus):
    # A card of a registered kind with no settings, state or files: the page says why and goes on.
    (tmp_path / "models" / "hmm").mkdir(parents=True)
    (tmp_path / "models" / "hmm" / "card.json").write_text(
        json.dumps({"format": zoo.FORMAT, "version": 2, "kind": "hmm"}), encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="no samples for .*hmm"):
        page = listening.build_page(tmp_path / "models", tmp_path / "page", reference=corpus.split("test").notes,
                                    progress=False)
    text = page.read_text(encoding="utf-8")
    assert 'id="kind-hmm"' in text and "Could not generate:" in text and "No model sample to compare." in text


def test_page_in_a_real_browser(room, browser):
    from selenium.webdriver.common.by import By

    browser.get(room.as_uri())
    n_clips = 2 * len(KINDS) + 2  # two samples per model, two harmonizations
    n_audio = n_clips + 2 * 4  # and two excerpts per blind-test pair
    states = _wait_for_audio(browser, n_audio)
    for ready, duration, expected, error in states:
        assert error is None and ready >= 1
        assert duration == pytest.approx(float(expected), abs=0.05)
    # Both clips of every pair last the same: 8 beats at the blind tempo and the release.
    pair_clips = browser.execute_script(
        "return Array.from(document.querySelectorAll('.pair')).map(p => "
        "Array.from(p.querySelectorAll('audio')).map(a => a.duration));")
    assert len(pair_clips) == 4
    for first, second in pair_clips:
        assert first == pytest.approx(second, abs=0.01) == pytest.approx(8 * 60 / listening.BLIND_TEMPO + 1, abs=0.05)
    decoded = browser.execute_async_script(_DECODE, browser.find_element(By.TAG_NAME, "audio").get_attribute("src"))
    assert decoded == pytest.approx(float(states[0][2]), abs=0.05)

    # Every score is drawn: an SVG with a size and noteheads, one per clip.
    scores = browser.execute_script(
        "return Array.from(document.querySelectorAll('.score > svg')).map(s => "
        "[s.getBoundingClientRect().width, s.getBoundingClientRect().height, s.querySelectorAll('g.note').length]);")
    assert len(scores) == n_clips
    assert all(width > 200 and height > 50 and notes > 0 for width, height, notes in scores)
    assert browser.execute_script("return document.querySelectorAll('img.roll').length") == n_clips
    assert all(browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth > 0)"))

    # The blind test: answer every pair "A"; the tally, the results and the CSV follow.
    tally = browser.find_element(By.ID, "tally")
    assert tally.text.startswith("0 of 4 answered")
    assert not browser.find_element(By.ID, "csv").is_displayed()
    pairs = browser.find_elements(By.CSS_SELECTOR, ".pair")
    truth = [p.get_attribute("data-bach-first") == "1" for p in pairs]
    for index, pair in enumerate(pairs):
        pair.find_element(By.CSS_SELECTOR, 'button[data-choice="A"]').click()
        assert tally.text.startswith(f"{index + 1} of 4 answered")
        assert "was Bach" in pair.find_element(By.CLASS_NAME, "verdict").text
    pairs[0].find_element(By.CSS_SELECTOR, 'button[data-choice="B"]').click()  # a second click changes nothing
    assert tally.text == f"4 of 4 answered, Bach found {sum(truth)} time(s)"
    results = browser.find_element(By.ID, "results")
    assert results.is_displayed()
    shown = {cells[0]: cells[1:] for cells in ([td.text for td in row.find_elements(By.TAG_NAME, "td")]
                                               for row in results.find_elements(By.CSS_SELECTOR, "tbody tr"))}
    assert set(shown) == set(KINDS)
    for kind in KINDS:  # the listener's tally, its 95% interval, and the classifier's accuracy beside it
        found = sum(t for t, p in zip(truth, pairs, strict=True) if p.get_attribute("data-model") == kind)
        pairs_shown, found_shown, _, interval, _, classifier = shown[kind]
        assert (pairs_shown, found_shown) == ("2", str(found))
        assert interval == {0: "0-66%", 1: "9-91%", 2: "34-100%"}[found]  # Wilson, two answers
        assert classifier == {"hmm": "97% (93-100%)", "markov": "not measured"}[kind]
    link = browser.find_element(By.ID, "csv")
    assert link.is_displayed() and link.get_attribute("download") == "bach_or_model.csv"
    text = browser.execute_async_script(
        "fetch(arguments[0]).then(r => r.text()).then(arguments[1]);", link.get_attribute("href"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["answer"] for r in rows] == ["A"] * 4
    assert [r["correct"] == "1" for r in rows] == truth
    assert sorted(r["model"] for r in rows) == sorted([*KINDS, *KINDS])
    assert _severe_console_entries(browser) == []


def test_an_executed_notebook_plays_draws_and_typesets_offline(tmp_path, browser):
    from selenium.webdriver.common.by import By

    from musicalpy.runner import run_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("A note of MIDI pitch $p$ sounds at $f = 440 \\cdot 2^{(p - 69)/12}$ Hz:\n\n"
                                      "$$\\alpha_t(j) = \\Big[\\sum_i \\alpha_{t-1}(i)\\, a_{ij}\\Big] b_j(x_t)$$"),
        nbformat.v4.new_code_cell("import pandas as pd\nfrom musicalpy import render\n"
                                  "notes = pd.DataFrame({'pitch': [60, 64, 67, 72], 'start': [0, .5, 1, 1.5],"
                                  " 'end': [.5, 1, 1.5, 2.5]})\nrender.play(notes)"),
        nbformat.v4.new_code_cell("render.show_score(notes)"),
    ]
    path = tmp_path / "09_check.ipynb"
    nbformat.write(nb, path)
    row = run_notebook(path, tmp_path / "out", timeout=300)
    assert row["status"] == "ok", row["error"]
    page = tmp_path / "out" / "09_check.html"
    assert "data:audio/ogg;base64," in page.read_text(encoding="utf-8")

    browser.get(page.as_uri())
    ((ready, duration, _, error),) = _wait_for_audio(browser, 1)
    assert error is None and duration == pytest.approx(3.5, abs=0.1)  # 2.5 s of notes, 1 s of release
    src = browser.find_element(By.CSS_SELECTOR, "audio source").get_attribute("src")  # IPython's <source> element
    assert browser.execute_async_script(_DECODE, src) == pytest.approx(duration, abs=0.05)
    notes = browser.execute_script("return document.querySelectorAll('svg g.note').length")
    assert notes == 5  # at 120 per minute the last note (beats 3-5) is tied over the barline
    # Formulas are MathML laid out by the browser itself: boxes with a size, no raw TeX.
    boxes = browser.execute_script(
        "return Array.from(document.querySelectorAll('math')).map(m => [m.getAttribute('display'), "
        "m.getBoundingClientRect().width, m.getBoundingClientRect().height]);")
    assert [b[0] for b in boxes] == ["inline", "inline", "block"]
    assert all(width > 5 and height > 5 for _, width, height in boxes)
    prose = browser.find_element(By.CSS_SELECTOR, ".jp-MarkdownCell").text
    assert "$" not in prose and "\\alpha" not in prose
    assert _severe_console_entries(browser) == []


def test_cli_listen_writes_and_opens_the_page(tmp_path, room, capsys, monkeypatch):
    from musicalpy.cli import main

    models = room.parent.parent / "models"
    out = tmp_path / "room"
    samples = room.parent / "samples"
    shutil.copytree(samples, out / "samples")  # the samples on disk are reused, not regenerated
    assert main(["listen", "--models", str(models), "--out", str(out), "--pairs", "1"]) == 0
    assert capsys.readouterr().out.strip() == f"listening room: {out / 'index.html'}"
    text = (out / "index.html").read_text(encoding="utf-8")
    assert text.count('class="pair"') == len(KINDS)
    for kind in KINDS:
        assert (read_midi(out / "samples" / kind / "sample_0.mid")["pitch"].tolist()
                == read_midi(samples / kind / "sample_0.mid")["pitch"].tolist())
    assert main(["listen", "--models", str(tmp_path / "none"), "--out", str(out)]) == 1
    assert "none': no such folder" in capsys.readouterr().err
    # --open shows the page already there as it is (no models needed), in the browser.
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    before = (out / "index.html").stat().st_mtime_ns
    assert main(["listen", "--models", str(tmp_path / "none"), "--out", str(out), "--open"]) == 0
    assert opened == [(out / "index.html").resolve().as_uri()]
    assert (out / "index.html").stat().st_mtime_ns == before



def test_make_run_ends_with_the_room_from_every_notebooks_smoke_models(tmp_path, room, capsys):
    from musicalpy.runner import listening_room

    assert listening_room(tmp_path, smoke=True) is None
    assert "no model folder with a card.json yet" in capsys.readouterr().out
    # A smoke run keeps each notebook's models in its own output folder.
    shutil.copytree(room.parent.parent / "models" / "markov", tmp_path / "02_hmm_baum_welch" / "models" / "markov")
    shutil.copytree(room.parent.parent / "models" / "hmm", tmp_path / "03_lstm" / "models" / "hmm")
    shutil.copytree(room.parent / "samples", tmp_path / "listening" / "samples")
    page = listening_room(tmp_path, smoke=True)
    assert page == tmp_path / "listening" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert 'id="kind-markov"' in text and 'id="kind-hmm"' in text
