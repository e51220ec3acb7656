# MusicalPy: two commands do everything (see README.md).
#   make run   - set up, then execute every notebook and write outputs/
#   make test  - set up, then pytest over tests/ and every notebook (nbval, smoke mode)
# Set-up is idempotent: the virtualenv is rebuilt only when requirements change.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.musicalpy-installed

.PHONY: run test pretrained setup system-audio browser lint clean

run: setup
	$(VENV)/bin/musicalpy run --out outputs

# Retrain the models that ship inside the package (musicalpy/pretrained/): the four-voice
# networks each for its budget of process CPU minutes (124 in all: 12 + 12 + 55 + 22 + 23; on
# a shared 2-core machine the first 102 took about 3.7 hours of wall clock; an interrupted run
# resumes from its last epoch), then the JSB frame networks until they stop early (about 27
# CPU minutes); each harmonizer is then judged on the validation sopranos for its card.
pretrained: setup
	$(VENV)/bin/musicalpy pretrained

# Smoke runs write figures and music under outputs/test/, never over the committed
# full-run figures in images/.
# The browser checks (tests/test_listening.py) need Chromium and its driver.
# TEST_WORKERS pytest processes share the tests (pytest-xdist); --dist loadscope keeps each
# notebook's cells, and each test file, in one process, in order.
TEST_WORKERS ?= 2
test: setup browser
	MUSICALPY_SMOKE=1 MPLBACKEND=Agg MUSICALPY_IMAGES_DIR=outputs/test/images \
	MUSICALPY_OUTPUT_DIR=outputs/test MUSICALPY_LEADERBOARD=outputs/test/leaderboard.csv \
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider --durations=15 \
	-n $(TEST_WORKERS) --dist loadscope

setup: $(STAMP) system-audio

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# libfluidsynth and a General MIDI soundfont via apt when available; otherwise
# the script says what is missing and MusicalPy falls back (see docs/troubleshooting.md).
system-audio:
	@bash scripts/install_system_audio.sh

# Headless Chromium and chromedriver from Debian's packages, for the browser checks.
browser:
	@bash scripts/install_chromium.sh

lint: setup
	$(PY) -m ruff check musicalpy tests benchmarks

clean:
	rm -rf $(VENV) outputs data/cache
