"""Languages people can ask for, by ISO 639-1 code or English name."""

from __future__ import annotations

LANGUAGES: dict[str, str] = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "de": "German",
    "el": "Greek",
    "en": "English",
    "es": "Spanish",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "fr": "French",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ms": "Malay",
    "nl": "Dutch",
    "no": "Norwegian",
    "pl": "Polish",
    "pt": "Portuguese",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sr": "Serbian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}
_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()}
_BY_NAME.update({"mandarin": "zh", "farsi": "fa", "norwegian bokmål": "no", "brazilian portuguese": "pt"})


def resolve_language(value: str) -> tuple[str, str] | None:
    """('fr', 'French') for 'fr', 'FR', 'french' or 'French'; None when unknown."""
    key = value.strip().lower()
    code = key if key in LANGUAGES else _BY_NAME.get(key)
    return (code, LANGUAGES[code]) if code else None


# Reactions people use to ask for a translation: country flags (`flag-fr`, and Slack's short names for a few
# flags such as `jp`, `de`, `fr`), mapped to the main language of that country.
_FLAG_COUNTRY_LANGUAGE = {
    "fr": "fr", "de": "de", "at": "de", "ch": "de", "es": "es", "mx": "es", "ar": "es", "jp": "ja", "cn": "zh",
    "tw": "zh", "kr": "ko", "it": "it", "ru": "ru", "br": "pt", "pt": "pt", "nl": "nl", "be": "nl", "se": "sv",
    "dk": "da", "no": "no", "fi": "fi", "pl": "pl", "cz": "cs", "sk": "sk", "hu": "hu", "ro": "ro", "bg": "bg",
    "gr": "el", "tr": "tr", "ua": "uk", "il": "he", "sa": "ar", "eg": "ar", "ir": "fa", "in": "hi", "th": "th",
    "vn": "vi", "id": "id", "my": "ms", "gb": "en", "us": "en", "uk": "en", "au": "en", "ca": "en", "ie": "en",
    "hr": "hr", "rs": "sr", "si": "sl", "ee": "et", "lv": "lv", "lt": "lt",
}  # fmt: skip
_SHORT_FLAG_NAMES = {"jp", "de", "fr", "es", "it", "ru", "cn", "kr", "us", "gb", "uk"}


def language_for_reaction(reaction: str) -> tuple[str, str] | None:
    """('ja', 'Japanese') for :jp: or :flag-jp:; None for reactions that are not flags we know."""
    name = reaction.split("::")[0].lower()  # skin-tone suffixes look like "::skin-tone-2"
    if name.startswith("flag-"):
        country = name.removeprefix("flag-")
    elif name in _SHORT_FLAG_NAMES:
        country = name
    else:
        return None
    code = _FLAG_COUNTRY_LANGUAGE.get(country)
    return (code, LANGUAGES[code]) if code else None
