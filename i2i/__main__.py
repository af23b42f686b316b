"""``python -m i2i``: the ``i2i`` command line, so that ``torchrun --nproc_per_node=N -m i2i train RECIPE`` works."""

from __future__ import annotations

from i2i.cli import app

if __name__ == "__main__":
    app(prog_name="i2i")
