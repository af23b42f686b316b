"""How far tiled inference is from whole-image inference, per tile size and statistics mode.

    PYTHONPATH=. python tools/tile_error.py MODEL IMAGE [IMAGE ...] --tiles 64 128 256 --overlap 32

Each image is translated whole and tiled; the table gives the mean and the largest absolute difference
in uint8 levels (0-255) between the two outputs, over all images, for each tile size and for:

* ``tile``: every tile normalised with its own statistics (the behaviour before whole-image statistics);
* ``whole``: the whole image's statistics measured tile by tile, one pass per norm layer (the default;
  PyTorch models and ``.onnx`` files on ONNX Runtime or OpenVINO, ``--backend``);
* ``downscaled``: the statistics of a copy scaled so its longer side is ``--downscale`` pixels, measured in
  one pass (cheaper, approximate; shown for comparison).

Batch-norm generators have no instance norms, so the three modes coincide for them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from i2i.data.io import read_image
from i2i.infer import Translator
from i2i.infer.statistics import Forward
from i2i.infer.tiling import pad_to_multiple, run_tiled_rows


def _downscaled_run(translator: Translator, image: np.ndarray, longest: int) -> np.ndarray:
    prepared = translator.prepare(image)
    grid = translator.tile_grid(prepared.height, prepared.width)
    norms = getattr(translator.backend, "norms", None)
    read = grid.array_reader(prepared.array)

    def blend(forward: Forward) -> np.ndarray:
        bands = run_tiled_rows(forward, read, grid, out_channels=translator.card.out_channels, batch_size=4)
        return translator.finish(prepared, np.concatenate(list(bands), axis=1))

    if norms is None:
        return blend(translator.backend.run)
    scale = longest / max(image.shape[:2])
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    chw = translator.prepare(small).array  # (C, h, w) not yet padded: tiled translators leave that to tiling
    chw = pad_to_multiple(chw, translator.card.size_multiple)
    _, h, w = chw.shape

    def tiles() -> list[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
        return [(chw[None], [(0, h, 0, w)])]

    with norms.whole_image(tiles) as forward:
        return blend(forward)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("images", type=Path, nargs="+")
    parser.add_argument("--tiles", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--downscale", type=int, default=256, help="longer side of the downscaled copy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--backend", default="auto", help="auto, onnxruntime, openvino or pytorch")
    parser.add_argument("--precision", default=None, help="PyTorch / OpenVINO precision (default fp32)")
    args = parser.parse_args()

    images = [read_image(path, 3) for path in args.images]
    precision = args.precision or ("fp32" if args.backend == "openvino" else None)
    whole = Translator(args.model, device=args.device, backend=args.backend, precision=precision)
    references = [whole.translate(image) for image in images]
    print(
        f"model {args.model.name} on {whole.backend.name}, {len(images)} image(s) of {images[0].shape[1]}x{images[0].shape[0]}"
    )
    print("| tile | overlap | statistics | mean diff | max diff | seconds |")
    print("|---:|---:|---|---:|---:|---:|")
    for tile in args.tiles:
        overlap = min(args.overlap, tile // 2)
        for mode in ("tile", "whole", "downscaled"):
            translator = Translator(
                whole.backend,
                tile=tile,
                overlap=overlap,
                tile_statistics="tile" if mode == "tile" else "whole",
            )
            start = time.perf_counter()
            if mode == "downscaled":
                outputs = [_downscaled_run(translator, image, args.downscale) for image in images]
            else:
                outputs = [translator.translate(image) for image in images]
            seconds = time.perf_counter() - start
            diffs = np.concatenate(
                [
                    np.abs(o.astype(int) - r.astype(int)).ravel()
                    for o, r in zip(outputs, references, strict=True)
                ]
            )
            print(f"| {tile} | {overlap} | {mode} | {diffs.mean():.2f} | {diffs.max()} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
