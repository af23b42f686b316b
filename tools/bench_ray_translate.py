"""Benchmark ``i2i translate --engine ray`` against the local engine on the same folder, in one run.

Both engines translate the same ``--count`` photos with the same ONNX model and batch size into fresh
folders; rounds alternate which engine goes first (the machine is shared) and the median round of each
is reported with the ratio ray / local. Times are end to end as a user sees them: the local engine's
includes loading the model, the ray engine's includes planning, starting the actor pool and loading
the model in it (Ray itself is started once before, as an existing cluster would be). The outputs of
the two engines are compared byte for byte after the first round. Ray costs about 1.7 s once per job
here, so the ratio grows with ``--count`` (2 cores, 256 px: 0.84 at 400 photos, 0.90 at 1,067).

Example::

    python tools/bench_ray_translate.py --model demo.onnx --photos data/horse2zebra/trainA --count 400
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from i2i.data.io import list_images
from i2i.infer import Translator, translate_folder
from i2i.infer.manifest import MANIFEST_NAME
from i2i.infer.ray_engine import translate_with_ray


def _same_files(a: Path, b: Path) -> bool:
    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and p.name != MANIFEST_NAME
        }

    return files(a) == files(b)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, required=True, help=".onnx model")
    parser.add_argument("--photos", type=Path, default=Path("/work/shared/datasets/horse2zebra/testA"))
    parser.add_argument("--count", type=int, default=400, help="photos to translate per run")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--actors", type=int, default=1, help="ray engine: inference actors")
    parser.add_argument(
        "--threads-per-actor", type=int, default=None, help="ray engine: ONNX Runtime threads"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=os.cpu_count(), help="CPUs Ray may use")
    args = parser.parse_args()

    import ray

    work = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    photos = work / "photos"
    photos.mkdir()
    for path in list_images(args.photos)[: args.count]:
        shutil.copy(path, photos / path.name)
    count = len(list_images(photos))
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False)

    def local(out: Path) -> float:
        start = time.perf_counter()
        summary = translate_folder(Translator(args.model, batch_size=args.batch_size), photos, out)
        assert summary.ok and summary.done == count, summary.lines()
        return time.perf_counter() - start

    def on_ray(out: Path) -> float:
        start = time.perf_counter()
        summary = translate_with_ray(
            [str(photos)],
            str(out),
            args.model,
            options={"batch_size": args.batch_size},
            actors=args.actors,
            threads_per_actor=args.threads_per_actor,
        )
        assert summary.ok and summary.done == count, summary.lines()
        return time.perf_counter() - start

    engines = {"local": local, "ray": on_ray}
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for round_ in range(args.rounds):
        order = list(engines) if round_ % 2 == 0 else list(reversed(engines))
        for name in order:
            out = work / f"{name}{round_}"
            seconds[name].append(engines[name](out))
            print(f"round {round_ + 1} {name:>5}: {count / seconds[name][-1]:7.2f} images/s", flush=True)
        if round_ == 0:
            print(f"outputs byte-identical: {_same_files(work / 'local0', work / 'ray0')}", flush=True)
        for name in engines:
            shutil.rmtree(work / f"{name}{round_}")
    rate = {name: count / statistics.median(values) for name, values in seconds.items()}
    print(
        f"{count} photos, batch {args.batch_size}, {args.cpus} CPUs, {args.actors} actor(s): "
        f"local {rate['local']:.2f} images/s, ray {rate['ray']:.2f} images/s, "
        f"ray / local = {rate['ray'] / rate['local']:.2f} (median of {args.rounds} rounds)"
    )
    ray.shutdown()
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
