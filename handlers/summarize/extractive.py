"""Extractive summarisation: pick the sentences that carry a conversation, without any generation.

This is the part of /summarize that must stand on its own. A small chat model invents when asked to summarise, so
every point of a summary starts here as a sentence someone actually wrote, with the message it came from; the model
may only rephrase it afterwards (handlers/summarize/summary.py), and is checked (handlers/qa/grounding.py).

Scores combine centrality (how much a sentence resembles the rest of the conversation, from MiniLM embeddings when
the model can embed, else TF-IDF vectors), the facts a team reads a summary for (dates, numbers, ids, people), cues
that people use for decisions, open questions and action items, and a little position (openers name the topic).
Team channels change their minds: a later "let's move the freeze to Thursday" supersedes the earlier "freeze Tue",
and a bare "agreed, 20% it is" stands for the proposal it agrees with. Selection is MMR, so the picks are central
but not repetitive.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from handlers.summarize.cues import (
    ACCEPT,
    ACTION,
    AGREEMENT,
    ANSWER_START,
    ASK_ACTION,
    CHANGE_CUE,
    DEADLINE,
    DECISION,
    DIRECTIVE,
    GROUP,
    MENTION,
    OFF_TOPIC,
    OFFER_TAKEN,
    OPEN,
    OWNS,
    PRONOUN,
    PROPOSAL,
    REQUEST,
    ROOM,
    SELF_ACTION,
    WH,
    YOU_ASKED,
    by_kind,
    fact_tokens,
    topic_words,
    trim,
)
from handlers.text.lines import ChatLine
from handlers.text.markup import BARE_URL, EMOJI
from handlers.text.sentences import split_sentences
from handlers.text.words import STOPWORDS, content_stems, words

LEAD_WEIGHT = 0.15  # bonus of the first sentence; decays over about three sentences
LEAD_DECAY = 3.0
INFORMATIVE_WORDS = 6.0  # content words from which a sentence counts as fully informative
FACT_WEIGHT = 0.04  # per date, number or id (up to three): what a team reads a summary for


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of one message; `index` is its message's position in the conversation."""

    text: str
    line: ChatLine
    index: int
    position: int  # sentence number within the conversation, for order and lead bias


@dataclass(slots=True)
class Scored:
    """A sentence with what the scorer found in it. `kind` is overview, decision, question or action.

    `quote` is the sentence to show: itself, or for a bare agreement the proposal it agreed with. `facts` are its
    dates, numbers and ids; `superseded` is set when a later decision changed one of them.
    """

    sentence: Sentence
    score: float
    kind: str = "overview"
    owner: str | None = None
    tags: set[str] = field(default_factory=set)
    quote: Sentence | None = None
    facts: frozenset[str] = frozenset()
    superseded: bool = False
    context: Sentence | None = None  # what a reply needs to be understood: its thread's question, its referent

    @property
    def shown(self) -> Sentence:
        return self.quote or self.sentence


def sentences_of(lines: Sequence[ChatLine]) -> list[Sentence]:
    """Every sentence of every message, in order. Messages with no words (emoji, bare links) contribute nothing."""
    out: list[Sentence] = []
    for index, line in enumerate(lines):
        for text in map(trim, split_sentences(line.text)):
            if words(EMOJI.sub(" ", BARE_URL.sub(" ", text))):  # not only emoji and links
                out.append(Sentence(text=text, line=line, index=index, position=len(out)))
    return out


def tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-length TF-IDF vectors over content stems: the centrality fallback when no embedding model answers."""
    docs = [Counter(content_stems(t)) for t in texts]
    df = Counter(term for doc in docs for term in doc)
    vocab = {term: i for i, term in enumerate(df)}
    matrix = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    n = len(texts)
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocab[term]] = (1 + math.log(count)) * math.log((1 + n) / (1 + df[term]) + 1)
    return normalise(matrix)


def normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def score_sentences(
    sentences: Sequence[Sentence], vectors: np.ndarray, *, speakers: Sequence[str], answered_at: float = 0.5
) -> list[Scored]:
    """Score each sentence for the overview and classify it as a decision, open question or action item.

    `vectors` are unit-length rows, one per sentence. `answered_at` is the similarity from which a later reply
    counts as an answer to a question (it differs between embeddings and TF-IDF). Centrality and lead weights were
    tuned on the first 100 DialogSum test dialogues (see bot/eval/summarize.py), the cues and fact weights on the
    teamchat dev set's behaviour (bot/eval/teamchat.py); cues matter little in DialogSum and a lot in team channels.
    """
    n = len(sentences)
    if n == 0:
        return []
    similarity = vectors @ vectors.T
    centrality = (similarity.sum(axis=1) - 1.0) / max(1, n - 1)
    lengths = np.array([len(content_stems(s.text)) for s in sentences], dtype=np.float32)
    names = _names(speakers, sentences)
    first = sentences[0].position  # the lead bonus is per chunk, so every chunk of a long history competes alike
    scored: list[Scored] = []
    for i, sentence in enumerate(sentences):
        text = sentence.text
        informative = min(1.0, lengths[i] / INFORMATIVE_WORDS)  # "Yes, sir." carries nothing however central it is
        score = float(centrality[i]) * informative
        # Openers usually state the topic; "Really?" near the start still does not.
        score += math.sqrt(informative) * LEAD_WEIGHT * math.exp(-(sentence.position - first) / LEAD_DECAY)
        item = Scored(sentence=sentence, score=score, facts=fact_tokens(text))
        score += FACT_WEIGHT * min(3, len(item.facts))
        if any(name in words(text) for name in names):
            item.tags.add("name")
            score += 0.03
        item.score = score + _classify(item, i, sentences, scored, speakers, similarity, answered_at)
        scored.append(item)
    _join_acceptances(sentences, scored, speakers)
    people = {w for speaker in speakers for w in words(speaker)}
    for item in scored:
        if item.kind in ("action", "decision"):
            item.context = _context(item.shown, sentences, action=item.kind == "action", people=people)
    return scored


def _classify(
    item: Scored,
    i: int,
    sentences: Sequence[Sentence],
    scored: Sequence[Scored],
    speakers: Sequence[str],
    similarity: np.ndarray,
    answered_at: float,
) -> float:
    """Sets `item.kind` (and its owner, or the sentence it stands for) from the cues, in order of precedence: an
    aside, a remark that a question is still open, who owns what, an agreement, a decision, an action, a question
    nobody answered. Returns the score bonus the kind earns."""
    sentence, text = item.sentence, item.sentence.text
    asked = text.rstrip().endswith("?")
    if _aside(i, sentences):
        item.tags.add("aside")
        return -0.2
    if OPEN.search(text) and not SELF_ACTION.search(text):
        # "not my call, leaving that open": the open question is the one it answers, when there is one.
        item.kind = "question"
        if not asked:
            item.quote = _open_question(i, sentences, scored)
            if item.quote is None and not _long(sentence):
                item.kind = "overview"  # "ok, leaving it open", about nothing we can show
        return 0.05
    if OWNS.search(text):  # "farid owns KR2 then", "oskar owns": who, before what was decided
        item.kind, item.owner = "action", _owner(i, sentences, speakers)
        return 0.1
    proposal = _agreed_proposal(i, sentences)
    if proposal is not None and _is_action(proposal.text, speakers):  # "+1" to "can you…?" or "I'll…"
        item.kind, item.quote = "action", proposal
        item.owner = proposal.line.speaker if SELF_ACTION.search(proposal.text) else sentence.line.speaker
        # ":+1: by next friday" to "yes pls" about my own "I'll build a dashboard": the point is my action.
        item.quote = _own_offer(proposal, sentence, sentences, item.owner) or proposal
        return 0.1
    if proposal is not None:
        item.kind, item.quote = "decision", proposal
        item.facts = item.facts | fact_tokens(proposal.text)
        return 0.1 + FACT_WEIGHT * min(3, len(item.facts))
    if not asked and (DECISION.search(text) or _after_agreement(i, sentences)):
        item.kind = "decision"
        return 0.1
    if _is_action(text, speakers):
        item.kind, item.owner = "action", _owner(i, sentences, speakers)
        return 0.05 + (0.05 if DEADLINE.search(text) else 0.0) + (0.05 if item.owner else 0.0)
    if asked and ROOM.search(text):  # "anyone want the last slice of pizza?": not the team's question
        return -0.1
    if asked and len(content_stems(text)) >= 2 and _unanswered(i, sentences, similarity, answered_at):
        item.kind = "question"
    return 0.0


def _context(shown: Sentence, sentences: Sequence[Sentence], *, action: bool, people: set[str]) -> Sentence | None:
    """What a reply needs to be read alone: "I'll have it in the release folder by wednesday" is about its thread's
    "who's writing the rollback runbook?"; "yes pls, you own that" about the offer it accepts; "I'll take the
    cert" about the message before it that gave the cert's date; "oskar owns" about the sentence before it. Only
    where the reply does not say it itself."""
    line, topic = shown.line, topic_words(shown.text)
    at = shown.position - sentences[0].position
    if len(topic - people) <= 1 and at > 0 and sentences[at - 1].line is line and _long(sentences[at - 1]):
        return sentences[at - 1]
    if line.thread_ts and line.thread_ts != line.ts:
        asked = [s for s in sentences if s.line.ts == line.thread_ts and _long(s) and s.text.rstrip().endswith("?")]
        if asked and not topic & topic_words(asked[0].line.text):
            return asked[0]
    if not action:
        return None
    if len(topic) <= 1:  # "yes pls, you own that": the offer it takes
        return _answered(at, sentences, lambda s: _long(s) and s.text.rstrip().endswith("?"))
    if SELF_ACTION.search(shown.text) and len(topic) <= 3:
        values = fact_tokens(shown.text)
        referent = _answered(
            at, sentences, lambda s: bool(topic & topic_words(s.text) and fact_tokens(s.text) - values)
        )
        if referent is not None:
            return referent
    if PRONOUN.search(shown.text):  # "I'll have it in the release folder": "it" is what the question asked for
        for earlier in reversed(sentences[max(0, at - 6) : at]):
            if earlier.line is line or not _same_talk(earlier, shown) or not (asks(earlier) and _long(earlier)):
                continue
            if not REQUEST.search(earlier.text) and not topic & topic_words(earlier.text):
                return earlier
    return None


def _join_acceptances(sentences: Sequence[Sentence], scored: Sequence[Scored], speakers: Sequence[str]) -> None:
    """ "@kenji can you take the iOS half?" and kenji's "sure" are one action item. The point shows the request,
    or the reply where the reply says more ("I'll have it in the release folder by wednesday"); either way it cites
    both, and the owner is whoever took it."""
    for j, item in enumerate(scored):
        reply = sentences[j]
        opens = j == 0 or sentences[j - 1].line is not reply.line  # the reply's first sentence
        if "aside" in item.tags or not opens or asks(reply) or not ACCEPT.search(reply.line.text):
            continue
        if item.kind == "action" and item.owner and item.owner.casefold() != reply.line.speaker.casefold():
            continue  # "yep, jonas reviewing": a second action, jonas's
        request = _answered(j, sentences, lambda s: bool(ASK_ACTION.search(s.text) or _directed(s.text, speakers)))
        if request is None:
            continue
        asked = scored[request.position - sentences[0].position]
        taker = reply.line.speaker
        if asked.kind != "action" or (asked.owner or "").casefold() not in ("", taker.casefold()):
            continue
        asked.owner = item.owner = taker
        item.kind = "action"
        if len(content_stems(reply.text)) >= 3 and fact_tokens(reply.text) - fact_tokens(request.text):
            asked.quote, item.score = reply, max(item.score, asked.score)
        else:
            item.quote, item.score = request, max(item.score, asked.score)


def mark_superseded(scored: Sequence[Scored]) -> None:
    """A decision that gives a thing a new value supersedes what earlier sentences said about the same thing:
    after "ok then lets move the freeze to Thursday the 13th", "code freeze Tue the 11th" is history, not a current
    decision. "The same thing" is a shared content word other than the values; "a new value" is a day or a number
    the decision does not repeat, where the decision gives one of that kind ("212 cases" is not changed by "start
    regression thursday"). An earlier question on the same thing is answered by the decision ("is leadership ok
    with that?" by "confirmed with leadership: …"), so it is no longer open."""
    ordered = sorted(scored, key=lambda c: c.sentence.position)
    for j, later in enumerate(ordered):
        if later.kind != "decision" or not later.facts:
            continue
        topic = topic_words(later.shown.text) | topic_words(later.sentence.text)
        new = by_kind(later.facts)
        for earlier in ordered[:j]:
            if earlier.superseded or earlier.sentence.line is later.sentence.line or earlier.shown is later.shown:
                continue
            if earlier.kind != "question":
                old = by_kind(earlier.facts)
                if not any(new[kind] and old[kind] - new[kind] for kind in new):
                    continue
                if _answers_proposal(earlier, later, ordered):  # "proposing saturday 23:00" → "sunday 03:00 then"
                    earlier.superseded = True
                    continue
            about = topic_words(earlier.shown.text)
            shared = len(about & topic)
            earlier.superseded = bool(shared and shared >= 0.5 * min(len(about), len(topic)))


def _answers_proposal(earlier: Scored, later: Scored, ordered: Sequence[Scored]) -> bool:
    """Whether `later` decides on a proposal made just before it in the same conversation (a few messages back)."""
    if earlier.kind == "action" or not (PROPOSAL.search(earlier.shown.text) or asks(earlier.shown)):
        return False  # "can you look into it before Thursday?" is work, not a proposal of a date
    if not _same_talk(earlier.shown, later.sentence):
        return False
    between = {id(c.sentence.line) for c in ordered if earlier.sentence.position < c.sentence.position}
    between &= {id(c.sentence.line) for c in ordered if c.sentence.position < later.sentence.position}
    return len(between) <= 3


def mmr(
    candidates: Sequence[Scored], vectors: np.ndarray, *, limit: int, budget_words: int | None = None, lam: float = 0.7
) -> list[int]:
    """Maximal marginal relevance: repeatedly take the best-scoring candidate that is least like those taken.

    Returns indices into `candidates`, in selection order. `budget_words` stops once the picks reach that many
    words, so the overview stays short whatever the sentence lengths.
    """
    chosen: list[int] = []
    total = 0
    scores = np.array([c.score for c in candidates], dtype=np.float32)
    redundancy = np.zeros(len(candidates), dtype=np.float32)  # max similarity to anything chosen so far
    open_ = np.ones(len(candidates), dtype=bool)
    while open_.any() and len(chosen) < limit:
        gains = np.where(open_, lam * scores - (1 - lam) * redundancy, -np.inf)
        best = int(np.argmax(gains))
        open_[best] = False
        if chosen and redundancy[best] > 0.92:
            continue  # a near-duplicate ("ok, friday" twice) adds nothing
        chosen.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
        total += len(candidates[best].shown.text.split())
        if budget_words is not None and total >= budget_words:
            break
    return chosen


def _names(speakers: Sequence[str], sentences: Sequence[Sentence]) -> set[str]:
    """Lower-cased first names of the speakers and @-mentioned people: sentences naming people tend to matter."""
    names = {words(s)[0] for s in speakers if words(s)}
    for sentence in sentences:
        names.update(m.lower() for m in MENTION.findall(sentence.text))
    return {n for n in names if n not in STOPWORDS}


def _same_talk(a: Sentence, b: Sentence) -> bool:
    """Whether two sentences belong to one conversation: the same thread, the channel itself, or a channel message
    and a reply in its thread. (A thread's parent carries `thread_ts` equal to its own ts, or none.)"""

    def key(line: ChatLine) -> str:
        return line.thread_ts if line.thread_ts and line.thread_ts != line.ts else ""

    ka, kb = key(a.line), key(b.line)
    return ka == kb or (not ka and kb == a.line.ts) or (not kb and ka == b.line.ts)


def _aside(i: int, sentences: Sequence[Sentence]) -> bool:
    """Marked off-topic ("unrelated but…", "random, but…"), or a short reply to a message that was."""
    line = sentences[i].line
    if OFF_TOPIC.search(line.text):
        return True
    for k in range(i - 1, max(-1, i - 4), -1):
        earlier = sentences[k]
        if earlier.line is line:
            continue
        if OFF_TOPIC.search(earlier.line.text) and _same_talk(earlier, sentences[i]) and len(words(line.text)) <= 12:
            return True
        break
    return False


def _own_offer(proposal: Sentence, agreement: Sentence, sentences: Sequence[Sentence], owner: str) -> Sentence | None:
    """The agreer's own "I'll…" that `proposal` ("yes pls, with account owner names") replied to, if any."""
    at = proposal.position - sentences[0].position
    mine = _answered(at, sentences, lambda s: s.line is not agreement.line and s.line.speaker == owner)
    return mine if mine is not None and SELF_ACTION.search(mine.text) else None


def _is_action(text: str, speakers: Sequence[str]) -> bool:
    """Something someone will do: "I'll…", "can you…", "marta pull the numbers", "reminder: laptops go home". A
    question is one only as a request ("can you own it?"), not "what would you propose?"."""
    directed = _directed(text, speakers) is not None
    if not (ACTION.search(text) or directed):
        return False
    if not text.rstrip().endswith("?"):
        return True
    return (directed or bool(REQUEST.search(text))) and not WH.search(text)


def _open_question(i: int, sentences: Sequence[Sentence], scored: Sequence[Scored]) -> Sentence | None:
    """What a "still open" remark is about. "Either bump the threshold or add a volume. Haven't decided": the
    sentence before it; "not my call, leaving that open for now": the question it answers."""
    sentence = sentences[i]
    before = scored[-1] if scored else None
    if before is not None and before.sentence.line is sentence.line:
        if before.kind == "question":
            return before.shown
        if len(content_stems(sentence.text)) <= 2 and _long(before.sentence):  # "… 15% off annually. no quote yet"
            return before.sentence
    asked = re.compile(r"\?\s*$")
    return _answered(i, sentences, lambda s: bool(content_stems(s.text) and asked.search(s.text)) or _opens(s))


def _opens(sentence: Sentence) -> bool:
    return _long(sentence) and bool(OPEN.search(sentence.text))


def asks(sentence: Sentence) -> bool:
    return sentence.text.rstrip().endswith("?")


def _long(sentence: Sentence) -> bool:
    return len(content_stems(sentence.text)) >= 2


def _after_agreement(i: int, sentences: Sequence[Sentence]) -> bool:
    """A sentence with facts after an opening agreement or change in the same message: "fair. start regression
    thursday afternoon…", "ok, convinced. L5, and we note…", "correction: 3,000 was total 500s. unique failed
    checkouts ≈ 1,800" state what was agreed."""
    sentence = sentences[i]
    if i == 0 or sentences[i - 1].line is not sentence.line or not fact_tokens(sentence.text):
        return False
    first = next(s for s in sentences if s.line is sentence.line)
    return bool(AGREEMENT.search(sentence.line.text) or CHANGE_CUE.search(first.text))


def _agreed_proposal(i: int, sentences: Sequence[Sentence]) -> Sentence | None:
    """For a message that only agrees ("agreed, 20% it is", "+1", "go for it"), the proposal it agrees with: the
    most factual sentence of the nearest earlier message by someone else in the same conversation."""
    sentence = sentences[i]
    text = sentence.line.text
    values = fact_tokens(text)
    if OFFER_TAKEN.search(text) and not AGREEMENT.search(text):
        # "yes, 18:00 go/no-go" to "go/no-go call saturday 18:00 UTC?": a proposal put as a question, confirmed.
        asked = _answered(i, sentences, lambda s: _long(s) and asks(s) and bool(fact_tokens(s.text)))
        if asked is None or not values <= fact_tokens(asked.text) or len(topic_words(OFFER_TAKEN.sub("", text))) > 2:
            return None
        return asked
    if not AGREEMENT.search(text):
        return None
    if len([w for w in content_stems(AGREEMENT.sub("", text, count=1)) if w not in values]) > 1:
        return None
    return _answered(i, sentences, _long, prefer=values)


def _answered(
    i: int, sentences: Sequence[Sentence], fits: Callable[[Sentence], bool], *, prefer: frozenset[str] = frozenset()
) -> Sentence | None:
    """The sentence that sentence `i` replies to: in the nearest earlier message by someone else in the same
    conversation (a few messages back at most), the one that `fits`, sharing most of `prefer`'s values."""
    sentence = sentences[i]
    seen = 0
    for k in range(i - 1, -1, -1):
        earlier = sentences[k]
        if earlier.line is sentence.line or not _same_talk(earlier, sentence):
            continue
        seen += 1
        if seen > 4:
            return None
        if earlier.line.speaker == sentence.line.speaker:
            continue
        options = [s for s in sentences[: k + 1] if s.line is earlier.line and fits(s)]
        if not options:
            return None
        return max(options, key=lambda s: (len(fact_tokens(s.text) & prefer), len(fact_tokens(s.text)), s.position))
    return None


def _directed(text: str, speakers: Sequence[str]) -> str | None:
    """A clause that starts with a person's name and goes on with what they do: "wei push the fix, liam approve
    it", "marta can you pull the numbers?", "daniel owns the DNS setup". Returns the first such person."""
    firsts = {words(s)[0]: s for s in speakers if words(s)}
    for match in DIRECTIVE.finditer(text):
        name = match.group(1).lower()
        if name in firsts:
            return firsts[name]
    return None


def _owner(i: int, sentences: Sequence[Sentence], speakers: Sequence[str]) -> str | None:
    """Who the action belongs to, only where the messages say: "I'll" is the speaker; "@bob can you" is bob;
    "bob, can you" and "bob owns it" are bob; "can you" answered by someone is whoever answered. Otherwise None,
    rather than a guess."""
    sentence = sentences[i]
    mentioned = MENTION.findall(sentence.text)
    if mentioned:
        return mentioned[0]
    if SELF_ACTION.search(sentence.text):
        return sentence.line.speaker
    directed = _directed(sentence.text, speakers)
    if directed:
        return directed
    if OFFER_TAKEN.search(sentence.text):  # "yes pls, you own that" to "can I write the autoresponder?"
        offer = _answered(i, sentences, lambda s: s.text.rstrip().endswith("?"))
        if offer is not None:
            return offer.line.speaker
    if YOU_ASKED.search(sentence.text) and not GROUP.search(sentence.text):
        for later in sentences[i + 1 : i + 6]:
            if later.line.speaker != sentence.line.speaker and _same_talk(sentence, later):
                return later.line.speaker
    return None


def _unanswered(i: int, sentences: Sequence[Sentence], similarity: np.ndarray, answered_at: float) -> bool:
    """A question is open unless someone else replied within the next few messages of its conversation with what
    reads like an answer (`_answers`), and no reply says it is still open ("no answer yet", "open for now").
    Topical closeness alone is not enough: in a channel the next message is often about something else."""
    question = sentences[i]
    names = {w for s in sentences for w in words(s.line.speaker)[:1]}
    seen: list[ChatLine] = []
    for j in range(i + 1, len(sentences)):
        other = sentences[j]
        if other.line is question.line or not _same_talk(question, other):
            continue
        if other.line not in seen:
            seen.append(other.line)
        if len(seen) > 3:
            break
        if other.line.speaker == question.line.speaker:
            continue
        if OPEN.search(other.line.text):
            return True
        if _answers(question.text, other.text, names) or similarity[i, j] >= answered_at:
            return False
    return True


def _answers(question: str, reply: str, names: set[str]) -> bool:
    """Whether `reply` reads like an answer to `question`: it starts like one ("yes", "I'll", "it's", "agreed", a
    name, a number), or gives what the question asks for: a person for "who", a day or time for "when", a number
    for "how many", else a word of the question's subject ("which steps went away?" "merged the profile steps…")."""
    first = words(reply)[:1]
    if ANSWER_START.search(reply) or (first and first[0] in names):
        return True
    asked = question.lower()
    values = by_kind(fact_tokens(reply))
    if not WH.search(question) and (values["day"] or values["number"]):
        return True  # "and existing customers?" "grandfathered at $12 for 12 months"
    if re.search(r"\bwho\b", asked):
        return bool(names & set(words(reply)) or MENTION.search(reply))
    if re.search(r"\bwhen\b|\bwhat (?:time|day|date)\b", asked):
        return bool(values["day"] or values["number"])
    if re.search(r"\bhow (?:many|much|long|big|often)\b", asked):
        return bool(values["number"])
    return bool(topic_words(question) & topic_words(reply))
