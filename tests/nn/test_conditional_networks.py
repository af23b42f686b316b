"""The conditional networks: dcgan (noise + label -> image), its projection / ACGAN discriminator, and
StarGAN's domain-conditioned generator and two-headed discriminator."""

from __future__ import annotations

import pytest
import torch

from i2i.nn import (
    DCGANDiscriminator,
    DCGANGenerator,
    StarGANDiscriminator,
    StarGANGenerator,
    create_discriminator,
    create_generator,
)
from i2i.nn.generators.stargan import domain_one_hot


@pytest.mark.parametrize(("size", "layers"), [(8, 1), (16, 2), (32, 3), (64, 4)])
def test_dcgan_generator_makes_images_of_its_size_in_range(size: int, layers: int) -> None:
    g = create_generator(
        "dcgan", latent_dim=8, num_classes=10, out_channels=3, image_size=size, base_channels=4
    )
    ups = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(ups) == layers + 1  # 1 -> 4 px, then one stride-2 layer per doubling
    assert [m.stride for m in ups] == [(1, 1)] + [(2, 2)] * layers
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in g.modules()) == layers  # none on the output
    g.eval()
    with torch.no_grad():
        y = g(torch.randn(2, 8) * 10, torch.tensor([0, 9]))
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1


@pytest.mark.parametrize("size", [12, 4, 48])
def test_dcgan_generator_rejects_sizes_it_cannot_reach(size: int) -> None:
    with pytest.raises(ValueError, match=r"4 \* 2\*\*k"):
        DCGANGenerator(image_size=size)


def test_dcgan_generator_output_depends_on_the_label_through_the_embedding() -> None:
    g = DCGANGenerator(latent_dim=4, num_classes=3, out_channels=1, image_size=8, base_channels=4).eval()
    z = torch.randn(1, 4).expand(3, 4)  # one noise vector, three labels
    with torch.no_grad():
        y = g(z, torch.tensor([0, 1, 2]))
    assert (y[0] - y[1]).abs().max() > 1e-4 and (y[1] - y[2]).abs().max() > 1e-4
    assert g.embedding.weight.shape == (3, 3)  # embedding size defaults to the number of classes
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        g(torch.randn(2, 5), torch.tensor([0, 1]))


def test_dcgan_discriminator_has_no_pooling_and_strided_leaky_convs() -> None:
    d = DCGANDiscriminator(in_channels=1, base_channels=4, num_layers=3)
    convs = [m for m in d.features.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.stride for c in convs] == [(2, 2)] * 3
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in d.modules())
    slopes = {m.negative_slope for m in d.modules() if isinstance(m, torch.nn.LeakyReLU)}
    assert slopes == {0.2}
    assert d(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 1, 1)  # 32 -> 4x4 -> one logit


def test_projection_adds_the_inner_product_of_the_label_embedding_and_the_features() -> None:
    d = DCGANDiscriminator(
        in_channels=1, base_channels=2, num_layers=2, num_classes=5, conditioning="projection"
    )
    x, y = torch.randn(3, 1, 16, 16), torch.tensor([0, 3, 4])
    with torch.no_grad():
        phi = d._phi(x)  # (3, 4, 4, 4)
        expected = d.head(phi).flatten() + (d.embedding.weight[y] * phi.mean(dim=(2, 3))).sum(1)
        logits = d(x, y).flatten()
    torch.testing.assert_close(logits, expected)
    with pytest.raises(ValueError, match="needs the labels"):
        d(x)


def test_acgan_head_classifies_and_leaves_the_logits_label_free() -> None:
    d = create_discriminator(
        "dcgan", in_channels=1, base_channels=2, num_layers=2, num_classes=7, conditioning="acgan"
    )
    x = torch.randn(2, 1, 16, 16)
    logits, classes = d(x, torch.tensor([1, 2]), with_classes=True)
    assert logits.shape == (2, 1, 1, 1) and classes is not None and classes.shape == (2, 7)
    torch.testing.assert_close(logits, d(x, torch.tensor([5, 6])))


def test_dcgan_discriminator_rejects_unknown_conditioning() -> None:
    with pytest.raises(ValueError, match="unknown conditioning 'aux'"):
        DCGANDiscriminator(conditioning="aux")


def test_domain_one_hot_accepts_indices_and_one_hot() -> None:
    assert domain_one_hot(torch.tensor([1, 0]), 2).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert domain_one_hot(torch.tensor([[0, 1]]), 2).dtype == torch.float32
    with pytest.raises(ValueError, match="3 columns"):
        domain_one_hot(torch.zeros(1, 2), 3)


def test_stargan_generator_reads_the_domain_as_constant_input_channels() -> None:
    g = StarGANGenerator(in_channels=3, num_domains=3, base_channels=4, num_blocks=1, init_gain=0.5).eval()
    first = g.net[0]
    assert first.in_channels == 3 + 3 and first.padding_mode == "zeros"  # image + one map per domain
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        by_index = g(x, torch.tensor([2, 2]))
        by_one_hot = g(x, torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))
        other = g(x, torch.tensor([0, 0]))
        manual = g.net(torch.cat([x, torch.zeros(2, 2, 16, 16), torch.ones(2, 1, 16, 16)], 1))
    torch.testing.assert_close(by_index, by_one_hot)
    torch.testing.assert_close(by_index, manual)
    assert (by_index - other).abs().max() > 1e-3
    with pytest.raises(ValueError, match="stargan needs height and width that are multiples of 4"):
        g(torch.zeros(1, 3, 10, 12), torch.tensor([0]))


def test_stargan_discriminator_heads_follow_the_paper() -> None:
    # 128 px, 6 layers: channels 64 -> 2048, D_src a 2x2 patch map, D_cls a 2x2 kernel over the last map.
    d = StarGANDiscriminator(num_domains=5, image_size=128, base_channels=1, num_layers=6)
    assert [m.out_channels for m in d.features.modules() if isinstance(m, torch.nn.Conv2d)] == [
        1,
        2,
        4,
        8,
        16,
        32,
    ]
    assert d.cls.kernel_size == (2, 2) and d.src.kernel_size == (3, 3)
    src, cls = d(torch.zeros(3, 3, 128, 128), with_classes=True)
    assert src.shape == (3, 1, 2, 2) and cls.shape == (3, 5)
    with pytest.raises(ValueError, match="built for 128x128 images, got 64x64"):
        d(torch.zeros(1, 3, 64, 64), with_classes=True)
    with pytest.raises(ValueError, match="multiple of 2\\*\\*num_layers"):
        StarGANDiscriminator(image_size=100)
