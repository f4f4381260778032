"""Words as every skill counts them: one tokenizer, one stopword list, one stemmer.

Summaries, their grounding check, Q&A ranking and the translation checks all compare words across two texts
(a source and a rephrasing, a question and a message). They must cut and normalise words the same way, or a word
found on one side is missed on the other. Stemming is the Snowball English stemmer (Porter2, from the maintained
`snowballstemmer` package), so "decided"/"decide", "shipping"/"ships" and "happy"/"happier" meet.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer

# Letters and digits of any script, with inner apostrophes kept ("don't", "l'homme"); no underscores.
WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

# Function words and chat filler that carry no topic, in the apostrophe forms `words` produces.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any anybody anyone are aren aren't as at be because
    been before being below between both but by can can't cannot could couldn couldn't d did didn didn't do does
    doesn doesn't doing don don't down during each every few for from further get go going got had hadn hadn't has
    hasn hasn't have haven haven't having he he'd he'll he's hello her here here's hers herself hi him himself his hmm
    how how's i i'd i'll i'm i've if in into is isn isn't it it's its itself just know let let's lets like ll lol
    m may me might more most must mustn't my myself no nor not of off oh ok okay on once only or other ought our
    ours ourselves out over own please pls re really right s said same say shall shan't she she'd she'll she's
    should shouldn shouldn't so some somebody someone such sure t tell than thank thanks that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've think this those through
    to too ty um under until up uh us ve very was wasn wasn't we we'd we'll we're we've well were weren weren't what
    what's when when's where where's which while who who's whom whose why why's will with won won't would wouldn
    wouldn't yeah yes you you'd you'll you're you've your yours yourself yourselves btw fwiw tbh imo""".split()
)

# A Snowball stemmer keeps its working word on the object, so two threads sharing one corrupt each other's words
# (evals and the worker's pool stem in parallel): each thread gets its own.
_STEMMERS = threading.local()


def tokens(text: str) -> list[str]:
    """The words of `text` as written (case kept), with typographic apostrophes made plain."""
    return WORD.findall(text.replace("\u2019", "'"))


def words(text: str) -> list[str]:
    """Lower-cased words: the form every comparison between texts uses."""
    return tokens(text.lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball stem of one lower-cased word; cached, since chat repeats its words a lot."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def content_words(text: str) -> list[str]:
    """The words of `text` that are not stopwords, unstemmed (for search engines that stem on their own)."""
    return [w for w in words(text) if w not in STOPWORDS]


def content_stems(text: str) -> list[str]:
    """The stems of `text`'s content words: what two texts are compared on."""
    return [stem(w) for w in content_words(text)]


def fold(text: str) -> str:
    """Lower case without accents ("Zürich" → "zurich"), so a name or month matches however a language marks it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def letters(text: str) -> str:
    """Only the letters and digits, lower-cased: two texts compared ignoring case, spaces and punctuation."""
    return "".join(c.lower() for c in text if c.isalnum())
