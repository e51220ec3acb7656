"""Token-network families: the token LSTM (notebook 03) and the WaveNet (notebook 04).

One Keras model over the note/chord strings with durations of every voice line, framed
by START and END. ``ZooModel.fitted`` is a :class:`TokenNetwork` (the network and its
vocabulary). A sample of voice ``v`` starts from START and the opening token of voice
``v`` of a training piece (so each line begins in its register); the model continues.

The notebooks train through the same two functions the zoo uses:
:func:`token_datasets` (the tf.data windows of a corpus for given settings) and
:func:`fit_network` (build from the settings, fit with their budget).

Model folder: ``model.keras`` and ``vocabulary.json``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from ..models.settings import (
    LSTMSettings,
    TokenNetworkSettings,
    TransformerSettings,
    WaveNetSettings,
)
from .base import (
    Budget,
    Family,
    ModelError,
    Trained,
    concat_notes,
    primer_parts,
    voices_of,
)

__all__ = ["TokenNetwork", "TokenNetworkSettings", "LSTMSettings", "WaveNetSettings", "TokenNetworkFamily",
           "LSTMFamily", "WaveNetFamily", "token_datasets", "fit_network"]


class TokenNetwork(NamedTuple):
    """A token model and the vocabulary its ids index."""

    network: Any
    vocabulary: Any


def token_datasets(corpus: Any, settings: TokenNetworkSettings, vocabulary: Any = None):
    """The tf.data windows of a corpus's splits for token-network settings.

    Parameters
    ----------
    corpus : musicalpy.corpus.Corpus
    settings : TokenNetworkSettings
        ``seq_length``, ``batch_size``, ``max_transpose``, ``min_count`` and ``seed``.
    vocabulary : Vocabulary, optional
        Reuse a vocabulary instead of building one from the training split.

    Returns
    -------
    musicalpy.pipelines.SplitDatasets
        ``train`` batches of ``(ids, next ids)``, shape ``(batch_size, seq_length)``.
    """
    from ..pipelines import corpus_datasets

    return corpus_datasets(corpus, "note_strings", seq_length=settings.seq_length, target="sequence",
                           batch_size=settings.batch_size, max_transpose=settings.max_transpose, seed=settings.seed,
                           vocabulary=vocabulary, min_count=settings.min_count)


def fit_network(
    settings: TokenNetworkSettings,
    vocab_size: int,
    train: Any,
    validation: Any,
    *,
    build: Callable[[], Any] | None = None,
    run_dir: Any = None,
    callbacks: Sequence[Any] = (),
    tensorboard: bool = True,
    verbose: int | str = 0,
) -> tuple[Any, pd.DataFrame]:
    """Seed, build and fit a token network with the budget of ``settings``.

    This is the one training function of the token kinds: :func:`musicalpy.zoo.train`
    and notebooks 03 and 04 call it.

    Parameters
    ----------
    settings : LSTMSettings or WaveNetSettings
        The architecture (unless ``build`` is given) and the budget: ``epochs``,
        ``steps_per_epoch``, ``patience``, ``seed``.
    vocab_size : int
    train, validation : tf.data.Dataset
        Batches of ``(ids, next ids)``; :func:`musicalpy.models.engine.train_model`
        repeats ``train`` when ``steps_per_epoch`` sets the epochs' length.
    build : callable, optional
        Another compiled model to train on the same budget (notebook 04's baseline).
    run_dir, callbacks, tensorboard, verbose
        See :func:`musicalpy.models.engine.train_model`.

    Returns
    -------
    network : keras.Model
        With the weights of the best validation loss.
    history : pd.DataFrame
        One row per epoch run.
    """
    import keras

    from ..models import engine

    keras.utils.set_random_seed(settings.seed)
    build = build or (lambda: build_network(settings, vocab_size))
    return engine.train_model(build, train, validation, epochs=settings.epochs, steps_per_epoch=settings.steps_per_epoch,
                              patience=settings.patience, run_dir=run_dir, callbacks=callbacks, tensorboard=tensorboard,
                              verbose=verbose)


def build_network(settings: TokenNetworkSettings, vocab_size: int):
    """The compiled network that ``settings`` describe: the token LSTM
    (:func:`musicalpy.models.lstm.build_token_lstm`), the WaveNet
    (:func:`musicalpy.models.wavenet.build_wavenet`) or the Transformer
    (:func:`musicalpy.models.transformer.build_transformer`)."""
    if isinstance(settings, LSTMSettings):
        from ..models import lstm

        return lstm.build_token_lstm(vocab_size, embedding_dim=settings.embedding_dim, units=tuple(settings.units),
                                     dropout=settings.dropout)
    if isinstance(settings, WaveNetSettings):
        from ..models import wavenet

        return wavenet.build_wavenet(vocab_size, channels=settings.channels, dilations=tuple(settings.dilations),
                                     dropout=settings.dropout)
    if isinstance(settings, TransformerSettings):
        from ..models import transformer

        return transformer.build_transformer(
            vocab_size, dim=settings.dim, num_layers=settings.num_layers, num_heads=settings.num_heads,
            ff_dim=settings.ff_dim, dropout=settings.dropout, positions=settings.positions,
            relative=settings.relative, max_distance=settings.max_distance, max_length=settings.max_length,
            learning_rate=settings.learning_rate)
    raise TypeError(f"no token network is built from {type(settings).__name__}")


class TokenNetworkFamily(Family):
    """What the token LSTM and the WaveNet share: data, sampling, scoring, folder."""

    fitted_description: ClassVar[str] = "TokenNetwork(network, vocabulary)"
    continues_primer: ClassVar[bool] = True
    supports_top_k: ClassVar[bool] = True
    supports_top_p: ClassVar[bool] = True
    legacy_state_keys: ClassVar[Mapping[str, str]] = {
        "openings": "openings", "beats_per_token": "beats_per_vocabulary_token", "epochs_run": "epochs_run"}
    # Version-1 models were trained before ``min_count`` was a setting: every token kept.
    legacy_settings: ClassVar[Mapping[str, Any]] = {"min_count": 1}

    def load_network(self, path: Path) -> Any:
        raise NotImplementedError

    # The notebooks reach the one data and training path through the family:
    # ``zoo.family("lstm").datasets(corpus, settings)``, ``.fit(settings, ...)``.
    datasets = staticmethod(token_datasets)
    fit = staticmethod(fit_network)
    build = staticmethod(build_network)

    def train(self, corpus: Any, settings: Any, progress: bool) -> Trained:
        import keras

        keras.utils.set_random_seed(settings.seed)
        data = token_datasets(corpus, settings)
        if data.validation is None:
            raise ValueError(f"the validation split has no voice line longer than seq_length={settings.seq_length}; "
                             "load more pieces")
        network, history = fit_network(settings, len(data.vocabulary), data.train, data.validation,
                                       verbose=2 if progress else 0)
        voices = voices_of(corpus.split("train").notes)
        state = self._state(data.vocabulary, voices, data.sequences["train"])
        state["epochs_run"] = len(history)
        return Trained(TokenNetwork(network, data.vocabulary), voices, state)

    def wrap(self, fitted: Any, vocabulary: Any, corpus: Any, settings: Any) -> Trained:
        import keras

        from ..representations import token_sequences

        if isinstance(fitted, TokenNetwork):
            fitted, vocabulary = fitted
        if not isinstance(fitted, keras.Model):
            raise ValueError(f"fitted must be a Keras model for the {self.kind} kind, got {type(fitted).__name__}")
        if vocabulary is None:
            raise ValueError(f"the {self.kind} kind needs the vocabulary the model was trained with")
        notes = corpus.split("train").notes
        voices = voices_of(notes)
        sequences = token_sequences(notes, "note_strings", vocabulary=vocabulary)[0]
        return Trained(TokenNetwork(fitted, vocabulary), voices, self._state(vocabulary, voices, sequences))

    @staticmethod
    def _state(vocabulary: Any, voices: Sequence[str], sequences: Mapping[Any, np.ndarray]) -> dict[str, Any]:
        """Each voice's opening tokens in the training pieces (a sample starts like one
        of them) and the mean beats of a vocabulary entry (a time budget's token count)."""
        openings: dict[str, list] = {voice: [] for voice in voices}
        for (_, part), ids in sequences.items():
            if part in openings and len(ids) > 2 and int(ids[1]) >= vocabulary.n_reserved:
                openings[part].append(list(vocabulary.token_of(int(ids[1]))))
        beats = [t[1] for t in vocabulary.tokens[vocabulary.n_reserved:]]
        return {"openings": openings, "beats_per_vocabulary_token": float(np.mean(beats)) if beats else 1.0}

    def selection(self, settings: Any) -> dict[str, Any]:
        return {"split": "validation", "metric": f"val_loss: early stopping, patience {settings.patience}",
                "candidates": []}

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        network, vocabulary = model.fitted
        network.save(folder / "model.keras")
        vocabulary.save(folder / "vocabulary.json")
        return {"network": "model.keras", "vocabulary": "vocabulary.json"}

    def load(self, folder: Path, card: Mapping[str, Any]) -> Any:
        from ..representations import Vocabulary

        path = folder / "model.keras"
        if not path.exists():
            raise ModelError(f"{folder}: model.keras is missing")
        return TokenNetwork(self.load_network(path), Vocabulary.load(folder / "vocabulary.json"))

    def line_primers(self, model: Any, n_samples: int, primed: Mapping[str, pd.DataFrame],
                     seed: int) -> list[np.ndarray]:
        """The ids each sampled line starts from, voice by voice, ``n_samples`` each:
        START and the opening token of the voice in a training piece (drawn with
        ``seed``), or the voice's part of the primer (``primed``, see
        :func:`~musicalpy.families.base.primer_parts`) without its END.

        Returns
        -------
        list of np.ndarray, each shape=(n_primer_ids,), dtype=int64
        """
        from ..representations import token_sequences

        vocabulary = model.fitted.vocabulary
        rng = np.random.default_rng(seed)
        rows = []
        for voice in model.voices:
            if voice in primed:
                ids = next(iter(token_sequences(primed[voice], "note_strings", vocabulary=vocabulary,
                                                add_start_end=True)[0].values()))[:-1]  # drop END: go on
                rows.extend([np.asarray(ids, dtype=np.int64)] * n_samples)
                continue
            openings = [tuple(t) for t in model.state["openings"].get(voice, [])]
            for _ in range(n_samples):
                first = openings[rng.integers(len(openings))] if openings else None
                ids = [vocabulary.start_id] + ([vocabulary.id_of(first)] if first is not None and first in vocabulary else [])
                rows.append(np.asarray(ids, dtype=np.int64))
        return rows

    def generate(self, model: Any, budget: Budget, n_samples: int, *, temperature: float, top_k: int | None,
                 top_p: float | None, primer: pd.DataFrame | None, seed: int) -> pd.DataFrame:
        # The network was built or loaded through its model module, which registered
        # its stepper (the WaveNet's cache) with the engine.
        from ..models import engine

        network, vocabulary = model.fitted
        primed = primer_parts(primer, model.voices)
        rows = self.line_primers(model, n_samples, primed, seed)
        length = budget.tokens(model.state["beats_per_vocabulary_token"])
        # One compiled-loop call per primer length (one call for every voice and sample
        # when there is no primer): a call costs about as much for 16 lines as for 64.
        widths = np.array([len(r) for r in rows])
        lines: list[np.ndarray | None] = [None] * len(rows)
        for call, width in enumerate(dict.fromkeys(widths.tolist())):
            members = np.flatnonzero(widths == width)
            primers = np.stack([rows[i] for i in members])
            with warnings.catch_warnings():
                # A line starts from START and one opening token, by design shorter than the
                # WaveNet's receptive field; the causal padding stands for the missing past.
                warnings.filterwarnings("ignore", message="primer has .* fewer than the receptive field")
                generated = engine.sample_ids(network, vocabulary, primer=primers, n_tokens=length,
                                              n_samples=len(members), temperature=temperature, top_k=top_k,
                                              top_p=top_p, seed=seed + call)
            for i, line in zip(members, np.concatenate([primers, generated], axis=1), strict=True):
                lines[i] = line
        if budget.n_notes is not None:
            # Only the first notes of a line survive the budget: decode no further.
            lines = _cut_lines(lines, vocabulary, budget.notes_per_voice,
                               [len(primed[v]) if v in primed else 0 for v in model.voices for _ in range(n_samples)])
        notes = decode_lines(lines, vocabulary, parts=[v for v in model.voices for _ in range(n_samples)],
                             pieces=[f"sample_{k}" for _ in model.voices for k in range(n_samples)],
                             tempo=model.settings.tempo)
        return budget.trim(notes, primer=primed)

    def representation(self, model: Any) -> dict[str, Any]:
        # The LSTM and the WaveNet share this encoding; the vocabulary (which min_count
        # shapes) decides whether two of them predict the same tokens.
        return {"encoding": "note/chord strings per voice",
                "vocabulary": [list(t) if isinstance(t, tuple) else t for t in model.fitted.vocabulary.tokens]}

    def score(self, model: Any, notes: pd.DataFrame) -> tuple[float, int, str, str]:
        from ..models import engine
        from ..representations import token_sequences

        network, vocabulary = model.fitted
        sequences = token_sequences(notes, "note_strings", vocabulary=vocabulary)[0]
        total, n_tokens = engine.score_ids(network, sequences, pad_id=vocabulary.pad_id)
        return total, n_tokens, "note/chord strings per voice", "END scored once per line; unknown tokens score as UNK"


def decode_lines(lines: Sequence[np.ndarray], vocabulary: Any, *, parts: Sequence[str], pieces: Sequence[str],
                 tempo: float) -> pd.DataFrame:
    """Decode sampled lines into one note table, one ``(piece, part)`` per line.

    Same notes as :func:`musicalpy.representations.decode_token_ids` on every line, in
    one call instead of one per line (a note table costs milliseconds to build, more
    than sampling a line): the lines, each cut at its first END, are decoded end to end
    and every note is moved back by the beats of the lines before it. That subtraction
    is exact when the token durations are binary fractions (quarters, eighths, ...,
    all of the chorales' vocabulary); otherwise each line is decoded alone.

    Parameters
    ----------
    lines : sequence of np.ndarray, each shape=(n_tokens,)
        START, primer and generated ids of each line.
    vocabulary : Vocabulary
        A note-string vocabulary of ``(name, quarter length)`` tokens.
    parts, pieces : sequence of str
        The ``part`` and ``piece`` of each line's notes.
    tempo : float
        Quarter notes per minute.

    Returns
    -------
    notes : pd.DataFrame
        The notes of the first line, then of the second, ... each by start.
    """
    from ..models.wavenet import token_beats
    from ..representations import decode_token_ids

    beats_of = token_beats(vocabulary)
    if not np.all(np.mod(beats_of * 2.0**12, 1.0) == 0):
        return concat_notes([decode_token_ids(line, vocabulary, "note_strings", piece=piece, part=part, tempo=tempo)
                             for line, part, piece in zip(lines, parts, pieces, strict=True)])
    kept = []
    for line in lines:
        line = np.asarray(line, dtype=np.int64)
        ends = np.flatnonzero(line == vocabulary.end_id)
        kept.append(line[: ends[0]] if len(ends) else line)
    offsets = np.concatenate([[0.0], np.cumsum([beats_of[line].sum() for line in kept])])
    notes = decode_token_ids(np.concatenate(kept), vocabulary, "note_strings", tempo=tempo)
    if notes.empty:
        return notes
    # A line's notes start in [its offset, the next line's offset); empty lines share
    # an offset with the next one, which "right" resolves to the later line.
    which = np.searchsorted(offsets[:-1], notes["start_beat"].to_numpy(), side="right") - 1
    shift = offsets[which]
    start_beat = notes["start_beat"].to_numpy() - shift
    end_beat = notes["end_beat"].to_numpy() - shift
    seconds_per_quarter = 60.0 / tempo  # as the decoder turns beats into seconds
    notes = notes.assign(piece=np.asarray(pieces, dtype=object)[which], part=np.asarray(parts, dtype=object)[which],
                         start_beat=start_beat, end_beat=end_beat,
                         start=start_beat * seconds_per_quarter, end=end_beat * seconds_per_quarter)
    return notes.iloc[np.argsort(which, kind="stable")].reset_index(drop=True)


def _cut_lines(lines: Sequence[np.ndarray], vocabulary: Any, n_notes: int, extra: Sequence[int]) -> list[np.ndarray]:
    """Each line up to the token that brings its ``n_notes + extra`` th note.

    Tokens follow one another in time, so a line's first notes by start come from its
    first tokens: cutting here leaves the notes the budget keeps unchanged.
    """
    from ..representations import REST_TOKEN

    notes_of = np.zeros(len(vocabulary), dtype=np.int64)  # reserved ids and rests sound no note
    for index, token in enumerate(vocabulary.tokens, start=vocabulary.n_reserved):
        name = token[0] if isinstance(token, tuple) else token
        if name != REST_TOKEN:
            notes_of[index] = str(name).count(".") + 1
    cut = []
    for line, more in zip(lines, extra, strict=True):
        reached = np.flatnonzero(np.cumsum(notes_of[line]) >= n_notes + more)
        cut.append(line[: reached[0] + 1] if len(reached) else line)
    return cut


class LSTMFamily(TokenNetworkFamily):
    """Notebook 03's token LSTM."""

    kind = "lstm"
    settings_class = LSTMSettings

    def load_network(self, path: Path) -> Any:
        from ..models import lstm

        return lstm.load_model(path)


class WaveNetFamily(TokenNetworkFamily):
    """Notebook 04's WaveNet, sampled with its cached (fast-wavenet) stepper."""

    kind = "wavenet"
    settings_class = WaveNetSettings

    def load_network(self, path: Path) -> Any:
        from ..models import wavenet

        return wavenet.load_model(path)
