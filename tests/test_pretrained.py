"""Pretrained models by name: catalogue, download + conversion against a loopback server, resume,
rejection of wrong files, the offline message, the CLI and ``translate --model NAME``.

The served files are the reference fixtures (generators built and run by the reference code), so a
converted download must reproduce the reference's own output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from i2i.cli import app
from i2i.data.download import DownloadError
from i2i.data.io import read_image, write_image
from i2i.files import CACHE_ENV
from i2i.pretrained import PRETRAINED, download_pretrained, find_pretrained, pretrained_url
from i2i.weights import load_generator

# the `server` fixture of tests/conftest.py (conftest modules are not importable by name)
LoopbackServer = Any

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
MANIFEST: dict[str, dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())


def _fixture(arch: str) -> bytes:
    return (FIXTURES / MANIFEST[arch]["file"]).read_bytes()


def test_catalogue_names_urls_and_architectures() -> None:
    cyclegan = {n for (m, n) in PRETRAINED if m == "cyclegan"}
    pix2pix = {n for (m, n) in PRETRAINED if m == "pix2pix"}
    assert len(cyclegan) == 18 and len(pix2pix) == 5  # the names in the reference's two scripts
    assert {"horse2zebra", "zebra2horse", "style_monet", "iphone2dslr_flower"} <= cyclegan
    assert pix2pix == {"edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"}
    horse = find_pretrained("horse2zebra")
    assert (horse.arch, horse.norm, horse.direction) == ("resnet_9blocks", "instance", "a2b")
    assert find_pretrained("zebra2horse").direction == "b2a"
    assert find_pretrained("style_monet").dataset == "monet2photo"
    assert (
        pretrained_url(horse)
        == "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/horse2zebra.pth"
    )
    shared = find_pretrained("sat2map")  # in both collections: pix2pix's unless asked
    assert (shared.method, shared.arch, shared.norm) == ("pix2pix", "unet_256", "batch")
    assert pretrained_url(shared, "http://m/") == "http://m/pix2pix/models-pytorch/sat2map.pth"
    assert find_pretrained("sat2map", "cyclegan").arch == "resnet_9blocks"
    with pytest.raises(KeyError, match="did you mean 'horse2zebra'"):
        find_pretrained("horse2zebr")


@pytest.mark.parametrize(
    ("name", "arch", "remote"),
    [
        ("horse2zebra", "resnet_9blocks", "/cyclegan/pretrained_models/horse2zebra.pth"),
        ("facades_label2photo", "unet_256", "/pix2pix/models-pytorch/facades_label2photo.pth"),
    ],
)
def test_download_converts_to_weights_that_reproduce_the_reference(
    server: LoopbackServer, tmp_path: Path, name: str, arch: str, remote: str
) -> None:
    server.files[remote] = _fixture(arch)
    result = download_pretrained(name, tmp_path, base_url=server.url)
    assert not result.already_present and result.path == tmp_path / f"{name}.safetensors"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.safetensors"]  # the .pth is gone
    generator, card = load_generator(result.path)
    model = find_pretrained(name)
    assert (card.arch, card.kwargs["norm"], card.method, card.direction) == (
        arch,
        model.norm,
        model.method,
        model.direction,
    )
    assert card.extra["source"] == server.url + remote and card.extra["pretrained"] == name
    io = load_file(FIXTURES / MANIFEST[arch]["io"])
    with torch.no_grad():
        assert (generator(io["input"]) - io["output"]).abs().max().item() < 1e-5
    again = download_pretrained(name, tmp_path, base_url=server.url)
    assert again.already_present and len(server.sent) == 1  # nothing fetched the second time


def test_an_interrupted_download_resumes(server: LoopbackServer, tmp_path: Path) -> None:
    payload = _fixture("resnet_9blocks")
    server.files["/cyclegan/pretrained_models/horse2zebra.pth"] = payload
    server.cut_after = 100_000
    with pytest.raises(DownloadError, match="resume"):
        download_pretrained("horse2zebra", tmp_path, base_url=server.url)
    assert (tmp_path / "horse2zebra.pth.part").stat().st_size == 100_000
    result = download_pretrained("horse2zebra", tmp_path, base_url=server.url)
    assert server.ranges[-1] == "bytes=100000-" and server.sent == [100_000, len(payload) - 100_000]
    assert result.path.is_file()


def test_a_file_of_another_architecture_is_rejected_and_not_kept(
    server: LoopbackServer, tmp_path: Path
) -> None:
    server.files["/cyclegan/pretrained_models/horse2zebra.pth"] = _fixture("unet_256")
    with pytest.raises(DownloadError, match="not the expected generator"):
        download_pretrained("horse2zebra", tmp_path, base_url=server.url)
    assert list(tmp_path.iterdir()) == []


def test_offline_gives_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["pretrained", "download", "horse2zebra", "--out", str(tmp_path), "--mirror", "http://127.0.0.1:9"],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and "offline" in lines[0], result.output


def test_cli_list_download_and_translate_by_name(
    server: LoopbackServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    runner = CliRunner()
    listing = runner.invoke(app, ["pretrained", "list"])
    assert listing.exit_code == 0 and "horse2zebra" in listing.output and "style_monet" in listing.output
    photos = tmp_path / "photos"
    write_image(photos / "a.png", np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    not_yet = runner.invoke(app, ["translate", str(photos), "--model", "horse2zebra", "--out", "x"])
    assert not_yet.exit_code == 2 and "i2i pretrained download horse2zebra" in not_yet.output
    server.files["/cyclegan/pretrained_models/horse2zebra.pth"] = _fixture("resnet_9blocks")
    download = runner.invoke(
        app, ["pretrained", "download", "horse2zebra", "--mirror", server.url, "--no-progress"]
    )
    assert download.exit_code == 0, download.output
    assert (tmp_path / "cache" / "pretrained" / "horse2zebra.safetensors").is_file()
    out = tmp_path / "out"
    translated = runner.invoke(
        app, ["translate", str(photos), "--model", "horse2zebra", "--out", str(out), "--no-progress"]
    )
    assert translated.exit_code == 0, translated.output
    assert read_image(out / "a.png").shape == (64, 64, 3)
