"""/translate: text in, a translation (or an honest refusal) out. Plain data, no Slack.

Two kinds of model sit behind the `translate` role, and each gets the prompt it can follow:

- An instruct (chat) model, the default (Qwen2.5-Coder-1.5B-Instruct, the chat model): a zero-shot chat
  prompt, the instruction in the system message and the text as the user's message.
- A base model (Gemma 3 270M, `MODEL_TRANSLATE=gemma3-270m`): it continues text rather than following
  instructions, and a server hands it the messages verbatim because it has no chat template. So it gets a few-shot
  document ("English: ... / French: ..." pairs, then the source and an open "French:") to finish.

Which one is asked of the model itself, without a setting (`prompt_style`): the server renders an empty user
message with the model's chat template and counts its tokens. A chat template adds role markers (Qwen's adds
29 tokens, any template at least three); a base model without one yields the bare text, one BOS token at most.
Our worker and vLLM answer /tokenize that way; servers that don't get an estimate, which reads as a chat model,
the right default for what such servers serve. The answer costs one small request per text.

Each line of the text is translated on its own (long lines sentence by sentence, in pieces that fit), the pieces
go to the worker at once so it batches them, and every piece is checked by `handlers.translate.checks` before it is
used: loops, echoes, the wrong script or language, and a translation that lost a number, a time, a name or a
negation. A piece that fails is asked once more (a chat model with a stricter instruction naming what was lost,
a base model sampled once instead of greedy), then refused. One bad piece fails the whole text: a half-translated
message reads as a translation but is not one.

Markup is cut out first (`handlers.text.markup`) and put back after, so links, mentions, code and emoji come back
byte for byte; when the model drops a placeholder, that piece is translated again between its markup instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from bot.model.client import ChatMessage, ChatOptions, ModelClient, PromptTooLong
from handlers.text.markup import Protected, protect, restore, strip_placeholders
from handlers.text.sentences import split_sentences
from handlers.translate.checks import rejection
from handlers.translate.languages import LANGUAGES
from handlers.translate.names import missing_names
from handlers.translate.numbers import numbers_in
from handlers.translate.scripts import guess_language

logger = logging.getLogger(__name__)

ROLE = "translate"
PromptStyle = Literal["chat", "few-shot"]
MAX_PIECE_CHARS = 360
"""Longest piece sent in one request. Longer lines are cut at sentence ends: small models lose the thread (and
start looping) on long inputs, and short pieces batch well in the worker."""
MAX_PARALLEL = 8

UNRELIABLE = (
    "I couldn't translate this reliably with the current model, so I'm not posting a guess. "
    "Shorter, simpler sentences may work; a workspace admin can also configure a larger translation model "
    "(MODEL_TRANSLATE)."
)
TOO_LONG = (
    "This text is too long for the translation model ({tokens:,} tokens; it can take {window:,}). "
    "Translate it in smaller parts."
)
NO_BREAK = (
    "Part of this text runs {chars:,} characters without a sentence break or line break, too long to translate "
    "in one go. Add line breaks or translate it in smaller parts."
)
NOTHING_TO_TRANSLATE = "There's nothing to translate: the text holds only code, links, mentions or emoji."
ALREADY_IN = "This text already looks like {language}."
UNKNOWN_TARGET = "I don't know the language `{code}`. Use a two-letter code such as `fr`, `de`, `es` or `ja`."


@dataclass(frozen=True)
class TranslationResult:
    """The outcome for the caller to show. `text` is the translation (Slack mrkdwn, markup as it came in) when
    `ok`, else the reason for the user. `cause` says why in one word for logs and the eval: "loop", "echo",
    "script", "language", "length", "empty", "number", "date", "name", "negation", "markup", "too_long", "nothing",
    "same_language", "unknown_target"."""

    ok: bool
    text: str
    target: str
    cause: str | None = None
    pieces: int = 0


class _Rejected(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# ---------------------------------------------------------------------------------------------- few-shot prompts

# The same three sentences in every language we have examples for, so any pair of them can be a prompt. They are
# written for this module (not taken from the eval sets), Slack-like, and the second shows a placeholder kept.
EXAMPLES: dict[str, tuple[str, str, str]] = {
    "en": (
        "Thanks for the update, I'll take a look this afternoon.",
        "The meeting has been moved to Thursday at 10am because [1] is travelling.",
        "The city council approved the new budget on Monday after a long debate.",
    ),
    "fr": (
        "Merci pour la mise à jour, je regarde ça cet après-midi.",
        "La réunion a été déplacée à jeudi 10 h, car [1] est en déplacement.",
        "Le conseil municipal a approuvé le nouveau budget lundi, après un long débat.",
    ),
    "de": (
        "Danke für das Update, ich schaue es mir heute Nachmittag an.",
        "Das Meeting wurde auf Donnerstag um 10 Uhr verschoben, weil [1] auf Reisen ist.",
        "Der Stadtrat hat den neuen Haushalt am Montag nach einer langen Debatte verabschiedet.",
    ),
    "es": (
        "Gracias por la actualización, lo reviso esta tarde.",
        "La reunión se ha cambiado al jueves a las 10 de la mañana porque [1] está de viaje.",
        "El ayuntamiento aprobó el nuevo presupuesto el lunes tras un largo debate.",
    ),
    "it": (
        "Grazie per l'aggiornamento, ci do un'occhiata questo pomeriggio.",
        "La riunione è stata spostata a giovedì alle 10 perché [1] è in viaggio.",
        "Il consiglio comunale ha approvato il nuovo bilancio lunedì dopo un lungo dibattito.",
    ),
    "pt": (
        "Obrigado pela atualização, vou dar uma olhada hoje à tarde.",
        "A reunião foi transferida para quinta-feira às 10h porque [1] está viajando.",
        "A câmara municipal aprovou o novo orçamento na segunda-feira, após um longo debate.",
    ),
    "nl": (
        "Bedankt voor de update, ik kijk er vanmiddag naar.",
        "De vergadering is verplaatst naar donderdag om 10 uur omdat [1] op reis is.",
        "De gemeenteraad heeft maandag na een lang debat de nieuwe begroting goedgekeurd.",
    ),
    "ja": (
        "ご報告ありがとうございます。今日の午後に確認します。",
        "[1]さんが出張中のため、会議は木曜日の午前10時に変更されました。",
        "市議会は月曜日、長い議論の末に新しい予算を承認した。",
    ),
    "zh": (
        "谢谢你的更新，我今天下午看一下。",
        "由于[1]出差，会议改到了周四上午10点。",
        "市议会经过长时间辩论，于周一批准了新预算。",
    ),
    "ko": (
        "업데이트 감사합니다. 오늘 오후에 확인해 볼게요.",
        "[1]님이 출장 중이어서 회의가 목요일 오전 10시로 변경되었습니다.",
        "시의회는 월요일에 긴 논의 끝에 새 예산을 승인했다.",
    ),
    "ru": (
        "Спасибо за обновление, посмотрю сегодня днём.",
        "Встречу перенесли на четверг, 10 утра, потому что [1] в командировке.",
        "В понедельник городской совет после долгих дебатов утвердил новый бюджет.",
    ),
}


def build_prompt(source_text: str, *, source: str, target: str) -> str:
    """The few-shot document for one piece, ending in an open target-language line for the model to finish.

    Pairs from EXAMPLES when both languages have them; otherwise the bare pattern, which a base model still reads.
    """
    src_name, tgt_name = LANGUAGES.get(source, "English"), LANGUAGES[target]
    lines: list[str] = []
    if source in EXAMPLES and target in EXAMPLES:
        for src_example, tgt_example in zip(EXAMPLES[source], EXAMPLES[target], strict=True):
            lines += [f"{src_name}: {src_example}", f"{tgt_name}: {tgt_example}", ""]
    lines += [f"{src_name}: {source_text}", f"{tgt_name}:"]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- chat prompts

SYSTEM = (
    "Translate the user's text from {source} to {target}. Output only the translation; keep names, numbers, "
    "times, dates, code, links and placeholders like [1] exactly; keep negations."
)
SYSTEM_NO_MARKUP = SYSTEM.replace("code, links and placeholders like [1]", "code and links")
"""For a text without placeholders: told about [1], a small model sometimes writes one of its own."""
_STRICTER = {
    "number": "Every number and time in the text must appear in the translation: {numbers}. A time may be "
    "written the {target} way (3pm as 15:00).",
    "date": "Keep every weekday and month of the text the same day and month in {target}.",
    "name": "Keep these words exactly as they are written: {names}.",
    "negation": "The text is negative; the translation must say the same negation.",
}
_STRICTER_DEFAULT = "Write the whole text in {target}, once, adding nothing and repeating nothing."


def build_messages(source_text: str, *, source: str, target: str, stricter: str | None = None) -> list[ChatMessage]:
    """The zero-shot chat prompt for one piece. `stricter` is the cause of a first attempt's refusal: the second
    attempt's instruction then names what the first one lost."""
    names = {"source": LANGUAGES.get(source, "English"), "target": LANGUAGES[target]}
    system = (SYSTEM if re.search(r"\[\d+\]", source_text) else SYSTEM_NO_MARKUP).format(**names)
    if stricter:
        note = _STRICTER.get(stricter, _STRICTER_DEFAULT).format(
            numbers=", ".join(n.clock or n.text for n in numbers_in(source_text)),  # 5:30pm as 17:30
            names=", ".join(missing_names(source_text, "", target=target, source_language=source)),
            **names,
        )
        system = f"{system} {note}"
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content=source_text)]


def prompt_style(model: ModelClient) -> PromptStyle:
    """The prompt the translate role's model can follow: "chat" when it has a chat template, "few-shot" when it is
    a base model without one (see the module docstring for how the server tells)."""
    probe = model.count_tokens([ChatMessage(role="user", content="")], role=ROLE)
    return "few-shot" if probe <= 2 else "chat"


# ---------------------------------------------------------------------------------------------- splitting

_LINE_PREFIX = re.compile(r"^(\s*(?:>\s*)?(?:[-*•◦]\s+|\d{1,3}[.)]\s+)?)")


def pieces_of(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """Cut a line into pieces of at most `limit` characters at sentence ends, keeping short sentences together.

    A sentence longer than `limit` stays whole; the caller decides whether it is too long for the model.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    for sentence in split_sentences(text):
        if pieces and len(pieces[-1]) + 1 + len(sentence) <= limit:
            pieces[-1] = f"{pieces[-1]} {sentence}"
        else:
            pieces.append(sentence)
    return pieces


@dataclass
class _Piece:
    """One request to the model: the text of a piece (placeholders in it) and where its translation goes."""

    text: str
    line: int
    translation: str = ""


def _plan(protected_text: str, *, joiner: str = " ") -> tuple[list[list[str | _Piece]], list[_Piece]]:
    """Each line as a list of fixed strings (indent, bullets, spaces) and pieces to translate, in order.
    `joiner` goes between the translated sentences of one line ("" for languages written without spaces)."""
    lines: list[list[str | _Piece]] = []
    pieces: list[_Piece] = []
    for number, line in enumerate(protected_text.split("\n")):
        prefix = _LINE_PREFIX.match(line)
        head = prefix.group(1) if prefix else ""
        body = line[len(head) :]
        stripped = body.strip()
        trailing = body[len(body.rstrip()) :]
        parts: list[str | _Piece] = [head]
        if _has_words(stripped):
            for i, sentence in enumerate(pieces_of(stripped)):
                piece = _Piece(sentence, number)
                pieces.append(piece)
                parts += [joiner] if i else []
                parts.append(piece)
        else:
            parts.append(stripped)
        parts.append(trailing)
        lines.append(parts)
    return lines, pieces


def _has_words(text: str) -> bool:
    return any(c.isalpha() for c in strip_placeholders(text))


# ---------------------------------------------------------------------------------------------- translating


def translate(
    text: str, *, target: str, model: ModelClient, source: str | None = None, style: PromptStyle | None = None
) -> TranslationResult:
    """Translate Slack text into `target` (ISO 639-1), or say why not.

    `source` is the text's language when the caller knows it; otherwise it is guessed (English when unsure, which
    models tolerate well as a label). `style` is the prompt the model gets; by default the model is asked
    (`prompt_style`). Model outages (`ModelUnavailable`, `ModelBusy`) propagate, so the dispatcher can retry the
    job; everything about the text itself comes back as a result.
    """
    if target not in LANGUAGES:
        return TranslationResult(False, UNKNOWN_TARGET.format(code=target), target, "unknown_target")
    protected = protect(text)
    lines, pieces = _plan(protected.text, joiner="" if target in ("ja", "zh") else " ")
    if not pieces:
        return TranslationResult(False, NOTHING_TO_TRANSLATE, target, "nothing")
    guessed = source or guess_language(strip_placeholders(protected.text))
    if guessed == target:
        return TranslationResult(False, ALREADY_IN.format(language=LANGUAGES[target]), target, "same_language")
    source_code = guessed if guessed in LANGUAGES else "en"
    longest = max(pieces, key=lambda p: len(p.text))
    if len(longest.text) > 4 * MAX_PIECE_CHARS:
        return TranslationResult(False, NO_BREAK.format(chars=len(longest.text)), target, "too_long")
    total = model.count_tokens([ChatMessage(role="user", content=protected.text)], role=ROLE)
    window = model.context_window(ROLE)
    if total > window:
        return TranslationResult(False, TOO_LONG.format(tokens=total, window=window), target, "too_long")

    ask = _Asker(model, source_code, target, style or prompt_style(model))

    def run(piece: _Piece) -> None:
        piece.translation = _translate_piece(piece.text, protected, ask)

    try:
        _each(run, pieces)
    except _Rejected as exc:
        logger.info("translation into %s rejected (%s), %d pieces", target, exc.cause, len(pieces))
        return TranslationResult(False, UNRELIABLE, target, exc.cause, len(pieces))
    except PromptTooLong:
        return TranslationResult(False, TOO_LONG.format(tokens=total, window=window), target, "too_long")
    out = "\n".join("".join(p.translation if isinstance(p, _Piece) else p for p in parts) for parts in lines)
    restored = restore(out, protected)
    if restored is None:  # cannot happen when every piece passed its own check; fail safe all the same
        return TranslationResult(False, UNRELIABLE, target, "markup", len(pieces))
    return TranslationResult(True, restored, target, None, len(pieces))


def _each(run: Callable[[_Piece], None], pieces: list[_Piece]) -> None:
    """Run all pieces at once (the worker batches concurrent requests); the first failure is raised."""
    if len(pieces) == 1:
        run(pieces[0])
        return
    with ThreadPoolExecutor(min(MAX_PARALLEL, len(pieces)), thread_name_prefix="translate") as pool:
        futures = [pool.submit(run, piece) for piece in pieces]
        try:
            for future in futures:
                future.result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # the text has failed; don't spend the model on the rest
            raise


def _translate_piece(text: str, protected: Protected, ask: _Asker) -> str:
    """One piece, checked. Placeholders must come back exactly; if not, the prose between them is translated
    piece by piece and the markup kept in its place (less fluent, never wrong about markup)."""
    wanted = protected.placeholders_in(text)
    output = ask(text)
    if sorted(protected.placeholders_in(output)) == sorted(wanted):
        return output
    if not wanted:
        raise _Rejected("markup")  # the model invented a placeholder
    logger.debug("placeholders lost in a piece; translating around them")
    parts = re.split(r"(\[\d+\])", text)
    translated = [
        part if i % 2 or not _has_words(part) else _spaced(part, ask(_core(part))) for i, part in enumerate(parts)
    ]
    joined = "".join(translated)
    if sorted(protected.placeholders_in(joined)) != sorted(wanted):
        raise _Rejected("markup")
    return joined


_EDGES = re.compile(r"^([\W_]*)(.*?)([\W_]*)$", re.S)


def _core(fragment: str) -> str:
    """A fragment without the punctuation and spaces at its edges, which belong to the markup around it."""
    edges = _EDGES.match(fragment)
    return edges.group(2) if edges else fragment.strip()


def _spaced(original: str, translated: str) -> str:
    """Keep the spaces and punctuation that joined a fragment to its neighbouring markup ("Thanks [1], see")."""
    edges = _EDGES.match(original)
    head, tail = (edges.group(1), edges.group(3)) if edges else ("", "")
    return f"{head}{translated.strip()}{tail}"


@dataclass(frozen=True)
class _Asker:
    """Asks the model for one piece and checks the answer; a refused answer is asked for once more."""

    model: ModelClient
    source: str
    target: str
    style: PromptStyle

    def __call__(self, text: str) -> str:
        output = self._generate(text, stricter=None)
        cause = self._rejection(text, output)
        if cause:
            logger.debug("a piece into %s refused (%s); asking once more", self.target, cause)
            output = self._generate(text, stricter=cause)
            cause = self._rejection(text, output)
            if cause:
                raise _Rejected(cause)
        return output

    def _generate(self, text: str, *, stricter: str | None) -> str:
        """Greedy, up to the end of the line. A base model cannot take a stricter instruction, so its second
        attempt is sampled instead (seeded, so a text gets the same answer each time)."""
        budget = min(1024, len(text) * 3 // 4 + 24)
        if self.style == "chat":
            messages = build_messages(text, source=self.source, target=self.target, stricter=stricter)
            options = ChatOptions(max_tokens=budget, temperature=0.0, stop=["\n"])
        else:
            messages = [ChatMessage(role="user", content=build_prompt(text, source=self.source, target=self.target))]
            options = ChatOptions(max_tokens=budget, temperature=0.0, stop=["\n"])
            if stricter:
                options = ChatOptions(max_tokens=budget, temperature=0.5, top_p=0.9, seed=7, stop=["\n"])
        output = self.model.complete(messages, options=options, role=ROLE)
        return _unwrapped(output.strip(), text, LANGUAGES[self.target]) if self.style == "chat" else output.strip()

    def _rejection(self, text: str, output: str) -> str | None:
        return rejection(
            strip_placeholders(text), strip_placeholders(output), target=self.target, source_language=self.source
        )


_QUOTES = {'"': '"', "“": "”", "«": "»", "「": "」", "'": "'"}


def _unwrapped(output: str, source: str, target_name: str) -> str:
    """An instruct model's answer without what it added around the translation: a "French:" label, or quotes
    that the source did not have."""
    label = re.match(rf"(?:{re.escape(target_name)}|Translation)\s*:\s*", output, re.I)
    if label:
        output = output[label.end() :]
    for opening, closing in _QUOTES.items():
        if (
            len(output) > 2
            and output.startswith(opening)
            and output.endswith(closing)
            and not source.lstrip().startswith(opening)
        ):
            return output[1:-1].strip()
    return output
