"""A self-contained HTML report of a run: ``RUN/report.html`` with images in ``RUN/report/``.

Contents, results first: which checkpoint is the latest and which the best, with the newest evaluation's
numbers; loss curves from ``RUN/metrics.jsonl`` and metric curves from ``RUN/eval.jsonl`` (written by
:func:`i2i.metrics.evaluate.evaluate_run`); a gallery of test translations by the latest checkpoint
(input | output | target where the test set is paired); and, folded at the end, the resolved recipe.

Plots are drawn with OpenCV (already a dependency) rather than matplotlib, which i2i does not need
anywhere else. Every image is referenced by a path relative to the report, so the run directory can
be copied or served as it is.
"""

from __future__ import annotations

import colorsys
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from i2i.data import write_image
from i2i.files import write_text_atomic
from i2i.run_dir import RunDir

_NOT_LOSSES = {"step", "epoch", "time", "it_per_s"}
_TAB10 = [
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
]  # fmt: skip

Image = NDArray[np.uint8]


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``.jsonl`` file; a torn last line (a run killed mid-write) is skipped."""
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def series_colors(count: int) -> list[tuple[int, int, int]]:
    """``count`` distinct RGB colours, one per series of a chart: matplotlib's ten "tab10" colours, or
    for more series ``count`` evenly spaced hues in two alternating shades (a CycleGAN logs eight losses,
    and a palette that wraps around draws two of them alike)."""
    if count <= len(_TAB10):
        return _TAB10[:count]
    colors = []
    for index in range(count):
        r, g, b = colorsys.hsv_to_rgb(index / count, 0.8, 0.9 if index % 2 == 0 else 0.6)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
    return colors


def _format(value: float) -> str:
    return f"{value:.3g}"


def line_plot(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    *,
    title: str,
    x_label: str = "step",
    size: tuple[int, int] = (640, 320),
) -> Image:
    """A simple line chart: ``{name: (xs, ys)}`` -> RGB uint8 ``(H, W, 3)``; non-finite points are dropped."""
    width, height = size
    canvas = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 70, 20, 30, 40
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(canvas, title, (left, 20), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    clean = {
        name: [
            (float(x), float(y)) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)
        ]
        for name, (xs, ys) in series.items()
    }
    points = [p for pts in clean.values() for p in pts]
    if not points:
        cv2.putText(
            canvas, "no data", (width // 2 - 30, height // 2), font, 0.5, (120, 120, 120), 1, cv2.LINE_AA
        )
        return canvas
    x_min, x_max = min(p[0] for p in points), max(p[0] for p in points)
    y_min, y_max = min(p[1] for p in points), max(p[1] for p in points)
    if x_max == x_min:
        x_max = x_min + 1
    if y_max == y_min:
        y_min, y_max = y_min - 0.5, y_max + 0.5
    plot_w, plot_h = width - left - right, height - top - bottom

    def to_pixel(x: float, y: float) -> tuple[int, int]:
        return (
            round(left + (x - x_min) / (x_max - x_min) * plot_w),
            round(top + (1 - (y - y_min) / (y_max - y_min)) * plot_h),
        )

    grey = (200, 200, 200)
    for i in range(5):  # horizontal grid lines with their values
        y = y_min + (y_max - y_min) * i / 4
        _, py = to_pixel(x_min, y)
        cv2.line(canvas, (left, py), (width - right, py), grey, 1)
        cv2.putText(canvas, _format(y), (5, py + 4), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA)
    cv2.rectangle(canvas, (left, top), (width - right, height - bottom), (0, 0, 0), 1)
    for x, anchor in ((x_min, left), (x_max, width - right - 40)):
        cv2.putText(
            canvas, _format(x), (anchor, height - bottom + 16), font, 0.4, (60, 60, 60), 1, cv2.LINE_AA
        )
    cv2.putText(canvas, x_label, (left + plot_w // 2 - 15, height - 8), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    colors = series_colors(len(clean))
    for index, (name, pts) in enumerate(clean.items()):
        color = colors[index]
        pixels = np.array([to_pixel(x, y) for x, y in sorted(pts)], np.int32)
        if len(pixels) == 1:
            cv2.circle(canvas, tuple(int(v) for v in pixels[0]), 3, color, -1, cv2.LINE_AA)
        else:
            cv2.polylines(canvas, [pixels.reshape(-1, 1, 2)], False, color, 2, cv2.LINE_AA)
        legend_y = top + 16 + 16 * index
        cv2.line(canvas, (width - right - 150, legend_y - 4), (width - right - 130, legend_y - 4), color, 2)
        cv2.putText(canvas, name, (width - right - 125, legend_y), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def _strip(images: Sequence[Image], gap: int = 4) -> Image:
    """Images side by side on white, each as RGB, top-aligned."""
    rgb = [np.repeat(im, 3, axis=2) if im.ndim == 3 and im.shape[2] == 1 else im[:, :, :3] for im in images]
    height = max(im.shape[0] for im in rgb)
    width = sum(im.shape[1] for im in rgb) + gap * (len(rgb) - 1)
    canvas = np.full((height, width, 3), 255, np.uint8)
    x = 0
    for im in rgb:
        canvas[: im.shape[0], x : x + im.shape[1]] = im
        x += im.shape[1] + gap
    return canvas


def _gallery(run: RunDir, num_samples: int, device: str) -> tuple[list[str], str]:
    """Translate the first test images with the latest checkpoint; returns (relative paths, caption)."""
    from i2i.infer import Translator
    from i2i.metrics.evaluate import TestData, _test_items

    checkpoint = run.latest_checkpoint()
    if checkpoint is None or num_samples <= 0:
        return [], "no checkpoint yet" if checkpoint is None else ""
    translator = Translator(checkpoint, device=device, batch_size=1)
    data = TestData.resolve(
        translator.card.recipe, direction=translator.card.direction, max_images=num_samples
    )
    paths = []
    for index, (source, target) in enumerate(_test_items(data.dataset())):
        if source is None or index >= num_samples:
            break
        output = translator.translate(source)
        columns = [source, output, target] if data.paired and target is not None else [source, output]
        name = f"sample_{index:02d}.png"
        write_image(run.report_assets / name, _strip(columns))
        paths.append(f"{run.report_assets.name}/{name}")
    caption = "input | output | target" if data.paired else "input | output"
    return paths, f"{caption} — {checkpoint.name}, {data.layout} {data.split} split"


def write_report(run_dir: str | Path, *, num_samples: int = 8, device: str = "cpu") -> Path:
    """Write ``RUN/report.html`` (and its images under ``RUN/report/``); returns the HTML path.

    Args:
        run_dir: A run directory written by ``i2i train``.
        num_samples: Test translations in the gallery (0: none).
        device: Where the gallery's translations run.
    """
    from i2i.metrics.evaluate import HIGHER_IS_BETTER, best_checkpoint, read_eval_records

    run = RunDir(Path(run_dir))
    if not run.root.is_dir():
        raise FileNotFoundError(f"{run.root}: no such run directory")
    out_dir = run.report_assets
    out_dir.mkdir(parents=True, exist_ok=True)
    sections: list[str] = []

    last = run.latest_checkpoint()
    best = best_checkpoint(run.root)
    lines = [f"latest checkpoint: {last.name if last else 'none'}"]
    if best:
        lines.append(
            f"best checkpoint by {best['metric']}: {best['checkpoint']} ({best['metric']} {best['value']:.4g} "
            f"at step {best['step']}); papers usually report the best epoch's number, the latest is what "
            "training ended with"
        )
    evals = read_eval_records(run.root)  # one record per step, also after a resume
    if evals:
        newest = evals[-1]
        scores = ", ".join(
            f"{m} {newest[m]:.4g}" for m in HIGHER_IS_BETTER if isinstance(newest.get(m), (int, float))
        )
        lines.append(f"newest evaluation, step {newest['step']}: {scores}")
    sections.append("<h2>Results</h2>\n<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>")

    records = read_jsonl(run.metrics)
    losses = sorted(
        {k for r in records for k, v in r.items() if k not in _NOT_LOSSES and not k.startswith("lr/")}
    )
    plots: list[tuple[str, str]] = []
    if losses:
        series = {
            k: ([r["step"] for r in records if k in r], [r[k] for r in records if k in r]) for k in losses
        }
        write_image(out_dir / "losses.png", line_plot(series, title="training losses"))
        plots.append((f"{out_dir.name}/losses.png", "losses (mean over each log interval)"))
    for metric in HIGHER_IS_BETTER:
        points = [(r["step"], r[metric]) for r in evals if isinstance(r.get(metric), (int, float))]
        if points:
            xs, ys = zip(*points, strict=True)
            better = "higher" if HIGHER_IS_BETTER[metric] else "lower"
            write_image(
                out_dir / f"eval_{metric}.png", line_plot({metric: (xs, ys)}, title=f"{metric} (test split)")
            )
            plots.append((f"{out_dir.name}/eval_{metric}.png", f"{metric}: {better} is better"))
    sections.append("<h2>Curves</h2>")
    sections += [
        f'<figure><img src="{html.escape(src)}" alt="{html.escape(cap)}"><figcaption>{html.escape(cap)}'
        "</figcaption></figure>"
        for src, cap in plots
    ] or ["<p>No metrics logged yet.</p>"]

    gallery, caption = _gallery(run, num_samples, device)
    sections.append(f"<h2>Test translations</h2>\n<p>{html.escape(caption)}</p>")
    sections += [
        f'<img class="sample" src="{html.escape(src)}" alt="test sample {i}">'
        for i, src in enumerate(gallery)
    ]

    recipe = run.recipe.read_text(encoding="utf-8") if run.recipe.is_file() else f"(no {run.recipe.name})"
    sections.append(
        f"<details><summary>Recipe ({len(recipe.splitlines())} lines)</summary>\n"
        f"<pre>{html.escape(recipe)}</pre></details>"
    )

    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>i2i report: {html.escape(run.root.name)}</title>\n"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "pre{background:#f4f4f4;padding:1em;overflow:auto}img{max-width:100%}"
        "img.sample{display:block;margin:0.5em 0;image-rendering:pixelated;min-width:50%}"
        "figure{margin:1em 0}</style>\n</head>\n<body>\n"
        f"<h1>i2i run {html.escape(run.root.name)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
    write_text_atomic(run.report, page)
    return run.report
