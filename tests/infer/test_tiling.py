"""Padding to the size multiple and tiled inference: exact crops, weights that sum to 1, no seams."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from i2i.card import ModelCard
from i2i.infer import TorchBackend, Translator
from i2i.infer.tiling import TileGrid, blend_window, pad_to_multiple, run_tiled, tile_batches, tile_grid
from i2i.nn import ResnetGenerator


def test_reflect_padding_mirrors_the_border_and_crops_back() -> None:
    image = np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6)
    padded = pad_to_multiple(image, 4)
    assert padded.shape == (2, 8, 8)
    np.testing.assert_array_equal(padded[:, :5, :6], image)
    np.testing.assert_array_equal(padded[:, 5:, :6], image[:, [3, 2, 1], :])  # mirror without the edge row
    np.testing.assert_array_equal(padded[:, :5, 6:], image[:, :, [4, 3]])


@pytest.mark.parametrize(("height", "width"), [(1, 1), (2, 3), (1, 9)])
def test_tiny_images_fall_back_to_edge_padding(height: int, width: int) -> None:
    # Reflect needs pad < side: a 1-pixel image cannot be mirrored to 256, so the edge is repeated.
    image = np.random.rand(3, height, width).astype(np.float32)
    padded = pad_to_multiple(image, 256)
    assert padded.shape == (3, 256, 256)
    np.testing.assert_array_equal(padded[:, :height, :width], image)
    np.testing.assert_array_equal(padded[:, -1, -1], image[:, -1, -1])


@pytest.mark.parametrize(
    ("height", "width", "tile", "overlap"),
    [(100, 37, 32, 8), (64, 64, 64, 16), (97, 131, 48, 24), (70, 90, 16, 3)],
)
def test_blend_windows_sum_to_one_everywhere(height: int, width: int, tile: int, overlap: int) -> None:
    ys, padded_h = tile_grid(height, tile, overlap)
    xs, padded_w = tile_grid(width, tile, overlap)
    assert padded_h >= height and padded_w >= width
    total = np.zeros((padded_h, padded_w))
    for y in ys:
        for x in xs:
            window = blend_window(
                tile, overlap, top=y == 0, bottom=y == ys[-1], left=x == 0, right=x == xs[-1]
            )
            total[y : y + tile, x : x + tile] += window
    np.testing.assert_allclose(total, 1.0, atol=1e-6)


def test_tiling_a_pixelwise_network_is_exact_everywhere() -> None:
    # A network without spatial context: any error would come from the blend or the crop.
    weights = np.random.randn(3, 2).astype(np.float32)

    def run(batch: np.ndarray) -> np.ndarray:  # (B, 2, H, W) -> (B, 3, H, W)
        return np.tanh(np.einsum("oc,bchw->bohw", weights, batch))

    image = np.random.rand(2, 45, 70).astype(np.float32) * 2 - 1
    tiled = run_tiled(run, image, tile=16, overlap=4, out_channels=3, size_multiple=4, batch_size=3)
    assert tiled.shape == (3, 45, 70)
    np.testing.assert_allclose(tiled, run(image[None])[0], atol=1e-6)


def test_bad_tile_options_are_refused() -> None:
    image = np.zeros((3, 64, 64), np.float32)
    with pytest.raises(ValueError, match="multiple of the model's size multiple 4"):
        run_tiled(lambda b: b, image, tile=30, overlap=8, out_channels=3, size_multiple=4)
    with pytest.raises(ValueError, match="at most half of --tile 32"):
        run_tiled(lambda b: b, image, tile=32, overlap=30, out_channels=3, size_multiple=4)


def _local_resnet() -> ResnetGenerator:
    """A ResNet whose output depends only on a finite neighbourhood: no normalisation statistics.

    With instance norm (the CycleGAN default) every tile would be normalised with its own mean and
    variance, so tiles could never reproduce whole-image inference exactly; batch norm in eval mode is a
    fixed affine map and would tile exactly too.
    """
    return ResnetGenerator(num_blocks=1, norm="none", base_channels=4, init="kaiming").eval()


def _receptive_radius(generator: ResnetGenerator, size: int = 96) -> int:
    """How far an impulse at the centre changes the output, measured (not assumed)."""
    x = torch.rand(1, 3, size, size) * 2 - 1
    bumped = x.clone()
    bumped[0, :, size // 2, size // 2] += 1.0
    with torch.no_grad():
        changed = (generator(bumped) - generator(x)).abs().sum(1)[0] > 0
    rows = torch.nonzero(changed)[:, 0]
    return int(max(size // 2 - rows.min(), rows.max() - size // 2))


def test_tiled_resnet_equals_whole_image_away_from_seams() -> None:
    generator = _local_resnet()
    radius = _receptive_radius(generator)
    tile, overlap = 144, 72
    assert overlap // 4 >= radius, f"the test needs overlap / 4 >= the receptive radius {radius}"
    info = ModelCard("resnet", method="pix2pix", size_multiple=4)
    backend = TorchBackend(generator, info, device="cpu")
    # 216 = 144 + 72 covers the tiles exactly, so the tiled and whole runs see the same pixels.
    image = np.random.rand(3, 216, 216).astype(np.float32) * 2 - 1
    whole = backend.run(image[None])[0]
    tiled = run_tiled(backend.run, image, tile=tile, overlap=overlap, out_channels=3, size_multiple=4)
    # A tile gives no weight to the quarter of the overlap nearest its inner edges (18 px >= radius), so
    # every pixel it contributes to sees only real image pixels: equal up to float32 summation order
    # (convolutions of different input sizes pick different algorithms: ~1e-5). 1e-4 is 80x below one
    # uint8 level, while a tile edge leaking into the blend shows up as errors of 0.1 and more.
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    assert np.abs(whole).mean() > 0.1  # a network whose output varies, so the comparison means something


def test_translator_tiles_large_images_and_crops_back_exactly() -> None:
    info = ModelCard("resnet", method="pix2pix", size_multiple=4)
    backend = TorchBackend(_local_resnet(), info, device="cpu")
    image = np.random.randint(0, 256, (150, 200, 3), dtype=np.uint8)
    whole = Translator(backend).translate(image)
    tiled_translator = Translator(backend, tile=144, overlap=72, batch_size=2)
    tiled = tiled_translator.translate(image)
    assert tiled.shape == whole.shape == (150, 200, 3)
    # The tiled run pads the image to the tile grid (216 x 216, reflect), the whole run only to 152 x 200,
    # so they may differ within the receptive radius (18) of the bottom and right borders. Elsewhere the
    # floats agree to ~1e-6, which can flip the rounding of a value sitting on a half level: <= 1 level.
    inner = np.abs(tiled[:132, :182].astype(int) - whole[:132, :182].astype(int))
    assert inner.max() <= 1 and inner.mean() < 0.01


def _instance_resnet() -> ResnetGenerator:
    return ResnetGenerator(num_blocks=1, norm="instance", base_channels=4, init="kaiming").eval()


def _norm_inputs(generator: ResnetGenerator, image: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Mean and biased variance of each instance norm's input on the whole image, in forward order."""
    found: list[tuple[torch.Tensor, torch.Tensor]] = []

    def hook(_module: torch.nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0][0].double()  # (C, H, W)
        found.append((x.mean(dim=(1, 2)), x.var(dim=(1, 2), unbiased=False)))

    norms = [m for m in generator.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    handles = [m.register_forward_pre_hook(hook) for m in norms]
    with torch.no_grad():
        generator(torch.from_numpy(image[None]))
    for handle in handles:
        handle.remove()
    return found


def test_tiles_measure_the_whole_images_instance_norm_statistics() -> None:
    generator = _instance_resnet()
    image = np.random.rand(3, 216, 216).astype(np.float32) * 2 - 1
    expected = _norm_inputs(generator, image)
    backend = TorchBackend(generator, ModelCard("resnet", method="cyclegan", size_multiple=4), device="cpu")
    assert backend.norms is not None and len(backend.norms.layers) == len(expected) == 7
    grid = TileGrid.for_image(216, 216, tile=144, overlap=72, size_multiple=4)
    read = grid.array_reader(image)

    def tiles() -> list[tuple[np.ndarray, list[tuple[int, int, int, int]]]]:
        return [(b, [grid.region(y, x) for x in xs]) for y, xs, b in tile_batches(read, grid, 3)]

    with backend.norms.whole_image(tiles):
        measured = [layer.fixed for layer in backend.norms.layers]
    for got, (mean, var) in zip(measured, expected, strict=True):
        assert got is not None
        np.testing.assert_allclose(got[0].numpy(), mean.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got[1].numpy(), var.numpy(), rtol=1e-4, atol=1e-5)
    assert all(layer.fixed is None for layer in backend.norms.layers)  # released after the block


@pytest.mark.parametrize("statistics", ["whole", "tile"])
def test_tiled_instance_norm_generator_matches_whole_image_inference(statistics: str) -> None:
    # Each tile used to be normalised with its own statistics: 20-30 levels off on average. With the whole
    # image's statistics measured tile by tile, tiling changes nothing beyond float rounding (when the
    # overlap covers the receptive radius, as here; 216 = 144 + 72 is covered by the tiles exactly, so both
    # runs pad the same way at the borders).
    generator = _instance_resnet()
    backend = TorchBackend(generator, ModelCard("resnet", method="cyclegan", size_multiple=4), device="cpu")
    rng = np.random.default_rng(0)
    image = cv2.resize(
        rng.integers(0, 256, (27, 25, 3), dtype=np.uint8), (216, 216), interpolation=cv2.INTER_CUBIC
    )
    whole = Translator(backend).translate(image).astype(int)
    tiled = Translator(backend, tile=144, overlap=72, tile_statistics=statistics).translate(image).astype(int)
    difference = np.abs(tiled - whole)
    if statistics == "tile":  # the old behaviour, kept as an option: visibly different
        assert difference.mean() > 2
    else:
        assert difference.max() <= 1 and difference.mean() < 0.01
