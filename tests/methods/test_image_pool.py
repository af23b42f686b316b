from __future__ import annotations

import pytest
import torch

from i2i.methods import ImagePool


def _batch(*values: float) -> torch.Tensor:
    """A batch of 1x1 single-channel images holding ``values`` (easy to trace through the pool)."""
    return torch.tensor(values).view(-1, 1, 1, 1)


def test_size_zero_passes_through() -> None:
    pool = ImagePool(0)
    images = _batch(1.0, 2.0, 3.0)
    assert torch.equal(pool.query(images), images)
    assert len(pool) == 0


def test_fills_up_first_returning_the_inputs() -> None:
    pool = ImagePool(3, seed=0)
    assert pool.query(_batch(1.0, 2.0)).flatten().tolist() == [1.0, 2.0]
    assert pool.query(_batch(3.0)).flatten().tolist() == [3.0]
    assert [float(t) for t in pool.images] == [1.0, 2.0, 3.0]


def test_full_pool_returns_the_reference_composition() -> None:
    # Replays the reference algorithm (util/image_pool.py) with the same generator draws: for each
    # image, u > 0.5 returns a uniformly chosen stored image and stores the new one in its place.
    pool = ImagePool(4, seed=7)
    pool.query(_batch(0.0, 1.0, 2.0, 3.0))  # fill: stored [0, 1, 2, 3]
    stored = [0.0, 1.0, 2.0, 3.0]
    replay = torch.Generator().manual_seed(7)
    expected = []
    for value in [10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0]:
        if torch.rand((), generator=replay).item() > 0.5:
            index = int(torch.randint(4, (), generator=replay).item())
            expected.append(stored[index])
            stored[index] = value
        else:
            expected.append(value)
    returned = pool.query(_batch(10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0)).flatten().tolist()
    assert returned == expected
    assert [float(t) for t in pool.images] == stored
    # Both branches occur with this seed, so the test exercises the swap and the pass-through.
    assert any(v < 10 for v in returned) and any(v >= 10 for v in returned)


def test_about_half_of_a_full_pool_answers_are_history() -> None:
    pool = ImagePool(50, seed=0)
    pool.query(torch.full((50, 1, 1, 1), -1.0))
    returned = pool.query(torch.arange(2000.0).view(-1, 1, 1, 1)).flatten()
    new = (returned == torch.arange(2000.0)).float().mean().item()
    assert 0.45 < new < 0.55  # Binomial(2000, 0.5): std 0.011, so +-0.05 is > 4 sigma


def test_state_dict_resumes_exactly() -> None:
    pool = ImagePool(5, seed=3)
    pool.query(torch.randn(7, 2, 4, 4))
    state = pool.state_dict()
    restored = ImagePool(5, seed=99)
    restored.load_state_dict(state)
    images = torch.randn(6, 2, 4, 4)
    assert torch.equal(pool.query(images), restored.query(images))


def test_state_dict_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size 2"):
        ImagePool(3).load_state_dict(ImagePool(2).state_dict())
