"""The shared word toolkit: what every skill compares texts on."""

from __future__ import annotations

import random
import string
from concurrent.futures import ThreadPoolExecutor

import snowballstemmer

from handlers.text.words import content_stems, stem


def test_word_forms_meet_on_one_stem() -> None:
    assert stem("decided") == stem("decide")
    assert stem("shipping") == stem("ships")
    assert content_stems("We shipped the release") == [stem("shipped"), stem("release")]


def test_stems_are_right_when_many_threads_stem_at_once() -> None:
    """Evals and the job threads stem in parallel; a shared Snowball object garbles words (or raises IndexError)."""
    rng = random.Random(3)
    # Distinct words, so the cache in front of the stemmer cannot hide a garbled result.
    samples = {"".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 14))) for _ in range(30_000)}
    ordered = sorted(samples)
    with ThreadPoolExecutor(8) as pool:
        stems = list(pool.map(stem, ordered, chunksize=50))
    reference = snowballstemmer.stemmer("english")
    assert stems == [reference.stemWord(word) for word in ordered]
