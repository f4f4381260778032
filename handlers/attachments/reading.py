"""What a shared file says, as text a skill can read: plain data in (its name, type and bytes), text out.

Text-like files (txt, md, csv, json, code...) are decoded; PDFs go through pypdf (imported only when a PDF comes).
Everything is cut to `MAX_FILE_CHARS`. What cannot be read gets a `problem`, a short reason the bot says out
loud ("I can't read images yet"), so a file is never silently ignored.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

logger = logging.getLogger(__name__)

MAX_FILE_CHARS = 20_000  # per file: a long document's first pages, about 5,000 tokens
MAX_FILE_BYTES = 10 * 1024 * 1024  # downloaded at most; past it a PDF is not opened

TEXT_TYPES = frozenset(
    "text txt plain markdown md mdx rst csv tsv json jsonl yaml yml toml ini cfg conf log xml html htm css sql sh "
    "bash zsh python py ipynb javascript js jsx typescript ts tsx java kotlin kt go rust rs c h cpp hpp cs csharp "
    "ruby rb php swift scala r lua perl pl dockerfile makefile diff patch properties env tex".split()
)
_IMAGE_TYPES = frozenset("png jpg jpeg gif webp bmp tiff heic svg".split())


@dataclass(frozen=True)
class FileText:
    """A shared file's text (None when it could not be read, and then `problem` says why)."""

    name: str
    text: str | None
    problem: str | None = None
    truncated: bool = False


def kind_of(name: str, mimetype: str | None, filetype: str | None) -> str:
    """ "text", "pdf", "image" or "other", from Slack's filetype, the MIME type, then the name's extension."""
    filetype = (filetype or "").lower()
    mime = (mimetype or "").lower()
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if filetype == "pdf" or mime == "application/pdf" or extension == "pdf":
        return "pdf"
    if mime.startswith("image/") or filetype in _IMAGE_TYPES or extension in _IMAGE_TYPES:
        return "image"
    if (
        mime.startswith("text/")
        or mime in {"application/json", "application/xml", "application/x-yaml", "application/x-sh"}
        or filetype in TEXT_TYPES
        or extension in TEXT_TYPES
    ):
        return "text"
    return "other"


def read_file(name: str, mimetype: str | None, filetype: str | None, data: bytes) -> FileText:
    """The file's text, first MAX_FILE_CHARS characters."""
    kind = kind_of(name, mimetype, filetype)
    if kind == "image":
        return FileText(name, None, "I can't read images yet")
    if kind == "pdf":
        return _pdf(name, data)
    if kind == "text":
        if b"\x00" in data[:4096]:
            return FileText(name, None, "it doesn't look like text")
        return _cut(name, data.decode("utf-8", errors="replace"))
    label = (filetype or name.rpartition(".")[2] or "this kind of").lower()
    return FileText(name, None, f"I can't read {label} files yet")


def _pdf(name: str, data: bytes) -> FileText:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return FileText(name, None, "the PDF is password-protected")
        pages: list[str] = []
        length = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            pages.append(text)
            length += len(text)
            if length > MAX_FILE_CHARS:
                break
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        logger.info("could not read a PDF (%s)", type(exc).__name__)
        return FileText(name, None, "I couldn't open the PDF")
    text = "\n".join(pages).strip()
    if not text:
        return FileText(name, None, "the PDF has no text I can read (a scan, perhaps)")
    return _cut(name, text)


def _cut(name: str, text: str) -> FileText:
    text = text.replace("\x00", "").strip()
    if len(text) <= MAX_FILE_CHARS:
        return FileText(name, text)
    return FileText(name, text[:MAX_FILE_CHARS], truncated=True)


def chunks(text: str, *, size: int = 800) -> list[str]:
    """The text in pieces of about `size` characters, cut at paragraph or line ends where possible, so a question
    finds the part that answers it instead of a whole document."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        if current and len(current) + len(line) + 1 > size:
            pieces.append(current.strip())
            current = ""
        while len(line) > size:
            pieces.append(line[:size].strip())
            line = line[size:]
        current += line + "\n"
    if current.strip():
        pieces.append(current.strip())
    return [piece for piece in pieces if piece]
