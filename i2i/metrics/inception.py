"""The Inception v3 network that published FID / KID numbers use, and how to get its weights.

FID is defined on the pool3 features (2048-d) of the *TensorFlow* Inception v3 graph of 2015-12-05
that the original FID code (bioinf-jku/TTUR) loads. pytorch-fid ported that graph and its weights to
PyTorch; torch-fidelity and clean-fid use the same weights. The port differs from torchvision's
Inception v3 in three places, all reproduced here:

- the 3x3 average pools inside the A, C and first E blocks ignore the zero padding
  (TensorFlow's ``count_include_pad=False``);
- the second E block (``Mixed_7c``) pools with a 3x3 *max* pool where torchvision averages;
- the weights are TensorFlow's (the 1008-class head is dropped here, only pool3 features are used).

Input handling is pytorch-fid's: images in ``[0, 1]`` are resized to 299x299 with
``F.interpolate(mode="bilinear", align_corners=False)`` (no antialiasing), then scaled to ``[-1, 1]``.
torch-fidelity instead feeds uint8 images through its own re-implementation of TensorFlow 1.x's
bilinear resize (``align_corners=False`` but no half-pixel centres), and clean-fid uses PIL's bicubic
resize; on the same images the three disagree by up to several FID points when the images are not
already 299x299 (Parmar et al., "On Aliased Resizing and Surprising Subtleties in GAN Evaluation",
CVPR 2022). **i2i uses pytorch-fid's resize**, so its numbers are comparable to pytorch-fid's.

The weights file (``pt_inception-2015-12-05-6726825d.pth``, about 92 MB) is the one pytorch-fid
downloads. Its name carries the first 8 hex digits of its SHA-256, the ``torch.hub`` convention;
:func:`resolve_inception_weights` checks them before the file is used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.inception import (
    BasicConv2d,
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)

from i2i.files import CACHE_ENV, atomic_path, cache_dir

FID_WEIGHTS_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_SHA256_PREFIX = "6726825d"
WEIGHTS_ENV = "I2I_INCEPTION_WEIGHTS"
RANDOM_WEIGHTS = "random"
"""Pass as ``weights`` to get an Inception with random weights: for tests only, its "FID" means nothing."""

FEATURE_DIM = 2048
INPUT_SIZE = 299


class InceptionWeightsError(RuntimeError):
    """The FID Inception weights are missing or wrong; the message says what to do."""


def _avg_pool_no_pad(x: Tensor) -> Tensor:
    # TensorFlow's average pool divides by the number of real (unpadded) pixels in the window.
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


def _max_pool(x: Tensor) -> Tensor:
    return F.max_pool2d(x, kernel_size=3, stride=1, padding=1)


class FIDInceptionA(InceptionA):
    """torchvision's InceptionA with TensorFlow's padding-excluding average pool."""

    def _forward(self, x: Tensor) -> list[Tensor]:
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = self.branch_pool(_avg_pool_no_pad(x))
        return [self.branch1x1(x), branch5x5, branch3x3dbl, branch_pool]


class FIDInceptionC(InceptionC):
    """torchvision's InceptionC with TensorFlow's padding-excluding average pool."""

    def _forward(self, x: Tensor) -> list[Tensor]:
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_3(self.branch7x7dbl_2(branch7x7dbl))
        branch7x7dbl = self.branch7x7dbl_5(self.branch7x7dbl_4(branch7x7dbl))
        branch_pool = self.branch_pool(_avg_pool_no_pad(x))
        return [self.branch1x1(x), branch7x7, branch7x7dbl, branch_pool]


class FIDInceptionE(InceptionE):
    """torchvision's InceptionE with the pool of the TensorFlow graph.

    Args:
        in_channels: Input channels (1280 for ``Mixed_7b``, 2048 for ``Mixed_7c``).
        pool: ``"avg"`` (padding-excluding average, ``Mixed_7b``) or ``"max"`` (``Mixed_7c``: the
            TensorFlow graph max-pools here, probably by mistake, and FID inherits it).
    """

    def __init__(self, in_channels: int, *, pool: str) -> None:
        super().__init__(in_channels)
        pools: dict[str, Callable[[Tensor], Tensor]] = {"avg": _avg_pool_no_pad, "max": _max_pool}
        if pool not in pools:
            raise ValueError(f"FIDInceptionE: pool must be 'avg' or 'max', got {pool!r}")
        self._pool = pools[pool]

    def _forward(self, x: Tensor) -> list[Tensor]:
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = self.branch_pool(self._pool(x))
        return [self.branch1x1(x), branch3x3, branch3x3dbl, branch_pool]


class FIDInceptionV3(nn.Module):
    """The FID Inception v3 up to its 2048-d pool3 features (the layer FID and KID use).

    Layer names match pytorch-fid's ``fid_inception_v3()`` (and torchvision's ``Inception3``), so its
    weights file loads as is, less the classifier head.

    Shape:
        - Input: ``(B, 3, H, W)`` float in ``[0, 1]``, any ``H, W`` (resized to 299x299).
        - Output: ``(B, 2048)`` features (non-negative: they follow a ReLU and an average pool).

    Example:
        >>> net = FIDInceptionV3().eval()
        >>> net(torch.rand(1, 3, 64, 64)).shape
        torch.Size([1, 2048])
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"FIDInceptionV3: expected (B, 3, H, W) images, got {tuple(images.shape)}")
        x = preprocess(images)  # (B, 3, 299, 299) in [-1, 1]
        for layer in self.children():
            x = layer(x)
        return torch.flatten(x, 1)  # (B, 2048)


def preprocess(images: Tensor) -> Tensor:
    """pytorch-fid's input handling: bilinear resize to 299x299, then ``[0, 1] -> [-1, 1]``.

    ``align_corners=False`` and no antialiasing, as ``F.interpolate`` in pytorch-fid; a 299x299 input
    passes through unchanged.

    Shape:
        - Input: ``(B, C, H, W)`` float in ``[0, 1]``.
        - Output: ``(B, C, 299, 299)`` in ``[-1, 1]``.
    """
    x = F.interpolate(images.float(), size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
    return 2 * x - 1


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _missing_message(reason: str) -> str:
    return (
        f"FID/KID need the FID Inception weights, and {reason}. Download {FID_WEIGHTS_URL} "
        f"on a machine with internet access and either put it at {cache_dir() / FID_WEIGHTS_FILE} "
        f"(the cache: ${CACHE_ENV} or ~/.cache/i2i), or pass its path with --inception-weights PATH "
        f"(or set {WEIGHTS_ENV}=PATH). Keep the file name {FID_WEIGHTS_FILE}: its sha256 must start "
        f"with {FID_WEIGHTS_SHA256_PREFIX}."
    )


def _check_sha256(path: Path, expected_prefix: str) -> None:
    actual = sha256_of(path)
    if not actual.startswith(expected_prefix):
        raise InceptionWeightsError(
            f"{path}: sha256 {actual[:16]}... does not start with {expected_prefix}: this is not (or not a "
            f"complete copy of) {FID_WEIGHTS_FILE}. " + _missing_message("this file cannot be used")
        )


def _download(url: str, destination: Path, expected_prefix: str) -> None:
    with atomic_path(destination) as tmp:
        with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as f:
            shutil.copyfileobj(response, f)
        _check_sha256(tmp, expected_prefix)  # a bad download never reaches the cache name


def inception_weights_at_hand(weights: str | Path | object | None = None) -> bool:
    """Whether FID/KID can run without a download: weights given (a file, a network or
    ``"random"``), ``$I2I_INCEPTION_WEIGHTS`` set, or the file in the cache.

    A given file is not checked here; :func:`resolve_inception_weights` checks it when it is loaded.
    """
    return (
        weights is not None or bool(os.environ.get(WEIGHTS_ENV)) or (cache_dir() / FID_WEIGHTS_FILE).is_file()
    )


def resolve_inception_weights(
    weights: str | Path | None = None,
    *,
    download: bool = True,
    url: str = FID_WEIGHTS_URL,
    expected_sha256_prefix: str = FID_WEIGHTS_SHA256_PREFIX,
) -> Path:
    """Find (or fetch) the FID Inception weights file, checked against its SHA-256 prefix.

    Order: ``weights`` (``--inception-weights``), then ``$I2I_INCEPTION_WEIGHTS``, then the cache
    (:func:`cache_dir`), then a download into the cache when ``download`` is true.

    Args:
        weights: An explicit weights file, or ``None``.
        download: Try to download the file into the cache when it is not there.
        url: Where to download from.
        expected_sha256_prefix: Hex prefix the file's SHA-256 must start with.

    Returns:
        The path of a weights file whose checksum matched.

    Raises:
        InceptionWeightsError: No usable file; the message names the file, the URL, where to put it
            and the flag to pass.
    """
    explicit = weights if weights is not None else os.environ.get(WEIGHTS_ENV) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InceptionWeightsError(_missing_message(f"{path} (given) is not a file"))
        _check_sha256(path, expected_sha256_prefix)
        return path
    cached = cache_dir() / FID_WEIGHTS_FILE
    if cached.is_file():
        _check_sha256(cached, expected_sha256_prefix)
        return cached
    if not download:
        raise InceptionWeightsError(_missing_message(f"{cached} does not exist"))
    try:
        _download(url, cached, expected_sha256_prefix)
    except InceptionWeightsError:
        raise
    except OSError as error:  # URLError, timeouts, DNS failures, a read-only cache ...
        raise InceptionWeightsError(
            _missing_message(f"{cached} does not exist and downloading it failed ({error})")
        ) from error
    return cached


def load_fid_inception(
    weights: str | Path | None = None,
    *,
    download: bool = True,
    device: str | torch.device = "cpu",
    expected_sha256_prefix: str = FID_WEIGHTS_SHA256_PREFIX,
) -> FIDInceptionV3:
    """The FID Inception network with its TensorFlow weights, in eval mode, without gradients.

    Args:
        weights: A weights file, ``None`` (environment variable, cache, then download; see
            :func:`resolve_inception_weights`), or ``"random"``: a fixed random initialisation (seed 0)
            that makes FID/KID numbers **meaningless**; it exists so tests can run without the file.
        download: Allow downloading into the cache.
        device: Where to put the network.
        expected_sha256_prefix: Checksum prefix the file must match.
    """
    net = FIDInceptionV3()
    if weights == RANDOM_WEIGHTS:
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, param in net.named_parameters():
                if param.ndim > 1:  # conv kernels: He-normal keeps activations O(1) through 90+ ReLU layers
                    param.normal_(0.0, (2.0 / param[0].numel()) ** 0.5, generator=generator)
                else:  # batch-norm scale 1, shift 0
                    param.fill_(1.0 if name.endswith("weight") else 0.0)
    else:
        path = resolve_inception_weights(
            weights, download=download, expected_sha256_prefix=expected_sha256_prefix
        )
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith(("fc.", "AuxLogits."))}
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise InceptionWeightsError(f"{path}: not the FID Inception state dict ({error})") from error
    for param in net.parameters():
        param.requires_grad_(False)
    return net.to(device).eval()
