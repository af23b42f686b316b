"""Peak memory of `i2i translate --tile` against photo size: streamed (pyvips) and in memory.

    PYTHONPATH=. python tools/tile_memory.py MODEL --megapixels 12 24 48 100 --tile 512

For each size a synthetic 4:3 JPEG is written (by libvips, in strips), then translated by a fresh
process, once with the streamed path (the default when pyvips is installed) and once with it switched
off (``--baseline``, the in-memory tiled path). Each child reports its own peak resident set size
(``getrusage``), so the measurements do not mix. Run it under ``flock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _photo(path: Path, megapixels: float) -> None:
    """A 4:3 RGB JPEG of about ``megapixels`` with gradients and noise, written in strips by libvips."""
    import pyvips

    width = int(math.sqrt(megapixels * 1e6 * 4 / 3)) // 4 * 4
    height = int(width * 3 / 4) // 4 * 4
    xy = pyvips.Image.xyz(width, height)
    x, y = xy[0], xy[1]
    noise = pyvips.Image.gaussnoise(width, height, sigma=20)
    red = x * (255 / width) + noise
    green = y * (255 / height) + noise
    blue = (x + y) * (255 / (width + height)) - noise
    red.bandjoin([green, blue]).cast("uchar").copy(interpretation="srgb").jpegsave(str(path), Q=90)


def _child(args: argparse.Namespace) -> None:
    """Translate one folder in this process and print the peak RSS (MiB) and seconds as JSON."""
    import i2i.infer.pipeline as pipeline
    from i2i.infer import Translator, translate_folder

    if args.baseline:
        pipeline.strips_available = lambda: False  # the in-memory tiled path
    translator = Translator(
        args.model, device="cpu", tile=args.tile, overlap=args.overlap, tile_statistics=args.statistics
    )
    start = time.perf_counter()
    summary = translate_folder(translator, args.child[0], args.child[1], workers=1)
    assert summary.ok and summary.done == 1, summary.lines()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"peak_mib": round(peak), "seconds": round(time.perf_counter() - start, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", type=Path)
    parser.add_argument("--megapixels", type=float, nargs="+", default=[12, 24, 48, 100])
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--statistics", choices=["whole", "tile"], default="tile")
    parser.add_argument("--baseline", action="store_true", help="(child) switch streaming off")
    parser.add_argument("--skip-baseline-above", type=float, default=48, help="no in-memory run above this")
    parser.add_argument("--child", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    print(
        f"model {args.model.name}, --tile {args.tile} --overlap {args.overlap}, statistics {args.statistics}"
    )
    print("| megapixels | streamed peak RSS | in-memory peak RSS | streamed seconds |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as scratch:
        for megapixels in args.megapixels:
            source = Path(scratch) / f"in{megapixels:g}"
            source.mkdir()
            _photo(source / "photo.jpg", megapixels)
            results = {}
            for baseline in (False, True):
                if baseline and megapixels > args.skip_baseline_above:
                    continue
                out = Path(scratch) / f"out{megapixels:g}{'b' if baseline else 's'}"
                command = [sys.executable, __file__, str(args.model), "--tile", str(args.tile)]
                command += ["--overlap", str(args.overlap), "--statistics", args.statistics]
                command += ["--child", str(source), str(out), *(["--baseline"] if baseline else [])]
                done = subprocess.run(command, capture_output=True, text=True, check=True)
                results[baseline] = json.loads(done.stdout.strip().splitlines()[-1])
            memory = f"{results[True]['peak_mib']} MiB" if True in results else "-"
            print(
                f"| {megapixels:g} | {results[False]['peak_mib']} MiB | {memory} | {results[False]['seconds']} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
