"""Photos and documents: checked by content, images re-encoded without metadata, stored by hash.

An upload is prepared in memory first (`prepare`): its type is read from its bytes, never from its
name or the browser's claim; images are verified by Pillow, turned upright, downscaled and
re-encoded, which drops EXIF and anything smuggled after the image data (the EXIF position and
time are kept as data); PDFs are recognised by their signature. Everything else is refused.
Files reach the disk only through `write`, under UPLOAD_DIR by the SHA-256 of the stored bytes,
so a user's file name never becomes a path.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask_babel import gettext  # not `_`: functions here unpack into `_`
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..extensions import db
from ..models import Attachment, User
from .audit import audit

MAX_SIDE = 2048          # px: the long side of a stored photo
THUMB_SIDE = 360         # px: the long side of a thumbnail
MAX_PIXELS = 60_000_000  # a larger image is refused before it is decoded (decompression bombs)

# Pillow format → (content type, format to re-encode in, file suffix for downloads)
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "JPEG", ".jpg"),
    "MPO": ("image/jpeg", "JPEG", ".jpg"),  # phones' multi-picture JPEG
    "PNG": ("image/png", "PNG", ".png"),
    "WEBP": ("image/webp", "WEBP", ".webp"),
    "GIF": ("image/png", "PNG", ".png"),
}
PDF = ("application/pdf", ".pdf")
SUFFIXES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
            "application/pdf": ".pdf"}


class UploadRejected(Exception):
    """The upload is refused; `status` is 413 (too large) or 415 (type not accepted)."""

    def __init__(self, status: int, message: str, name: str = ""):
        super().__init__(message)
        self.status, self.message, self.name = status, message, name

    def describe(self) -> str:
        """The refusal naming its file, as shown beside the field: "照片.heic：……"."""
        if not self.name:
            return self.message
        return gettext("%(file)s：%(reason)s", file=self.name, reason=self.message)


@dataclass
class PreparedUpload:
    data: bytes
    content_type: str
    original_name: str
    thumbnail: bytes | None = None
    exif: dict = field(default_factory=dict)
    sha256: str = ""

    def __post_init__(self):
        self.sha256 = hashlib.sha256(self.data).hexdigest()

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


# ---------------------------------------------------------------- names

_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


def display_name(raw: str | None) -> str:
    """The user's file name made harmless for display: last path part, no control or path
    characters, at most 200 characters. It is never used to build a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._")
    return name[:200] or "附件"  # stored as the attachment's name: the source language


def download_name(attachment: Attachment) -> str:
    """The name offered on download: the display name with the suffix of the stored type."""
    stem, _, _ = attachment.original_name.rpartition(".")
    suffix = SUFFIXES.get(attachment.content_type, "")
    return f"{stem or attachment.original_name}{suffix}"


# ---------------------------------------------------------------- checking and preparing

def _too_large(max_bytes: int) -> str:
    return gettext("文件超过 %(mb)s MB 上限", mb=max_bytes // (1024 * 1024) or 1)


def read_limited(stream, max_bytes: int, name: str = "") -> bytes:
    """Read at most `max_bytes`; a longer stream is refused with 413 without reading it all."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadRejected(413, _too_large(max_bytes), name)
    return data


def prepare_storage(storage, max_bytes: int) -> "PreparedUpload | None":
    """A form's uploaded file (werkzeug FileStorage) read under the limit and checked; None for a
    file input left empty. Raises UploadRejected."""
    if not storage or not storage.filename:
        return None
    return prepare(read_limited(storage.stream, max_bytes, storage.filename), storage.filename,
                   max_bytes)


def prepare(data: bytes, filename: str | None, max_bytes: int) -> PreparedUpload:
    """Check one uploaded file by its content and turn it into what will be stored."""
    name = display_name(filename)
    if len(data) > max_bytes:
        raise UploadRejected(413, _too_large(max_bytes), name)
    if not data:
        raise UploadRejected(415, gettext("文件是空的"), name)
    if data.startswith(b"%PDF-"):
        return PreparedUpload(data=data, content_type=PDF[0], original_name=name)
    return _prepare_image(data, name)


def _prepare_image(data: bytes, name: str) -> PreparedUpload:
    refused = UploadRejected(415, gettext("只接受照片（JPEG、PNG、WebP）和 PDF 文件"), name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format
                if kind not in IMAGE_FORMATS:
                    raise refused
                if probe.width * probe.height > MAX_PIXELS:
                    raise UploadRejected(413, gettext("图片像素过大"), name)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                exif = _exif_facts(image)
                image.load()
                image = ImageOps.exif_transpose(image)
                content_type, out_format, _ = IMAGE_FORMATS[kind]
                image = _for_format(image, out_format)
                image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
                stored = _encode(image, out_format)
                thumb = image.copy()
                thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS, reducing_gap=2.0)
                thumbnail = _encode(_for_format(thumb, "JPEG"), "JPEG", quality=80)
    except UploadRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError):
        raise refused from None
    return PreparedUpload(data=stored, content_type=content_type, original_name=name,
                          thumbnail=thumbnail, exif=exif)


def _for_format(image: Image.Image, out_format: str) -> Image.Image:
    if out_format == "JPEG" and image.mode not in ("RGB", "L"):
        return image.convert("RGB")
    if out_format in ("PNG", "WEBP") and image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image.convert("RGBA")
    return image


def _encode(image: Image.Image, out_format: str, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": quality, "optimize": True} if out_format in ("JPEG", "WEBP") else {}
    # No exif=, icc_profile= or pnginfo=: the stored file carries pixels only.
    image.save(buffer, format=out_format, **options)
    return buffer.getvalue()


def _exif_facts(image: Image.Image) -> dict:
    """The position and time a camera wrote, as plain data (the stored file keeps neither)."""
    try:
        exif = image.getexif()
    except Exception:  # a broken EXIF block must not refuse a good photo
        return {}
    facts: dict = {}
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        taken = sub.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        if isinstance(taken, str):
            try:
                facts["taken_at"] = datetime.strptime(taken.strip("\x00 "), "%Y:%m:%d %H:%M:%S") \
                    .isoformat()
            except ValueError:
                pass
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
        lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180:
            facts["lat"], facts["lon"] = round(lat, 6), round(lon, 6)
        for tag in (ExifTags.Base.Make, ExifTags.Base.Model):
            value = exif.get(tag)
            if isinstance(value, str) and value.strip("\x00 "):
                facts[tag.name.lower()] = value.strip("\x00 ")[:100]
    except Exception:
        return facts
    return facts


def _degrees(value, ref) -> float | None:
    try:
        d, m, s = (float(v) for v in value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    degrees = d + m / 60 + s / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -degrees if str(ref).strip().upper() in ("S", "W") else degrees


# ---------------------------------------------------------------- storing and serving

def stored_path(upload_dir: str | os.PathLike, sha256: str, thumbnail: bool = False) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise ValueError("not a content hash")
    base = Path(upload_dir) / ("thumbs" if thumbnail else "files") / sha256[:2]
    return base / (f"{sha256}.jpg" if thumbnail else sha256)


def add_attachment(actor: User, prepared: PreparedUpload, *, visit=None,
                   problem=None) -> Attachment:
    """The Attachment row for a prepared file (flushed, with its audit entry; nothing on disk yet)."""
    attachment = Attachment(
        visit=visit, visit_id=visit.id if visit is not None else None,
        problem_id=problem.id if problem is not None else None,
        sha256=prepared.sha256, content_type=prepared.content_type, size=len(prepared.data),
        original_name=prepared.original_name, has_thumbnail=prepared.thumbnail is not None,
        exif=prepared.exif, uploaded_by_id=actor.id)
    db.session.add(attachment)
    db.session.flush()
    audit(actor, "attachment.add", "attachment", attachment.id,
          {"visit_id": attachment.visit_id, "problem_id": attachment.problem_id,
           "sha256": prepared.sha256, "content_type": prepared.content_type,
           "size": attachment.size})
    return attachment


def write(upload_dir: str | os.PathLike, prepared: list[PreparedUpload]) -> list[Path]:
    """Put prepared files on disk (atomically, once per content); return the paths newly
    created, so a caller whose transaction then fails can take them away again."""
    created: list[Path] = []
    for item in prepared:
        targets = [(stored_path(upload_dir, item.sha256), item.data)]
        if item.thumbnail is not None:
            targets.append((stored_path(upload_dir, item.sha256, thumbnail=True), item.thumbnail))
        for path, data in targets:
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
            created.append(path)
    return created


def discard(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
