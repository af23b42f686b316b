"""The recipe schema: pydantic models with ``extra="forbid"``, one recipe class per method.

A recipe is ``method`` + ``name`` + ``description`` + ``data`` + ``model`` + ``train``. Defaults are
those of the reference implementation (pytorch-CycleGAN-and-pix2pix). What belongs to one method lives
in that method's file (:class:`i2i.methods.Method`): its own ``model:`` keys (``recipe_section``),
its defaults (``recipe_defaults``: generator, norms, GAN objective, data layout ...), the layouts it
trains on and its cross-section checks. :func:`recipe_type` builds the method's recipe class from them;
the defaults are merged under the user's values before validation, so a recipe file holds only what
differs. Adding a method touches no file here.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

Direction = Literal["a2b", "b2a"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
Norm = Literal["batch", "instance", "none"]
Padding = Literal["reflect", "replicate", "zero"]
Init = Literal["normal", "xavier", "kaiming", "orthogonal"]
Schedule = Literal["linear", "step", "cosine", "constant", "plateau"]
Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["fp32", "bf16", "fp16"]
Optimizer = Literal["adam", "rmsprop"]
EvalMetric = Literal["fid", "kid", "psnr", "ssim", "l1"]
HIGHER_IS_BETTER: dict[str, bool] = {"fid": False, "kid": False, "psnr": True, "ssim": True, "l1": False}
"""Each evaluation metric's direction (the best checkpoint, the plateau schedule on ``eval``)."""
Auto = Literal["auto"]  # resolved per device by i2i.train.accelerate.resolve_fast_paths
AdamImpl = Literal["auto", "fused", "foreach", "for_loop"]
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
AugmentOn = Literal["cpu", "device"]
PathText = Annotated[str, AfterValidator(os.path.expanduser)]
"""A file or folder path field: ``~`` and ``~user`` are expanded, as a shell would (``--set`` is no shell)."""

# Upper bounds: generous for real use, there only to turn a typo or a hostile recipe (crop_size 1000000,
# base_channels 100000) into a one-line error naming the key instead of an out-of-memory crash.
MAX_IMAGE_SIZE = 16384  # px; 64x the reference's 256, beyond the largest training crops in use (2048-4096)
MAX_CHANNELS = 1024  # base width of a network; 16x the reference's 64 (StyleGAN-class widths are 512)
MAX_BATCH = 4096  # images per step; the reference uses 1-64, large-batch GAN papers 2048

_CROPPING: tuple[str, ...] = ("resize_and_crop", "scale_width_and_crop")  # random crop after a resize
_FREE_SIZE: tuple[str, ...] = ("none", "scale_width")  # image size not set by crop_size


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the images are and how they are prepared (see ``i2i.data.build_dataset``)."""

    root: PathText  # default "datasets/<name>", filled in by the recipe
    layout: str  # a name in i2i.data.LAYOUTS; default per method: aligned (pix2pix), unaligned (cyclegan)
    direction: Direction = "a2b"
    load_size: int = Field(default=286, ge=1, le=MAX_IMAGE_SIZE)
    crop_size: int = Field(default=256, ge=1, le=MAX_IMAGE_SIZE)
    preprocess: Preprocess = "resize_and_crop"
    flip: bool = True
    in_channels: int = Field(default=3, ge=1, le=4)
    out_channels: int = Field(default=3, ge=1, le=4)
    num_workers: int = Field(default=4, ge=0, le=256)  # processes; more than any machine's cores
    max_images: int | None = Field(default=None, ge=1)
    # built-in demo data, rendered per item on the CPU: 4096 px and a million images are far past a demo
    synthetic_size: int = Field(default=64, ge=8, le=4096)
    synthetic_count: int = Field(default=200, ge=1, le=1_000_000)
    test_split: str = "test"
    domains: list[str] | None = None  # labelled layouts: domain (folder) names, required for "domains"
    # "device": the data workers only decode and resize; random crop, flip and colour jitter run on
    # whole batches on the training device (i2i.data.gpu_transforms)
    augment_on: AugmentOn = "cpu"
    color_jitter: float = Field(default=0.0, ge=0.0, le=1.0)  # brightness/contrast/saturation +-x, hue +-x/2

    @field_validator("layout")
    @classmethod
    def _registered_layout(cls, layout: str) -> str:
        known = list(_data_layouts())  # each method's recipe says which it trains on (RecipeBase.LAYOUTS)
        if layout not in known:
            close = difflib.get_close_matches(layout, known, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ValueError(f"unknown layout {layout!r}{hint} (known: {', '.join(known)})")
        return layout

    @property
    def has_targets(self) -> bool:
        """Whether the layout's items hold a target-domain image ``b`` beside the input ``a``."""
        return bool(_data_layouts()[self.layout].targets)

    @property
    def classes(self) -> list[str]:
        """The class (cgan) or domain (stargan) names of a labelled layout, in label order: fixed by the
        layout (digits, mnist ...) or named by :attr:`domains`. Raises ``ValueError`` for others."""
        entry = _data_layouts()[self.layout]
        if not entry.labelled:
            labelled = ", ".join(n for n, e in _data_layouts().items() if e.labelled)
            raise ValueError(f"data.layout: {self.layout!r} has no classes (labelled layouts: {labelled})")
        return entry.classes(self.domains)

    @model_validator(mode="after")
    def _device_augmentation(self) -> DataConfig:
        if self.augment_on == "device" and self.preprocess not in ("resize_and_crop", "none"):
            raise ValueError(
                f"augment_on: 'device' supports preprocess resize_and_crop or none, got {self.preprocess!r}"
            )
        if self.color_jitter > 0 and self.augment_on != "device":
            raise ValueError(
                "color_jitter: colour jitter runs on the device only; set data.augment_on: device"
            )
        return self


def _check_registered(registry_name: str, name: str) -> str:
    import i2i.nn  # imported here so that the schema imports without torch or the networks

    registry = getattr(i2i.nn, registry_name)
    if name not in registry:
        registry.get(name)  # raises KeyError with close matches
    return name


def _key_error_message(error: KeyError) -> str:
    return str(error.args[0]) if error.args else str(error)


class GeneratorConfig(_Strict):
    """Generator network: a name in ``i2i.nn.GENERATORS`` and its keyword arguments."""

    name: str  # default per method: unet_256 (pix2pix), resnet_9blocks (cyclegan)
    base_channels: int = Field(default=64, ge=1, le=MAX_CHANNELS)
    norm: Norm  # default per method: batch (pix2pix), instance (cyclegan)
    dropout: float = Field(ge=0.0, lt=1.0)  # default per method: 0.5 (pix2pix), 0.0 (cyclegan)
    padding: Padding | None = None  # ResNet generators only; None = the network's default (reflect)
    # ResNet generators only: blurred stride-2 resampling (CUT's generator); None = the network's default (off)
    antialias: bool | None = None
    init: Init = "normal"
    init_gain: float = Field(default=0.02, gt=0.0)

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        try:
            return _check_registered("GENERATORS", name)
        except KeyError as error:
            raise ValueError(_key_error_message(error)) from None

    def network_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``create_generator(name, in_channels=..., out_channels=..., **kwargs)``."""
        return self.model_dump(exclude={"name"}, exclude_none=True)


class DiscriminatorConfig(_Strict):
    """Discriminator network: a name in ``i2i.nn.DISCRIMINATORS`` and its keyword arguments."""

    name: str = "patchgan"
    base_channels: int = Field(default=64, ge=1, le=MAX_CHANNELS)
    # patchgan/multiscale/dcgan; None = the network's default (3). At most 12 stride-2 convolutions:
    # dcgan's log2(size / 4) for MAX_IMAGE_SIZE; each doubles dcgan's width.
    num_layers: int | None = Field(default=None, ge=1, le=12)
    norm: Norm  # default per method: batch (pix2pix), instance (cyclegan)
    spectral_norm: bool = False
    # multiscale only; None = the network's default (3); 8 halvings take MAX_IMAGE_SIZE to 128 px
    num_scales: int | None = Field(default=None, ge=1, le=8)
    init: Init = "normal"
    init_gain: float = Field(default=0.02, gt=0.0)

    @field_validator("name")
    @classmethod
    def _registered(cls, name: str) -> str:
        try:
            return _check_registered("DISCRIMINATORS", name)
        except KeyError as error:
            raise ValueError(_key_error_message(error)) from None

    def network_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``create_discriminator(name, in_channels=..., **kwargs)``."""
        return self.model_dump(exclude={"name"}, exclude_none=True)


class ModelBase(_Strict):
    """Networks and GAN objective shared by every method."""

    generator: GeneratorConfig
    discriminator: DiscriminatorConfig
    gan_mode: str  # a name in i2i.losses.GAN_MODES; default per method: vanilla (pix2pix), lsgan (cyclegan)
    clip_value: float | None = Field(default=None, gt=0.0)  # WGAN: clamp D's parameters to +-c (paper: 0.01)
    lambda_gp: float = Field(default=10.0, ge=0.0)  # weight of the gradient penalty of gan_mode wgangp
    # Fine-tuning (README "Fine-tune"): a run dir, checkpoint, .safetensors or reference .pth whose weights
    # start a new run (i2i.finetune); here, not in train:, because it shapes the model: it is saved with
    # the run and a resume with another value is refused. Applied only when a run starts, never on resume.
    init_from: str | None = None

    @field_validator("gan_mode")
    @classmethod
    def _known_gan_mode(cls, mode: str) -> str:
        from i2i.losses import GAN_MODES  # imported here so that the schema imports without torch

        try:
            GAN_MODES.get(mode)
        except KeyError as error:
            raise ValueError(_key_error_message(error)) from None
        return mode


class TrainConfig(_Strict):
    """Optimisation, schedule, hardware and logging (Adam with the reference's betas)."""

    epochs: int = Field(default=100, ge=0)  # epochs at the initial learning rate
    epochs_decay: int = Field(default=100, ge=0)  # epochs over which the schedule decays
    batch_size: int = Field(default=1, ge=1, le=MAX_BATCH)
    lr: float = Field(default=2e-4, gt=0.0)
    beta1: float = Field(default=0.5, ge=0.0, lt=1.0)
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0)
    schedule: Schedule = "linear"
    step_size: int = Field(default=50, ge=1)  # epochs between x0.1 steps, for schedule "step"
    # schedule "plateau" (ReduceLROnPlateau, the reference's settings): a logged loss, averaged over each
    # epoch ("g", "d", "g/l1" ...), or "eval" (train.eval_metric at each evaluation, needs eval_every)
    plateau_metric: str = "g"
    plateau_factor: float = Field(default=0.2, gt=0.0, lt=1.0)  # lr multiplier on a plateau
    plateau_patience: int = Field(default=5, ge=0)  # epochs (or evaluations) without improvement
    plateau_threshold: float = Field(default=0.01, ge=0.0)  # relative improvement that counts
    plateau_min_lr: float = Field(default=0.0, ge=0.0)
    max_steps: int | None = Field(default=None, ge=1)  # stop early after this many steps
    seed: int = 0
    device: Device = "auto"
    precision: Precision = "fp32"
    optimizer: Optimizer = "adam"  # rmsprop for WGAN with weight clipping (the paper's choice; lr 5e-5)
    # discriminator steps per generator step (WGAN, StarGAN: 5; 100 is the WGAN paper's warm-up value)
    n_critic: int = Field(default=1, ge=1, le=100)
    # Fast paths (README "Training speed"): "auto" resolves per device; none of them changes what is
    # learned beyond float rounding, so they may change when a run is resumed.
    channels_last: bool | Auto = "auto"  # NHWC networks and inputs; auto: on for CUDA
    compile: bool | Auto = "auto"  # torch.compile of every network; auto: on for CUDA
    compile_mode: CompileMode = "default"
    compile_backend: str = "inductor"  # a torch.compile backend ("aot_eager" compiles fast, for debugging)
    adam: AdamImpl = "auto"  # Adam kernel; auto: fused on CUDA, foreach elsewhere
    cudnn_benchmark: bool | Auto = "auto"  # cuDNN autotuning (fixed crop sizes); auto: on for CUDA
    pin_memory: bool | Auto = "auto"  # page-locked batches for async copies; auto: on for CUDA
    persistent_workers: bool | Auto = "auto"  # keep data workers between epochs; auto: on with workers
    sync_batchnorm: bool | Auto = "auto"  # one batch norm over all processes; auto: on for multi-GPU CUDA
    sample_every: int = Field(default=400, ge=1)  # steps
    checkpoint_every: int = Field(default=5000, ge=1)  # steps
    keep_checkpoints: int = Field(default=3, ge=1)  # the newest K checkpoints
    # besides them, keep the checkpoint at the end of every N-th epoch (the reference keeps every 5)
    keep_every_epochs: int | None = Field(default=None, ge=1)
    log_every: int = Field(default=100, ge=1)  # steps
    num_samples: int = Field(default=4, ge=1, le=256)  # images in the sample grid (one batch through G)
    # Evaluation during training (README "Evaluate"): every eval_every steps the a->b generator of the
    # latest checkpoint translates the test split; the best checkpoint by eval_metric is kept beside last.
    eval_every: int | None = Field(default=None, ge=1)  # steps; None: no evaluation during training
    eval_metric: EvalMetric = "fid"  # fid / kid (lower is better), psnr / ssim (higher), l1 (lower)
    eval_max_images: int | None = Field(default=None, ge=2)  # test images per evaluation; None: all
    inception_weights: PathText | None = None  # FID Inception weights file; None: cache or download


def _merge_defaults(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` over ``defaults``, recursively for nested mappings; neither is modified."""
    merged = dict(defaults)
    for key, value in values.items():
        default = merged.get(key)
        if isinstance(default, dict) and isinstance(value, dict):
            merged[key] = _merge_defaults(default, value)
        else:
            merged[key] = value
    return merged


class RecipeBase(_Strict):
    """Fields and checks shared by every method's recipe."""

    METHOD_DEFAULTS: ClassVar[dict[str, Any]] = {}
    LAYOUTS: ClassVar[tuple[str, ...]] = ()  # the layouts the method trains on (set by recipe_type; () any)
    METHOD: ClassVar[Any] = None  # the Method subclass: its check_recipe runs after the shared checks

    method: str
    name: str = Field(min_length=1)
    description: str = ""  # one line, shown by `i2i recipes`
    data: DataConfig
    model: ModelBase
    train: TrainConfig = Field(default_factory=TrainConfig)

    @model_validator(mode="before")
    @classmethod
    def _apply_method_defaults(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        merged = _merge_defaults(cls.METHOD_DEFAULTS, values)
        data = merged.get("data")
        if isinstance(data, dict) and "root" not in data and isinstance(merged.get("name"), str):
            merged["data"] = {**data, "root": f"datasets/{merged['name']}"}
        return merged

    @field_validator("description")
    @classmethod
    def _one_line(cls, description: str) -> str:
        if "\n" in description.strip():
            raise ValueError("must be a single line")
        return description.strip()

    @model_validator(mode="after")
    def _consistent(self) -> RecipeBase:
        """Checks across sections; their messages start with the key they blame."""
        data = self.data
        if data.preprocess in _CROPPING and data.crop_size > data.load_size:
            raise ValueError(
                f"data.crop_size: {data.crop_size} is larger than data.load_size {data.load_size}; "
                f"preprocess {data.preprocess!r} crops after resizing to load_size"
            )
        if self.train.epochs + self.train.epochs_decay == 0:
            raise ValueError("train.epochs: epochs + epochs_decay must be at least 1")
        t = self.train
        if t.schedule == "plateau" and t.plateau_metric == "eval" and t.eval_every is None:
            raise ValueError("train.plateau_metric: 'eval' follows the evaluations; set train.eval_every")
        if self.LAYOUTS and self.data.layout not in self.LAYOUTS:
            raise ValueError(
                f"data.layout: {self.method} needs one of {', '.join(self.LAYOUTS)}, got {self.data.layout!r}"
            )
        if (
            _objective(self.model.gan_mode).needs_lipschitz
            and self.model.clip_value is None
            and not self.model.discriminator.spectral_norm
        ):
            raise ValueError(
                f"model.clip_value: gan_mode {self.model.gan_mode} needs a Lipschitz constraint on D: weight "
                "clipping (clip_value 0.01 as in the WGAN paper) or model.discriminator.spectral_norm"
            )
        generator = _check_network("GENERATORS", self.model.generator, "generator", self.METHOD_DEFAULTS)
        _check_network("DISCRIMINATORS", self.model.discriminator, "discriminator", self.METHOD_DEFAULTS)
        multiple = int(getattr(generator, "size_multiple", 1))
        if self.data.preprocess not in _FREE_SIZE and self.data.crop_size % multiple:
            raise ValueError(
                f"data.crop_size: {self.data.crop_size} is not a multiple of {multiple}, which generator "
                f"{self.model.generator.name!r} needs (or use preprocess 'none' or 'scale_width')"
            )
        if self.METHOD is not None:
            self.METHOD.check_recipe(self)
        return self


def _objective(mode: str) -> Any:
    from i2i.losses import gan_objective  # imported here so that the schema imports without torch

    return gan_objective(mode)


def _check_network(
    registry_name: str,
    config: GeneratorConfig | DiscriminatorConfig,
    role: str,
    method_defaults: dict[str, Any],
) -> Any:
    """Build a 1-channel-wide copy of the network to check that it takes the configured arguments.

    The options the network does not declare are left out (as the method leaves them out, by
    :func:`i2i.methods.base.split_network_kwargs`) while they hold their default; one the recipe
    changed is an error that names the key.
    """
    import i2i.nn  # imported here so that the schema imports without torch or the networks
    from i2i.methods.base import split_network_kwargs

    registry = getattr(i2i.nn, registry_name)
    accepted, others = split_network_kwargs(registry.get(config.name), config.network_kwargs())
    defaults = method_defaults.get("model", {}).get(role, {})
    for key, value in others.items():
        if value != defaults.get(key, type(config).model_fields[key].default):
            raise ValueError(f"model.{role}.{key}: not a parameter of {role} {config.name!r}")
    try:
        return registry.build(config.name, **{**accepted, "base_channels": 1})
    except TypeError as error:
        match = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        key = match.group(1) if match else "name"
        raise ValueError(f"model.{role}.{key}: not a parameter of {role} {config.name!r}") from None


def _data_layouts() -> dict[str, Any]:
    """Every registered data layout: name -> :class:`i2i.data.layouts.DataLayout`."""
    from i2i.data.layouts import LAYOUTS  # imported here: the schema imports without torch

    return {name: LAYOUTS.build(name) for name in LAYOUTS.names()}


def _layouts(wanted: str | tuple[str, ...]) -> tuple[str, ...]:
    """The layout names a method's ``recipe_layouts`` stands for, read from the layouts' flags:
    ``"paired"`` the paired ones, ``"image"`` every image-to-image one (items with a target image),
    ``"source"`` those and ``single`` (input images alone: distillation needs no targets); layouts with
    channels of their own (colorization) only where a method names them."""
    general = {name: entry for name, entry in _data_layouts().items() if entry.channels is None}
    if wanted == "paired":
        return tuple(name for name, entry in general.items() if entry.paired)
    if wanted == "image":
        return tuple(name for name, entry in general.items() if entry.targets)
    if wanted == "source":
        return tuple(name for name, entry in general.items() if not entry.labelled)
    return tuple(wanted)


@functools.cache
def _recipe_type(method: Any) -> type[RecipeBase]:  # a Method subclass (Any: hashable for the cache)
    """The recipe class of ``method``: :class:`RecipeBase` with the method's ``model:`` section (the
    shared networks and objective plus its ``recipe_section``), defaults, layouts and checks."""
    model = type(f"{method.__name__}Model", (method.recipe_section, ModelBase), {"__module__": __name__})
    namespace = {
        "__module__": __name__,
        "__doc__": f"A {method.method_name} recipe; see :class:`{method.__module__}.{method.__name__}`.",
        "__annotations__": {"method": Literal[method.method_name], "model": model},
        "METHOD_DEFAULTS": method.recipe_defaults,
        "LAYOUTS": _layouts(method.recipe_layouts),
        "METHOD": method,
    }
    return type(f"{method.__name__}Recipe", (RecipeBase,), namespace)


def recipe_type(name: str) -> type[RecipeBase]:
    """The recipe class of the registered method ``name``; an unknown name raises ``KeyError`` with
    close matches. A method's recipe is defined in its own file (:class:`i2i.methods.Method`'s
    ``recipe_section``, ``recipe_defaults``, ``recipe_layouts`` and ``check_recipe``)."""
    from i2i.methods import method_class  # imported here: the schema imports without torch

    method: Any = method_class(name)
    return _recipe_type(method)


def method_names() -> list[str]:
    """The registered methods a recipe's ``method`` may name."""
    from i2i.methods import METHODS

    return METHODS.names()


Recipe = RecipeBase
"""Any recipe (the class of each method's is made by :func:`recipe_type`)."""
