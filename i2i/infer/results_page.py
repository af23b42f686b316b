"""An HTML page of a translated folder: input | output | target, side by side (``i2i translate --html``).

The page links the images where they are (relative links, so the output folder and its inputs can be
moved together or served as they are) and copies nothing. Large folders are paginated:
``OUT/index.html`` holds the first :data:`ROWS_PER_PAGE` rows, ``index_2.html`` the next ones, each
page with links to its neighbours, so no page grows with the folder. Pages are written atomically.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from i2i.data.prepare import image_keys
from i2i.files import write_text_atomic
from i2i.infer.inputs import InputImage

__all__ = ["ROWS_PER_PAGE", "ResultRow", "find_targets", "page_name", "write_results_page"]

ROWS_PER_PAGE = 100
"""Rows of one page: 300 images of 256 px shown lazily load fast and keep the page usable."""


@dataclass(frozen=True)
class ResultRow:
    """One translated image: its input, its output and, where known, the target it should match."""

    name: str
    input: Path
    output: Path
    target: Path | None = None


def find_targets(items: Sequence[InputImage], targets: Path) -> dict[Path, Path]:
    """Each input's target: the image under ``targets`` at the input's relative path, any suffix.

    Returns:
        Input path -> target path, for the inputs that have one.
    """
    by_key = image_keys(targets)
    found = {}
    for item in items:
        target = by_key.get(item.relative.with_suffix("").as_posix())
        if target is not None:
            found[item.path] = target
    return found


def page_name(number: int) -> str:
    """File name of page ``number`` (1-based): ``index.html``, ``index_2.html`` ..."""
    return "index.html" if number == 1 else f"index_{number}.html"


def write_results_page(
    out_dir: Path,
    rows: Sequence[ResultRow],
    *,
    title: str = "i2i translate",
    rows_per_page: int = ROWS_PER_PAGE,
    notes: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write ``out_dir/index.html`` (and further pages) showing ``rows``; returns the pages written.

    Args:
        out_dir: Where the pages go (the output folder); links are relative to it.
        rows: The images, in the order shown.
        title: Page title.
        rows_per_page: Rows per page (at least 1).
        notes: ``label -> value`` lines shown above the table (model, options).
    """
    if rows_per_page < 1:
        raise ValueError(f"rows_per_page must be at least 1, got {rows_per_page}")
    out_dir = Path(out_dir)
    pages = max(1, math.ceil(len(rows) / rows_per_page))
    with_targets = any(row.target is not None for row in rows)
    written = []
    for number in range(1, pages + 1):
        chunk = rows[(number - 1) * rows_per_page : number * rows_per_page]
        path = out_dir / page_name(number)
        write_text_atomic(path, _page(out_dir, chunk, number, pages, title, with_targets, notes or {}))
        written.append(path)
    return written


def _link(out_dir: Path, path: Path) -> str:
    return quote(Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix())


def _cell(out_dir: Path, path: Path | None) -> str:
    if path is None:
        return "<td></td>"
    href = html.escape(_link(out_dir, path), quote=True)
    return f'<td><a href="{href}"><img src="{href}" loading="lazy" alt=""></a></td>'


def _page(
    out_dir: Path,
    rows: Sequence[ResultRow],
    number: int,
    pages: int,
    title: str,
    with_targets: bool,
    notes: Mapping[str, str],
) -> str:
    columns = ["name", "input", "output", *(["target"] if with_targets else [])]
    nav = [f"page {number} of {pages}"]
    if number > 1:
        nav.insert(0, f'<a href="{page_name(number - 1)}">previous</a>')
    if number < pages:
        nav.append(f'<a href="{page_name(number + 1)}">next</a>')
    body = []
    for row in rows:
        cells = [f"<td>{html.escape(row.name)}</td>", _cell(out_dir, row.input), _cell(out_dir, row.output)]
        if with_targets:
            cells.append(_cell(out_dir, row.target))
        body.append("<tr>" + "".join(cells) + "</tr>")
    note_lines = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in notes.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px; vertical-align: top; text-align: left; }}
img {{ max-width: 256px; max-height: 256px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<ul>{note_lines}</ul>
<p>{" | ".join(nav)}</p>
<table>
<tr>{"".join(f"<th>{c}</th>" for c in columns)}</tr>
{chr(10).join(body)}
</table>
<p>{" | ".join(nav)}</p>
</body></html>
"""
