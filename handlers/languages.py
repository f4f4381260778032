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
