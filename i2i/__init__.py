"""i2i: image-to-image translation (pix2pix, CycleGAN, conditional GANs) with recipes, ONNX export
and fast batch translation.

The public API lives here; everything else is reachable through the sub-packages.
"""

from __future__ import annotations

__version__ = "0.1.0"
