"""The recipe schema: pydantic models with ``extra="forbid"``, one recipe class per method.

A recipe is ``method`` + ``name`` + ``description`` + ``data`` + ``model`` + ``train``. Defaults are
those of the reference implementation (pytorch-CycleGAN-and-pix2pix); defaults that differ per method
(generator, norms, GAN objective, data layout) live in each recipe class's ``METHOD_DEFAULTS`` and are
merged under the user's values before validation, so a recipe file holds only what differs.

Adding a method: subclass :class:`RecipeBase` with ``method: Literal["name"]``, its own ``model``
class and ``METHOD_DEFAULTS``, and add it to :data:`RECIPE_TYPES` and :data:`Recipe`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

Layout = Literal[
    "aligned",
    "paired",
    "unaligned",
    "synthetic_paired",
    "synthetic_unpaired",
    # labelled (i2i.data.labelled): cgan and stargan
    "digits",
    "mnist",
    "fashion_mnist",
    "domains",
    "synthetic_domains",
]
Direction = Literal["a2b", "b2a"]
Preprocess = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
Norm = Literal["batch", "instance", "none"]
Padding = Literal["reflect", "replicate", "zero"]
Init = Literal["normal", "xavier", "kaiming", "orthogonal"]
Schedule = Literal["linear", "step", "cosine", "constant"]
Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["fp32", "bf16", "fp16"]
Optimizer = Literal["adam", "rmsprop"]
EvalMetric = Literal["fid", "kid", "psnr", "ssim", "l1"]
Auto = Literal["auto"]  # resolved per device by i2i.train.accelerate.resolve_fast_paths
AdamImpl = Literal["auto", "fused", "foreach", "for_loop"]
CompileMode = Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"]
AugmentOn = Literal["cpu", "device"]

PAIRED_LAYOUTS: tuple[str, ...] = ("aligned", "paired", "synthetic_paired")
_CROPPING: tuple[str, ...] = ("resize_and_crop", "scale_width_and_crop")  # random crop after a resize
_FREE_SIZE: tuple[str, ...] = ("none", "scale_width")  # image size not set by crop_size


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataConfig(_Strict):
    """Where the images are and how they are prepared (see ``i2i.data.build_dataset``)."""

    root: str  # default "datasets/<name>", filled in by the recipe
    layout: Layout  # default per method: aligned (pix2pix), unaligned (cyclegan)
    direction: Direction = "a2b"
    load_size: int = Field(default=286, ge=1)
    crop_size: int = Field(default=256, ge=1)
    preprocess: Preprocess = "resize_and_crop"
    flip: bool = True
    in_channels: int = Field(default=3, ge=1, le=4)
    out_channels: int = Field(default=3, ge=1, le=4)
    num_workers: int = Field(default=4, ge=0)
    max_images: int | None = Field(default=None, ge=1)
    synthetic_size: int = Field(default=64, ge=8)
    synthetic_count: int = Field(default=200, ge=1)
    test_split: str = "test"
    domains: list[str] | None = None  # labelled layouts: domain (folder) names, required for "domains"
    # "device": the data workers only decode and resize; random crop, flip and colour jitter run on
    # whole batches on the training device (i2i.data.gpu_transforms)
    augment_on: AugmentOn = "cpu"
    color_jitter: float = Field(default=0.0, ge=0.0, le=1.0)  # brightness/contrast/saturation +-x, hue +-x/2

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
    base_channels: int = Field(default=64, ge=1)
    norm: Norm  # default per method: batch (pix2pix), instance (cyclegan)
    dropout: float = Field(ge=0.0, lt=1.0)  # default per method: 0.5 (pix2pix), 0.0 (cyclegan)
    padding: Padding | None = None  # ResNet generators only; None = the network's default (reflect)
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
    base_channels: int = Field(default=64, ge=1)
    num_layers: int | None = Field(
        default=None, ge=1
    )  # patchgan/multiscale; None = the network's default (3)
    norm: Norm  # default per method: batch (pix2pix), instance (cyclegan)
    spectral_norm: bool = False
    num_scales: int | None = Field(default=None, ge=1)  # multiscale only; None = the network's default (3)
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

    @field_validator("gan_mode")
    @classmethod
    def _known_gan_mode(cls, mode: str) -> str:
        from i2i.losses import GAN_MODES  # imported here so that the schema imports without torch

        try:
            GAN_MODES.get(mode)
        except KeyError as error:
            raise ValueError(_key_error_message(error)) from None
        return mode


class Pix2PixModel(ModelBase):
    """pix2pix: conditional GAN + L1 to the target (Isola et al. 2017)."""

    lambda_l1: float = Field(default=100.0, ge=0.0)


class CycleGANModel(ModelBase):
    """CycleGAN: two generators and two discriminators with cycle consistency (Zhu et al. 2017)."""

    lambda_cycle: float = Field(default=10.0, ge=0.0)  # lambda_A = lambda_B in the reference
    lambda_identity: float = Field(default=0.5, ge=0.0)  # identity weight, relative to lambda_cycle
    pool_size: int = Field(default=50, ge=0)  # history of generated images shown to D; 0 disables


class TrainConfig(_Strict):
    """Optimisation, schedule, hardware and logging (Adam with the reference's betas)."""

    epochs: int = Field(default=100, ge=0)  # epochs at the initial learning rate
    epochs_decay: int = Field(default=100, ge=0)  # epochs over which the schedule decays
    batch_size: int = Field(default=1, ge=1)
    lr: float = Field(default=2e-4, gt=0.0)
    beta1: float = Field(default=0.5, ge=0.0, lt=1.0)
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0)
    schedule: Schedule = "linear"
    step_size: int = Field(default=50, ge=1)  # epochs between x0.1 steps, for schedule "step"
    max_steps: int | None = Field(default=None, ge=1)  # stop early after this many steps
    seed: int = 0
    device: Device = "auto"
    precision: Precision = "fp32"
    optimizer: Optimizer = "adam"  # rmsprop for WGAN with weight clipping (the paper's choice; lr 5e-5)
    n_critic: int = Field(default=1, ge=1)  # discriminator steps per generator step (WGAN, StarGAN: 5)
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
    keep_checkpoints: int = Field(default=3, ge=1)
    log_every: int = Field(default=100, ge=1)  # steps
    num_samples: int = Field(default=4, ge=1)  # images in the sample grid
    # Evaluation during training (README "Evaluate"): every eval_every steps the a->b generator of the
    # latest checkpoint translates the test split; the best checkpoint by eval_metric is kept beside last.
    eval_every: int | None = Field(default=None, ge=1)  # steps; None: no evaluation during training
    eval_metric: EvalMetric = "fid"  # fid / kid (lower is better), psnr / ssim (higher), l1 (lower)
    eval_max_images: int | None = Field(default=None, ge=2)  # test images per evaluation; None: all
    inception_weights: str | None = None  # FID Inception weights file; None: cache or download


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
    LAYOUTS: ClassVar[tuple[str, ...]] = (*PAIRED_LAYOUTS, "unaligned", "synthetic_unpaired")

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
        if self.data.layout not in self.LAYOUTS:
            raise ValueError(
                f"data.layout: {self.method} needs one of {', '.join(self.LAYOUTS)}, got {self.data.layout!r}"
            )
        if (
            self.model.gan_mode == "wgan"
            and self.model.clip_value is None
            and not self.model.discriminator.spectral_norm
        ):
            raise ValueError(
                "model.clip_value: gan_mode wgan needs a Lipschitz constraint on D: weight clipping "
                "(clip_value 0.01 as in the WGAN paper) or model.discriminator.spectral_norm"
            )
        generator = _check_network("GENERATORS", self.model.generator, "generator")
        _check_network("DISCRIMINATORS", self.model.discriminator, "discriminator")
        multiple = int(getattr(generator, "size_multiple", 1))
        if self.data.preprocess not in _FREE_SIZE and self.data.crop_size % multiple:
            raise ValueError(
                f"data.crop_size: {self.data.crop_size} is not a multiple of {multiple}, which generator "
                f"{self.model.generator.name!r} needs (or use preprocess 'none' or 'scale_width')"
            )
        return self


def _check_network(registry_name: str, config: GeneratorConfig | DiscriminatorConfig, role: str) -> Any:
    """Build a 1-channel-wide copy of the network to check that it takes the configured arguments."""
    import i2i.nn  # imported here so that the schema imports without torch or the networks

    registry = getattr(i2i.nn, registry_name)
    kwargs = {**config.network_kwargs(), "base_channels": 1}
    try:
        return registry.build(config.name, **kwargs)
    except TypeError as error:
        match = re.search(r"unexpected keyword argument '(\w+)'", str(error))
        key = match.group(1) if match else "name"
        raise ValueError(f"model.{role}.{key}: not a parameter of {role} {config.name!r}") from None


class Pix2PixRecipe(RecipeBase):
    """A pix2pix recipe: paired data, U-Net + PatchGAN with batch norm, vanilla GAN + 100 x L1."""

    METHOD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "data": {"layout": "aligned"},
        "model": {
            "generator": {"name": "unet_256", "norm": "batch", "dropout": 0.5},
            "discriminator": {"norm": "batch"},
            "gan_mode": "vanilla",
        },
    }
    LAYOUTS: ClassVar[tuple[str, ...]] = PAIRED_LAYOUTS

    method: Literal["pix2pix"]
    model: Pix2PixModel


class CycleGANRecipe(RecipeBase):
    """A CycleGAN recipe: unpaired data, ResNet-9 + PatchGAN with instance norm, LSGAN + cycle loss."""

    METHOD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "data": {"layout": "unaligned"},
        "model": {
            "generator": {"name": "resnet_9blocks", "norm": "instance", "dropout": 0.0},
            "discriminator": {"norm": "instance"},
            "gan_mode": "lsgan",
        },
    }

    method: Literal["cyclegan"]
    model: CycleGANModel

    @model_validator(mode="after")
    def _identity_needs_equal_channels(self) -> CycleGANRecipe:
        if self.model.lambda_identity > 0 and self.data.in_channels != self.data.out_channels:
            raise ValueError(
                f"model.lambda_identity: the identity loss needs data.in_channels == data.out_channels "
                f"(got {self.data.in_channels} and {self.data.out_channels}); set it to 0"
            )
        return self


class CGANModel(ModelBase):
    """cgan: class-conditional DCGAN, the label into D by projection or an auxiliary classifier."""

    conditioning: Literal["projection", "acgan"] = "projection"  # Miyato & Koyama 2018 / Odena et al. 2017
    latent_dim: int = Field(default=100, ge=1)  # noise size (DCGAN: 100)
    embedding_dim: int | None = Field(default=None, ge=1)  # G's label embedding; None: the number of classes
    lambda_cls: float = Field(default=1.0, ge=0.0)  # acgan: weight of the classification losses


class StarGANModel(ModelBase):
    """stargan: one domain-conditioned generator, a discriminator with a domain classifier (Choi et al. 2018)."""

    lambda_rec: float = Field(default=10.0, ge=0.0)  # reconstruction (cycle) loss weight
    lambda_cls: float = Field(default=1.0, ge=0.0)  # domain classification loss weight


class _LabelledRecipe(RecipeBase):
    """Checks shared by the methods trained on labelled data (one image and its class per item)."""

    GENERATORS: ClassVar[tuple[str, ...]] = ()
    DISCRIMINATORS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _labelled(self) -> _LabelledRecipe:
        from i2i.data.labelled import layout_classes  # imported here: the schema imports without torch

        if self.model.generator.name not in self.GENERATORS:
            raise ValueError(f"model.generator.name: {self.method} needs one of {', '.join(self.GENERATORS)}")
        if self.model.discriminator.name not in self.DISCRIMINATORS:
            raise ValueError(
                f"model.discriminator.name: {self.method} needs one of {', '.join(self.DISCRIMINATORS)}"
            )
        if self.data.in_channels != self.data.out_channels:
            raise ValueError(
                "data.out_channels: labelled data has one image per item; set data.in_channels to the same "
                f"(got {self.data.in_channels} and {self.data.out_channels})"
            )
        try:
            layout_classes(self.data.layout, self.data.domains)
        except ValueError as error:
            raise ValueError(f"data.domains: {error}") from None
        return self


class CGANRecipe(_LabelledRecipe):
    """A cgan recipe: labelled images, DCGAN networks at 32 px, vanilla GAN, Adam(2e-4, 0.5) as DCGAN."""

    METHOD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "data": {
            "layout": "digits",
            "in_channels": 1,
            "out_channels": 1,
            "load_size": 32,
            "crop_size": 32,
            "preprocess": "none",
            "flip": False,
        },
        "model": {
            "generator": {"name": "dcgan", "norm": "batch", "dropout": 0.0},
            "discriminator": {"name": "dcgan", "norm": "batch"},
            "gan_mode": "vanilla",
        },
        "train": {
            "batch_size": 64,
            "schedule": "constant",
            "epochs": 25,
            "epochs_decay": 0,
            "num_samples": 8,
        },
    }
    LAYOUTS: ClassVar[tuple[str, ...]] = ("digits", "mnist", "fashion_mnist", "domains")
    GENERATORS: ClassVar[tuple[str, ...]] = ("dcgan",)
    DISCRIMINATORS: ClassVar[tuple[str, ...]] = ("dcgan",)

    method: Literal["cgan"]
    model: CGANModel

    @model_validator(mode="after")
    def _image_size(self) -> CGANRecipe:
        size = self.data.crop_size
        if size < 8 or size & (size - 1) or size % 8:  # 4 * 2**k with k >= 1
            raise ValueError(
                f"data.crop_size: the dcgan networks need 4 * 2**k pixels (8, 16, 32, 64 ...), got {size}"
            )
        return self


class StarGANRecipe(_LabelledRecipe):
    """A stargan recipe: one folder per domain, StarGAN networks at 128 px, WGAN-GP with n_critic 5."""

    METHOD_DEFAULTS: ClassVar[dict[str, Any]] = {
        "data": {"layout": "domains", "load_size": 143, "crop_size": 128},
        "model": {
            "generator": {"name": "stargan", "norm": "instance", "dropout": 0.0},
            "discriminator": {"name": "stargan", "norm": "none"},
            "gan_mode": "wgangp",
        },
        "train": {"batch_size": 16, "lr": 1e-4, "n_critic": 5},
    }
    LAYOUTS: ClassVar[tuple[str, ...]] = ("domains", "synthetic_domains")
    GENERATORS: ClassVar[tuple[str, ...]] = ("stargan",)
    DISCRIMINATORS: ClassVar[tuple[str, ...]] = ("stargan",)

    method: Literal["stargan"]
    model: StarGANModel

    @model_validator(mode="after")
    def _classifier_fits(self) -> StarGANRecipe:
        layers = self.model.discriminator.num_layers or 6
        if self.data.crop_size % 2**layers:
            raise ValueError(
                f"data.crop_size: {self.data.crop_size} is not a multiple of 2**{layers}, which the stargan "
                "discriminator's domain classifier needs (set model.discriminator.num_layers lower)"
            )
        return self


Recipe = Pix2PixRecipe | CycleGANRecipe | CGANRecipe | StarGANRecipe
"""Any recipe; ``recipe.method`` tells which (and narrows the type for mypy)."""

RECIPE_TYPES: dict[str, type[RecipeBase]] = {
    "pix2pix": Pix2PixRecipe,
    "cyclegan": CycleGANRecipe,
    "cgan": CGANRecipe,
    "stargan": StarGANRecipe,
}
"""Recipe class per method name."""

RECIPE_ADAPTER: TypeAdapter[Recipe] = TypeAdapter(Annotated[Recipe, Field(discriminator="method")])
"""Validates a mapping into the recipe class that its ``method`` names."""
