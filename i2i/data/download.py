"""Download and unpack the published pix2pix and CycleGAN datasets.

The sources are those of the reference scripts (``datasets/download_pix2pix_dataset.sh`` and
``datasets/download_cyclegan_dataset.sh`` in junyanz/pytorch-CycleGAN-and-pix2pix):
``{base}/pix2pix/datasets/NAME.tar.gz`` (aligned A | B images) and ``{base}/cyclegan/datasets/NAME.zip``
(unaligned trainA / trainB / testA / testB), with ``base = https://efrosgans.eecs.berkeley.edu``.
Set ``I2I_DATASET_MIRROR`` (or pass ``base_url``) to use a mirror with the same folder structure.

``facades`` and ``maps`` exist in both collections; the pix2pix (aligned) archive is chosen unless
``method="cyclegan"`` is given. Cityscapes cannot be redistributed: asking for it raises
:class:`ManualDownloadRequired` with the preparation steps.

A download streams into ``NAME.EXT.part`` and resumes with an HTTP ``Range`` request when run again
(restarting if the server ignores ``Range``); the size must match ``Content-Length``, the archive must
pass a full integrity read, and a SHA-256 is checked where one is recorded. None is recorded today: the
upstream server publishes no checksums and we do not invent them. Extraction rejects absolute paths,
``..``, devices and every link, unpacks into a temporary folder and renames it into
place, then writes a marker file; a second call finds the marker and does nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import logging
import os
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar

from i2i import __version__

__all__ = [
    "DATASETS",
    "DEFAULT_BASE_URL",
    "MIRROR_ENV",
    "ArchiveError",
    "DatasetSource",
    "DownloadError",
    "DownloadResult",
    "ManualDownloadRequired",
    "dataset_url",
    "download_dataset",
    "download_file",
    "extract_archive",
    "find_dataset",
    "find_in_collections",
    "verify_archive",
]

logger = logging.getLogger("i2i.data")

Method = Literal["pix2pix", "cyclegan"]
Entry = TypeVar("Entry")
DEFAULT_BASE_URL = "https://efrosgans.eecs.berkeley.edu"
MIRROR_ENV = "I2I_DATASET_MIRROR"
MARKER = ".i2i-download-complete"
_Advance = Callable[[int], None]
_CHUNK = 1 << 20

_CITYSCAPES_STEPS = (
    "Cityscapes cannot be redistributed. Register at https://www.cityscapes-dataset.com, download "
    "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip, unzip both, then run the reference's "
    "datasets/prepare_cityscapes_dataset.py (junyanz/pytorch-CycleGAN-and-pix2pix): "
    "python prepare_cityscapes_dataset.py --gtFine_dir ./gtFine/ --leftImg8bit_dir ./leftImg8bit "
    "--output_dir {root}/cityscapes/ . It writes the aligned layout (train/, test/: photo | label) for "
    "pix2pix and trainA/trainB/testA/testB (A = photo, B = label) for CycleGAN."
)


@dataclass(frozen=True)
class DatasetSource:
    """One downloadable dataset.

    Attributes:
        name: Dataset name (also the folder the archive unpacks to).
        method: Collection it comes from: ``"pix2pix"`` (aligned) or ``"cyclegan"`` (unaligned).
        layout: The i2i data layout of the unpacked folder.
        sha256: Hex digest of the archive, or ``None`` where none is published.
        manual: Instructions when the data must be fetched by hand (no archive URL).
    """

    name: str
    method: Method
    sha256: str | None = None
    manual: str | None = None

    @property
    def layout(self) -> Literal["aligned", "unaligned"]:
        return "aligned" if self.method == "pix2pix" else "unaligned"

    @property
    def filename(self) -> str:
        return f"{self.name}.tar.gz" if self.method == "pix2pix" else f"{self.name}.zip"


_PIX2PIX = ("facades", "maps", "edges2shoes", "edges2handbags", "night2day")
_CYCLEGAN = (
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo", "ukiyoe2photo",
    "vangogh2photo", "maps", "facades", "iphone2dslr_flower", "ae_photos",
)  # fmt: skip

DATASETS: dict[tuple[Method, str], DatasetSource] = {
    **{("pix2pix", n): DatasetSource(n, "pix2pix") for n in _PIX2PIX},
    ("pix2pix", "cityscapes"): DatasetSource("cityscapes", "pix2pix", manual=_CITYSCAPES_STEPS),
    **{("cyclegan", n): DatasetSource(n, "cyclegan") for n in _CYCLEGAN},
    ("cyclegan", "cityscapes"): DatasetSource("cityscapes", "cyclegan", manual=_CITYSCAPES_STEPS),
}
"""Every known dataset by (method, name). No SHA-256 is recorded: upstream publishes none."""


class DownloadError(RuntimeError):
    """The transfer failed or the file does not match its expected size / checksum."""


class ArchiveError(ValueError):
    """An archive is corrupt or contains unsafe entries (absolute paths, ``..``, escaping links)."""


class ManualDownloadRequired(RuntimeError):
    """The dataset cannot be downloaded automatically; the message says how to get it."""


@dataclass(frozen=True)
class DownloadResult:
    """Outcome of :func:`download_dataset`: the dataset folder and whether anything was fetched."""

    path: Path
    source: DatasetSource
    already_present: bool


def find_dataset(name: str, method: Method | None = None) -> DatasetSource:
    """Look up ``name``; with ``method=None`` pix2pix wins where both collections have it.

    Raises:
        KeyError: Unknown name (with close matches and the list of known names).
    """
    return find_in_collections(DATASETS, name, method, what="dataset")


def find_in_collections(catalogue: Mapping[Any, Entry], name: str, method: str | None, *, what: str) -> Entry:
    """``catalogue[(method, name)]``, a catalogue keyed by (collection, name) like the reference's
    downloads (datasets, pretrained models); with ``method=None`` pix2pix's entry wins over cyclegan's.

    Raises:
        KeyError: An unknown name, naming ``what``, close matches and the known names.
    """
    methods = (method,) if method is not None else ("pix2pix", "cyclegan")
    for m in methods:
        if (m, name) in catalogue:
            return catalogue[(m, name)]
    known = sorted({n for (m, n) in catalogue if method is None or m == method})
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    scope = f"{method} " if method else ""
    raise KeyError(f"unknown {scope}{what} {name!r}{hint} (known: {', '.join(known)})")


def dataset_url(source: DatasetSource, base_url: str | None = None) -> str:
    """Archive URL: ``{base}/{method}/datasets/{file}``; base from the argument, ``I2I_DATASET_MIRROR``
    or :data:`DEFAULT_BASE_URL`."""
    base = (base_url or os.environ.get(MIRROR_ENV) or DEFAULT_BASE_URL).rstrip("/")
    return f"{base}/{source.method}/datasets/{source.filename}"


def download_dataset(
    name: str,
    root: str | Path = "datasets",
    *,
    method: Method | None = None,
    base_url: str | None = None,
    force: bool = False,
    progress: bool = False,
    timeout: float = 60.0,
) -> DownloadResult:
    """Download and unpack dataset ``name`` into ``root/name`` (idempotent).

    Args:
        name: A name from :data:`DATASETS`.
        root: Parent folder; the dataset lands in ``root/name``.
        method: ``"pix2pix"`` or ``"cyclegan"`` to choose between same-named datasets.
        base_url: Mirror base URL (see :func:`dataset_url`).
        force: Download again and replace a folder that an earlier download completed.
        progress: Show a rich progress bar on stderr.
        timeout: Socket timeout in seconds.

    Raises:
        ManualDownloadRequired: The dataset must be fetched by hand (Cityscapes).
        FileExistsError: ``root/name`` exists but was not made by this function (left untouched).
        DownloadError, ArchiveError: Transfer or archive problems; a partial ``.part`` file is kept
            so the next call resumes.
    """
    source = find_dataset(name, method)
    root = Path(root)
    if source.manual:
        raise ManualDownloadRequired(source.manual.format(root=root))
    target = root / source.name
    if (target / MARKER).is_file() and not force:
        logger.info("%s is already downloaded and extracted in %s", source.name, target)
        return DownloadResult(target, source, already_present=True)
    if target.exists() and not (target / MARKER).is_file():
        raise FileExistsError(
            f"{str(target)!r} exists but was not created by 'i2i data download'; move it away to download "
            f"{source.name} there, or use it as it is"
        )
    root.mkdir(parents=True, exist_ok=True)
    archive = root / source.filename
    if archive.is_file():  # left by an interrupted extraction: reuse it if it is intact
        try:
            verify_archive(archive, source.sha256)
        except (ArchiveError, DownloadError):
            archive.unlink()
    if not archive.is_file():
        download_file(
            dataset_url(source, base_url), archive, sha256=source.sha256, progress=progress, timeout=timeout
        )
        verify_archive(archive, source.sha256)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{source.name}.extract-"))
    try:
        extract_archive(archive, staging)
        unpacked = staging / source.name
        if not unpacked.is_dir():  # an archive without the top-level folder
            unpacked = staging
        (unpacked / MARKER).write_text(f"{dataset_url(source, base_url)}\n", encoding="utf-8")
        if target.exists():  # force: swap the old completed folder out, the new one in
            old = root / f".{source.name}.old-{os.getpid()}"
            os.replace(target, old)
            os.replace(unpacked, target)
            shutil.rmtree(old)
        else:
            os.replace(unpacked, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    archive.unlink()
    logger.info("%s extracted to %s", source.name, target)
    return DownloadResult(target, source, already_present=False)


def download_file(
    url: str,
    destination: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Stream ``url`` to ``destination`` via ``destination.part``, resuming a partial download.

    An existing ``.part`` file is continued with ``Range: bytes=N-``; a server that answers 200 instead
    of 206 is restarted from zero. The final size must equal the announced length, and ``sha256`` (if
    given) must match; only then is the file renamed to ``destination``.

    Raises:
        DownloadError: Network failure (the ``.part`` file stays for a retry), size or checksum
            mismatch (the ``.part`` file is removed), or a non-HTTP(S) URL.
    """
    if not url.startswith(("http://", "https://")):
        raise DownloadError(f"only http(s) URLs are supported, got {url!r}")
    destination = Path(destination)
    part = destination.with_name(destination.name + ".part")
    for attempt in range(2):
        have = part.stat().st_size if part.is_file() else 0
        headers = {"User-Agent": f"i2i/{__version__}"}
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                total = _expected_total(response.status, response.headers, have)
                if response.status != 206:
                    have = 0  # the server ignored Range: start over
                with (
                    open(part, "ab" if have else "wb") as f,
                    _progress_bar(progress, url, total, have) as advance,
                ):
                    while chunk := response.read(_CHUNK):
                        f.write(chunk)
                        advance(len(chunk))
        except urllib.error.HTTPError as err:
            if err.code == 416 and attempt == 0:  # range beyond the file: the .part is stale
                part.unlink(missing_ok=True)
                continue
            raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            raise DownloadError(f"{url}: {err}; run again to resume from {part}") from err
        break
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{url}: got {size} bytes, expected {total}; run again to resume from {part}")
    if sha256 is not None:
        digest = _sha256(part)
        if digest != sha256.lower():
            part.unlink()
            raise DownloadError(f"{url}: SHA-256 {digest} does not match the expected {sha256}")
    os.replace(part, destination)
    return destination


def verify_archive(path: str | Path, sha256: str | None = None) -> None:
    """Check a .zip / .tar(.gz) archive by reading every member in full (CRCs included).

    Raises:
        ArchiveError: Corrupt or truncated archive, or an unsupported format.
        DownloadError: ``sha256`` given and not matching.
    """
    path = Path(path)
    if sha256 is not None and _sha256(path) != sha256.lower():
        raise DownloadError(f"{path}: SHA-256 does not match the expected {sha256}")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            if bad is not None:
                raise ArchiveError(f"{path}: corrupt member {bad!r}")
        elif tarfile.is_tarfile(path):
            with tarfile.open(path, "r:*") as tf:
                for member in tf:
                    extracted = tf.extractfile(member) if member.isfile() else None
                    if extracted is not None:
                        while extracted.read(_CHUNK):
                            pass
        else:
            raise ArchiveError(f"{path}: not a zip or tar archive")
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise ArchiveError(f"{path}: corrupt or truncated archive ({err})") from err


def extract_archive(path: str | Path, destination: str | Path) -> None:
    """Extract a .zip / .tar(.gz) archive into ``destination`` after checking every entry is safe.

    Raises:
        ArchiveError: An entry is absolute, contains ``..``, is a device or is a link (symbolic or
            hard: datasets need none, and refusing them is safe on every Python version); nothing is
            extracted in that case.
    """
    path, destination = Path(path), Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                _check_member_name(info.filename, path)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ArchiveError(f"{path}: refusing link entry {info.filename!r}")
            zf.extractall(destination)
        return
    if not tarfile.is_tarfile(path):
        raise ArchiveError(f"{path}: not a zip or tar archive")
    with tarfile.open(path, "r:*") as tf:
        members = tf.getmembers()
        for member in members:
            _check_member_name(member.name, path)
            if member.issym() or member.islnk():
                # Links are refused outright: a chain such as ``x -> ..`` then ``x/y -> ..`` passes any
                # per-entry check and escapes on interpreters without tarfile's extraction filters.
                raise ArchiveError(f"{path}: refusing link entry {member.name!r} -> {member.linkname!r}")
            if not (member.isfile() or member.isdir()):
                raise ArchiveError(f"{path}: refusing special file {member.name!r}")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(destination, members=members, filter="data")
        else:  # pragma: no cover - Python < 3.10.12 / 3.11.4: safe all the same, no link got this far
            tf.extractall(destination, members=members)


# --- internals -----------------------------------------------------------------------------------


def _check_member_name(name: str, archive: Path, what: str = "entry") -> None:
    """Reject absolute names, drive letters and any path that climbs out with ``..``."""
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or (len(normalized) > 1 and normalized[1] == ":"):
        raise ArchiveError(f"{archive}: refusing absolute {what} {name!r}")
    depth = 0
    for part in PurePosixPath(normalized).parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            raise ArchiveError(f"{archive}: refusing {what} {name!r} outside the target folder")


def _expected_total(status: int, headers: Message, have: int) -> int | None:
    """Full file size from ``Content-Range`` (206) or ``Content-Length`` (200); ``None`` if unknown."""
    if status == 206:
        content_range = headers.get("Content-Range", "")  # "bytes START-END/TOTAL"
        try:
            span, total = content_range.split(" ", 1)[1].split("/")
            start = int(span.split("-")[0])
        except (IndexError, ValueError) as err:
            raise DownloadError(f"malformed Content-Range header {content_range!r}") from err
        if start != have:
            raise DownloadError(f"server resumed at byte {start}, expected {have}")
        return int(total) if total != "*" else None
    length = headers.get("Content-Length")
    return int(length) if length is not None else None


@contextmanager
def _progress_bar(enabled: bool, url: str, total: int | None, done: int) -> Iterator[_Advance]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task(url.rsplit("/", 1)[-1], total=total, completed=done)
        yield lambda n: bar.advance(task, n)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
