"""``i2i translate --engine ray``: the same files as the local engine, resume after a kill, S3 round trip.

One local Ray (2 CPUs) and one S3-compatible server (moto, on the loopback address) serve the module;
the S3 settings are in the environment before Ray starts, so its workers inherit them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from i2i.data.io import read_image, write_image
from i2i.files import TEMPORARY_GLOB
from i2i.infer import Translator
from i2i.infer.manifest import MANIFEST_NAME, Manifest
from i2i.infer.pipeline import translate_folder
from tests.infer.conftest import BAD, GOOD, random_image, write_photo_folder

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

from i2i.infer.ray_engine import translate_with_ray  # noqa: E402  (after the importorskip)

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (a real HTTP server, not a client mock) and its credentials."""
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    settings = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    before = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    yield settings["AWS_ENDPOINT_URL"]
    for key, value in before.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    server.stop()


@pytest.fixture(scope="module")
def ray_cluster(s3_endpoint: str) -> Iterator[str]:
    """Ray on this machine with 2 CPUs; yields its address (for a second driver to join)."""
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_photo_folder(tmp_path_factory.mktemp("ray") / "photos")


@pytest.fixture(scope="module")
def local_outputs(
    photos: Path, onnx_model: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """What the local engine writes for ``photos`` (batch size 2)."""
    out = tmp_path_factory.mktemp("local") / "out"
    summary = translate_folder(Translator(onnx_model[1], batch_size=2), photos, out)
    assert summary.done == len(GOOD)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    }


def test_ray_engine_writes_the_local_engines_bytes_and_lists_bad_files(
    ray_cluster: str, photos: Path, local_outputs: Path, onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    summary = translate_with_ray([str(photos)], str(out), onnx_model[1], options={"batch_size": 2})

    assert summary.done == len(GOOD) and summary.skipped == 0
    assert {f.path.relative_to(photos).as_posix(): f.reason for f in summary.failed}.keys() == BAD.keys()
    for failure in summary.failed:
        assert BAD[failure.path.relative_to(photos).as_posix()] in failure.reason
    written = _files(out)
    assert sorted(written) == sorted(GOOD)  # no temporary files left, nothing for the bad ones
    assert written == _files(local_outputs)  # byte for byte
    rows = Manifest(out / MANIFEST_NAME).rows()
    assert sorted(r.path for r in rows if r.status == "done") == sorted(str(photos / n) for n in GOOD)
    assert sorted(r.path for r in rows if r.status == "failed") == sorted(str(photos / n) for n in BAD)

    again = translate_with_ray([str(photos)], str(out), onnx_model[1], options={"batch_size": 2})
    assert (again.done, again.skipped, len(again.failed)) == (0, len(GOOD), len(BAD))  # from the manifest


def test_the_results_page_lists_what_the_local_engines_page_lists(
    ray_cluster: str, photos: Path, onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    """``--html`` on the ray engine: the same page as the local engine's, also when a second run finds
    every file done in the manifest."""
    from typer.testing import CliRunner

    from i2i.cli import app

    pages = {}
    for engine in ("local", "ray", "ray"):  # the second ray run translates nothing
        out = tmp_path / engine / "out"
        args = [str(photos), "--model", str(onnx_model[1]), "--out", str(out), "--batch-size", "2"]
        result = CliRunner().invoke(app, ["translate", *args, "--engine", engine, "--html", "--no-progress"])
        assert result.exit_code == 1, result.output  # the bad files
        assert f"results page: {out / 'index.html'}" in result.output
        pages[engine] = (out / "index.html").read_text(encoding="utf-8")
    assert pages["ray"] == pages["local"]
    assert all(name in pages["ray"] for name in GOOD) and not any(name in pages["ray"] for name in BAD)


def test_output_inside_the_input_is_refused(
    ray_cluster: str, photos: Path, onnx_model: tuple[Path, Path]
) -> None:
    with pytest.raises(ValueError, match="inside it"):
        translate_with_ray([str(photos)], str(photos / "out"), onnx_model[1])


def test_a_job_killed_half_way_resumes_without_translating_a_finished_file_again(
    ray_cluster: str, onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    # 240 inputs make 15 blocks of 16: rows reach the manifest over about 1.5 s, so the kill (at most
    # 10 ms after the first rows) lands half-way; 40 inputs made 3 blocks that could all finish together.
    names = [f"p{i:03d}.png" for i in range(240)]
    for name in names:
        write_image(src / name, random_image(64, 64, 3))
    manifest = out / MANIFEST_NAME
    command = [sys.executable, "-m", "i2i", "translate", str(src), "--model", str(onnx_model[1])]
    command += ["--out", str(out), "--engine", "ray", "--address", ray_cluster, "--batch-size", "1"]
    command += ["--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    job = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(Manifest(manifest).rows()) < 3 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)  # the driver dies; Ray ends its tasks and actors
    job.wait()
    recorded = [row.path for row in Manifest(manifest).rows() if row.status == "done"]
    assert 3 <= len(recorded) < len(names), "the job was not killed half-way"
    first_files = {path: (out / Path(path).name).stat().st_ino for path in recorded}

    summary = translate_with_ray([str(src)], str(out), onnx_model[1], options={"batch_size": 1})

    assert summary.ok and summary.skipped == len(recorded) and summary.done == len(names) - len(recorded)
    done = [row.path for row in Manifest(manifest).rows() if row.status == "done"]
    assert sorted(done) == sorted(str(src / name) for name in names)  # each input recorded once
    for path, inode in first_files.items():  # finished before the kill: not written again
        assert (out / Path(path).name).stat().st_ino == inode
    translator = Translator(onnx_model[1])
    for name in names:  # every output whole and right (no half-written file under a final name)
        assert (read_image(out / name) == translator.translate(read_image(src / name))).all()
    finals = [p.name for p in out.iterdir() if not p.match(TEMPORARY_GLOB)]  # a killed write's temp file
    assert sorted(finals) == sorted([*names, MANIFEST_NAME])


def test_s3_round_trip_on_a_local_s3_server(
    ray_cluster: str, photos: Path, local_outputs: Path, onnx_model: tuple[Path, Path], tmp_path: Path
) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="photos")
    for path in photos.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), "photos", f"in/{path.relative_to(photos).as_posix()}")

    summary = translate_with_ray(
        ["s3://photos/in"],
        "s3://photos/out",
        onnx_model[1],
        options={"batch_size": 2},
        manifest=tmp_path / "manifest.jsonl",
    )

    assert summary.done == len(GOOD) and len(summary.failed) == len(BAD)
    assert all(str(f.path).startswith("s3://photos/in/bad/") for f in summary.failed), summary.failed
    assert sum("failed: s3://photos/in/bad/" in line for line in summary.lines()) == len(BAD)
    listed = s3.list_objects_v2(Bucket="photos", Prefix="out/")["Contents"]
    written = {
        obj["Key"].removeprefix("out/"): s3.get_object(Bucket="photos", Key=obj["Key"])["Body"].read()
        for obj in listed
    }
    assert written == _files(local_outputs)
    with pytest.raises(ValueError, match="needs --manifest"):
        translate_with_ray(["s3://photos/in"], "s3://photos/out2", onnx_model[1])
