from __future__ import annotations

import torch

from i2i.methods import Batch, Pix2Pix


def _tiny_pix2pix() -> Pix2Pix:
    torch.manual_seed(0)
    return Pix2Pix(
        generator="unet_128", generator_kwargs={"base_channels": 2}, discriminator_kwargs={"base_channels": 2}
    )


def test_pix2pix_steps_d_before_g_and_g_plays_against_the_updated_d() -> None:
    """The reference's order (optimize_parameters): D's step, then G's loss through the *new* D."""
    method = _tiny_pix2pix()
    events: list[str] = []
    for name, optimizer in method.optimizers.items():
        step = optimizer.step

        def logged(*args: object, _name: str = name, _step: object = step, **kwargs: object) -> object:
            events.append(f"step {_name}")
            return _step(*args, **kwargs)  # type: ignore[operator]

        optimizer.step = logged  # type: ignore[method-assign]
    first = next(method.discriminator.parameters())
    seen: list[torch.Tensor] = []
    method.discriminator.register_forward_pre_hook(lambda module, args: seen.append(first.detach().clone()))
    events_at_call: list[int] = []
    method.discriminator.register_forward_pre_hook(lambda module, args: events_at_call.append(len(events)))

    batch = Batch(torch.rand(1, 3, 128, 128) * 2 - 1, torch.rand(1, 3, 128, 128) * 2 - 1)
    method.training_step(batch)

    assert events == ["step d", "step g"]
    assert events_at_call == [0, 0, 1]  # D(real), D(fake) before any step; G's D(fake) after D's step
    assert torch.equal(seen[0], seen[1]) and not torch.equal(seen[1], seen[2])
