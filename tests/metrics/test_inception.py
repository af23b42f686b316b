"""The FID Inception network (random weights here: the real file cannot be downloaded in tests)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.models.inception import Inception3, InceptionA, InceptionE

from i2i.metrics import inception
from i2i.metrics.fid import extract_features
from i2i.metrics.inception import (
    FID_WEIGHTS_FILE,
    FID_WEIGHTS_URL,
    FIDInceptionA,
    FIDInceptionE,
    FIDInceptionV3,
    InceptionWeightsError,
    load_fid_inception,
    preprocess,
    resolve_inception_weights,
)


@pytest.fixture(scope="module")
def random_net() -> FIDInceptionV3:
    return load_fid_inception("random")


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("I2I_CACHE", str(cache))
    monkeypatch.delenv("I2I_INCEPTION_WEIGHTS", raising=False)
    return cache


def test_layers_match_pytorch_fid_weights_file_layout() -> None:
    # pytorch-fid builds torchvision's Inception3(num_classes=1008, aux_logits=False) and loads the
    # file into it; every tensor but the 1008-class head must have the same name and shape here.
    reference = Inception3(num_classes=1008, aux_logits=False, init_weights=False).state_dict()
    expected = {k: v.shape for k, v in reference.items() if not k.startswith("fc.")}
    ours = {k: v.shape for k, v in FIDInceptionV3().state_dict().items()}
    assert ours == expected
    # 23,834,568 parameters in torchvision's Inception v3 without aux head, less fc (2048*1000 + 1000)
    assert sum(p.numel() for p in FIDInceptionV3().parameters()) == 21_785_568


@pytest.mark.slow  # two 299x299 forward passes: ~1 s idle, 5+ s on a busy 2-core machine
def test_features_are_2048_per_image(random_net: FIDInceptionV3) -> None:
    with torch.no_grad():
        out = random_net(torch.rand(2, 3, 299, 299))
    assert out.shape == (2, 2048)
    assert torch.isfinite(out).all() and (out >= 0).all()  # post-ReLU average pool
    assert out.std() > 0


def test_rejects_non_rgb_input(random_net: FIDInceptionV3) -> None:
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        random_net(torch.rand(1, 1, 299, 299))


def test_random_weights_are_deterministic(random_net: FIDInceptionV3) -> None:
    fresh = load_fid_inception("random")
    assert all(torch.equal(p, q) for p, q in zip(fresh.parameters(), random_net.parameters(), strict=True))
    assert not any(p.requires_grad for p in fresh.parameters()) and not fresh.training


def test_preprocess_is_bilinear_align_corners_false_then_minus_one_to_one() -> None:
    image = torch.tensor([[[[0.0, 1.0], [0.0, 1.0]]]])  # a 2x2 left-dark right-bright ramp
    out = preprocess(image)
    assert out.shape == (1, 1, 299, 299)
    # align_corners=False: output column j samples x = (j + 0.5) * 2 / 299 - 0.5, clamped to [0, 1]
    j = np.arange(299)
    expected = np.clip((j + 0.5) * 2 / 299 - 0.5, 0, 1) * 2 - 1
    np.testing.assert_allclose(out[0, 0, 0].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out[0, 0, 150].numpy(), expected, atol=1e-6)


def test_preprocess_leaves_299_images_unresized() -> None:
    image = torch.rand(1, 3, 299, 299)
    torch.testing.assert_close(preprocess(image), image * 2 - 1)


def test_inception_a_pools_without_counting_padding() -> None:
    torch.manual_seed(1)
    ours, theirs = FIDInceptionA(8, pool_features=4).eval(), InceptionA(8, pool_features=4).eval()
    theirs.load_state_dict(ours.state_dict())
    x = torch.rand(1, 8, 6, 6)
    with torch.no_grad():
        pool_branch = ours(x)[:, -4:]
        expected = ours.branch_pool(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))
        reference = theirs(x)[:, -4:]
    torch.testing.assert_close(pool_branch, expected)
    # torchvision counts the zero padding: same inside, different on the border
    torch.testing.assert_close(pool_branch[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1])
    assert not torch.allclose(pool_branch[..., 0, 0], reference[..., 0, 0])


@pytest.mark.parametrize(
    ("pool", "reference_pool"),
    [
        ("avg", lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)),
        ("max", lambda x: F.max_pool2d(x, 3, 1, 1)),
    ],
)
def test_inception_e_pool_branch(pool: str, reference_pool: Callable[[torch.Tensor], torch.Tensor]) -> None:
    block = FIDInceptionE(8, pool=pool).eval()
    x = torch.rand(1, 8, 5, 5)
    with torch.no_grad():
        out = block(x)
        expected = block.branch_pool(reference_pool(x))
    assert out.shape == (1, 320 + 768 + 768 + 192, 5, 5)
    torch.testing.assert_close(out[:, -192:], expected)
    # the other branches are torchvision's
    plain = InceptionE(8).eval()
    plain.load_state_dict(block.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(out[:, :-192], plain(x)[:, :-192])


def test_inception_e_rejects_unknown_pool() -> None:
    with pytest.raises(ValueError, match="'avg' or 'max'"):
        FIDInceptionE(8, pool="mean")


@pytest.mark.slow  # five 299x299 forward passes
def test_extract_features_handles_gray_rgba_and_mixed_sizes(random_net: FIDInceptionV3) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, np.zeros((40, 40), np.uint8)])
    gray = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    feats = extract_features(random_net, [rgb, rgba, gray, np.dstack([gray] * 3)], batch_size=3)
    assert feats.shape == (4, 2048) and feats.dtype == np.float64
    np.testing.assert_allclose(feats[1], feats[0], rtol=1e-5)  # alpha dropped
    np.testing.assert_allclose(feats[3], feats[2], rtol=1e-5)  # gray repeated to RGB
    with torch.no_grad():  # uint8 / 255, then the network (which resizes)
        direct = random_net(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255)
    np.testing.assert_allclose(feats[0], direct[0].double().numpy(), rtol=1e-5)


def test_extract_features_rejects_float_images(random_net: FIDInceptionV3) -> None:
    with pytest.raises(ValueError, match="uint8"):
        extract_features(random_net, [np.zeros((8, 8, 3), np.float32)])


def test_missing_weights_message_says_what_to_do(empty_cache: Path) -> None:
    with pytest.raises(InceptionWeightsError) as info:
        resolve_inception_weights(download=False)
    message = str(info.value)
    for needle in (
        FID_WEIGHTS_URL,
        str(empty_cache / FID_WEIGHTS_FILE),
        "--inception-weights",
        "I2I_INCEPTION_WEIGHTS",
    ):
        assert needle in message


def test_failed_download_explains_the_manual_route(empty_cache: Path, tmp_path: Path) -> None:
    with pytest.raises(InceptionWeightsError, match="downloading it failed") as info:
        resolve_inception_weights(download=True, url=(tmp_path / "nowhere.pth").as_uri())
    assert "--inception-weights" in str(info.value)
    assert not (empty_cache / FID_WEIGHTS_FILE).exists()


def test_given_path_that_is_missing(empty_cache: Path, tmp_path: Path) -> None:
    with pytest.raises(InceptionWeightsError, match="is not a file"):
        resolve_inception_weights(tmp_path / "missing.pth")


@pytest.mark.parametrize("where", ["cache", "argument", "environment"])
def test_checksum_mismatch_is_rejected(
    where: str, empty_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = empty_cache / FID_WEIGHTS_FILE if where == "cache" else tmp_path / FID_WEIGHTS_FILE
    fake.parent.mkdir(parents=True, exist_ok=True)
    fake.write_bytes(b"not the inception weights")
    if where == "environment":
        monkeypatch.setenv("I2I_INCEPTION_WEIGHTS", str(fake))
    with pytest.raises(InceptionWeightsError, match="does not start with 6726825d"):
        resolve_inception_weights(fake if where == "argument" else None, download=False)


def test_download_lands_in_cache_only_when_checksum_matches(empty_cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "served.pth"
    source.write_bytes(b"some bytes")
    prefix = hashlib.sha256(b"some bytes").hexdigest()[:8]
    with pytest.raises(InceptionWeightsError, match="does not start with"):
        resolve_inception_weights(url=source.as_uri())  # expects 6726825d
    assert not (empty_cache / FID_WEIGHTS_FILE).exists()
    path = resolve_inception_weights(url=source.as_uri(), expected_sha256_prefix=prefix)
    assert path == empty_cache / FID_WEIGHTS_FILE and path.read_bytes() == b"some bytes"
    assert list(empty_cache.iterdir()) == [path]  # no temporary file left behind


def test_loads_a_checksummed_state_dict_with_the_head(tmp_path: Path, random_net: FIDInceptionV3) -> None:
    state = {**random_net.state_dict(), "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    prefix = inception.sha256_of(path)[:8]
    net = load_fid_inception(path, expected_sha256_prefix=prefix)
    assert all(torch.equal(p, q) for p, q in zip(net.parameters(), random_net.parameters(), strict=True))


def test_wrong_state_dict_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "weights.pth"
    torch.save({"conv.weight": torch.zeros(1)}, path)
    with pytest.raises(InceptionWeightsError, match="not the FID Inception state dict"):
        load_fid_inception(path, expected_sha256_prefix=inception.sha256_of(path)[:8])


def test_weights_are_at_hand_when_given_set_or_cached(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not inception.inception_weights_at_hand()
    assert inception.inception_weights_at_hand("random") and inception.inception_weights_at_hand("w.pth")
    empty_cache.mkdir()
    (empty_cache / FID_WEIGHTS_FILE).write_bytes(b"")
    assert inception.inception_weights_at_hand()
    (empty_cache / FID_WEIGHTS_FILE).unlink()
    monkeypatch.setenv("I2I_INCEPTION_WEIGHTS", "w.pth")
    assert inception.inception_weights_at_hand()
