"""What a translation must carry over in numbers: every number and time of the source in some notation of the
target (3pm → 15 h, 15:00 or 午後3時; 1,000 → 1 000; 10 → dix), and every weekday and month of an English source
as the same day and month.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handlers.text.words import fold, words

# A fluent sentence can still say something else: a time dropped, a date moved. These checks compare what any
# correct translation must carry over, written so a correct one in another format passes
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
_NUMBER_WORD_VALUE = {word: value for value, spelt in _NUMBER_WORDS.items() for word in spelt.split()}
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
    for word in words(text):
        if word in _NUMBER_WORD_VALUE:
            values.add(float(_NUMBER_WORD_VALUE[word]))
        values |= {float(value) for stem, value in _NUMBER_STEMS if word.startswith(stem)}
    spelt = {str(int(v)) for v in values if v == int(v) and v < 10**15}
    folded = set(words(fold(text)))
    spelt |= {
        _MONTH_WORDS[i]
        for i, starts in enumerate(_MONTHS)
        if any(w.startswith(tuple(fold(s) for s in starts.split())) for w in folded)
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
    folded = fold(output)
    runs = re.findall(r"[^\W\d_]+", folded)  # letter runs: "d'lundi" and "3lundi" still name Monday
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
        name = fold(names[index])
        if target == "zh":
            kept = bool(re.search(rf"(?:星期|周|週|礼拜){names[index]}", output)) or (index == 6 and "星期天" in output)
        elif target in ("ja", "ko"):
            kept = names[index] in output
        else:
            kept = any(w.startswith(name) for w in runs)
        if not kept:
            missing.append(match.group(0))
    return missing
