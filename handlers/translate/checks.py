"""Judging a model's translation before anyone sees it: loops, echoed source, wrong script, wrong language, length,
and what it must keep: numbers and times, names, negations.

Small offline models fail in a few recognisable ways: they repeat a phrase until the token budget runs out, copy
the source unchanged, answer in the source language, or write in the wrong alphabet. Fluent ones fail quietly:
"at 3pm" becomes "3 heures", a "don't" disappears, a name is swapped. Each check here is a plain function of
strings, so it is tested without a model, and each was checked against the FLORES reference translations (a real
translation must pass; see tests/test_translate.py) so it rejects garbage, not good output. The meaning checks
accept a correct translation in the target's own notation (3pm → 15 h, 15:00 or 午後3時; 1,000 → 1 000; 10 →
dix; Italy → Italie) and are skipped where they cannot judge: capitalised names only in English sources and
Latin-script targets, negations only in languages with word lists (en, fr, de, es, it, pt, nl, ru, ja, zh, ko).
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass
from difflib import SequenceMatcher

# Which script a target language is written in; languages not listed use the Latin alphabet.
_SCRIPT_OF: dict[str, str] = {
    "ja": "japanese",
    "zh": "han",
    "ko": "hangul",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "bg": "cyrillic",
    "sr": "cyrillic_or_latin",
    "el": "greek",
    "he": "hebrew",
    "ar": "arabic",
    "fa": "arabic",
    "hi": "devanagari",
    "th": "thai",
}
_WIDE = {"ja", "zh", "ko"}  # scripts that say in one character what Latin says in three

# Frequent short words that tell Latin-script languages apart (only for "the output is still in the source
# language"; never used to judge a text on its own).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to is in that it for was with on are this be have not we you will by from".split()),
    "fr": frozenset(
        "le la les des et est une un du que qui pour dans pas sur au avec ce nous vous il elle sont".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ein eine zu den mit von sich auf für dem im wir sie es wird auch".split()
    ),
    "es": frozenset("el la los las y que en es un una por con para del se no al lo está como".split()),
    "it": frozenset("il di che è un una per non con del della sono gli nel anche alla questo".split()),
    "pt": frozenset("o os as e que é um uma não para com do da em no na se por".split()),
    "nl": frozenset("de het een en van is dat niet op te voor met zijn er wij ik dit ook".split()),
}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def script_of(char: str) -> str | None:
    """The script of one letter, coarsely: latin, han, kana, hangul, cyrillic, ... or None for non-letters."""
    if not char.isalpha():
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    name = unicodedata.name(char, "").split(" ")[0].lower()
    return name or None


def script_share(text: str, target: str) -> float:
    """Share of the letters in `text` that are in the target language's script (1.0 when there are no letters)."""
    counts: dict[str, int] = {}
    for char in text:
        script = script_of(char)
        if script:
            counts[script] = counts.get(script, 0) + 1
    letters = sum(counts.values())
    if not letters:
        return 1.0
    wanted = _SCRIPT_OF.get(target, "latin")
    scripts = {
        "japanese": ("kana", "han"),
        "cyrillic_or_latin": ("cyrillic", "latin"),
    }.get(wanted, (wanted,))
    return sum(counts.get(s, 0) for s in scripts) / letters


def function_word_hits(text: str, language: str) -> int:
    """How many words of `text` are frequent function words of `language` (0 for languages without a list)."""
    words = _FUNCTION_WORDS.get(language)
    if not words:
        return 0
    return sum(1 for w in _WORD.findall(text.lower()) if w in words)


def guess_language(text: str) -> str | None:
    """A cautious guess at the language of `text`: by script for non-Latin ones, by function words for the Latin
    languages we know; None when unsure (short texts, ties, unknown languages)."""
    if _has_kana(text) and script_share(text, "ja") >= 0.6:
        return "ja"
    for code in ("zh", "ko", "ru", "el", "he", "ar", "hi", "th"):
        if script_share(text, code) >= 0.6:
            return code
    hits = sorted(((function_word_hits(text, lang), lang) for lang in _FUNCTION_WORDS), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    if best >= 3 and best >= 2 * second:
        return lang
    return None


def _has_kana(text: str) -> bool:
    return any(script_of(c) == "kana" for c in text)


def _letters(text: str) -> str:
    return "".join(c.lower() for c in text if c.isalnum())


def repeats_at_end(text: str, *, max_unit: int = 40, min_span: int = 24, min_repeats: int = 3) -> bool:
    """True when `text` ends in one unit written at least `min_repeats` times back to back, over `min_span`
    characters or more: the shape of a reply the worker stopped because it was looping."""
    squeezed = " ".join(text.split())
    n = len(squeezed)
    for unit in range(1, max_unit + 1):
        repeats = max(min_repeats, -(-min_span // unit))
        span = unit * repeats
        if span > n:
            break
        tail = squeezed[n - span :]
        if tail == tail[-unit:] * repeats:
            return True
    return False


def compressibility(text: str) -> float:
    """Compressed size over raw size: near 1 for ordinary sentences, far lower for text that repeats itself."""
    raw = " ".join(text.split()).encode()
    if len(raw) < 60:
        return 1.0
    return len(zlib.compress(raw, 9)) / len(raw)


def similarity(a: str, b: str) -> float:
    """How alike two texts are, ignoring case, spaces and punctuation (0..1)."""
    return SequenceMatcher(None, _letters(a), _letters(b), autojunk=False).ratio()


def length_ratio_ok(source: str, output: str, target: str) -> bool:
    """Output length within what a translation of `source` into `target` can plausibly be.

    Short sources get slack (a greeting may become a longer phrase); wide scripts (ja, zh, ko) say in one
    character what Latin says in about three.
    """
    src, out = len(" ".join(source.split())), len(" ".join(output.split()))
    if src < 20:
        return out <= 4 * src + 30
    low, high = (0.12, 1.6) if target in _WIDE else (0.4, 2.2)
    if _SCRIPT_OF.get(target) is None and guess_script_is_wide(source):
        low, high = 0.5, 8.0  # from ja/zh/ko into a Latin language
    return low <= out / src <= high


def guess_script_is_wide(text: str) -> bool:
    return any(script_of(c) in ("han", "kana", "hangul") for c in text)


def rejection(source: str, output: str, *, target: str, source_language: str | None) -> str | None:
    """Why `output` is not an acceptable translation of `source` into `target`, or None when it passes.

    The codes: "empty", "loop", "echo", "script", "language", "length", then `meaning_lost`'s "number", "date",
    "name" and "negation". Both texts are the model's view (markup already replaced by placeholders and placeholders
    stripped), so markup never decides a verdict.
    """
    if not _letters(output):
        return "empty" if _letters(source) else None
    if repeats_at_end(output) and not repeats_at_end(source):
        return "loop"
    if compressibility(output) < 0.45 and compressibility(output) < compressibility(source) - 0.2:
        return "loop"
    if not length_ratio_ok(source, output, target):
        return "length"
    letters = sum(1 for c in output if c.isalpha())
    if letters >= 4 and script_share(output, target) < (0.3 if target in _SCRIPT_OF else 0.6):
        return "script"
    source_words = len(_WORD.findall(source))
    if source_language != target and source_words >= 4 and similarity(source, output) >= 0.8:
        return "echo"
    if source_language and source_language != target and source_words >= 5:
        src_hits, tgt_hits = function_word_hits(output, source_language), function_word_hits(output, target)
        if (
            source_language in _FUNCTION_WORDS
            and target in _FUNCTION_WORDS
            and src_hits >= 3
            and src_hits > 2 * tgt_hits
        ):
            return "language"
    return meaning_lost(source, output, target=target, source_language=source_language)


def meaning_lost(source: str, output: str, *, target: str, source_language: str | None) -> str | None:
    """What `output` dropped that no translation may, though it reads as one: "number" (a number or time), "date"
    (a weekday or month), "name" or "negation" (the "not" of a negative sentence); None when it kept them all."""
    if missing_numbers(source, output):
        return "number"
    if missing_dates(source, output, target=target, source_language=source_language):
        return "date"
    if missing_names(source, output, target=target, source_language=source_language):
        return "name"
    if source_language and is_negative(source, source_language) and has_negation(output, target) is False:
        return "negation"
    return None


# ---------------------------------------------------------------------------------------------- meaning kept
# A fluent sentence can still say something else: a time dropped, a name swapped, a "not" lost. These checks
# compare what any correct translation must carry over, written so a correct one in another format passes
# (3pm → 15 h / 15:00 / 午後3時; 1,000 → 1 000; 2.4 → 2,4; 45 million → 4500万; 10 → dix).

_NUMBER = re.compile(r"\d+(?:(?:[.,:'’]|[ \u00a0\u202f](?=\d{3}(?!\d)))\d+)*")
_RUN = re.compile(r"\d+")
_MERIDIEM = re.compile(r"\s*([ap])\.?\s?m\b\.?", re.I)
_ZONE = re.compile(r"\s*(?:gmt|utc|hours|hrs|h)\b", re.I)
_SCALE_WORDS = {
    "thousand": 10**3, "million": 10**6, "millions": 10**6, "billion": 10**9, "billions": 10**9,
    "trillion": 10**12, "mil": 10**3, "millón": 10**6, "millones": 10**6, "milliard": 10**9, "milliards": 10**9,
    "millionen": 10**6, "milliarde": 10**9, "milliarden": 10**9, "tausend": 10**3, "mille": 10**3,
}  # fmt: skip
_EAST_ASIAN_SCALE = {"十": 10, "百": 100, "千": 10**3, "万": 10**4, "萬": 10**4, "億": 10**8, "亿": 10**8, "兆": 10**12}
_KANJI_DIGIT = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = re.compile("[〇零一二三四五六七八九十百千]+")
_SCALED = re.compile(r"(\d+(?:[.,]\d+)*)\s*([万萬億亿兆千])")
_ROMAN = re.compile(r"(?<![A-Za-z])([IVXLC]+)(?:e|er|re|ème|º|°|o|a)?(?![A-Za-z])")
_ROMAN_VALUE = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
# Numbers a translation may spell out ("7 wickets" → "sept guichets", "7th" → "séptimo", "1,000" → "mil"), in
# the languages with word lists, as word starts when four letters or more ("achtmal", "septième", "zweiten").
_NUMBER_WORDS: dict[int, str] = {
    0: "zero zéro null cero nul",
    1: "a an one un une ein eine einen einem einer eins uno una um uma een first premier première erst primer "
    "primero primera prim",
    2: "two deux zwei dos due dois duas twee second deuxième zweit segund",
    3: "three trois drei tres tre três drie third troisième dritt tercer terz",
    4: "four quatre vier cuatro quattro quatro fourth quatrième viert cuart quart",
    5: "five cinq fünf cinco cinque vijf fifth cinquième fünft quint",
    6: "six sechs seis sei zes sixth sixième sechst sext sest",
    7: "seven sept sieben siete sette sete zeven seventh septième siebt séptim settim sétim",
    8: "eight huit acht ocho otto oito eighth huitième octav ottav oitav",
    9: "nine neuf neun nueve nove negen ninth neuvième neunt noven nono",
    10: "ten dix zehn diez dieci dez tien tenth dixième décim decim",
    11: "eleven onze elf once undici",
    12: "twelve douze zwölf doce dodici doze twaalf",
    13: "thirteen",
    14: "fourteen",
    15: "fifteen",
    16: "sixteen",
    17: "seventeen",
    18: "eighteen",
    19: "nineteen",
    20: "twenty vingt zwanzig veinte venti vinte",
    30: "thirty trente dreißig treinta trenta trinta",
    40: "forty",
    50: "fifty",
    60: "sixty",
    70: "seventy",
    80: "eighty",
    90: "ninety",
    100: "hundred cent hundert cien ciento cento cem honderd",
    1000: "thousand mille tausend mil duizend",
}
_NUMBER_WORD_VALUE = {word: value for value, words in _NUMBER_WORDS.items() for word in words.split()}
_NUMBER_STEMS = tuple((word, value) for word, value in _NUMBER_WORD_VALUE.items() if len(word) >= 4)
_PM_WORDS = re.compile(
    r"p\.?\s?m\b|afternoon|evening|tonight|après-midi|soir|nachmittag|abend|tarde|noche|pomeriggio|sera|noite|"
    r"middag|avond|午後|夕方|夜|下午|晚|오후|저녁|вечер|дня",
    re.I,
)
_MONTHS = (
    "jan ene gen", "feb fév", "mar mär", "apr avr abr", "may mai mag", "jun juin giu", "jul juil lug",
    "aug aoû ago", "sep set", "oct okt ott out", "nov", "dec déc dez dic",
)  # fmt: skip
_MONTH_WORDS = tuple(f"month{i}" for i in range(1, 13))  # stand for "the output names month i"
_PM = "pm"  # stands for "the output says it is the afternoon" among the numbers an output writes


def _value(digits: str) -> float | None:
    """'1,000' → 1000, '2.5' → 2.5, '2,5' → 2.5 (a lone group of 3 after the mark is read as thousands)."""
    if ":" in digits:
        return None
    groups = re.split(r"[.,'’ \u00a0\u202f]", digits)
    if len(groups) == 1:
        return float(groups[0])
    if all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))
    if len(groups) == 2:
        return float(f"{groups[0]}.{groups[1]}")
    return None


def _kanji_value(text: str) -> int:
    """'二〇一六' → 2016, '二十五' → 25, '十' → 10, '三百' → 300."""
    if all(c in _KANJI_DIGIT for c in text):
        return int("".join(str(_KANJI_DIGIT[c]) for c in text))
    total, digit = 0, 0
    for char in text:
        if char in _KANJI_DIGIT:
            digit = _KANJI_DIGIT[char]
        else:
            total += (digit or 1) * _EAST_ASIAN_SCALE[char]
            digit = 0
    return total + digit


def _roman_value(text: str) -> int:
    values = [_ROMAN_VALUE[c] for c in text]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


@dataclass(frozen=True)
class NumberFound:
    """A number or time in a source text, and the ways a correct translation may write it: each option is a set
    of numbers that must all appear (3:30pm: 15 and 30, or 3, 30 and a word for afternoon), or `value` in any
    notation (45 million: 4500万)."""

    text: str
    options: tuple[tuple[str, ...], ...]
    value: float | None = None
    clock: str | None = None  # a time on the 24-hour clock, "17:30" for 5:30pm


def _clock(hour: int, minute: int, meridiem: str | None) -> list[tuple[str, ...]]:
    """How a time may be written: 24-hour, 12-hour with a word for afternoon, or as it came."""
    tail = (str(minute),) if minute else ()
    if meridiem == "p" and 1 <= hour <= 11:
        return [(str(hour + 12), *tail), (str(hour), _PM, *tail)]
    if meridiem == "a" and hour == 12:
        return [(h, *tail) for h in ("0", "12", "24")]
    if meridiem:
        return [(str(hour), *tail)]
    hours = {hour, (hour + 12) % 24, (hour - 12) % 24} | ({12, 24} if hour == 0 else set())
    return [(str(h), *tail) for h in sorted(hours)]


def _on_24h(hour: int, minute: int, meridiem: re.Match[str] | None) -> str:
    half = meridiem.group(1).lower() if meridiem else ""
    hour = hour + 12 if half == "p" and hour < 12 else 0 if half == "a" and hour == 12 else hour
    return f"{hour}:{minute:02d}"


def numbers_in(text: str) -> list[NumberFound]:
    """The numbers and times a translation of `text` must keep, each once (fractions such as ¾ are left out:
    NFKC would make 29¾ read as 293⁄4)."""
    text = unicodedata.normalize("NFKC", re.sub(r"[\u00bc-\u00be\u2150-\u215e]", "", text))
    found: dict[str, NumberFound] = {}
    for match in _NUMBER.finditer(text):
        token, after = match.group(0), text[match.end() :]
        runs = [str(int(run)) for run in _RUN.findall(token)]
        runs = runs[:1] + [run for run in runs[1:] if run != "0"]  # 12.00 → 12 h
        options: list[tuple[str, ...]] = [tuple(runs)]
        meridiem = _MERIDIEM.match(after)
        clock = re.fullmatch(r"(\d{1,2})[:.](\d{2})", token) or (
            re.fullmatch(r"(\d{2})(\d{2})", token) if _ZONE.match(after) else None
        )
        hour_minute = None
        if clock and int(clock.group(1)) <= 24 and int(clock.group(2)) < 60:
            hour_minute = int(clock.group(1)), int(clock.group(2))
        elif meridiem and re.fullmatch(r"\d{1,2}", token) and int(token) <= 12:
            hour_minute = int(token), 0
        if hour_minute:
            options = _clock(*hour_minute, meridiem and meridiem.group(1).lower())
        elif re.fullmatch(r"\d{3}0", token) and after[:1] == "s":  # the 1960s: "années 60", "siglo XIX"
            options += [(str(int(token[2:])),), (str(int(token) // 100 + 1),)]
        elif after[:1] == "月" and 1 <= int(token) <= 12:  # 8月: August, août, agosto
            options.append((_MONTH_WORDS[int(token) - 1],))
        value = _value(token) if options[0] == tuple(runs) else None  # a time has no other notation
        scale = re.match(r"\s*([^\W\d_]+)", after)
        factor = scale and (_SCALE_WORDS.get(scale.group(1).lower()) or _EAST_ASIAN_SCALE.get(scale.group(1)[0]))
        if value is not None and factor:
            value *= factor
        found.setdefault(
            token, NumberFound(token, tuple(options), value, hour_minute and _on_24h(*hour_minute, meridiem))
        )
    return list(found.values())


def _numbers_written(text: str) -> tuple[set[str], set[float]]:
    """The numbers `text` writes, as strings (digits, kanji, words, Roman numerals; "pm" when it says it is the
    afternoon) and as values (1 000, 2,4, 4500万)."""
    text = unicodedata.normalize("NFKC", text)
    values = {v for token in _NUMBER.findall(text) if (v := _value(token)) is not None}
    values |= {float(run) for run in _RUN.findall(text)}
    for number, scale in _SCALED.findall(text):
        if (v := _value(number)) is not None:
            values.add(v * _EAST_ASIAN_SCALE[scale])
    values |= {float(_kanji_value(kanji)) for kanji in _KANJI_NUMBER.findall(text)}
    values |= {float(_roman_value(roman)) for roman in _ROMAN.findall(text)}
    for word in _WORD.findall(text.lower()):
        if word in _NUMBER_WORD_VALUE:
            values.add(float(_NUMBER_WORD_VALUE[word]))
        values |= {float(value) for stem, value in _NUMBER_STEMS if word.startswith(stem)}
    spelt = {str(int(v)) for v in values if v == int(v) and v < 10**15}
    words = set(_WORD.findall(_fold(text)))
    spelt |= {
        _MONTH_WORDS[i]
        for i, starts in enumerate(_MONTHS)
        if any(w.startswith(tuple(_fold(s) for s in starts.split())) for w in words)
    }
    return spelt | ({_PM} if _PM_WORDS.search(text) else set()), values


def missing_numbers(source: str, output: str) -> list[str]:
    """The numbers and times of `source` that `output` does not write in any acceptable form."""
    spelt, values = _numbers_written(output)
    return [
        number.text
        for number in numbers_in(source)
        if not (number.value is not None and number.value in values)
        and not any(all(part in spelt for part in option) for option in number.options)
    ]


# Weekdays and months named in an English source must come back as the same day or month ("Thursday" read as
# "mardi" moves a meeting). Each target lists its names from Monday and from January, matched as word starts
# ("vendredis", "Freitags", "sexta-feira"); Japanese and Chinese write 木曜 / 3月, Korean 목요일 / 3월.
_EN_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_EN_MONTHS = "january february march april may june july august september october november december".split()
_DAYS: dict[str, tuple[str, ...]] = {
    "fr": tuple("lundi mardi mercredi jeudi vendredi samedi dimanche".split()),
    "de": tuple("montag dienstag mittwoch donnerstag freitag samstag sonntag".split()),
    "es": tuple("lunes martes miércoles jueves viernes sábado domingo".split()),
    "it": tuple("lunedì martedì mercoledì giovedì venerdì sabato domenica".split()),
    "pt": tuple("segunda terça quarta quinta sexta sábado domingo".split()),
    "nl": tuple("maandag dinsdag woensdag donderdag vrijdag zaterdag zondag".split()),
    "en": tuple(_EN_DAYS),
    "ja": tuple("月曜 火曜 水曜 木曜 金曜 土曜 日曜".split()),
    "zh": ("一", "二", "三", "四", "五", "六", "日"),  # after 星期 or 周
    "ko": tuple("월요일 화요일 수요일 목요일 금요일 토요일 일요일".split()),
}
_MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "fr": tuple("janv févr mars avr mai juin juil août sept oct nov déc".split()),
    "de": tuple("jan feb märz apr mai juni juli aug sept okt nov dez".split()),
    "es": tuple("ene feb marzo abr mayo jun jul ago sept oct nov dic".split()),
    "it": tuple("genn febbr marzo apr magg giugno luglio ag sett ott nov dic".split()),
    "pt": tuple("jan fev março abr maio jun jul ago set out nov dez".split()),
    "nl": tuple("jan feb maart apr mei juni juli aug sept okt nov dec".split()),
    "en": tuple(_EN_MONTHS),
}
_EN_DATE = re.compile(
    r"\b("
    + "|".join(d.capitalize() for d in _EN_DAYS)
    + r")s?\b|\b("
    + "|".join(m.capitalize() for m in _EN_MONTHS if m != "may")
    + r"|May(?=\s+\d))\b"
)


def missing_dates(source: str, output: str, *, target: str, source_language: str | None = "en") -> list[str]:
    """The weekdays and months of an English `source` that `output` names differently or not at all; nothing for
    other sources and for targets without names here."""
    if source_language not in ("en", None):
        return []
    folded = _fold(output)
    words = re.findall(r"[^\W\d_]+", folded)
    missing = []
    for match in _EN_DATE.finditer(source):
        if match.group(1):
            index, names = _EN_DAYS.index(match.group(1).lower()), _DAYS.get(target)
        else:
            index, names = _EN_MONTHS.index(match.group(2).lower()), _MONTH_NAMES.get(target)
            if target in ("ja", "zh", "ko"):
                if not re.search(rf"(?<!\d){index + 1}\s*[月월]", unicodedata.normalize("NFKC", output)):
                    missing.append(match.group(0))
                continue
        if names is None:
            continue
        name = _fold(names[index])
        if target == "zh":
            kept = bool(re.search(rf"(?:星期|周|週|礼拜){names[index]}", output)) or (index == 6 and "星期天" in output)
        elif target in ("ja", "ko"):
            kept = names[index] in output
        else:
            kept = any(w.startswith(name) for w in words)
        if not kept:
            missing.append(match.group(0))
    return missing


# Capitalised words that are not names a translation keeps: calendar words, and names that languages spell their
# own way beyond recognition (Germany → Allemagne, Deutschland; Earth → Terre). Close local spellings (Italy →
# Italie, Iraq → Irak) need no entry: they are recognised.
_NOT_KEPT = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec i i'm i'll i've i'd ok okay mondays tuesdays wednesdays "
    "thursdays fridays saturdays sundays "
    "earth moon sun god heaven christmas easter bible germany england britain spain switzerland scotland wales "
    "croatia vienna cologne warsaw copenhagen sweden austria king queen prince princess president pope emperor pharaoh "
    "century internet web".split()
)
_INITIAL = re.compile(r"(?:^|[.!?:;…]\s+|[\n\"'«“‘(\[¿¡-]\s*)$")
_DETERMINER = re.compile(r"\b(?:the|a|an|this|that|these|those|our|their|his|her|its|my|your)\s+$", re.I)
_PEOPLE_WORD = re.compile(r"(?:ish|ese|ian|an|ans|ic|ers|ards)$")


@dataclass(frozen=True)
class NamesFound:
    """Words of a source a translation must keep: `exact` ones letter for letter (@handles, identifiers such as
    `GitHub`, `v2`, `config.yaml`), `proper` ones (capitalised words inside a sentence) in recognisable form."""

    exact: tuple[str, ...]
    proper: tuple[str, ...]


def names_in(text: str) -> NamesFound:
    """The @handles and identifiers of `text`, and its lone capitalised words inside a sentence (Priya, Marco,
    Jira). Runs of capitalised words (Foster Care, World Health Organisation), words after an article (the
    Earth, the Games) and words for peoples and languages (German, Filipino... most end in -an, -ese, -ish) are
    titles and common nouns that translations rightly translate, so they are not required."""
    exact: list[str] = []
    proper: list[str] = []
    words = list(re.finditer(r"\S+", text))
    for i, match in enumerate(words):
        word = re.sub(r"['’]s$", "", match.group(0).strip(".,;:!?\"'“”‘’«»()[]{}…"))
        if not word or (not word[0].isalpha() and word[0] != "@"):
            continue
        if word.startswith("@") or _is_identifier(word):
            exact.append(word)
            continue
        before = text[: match.start()]
        if (
            word[0].isupper()
            and not word.isupper()
            and re.fullmatch(r"[^\W\d_]+", word)
            and match.group(0)[0].isalpha()  # not the first word of a quote
            and not _INITIAL.search(before)
            and not _DETERMINER.search(before)
            and not _in_title(text, words, i)
            and not _PEOPLE_WORD.search(word)
            and word.lower() not in _NOT_KEPT
        ):
            proper.append(word)
    return NamesFound(tuple(dict.fromkeys(exact)), tuple(dict.fromkeys(proper)))


_CONNECTORS = frozenset("of for and the de du la von der".split())
_OPENERS = frozenset(
    "ask tell ping thanks thank hi hey hello please can could would will did does do is are was let welcome "
    "congrats cc sorry dear ok so and but if when".split()
)


def _in_title(text: str, words: list[re.Match[str]], i: int) -> bool:
    """Whether word `i` has a capitalised neighbour, across "of", "for", "and"... (Declaration of Independence).
    A sentence's first word is capitalised for that reason only when it is a word that opens Slack messages
    ("Ask Priya", "Thanks Marco"), not when it may start a title ("Vatican City")."""
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(words) and words[j].group(0).lower() in _CONNECTORS:
            j += step
        if not (0 <= j < len(words) and abs(j - i) <= 2):
            continue
        neighbour = words[j].group(0)
        if neighbour.lstrip("\"'“‘«([")[:1].isupper() and neighbour[0].isalpha():
            opener = neighbour.strip(",.!?:;").lower() in _OPENERS
            if not (opener and _INITIAL.search(text[: words[j].start()])):
                return True
    return False


def _is_identifier(word: str) -> bool:
    """`GitHub`, `iOS`, `v2`, `H5N1`, `snake_case`, `config.yaml`: spelt one way only, never translated."""
    if not re.fullmatch(r"[^\W\d_][\w.\-]*", word):
        return False
    return bool(re.search(r"[a-z][A-Z]|\d|\w_\w|[a-z]\.[a-z]{2,}", word))


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


_SOUND = {"k": "c", "q": "c", "z": "s"}  # Canada → Kanada, Zambia → Sambia


def _recognisable(name: str, words: set[str]) -> bool:
    """A capitalised word is still there, maybe in a local spelling (Italy → Italie, Iraq → Irak) or inside a
    compound (France → Südfrankreich)."""
    name = _fold(name)
    return any(
        (_SOUND.get(w[0], w[0]) == _SOUND.get(name[0], name[0]) and SequenceMatcher(None, name, w).ratio() >= 0.5)
        or (len(name) >= 5 and name[:4] in w)
        for w in words
    )


def missing_names(source: str, output: str, *, target: str, source_language: str | None = "en") -> list[str]:
    """The names of `source` that `output` lost. Identifiers and @handles must come back letter for letter
    (ignoring case and punctuation: WiFi → Wi-Fi); capitalised words only in Latin-script targets and in a
    recognisable form, since places and peoples may take their local names (Poland → Pologne). Capitalised words
    are read in English sources only: the lists above are English, and German capitalises every noun."""
    names = names_in(source)
    squeezed = _letters(unicodedata.normalize("NFKC", output))
    latin = _SCRIPT_OF.get(target) is None
    missing = [
        name
        for name in names.exact
        if (name.lower() not in output.lower() if name.startswith("@") else _letters(name) not in squeezed)
        and not (name.endswith("s") and _letters(name[:-1]) in squeezed)  # iPods → iPod
        and (latin or name.startswith("@") or re.search(r"[\d_.]", name))  # KwaZulu may be written in kana
    ]
    if names.proper and latin and source_language in ("en", None):
        words = set(re.findall(r"[^\W\d_]+", _fold(output)))
        missing += [name for name in names.proper if not _recognisable(name, words)]
    return missing


# Words that make a sentence negative. `_NEGATIONS` are read in a translation and are generous: a negation
# written as "sans", "interdit" or "unklar" still counts (word starts, so "impossibilité" and "unmöglich" match).
# `_NEGATING` mark a source sentence as negative and are strict, so "personne" (person), the "ne" of "ne ... que"
# (only) and idioms such as "not only" or "no obstante" (however) never demand a negation. Languages written
# without spaces are matched by substring (しない, ません, 不, 没), and only in translations.
_NEGATIONS: dict[str, tuple[str, ...]] = {
    "en": tuple(
        "not no never nothing nobody none nor neither cannot without nowhere n't unab impossib unclear unknown "
        "unconfirm fail lack avoid refus forbid prohibit remember".split()
    ),
    "fr": tuple(
        "ne n pas jamais rien personne aucun aucune ni sans non nul nulle guère interdi impossib incapab inconnu "
        "éviter évite refus sauf peu".split()
    ),
    "de": tuple(
        "nicht kein nie niemals nichts niemand ohne weder nirgends verbot unklar unmöglich unfähig unbekannt "
        "vermeid kaum erstmals".split()
    ),
    "es": tuple(
        "no nunca jamás nada nadie ningún ninguno ninguna ni sin tampoco prohib imposib incapa ileso desconoc "
        "evit".split()
    ),
    "it": tuple("non mai niente nulla nessun né senza neanche nemmeno neppure vietat impossib incapac evit".split()),
    "pt": tuple("não nunca jamais nada ninguém nenhum nenhuma nem sem proibi impossív incapa evit".split()),
    "nl": tuple("niet geen nooit niets niemand nergens zonder noch verbod verbied onmogelijk vermijd".split()),
    "ru": tuple("не нет ни никогда ничего никто нигде без нельзя невозмож".split()),
}
_NEGATING: dict[str, frozenset[str]] = {
    "en": frozenset("not no never nothing nobody none nor neither cannot n't".split()),
    "fr": frozenset("pas jamais rien aucun aucune".split()),
    "de": frozenset("nicht kein keine keinen keinem keiner keines nie niemals nichts niemand".split()),
    "es": frozenset("no nunca jamás nadie ningún ninguno ninguna tampoco".split()),
    "it": frozenset("non mai niente nessuno nessuna nessun".split()),
    "pt": frozenset("não nunca jamais ninguém nenhum nenhuma".split()),
    "nl": frozenset("niet geen nooit niets niemand".split()),
    "ru": frozenset("не нет никогда ничего никто".split()),
}
_NOT_NEGATING = re.compile(
    r"\b(?:not only|not long|not un\w+|no matter|no later than|no sooner|no doubt|no\.? (?=\d)|"
    r"n['’](?:oubli|hésit)\w* pas|ne manquez pas|pas mal|no obstante|no s[oó]lo|nicht nur|non solo|"
    r"não (?:só|apenas)|niet alleen)",
    re.I,
)
_AFFIRMING = re.compile(
    r"n['’](?:oubli|hésit)\w*\s+pas|ne\s+manquez\s+pas|nicht\s+vergessen|vergessen\s+sie\s+nicht|"
    r"no\s+olvide\w*|non\s+dimenticar\w*|não\s+se\s+esqueç\w*|niet\s+vergeten|don['’]t\s+forget",
    re.I,
)  # "n'oubliez pas" says "remember": no negation a negative source could be kept in
_NEGATION_MARKS: dict[str, tuple[str, ...]] = {
    "ja": (
        "ない", "なかっ", "なく", "なし", "ません", "ず", "ぬ", "無", "不", "未", "非", "否", "禁", "だめ", "ダメ",
        "いいえ", "控え", "慎", "避け",
    ),
    "zh": ("不", "没", "沒", "无", "無", "非", "别", "別", "未", "勿", "否", "禁"),
    "ko": ("않", "안 ", "못", "없", "말", "아니", "금지"),
}  # fmt: skip
_NEGATION_TOKEN = re.compile(r"n't|[^\W\d_]+")


def _negation_tokens(text: str) -> list[str]:
    """Lower-case words, with English contractions cut off ("don't" → "do", "n't")."""
    return _NEGATION_TOKEN.findall(re.sub(r"n['’]t\b", " n't", text.lower()))


def is_negative(text: str, language: str) -> bool:
    """Whether `text` (in `language`) says "not" in a way its translation must keep; False for languages without
    a strict list."""
    words = _NEGATING.get(language)
    if not words:
        return False
    return any(w in words for w in _negation_tokens(_NOT_NEGATING.sub(" ", text)))


def has_negation(text: str, language: str) -> bool | None:
    """Whether a translation in `language` says "not" somehow; None for languages without a list."""
    if language in _NEGATION_MARKS:
        return any(mark in text for mark in _NEGATION_MARKS[language])
    starts = _NEGATIONS.get(language)
    if starts is None:
        return None
    exact = {s for s in starts if len(s) <= 4}
    text = _AFFIRMING.sub(" ", text)
    return any(w in exact or (len(w) > 4 and w.startswith(starts)) for w in _negation_tokens(text))
