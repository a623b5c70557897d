"""Model specs as files: how the lab's models are kept, read back and checked.

A model built in the lab is one JSON file, ``specs/NAME.json``, in the workspace (``AELAB_HOME``); the shipped
example's sits in the shipped ``checkpoints/specs/``. Every file is checked when it is read, as strictly as a
request to build: a hand-edited file that is not valid is reported by name and left out, and every other model is
still served.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, fields
from pathlib import Path

import torch

from ae.data.datasets import DATASETS, DEFAULT
from ae.models.autoencoders import parameter_count
from ae.models.families import FAMILIES
from ae.models.specs import ModelSpec, Recipe, check_seed
from ae.runtime import fileio

FORMAT = 1
NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")  # 1-40 characters, no dash at either end
BUILDABLE = ("linear", "mlp", "conv", "vae")  # the families the lab builds
ACTIVATIONS = ("relu", "gelu", "tanh")
# A 2-core server shared by a class stays responsive with models this size, trained this long.
MAX_PARAMETERS = 5_000_000
MAX_EPOCHS = 50
MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 4096
MAX_NOISE = 2.0
MAX_NOTE = 500


class SpecError(ValueError):
    """A spec that cannot be built; the message says why, for the user."""


def folder(home: Path | str) -> Path:
    """The specs folder of a workspace (or of the shipped checkpoints folder)."""
    return Path(home) / "specs"


def to_dict(spec: ModelSpec) -> dict:
    return {
        "format": FORMAT, "name": spec.name, "family": spec.family, "args": dict(spec.args),
        "recipe": json.loads(json.dumps(asdict(spec.recipe))), "description": spec.description, "note": spec.note,
        "dataset": spec.dataset,
    }  # fmt: skip


def from_dict(raw: object) -> ModelSpec:
    """The spec a file holds, checked; SpecError says what is wrong."""
    if not isinstance(raw, dict):
        raise SpecError("a spec is a JSON object")
    if raw.get("format") != FORMAT:
        raise SpecError(f"unknown spec format {raw.get('format')!r} (this aelab reads format {FORMAT})")
    recipe = raw.get("recipe")
    known = {f.name for f in fields(Recipe)}
    if not isinstance(recipe, dict) or not set(recipe) <= known:
        raise SpecError(f"the recipe must be an object with fields among {', '.join(sorted(known))}")
    recipe = {k: tuple(v) if isinstance(v, list) else v for k, v in recipe.items()}
    try:
        spec = ModelSpec(
            str(raw["name"]), str(raw["family"]), dict(raw["args"]), Recipe(**recipe),
            str(raw.get("description", "")), "lab", str(raw.get("note", "")), str(raw.get("dataset", DEFAULT)),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise SpecError(f"the spec lacks a field or has one of the wrong type ({e})") from None
    check(spec)
    return spec


def check(spec: ModelSpec) -> None:
    """Raise SpecError unless ``spec`` is a model the lab may build and train."""
    if not NAME_PATTERN.fullmatch(spec.name):
        raise SpecError(
            f"{spec.name!r} is not a valid name: use 1-40 lower-case letters, digits and dashes, "
            "starting and ending with a letter or digit"
        )
    if not isinstance(spec.dataset, str) or spec.dataset not in DATASETS:
        raise SpecError(f"unknown dataset {spec.dataset!r}; the lab trains on {', '.join(DATASETS)}")
    if spec.family not in BUILDABLE:
        raise SpecError(f"unknown family {spec.family!r}; the lab builds {', '.join(BUILDABLE)}")
    _check_recipe(spec.recipe)
    if len(spec.note) > MAX_NOTE:
        raise SpecError(f"the note is longer than {MAX_NOTE} characters")
    _check_args(spec.family, spec.args)
    n = parameters(spec)
    if n > MAX_PARAMETERS:
        raise SpecError(f"{n:,} parameters is more than this server allows ({MAX_PARAMETERS:,})")


def _check_recipe(r: Recipe) -> None:
    if not (isinstance(r.epochs, int) and 1 <= r.epochs <= MAX_EPOCHS):
        raise SpecError(f"epochs must be a whole number from 1 to {MAX_EPOCHS}")
    if not (isinstance(r.batch_size, int) and 1 <= r.batch_size <= 1024):
        raise SpecError("the batch size must be a whole number from 1 to 1024")
    if not (isinstance(r.lr, int | float) and 0 < r.lr <= 1):
        raise SpecError("the learning rate must be above 0 and at most 1")
    try:
        check_seed(r.seed)
    except ValueError as e:
        raise SpecError(str(e)) from None
    if not (isinstance(r.noise_std, int | float) and 0 <= r.noise_std <= MAX_NOISE):
        raise SpecError(f"the noise σ must be from 0 (plain) to {MAX_NOISE}")
    if not (isinstance(r.beta2, float) and 0 < r.beta2 < 1):
        raise SpecError("Adam's beta2 must be above 0 and below 1")
    if r.schedule not in ("onecycle", "constant") or r.init != "pytorch" or r.threads not in (1, 2):
        raise SpecError("the recipe's schedule, init or threads is not one the lab offers")
    if r.batch_sizes or not (r.train_subset is None or (isinstance(r.train_subset, int) and r.train_subset > 0)):
        raise SpecError("the recipe's batch_sizes or train_subset is not one the lab offers")


def _whole(value: object, low: int, high: int, what: str) -> None:
    if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= high):
        raise SpecError(f"{what} must be a whole number from {low} to {high}, not {value!r}")


def _check_args(family: str, args: dict) -> None:
    allowed = {
        "linear": {"depth"}, "mlp": {"code_size", "hidden", "activation"},
        "conv": {"code_channels", "hidden", "third_block"}, "vae": {"code_size", "hidden", "kind", "beta"},
    }[family]  # fmt: skip
    if extra := set(args) - allowed:
        raise SpecError(f"unknown option(s) for {family}: {', '.join(sorted(extra))}")
    if family == "linear":
        _whole(args.get("depth"), 1, 784, "the code size")
    elif family == "conv":
        _whole(args.get("code_channels"), 1, 64, "the code channels")
        _whole(args.get("hidden", 64), 1, 256, "the hidden channels")
        if not isinstance(args.get("third_block", False), bool):
            raise SpecError("third_block is true or false")
    else:
        _whole(args.get("code_size"), 1, 784, "the code size")
        hidden = args.get("hidden", [])
        if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
            raise SpecError(f"the hidden layers are a list of at most {MAX_HIDDEN_LAYERS} widths")
        for width in hidden:
            _whole(width, 1, MAX_WIDTH, "a hidden layer's width")
        if family == "mlp" and args.get("activation", "relu") not in ACTIVATIONS:
            raise SpecError(f"unknown activation {args.get('activation')!r}; choose {', '.join(ACTIVATIONS)}")
        if family == "vae":
            _check_vae(args)


def _check_vae(args: dict) -> None:
    if args.get("kind", "mlp") not in ("mlp", "conv"):
        raise SpecError("a VAE's kind is mlp or conv")
    beta = args.get("beta", 1.0)
    if not (isinstance(beta, int | float) and 0 <= beta <= 100):
        raise SpecError("β must be from 0 to 100")


def parameters(spec: ModelSpec) -> int:
    """The model's parameter count, without allocating its weights (built on PyTorch's meta device)."""
    return parameter_count(_unallocated(spec))


def _unallocated(spec: ModelSpec) -> torch.nn.Module:
    """The model on PyTorch's meta device: shapes without memory, so a 100 M parameter request costs nothing."""
    try:
        with torch.device("meta"):
            return FAMILIES[spec.family](**spec.args)
    except (RuntimeError, NotImplementedError):  # a constructor that computes with tensors: build it for real
        return FAMILIES[spec.family](**spec.args)


def code_values(spec: ModelSpec) -> int:
    """How many values the model's code has, measured by running its encoder on PyTorch's meta device."""
    model = _unallocated(spec)
    device = next(model.parameters()).device
    with torch.no_grad():
        return model.eval().encode(torch.zeros(1, 1, 28, 28, device=device))[0].numel()


def save(spec: ModelSpec, directory: Path | str) -> Path:
    """Write ``spec`` as ``specs/NAME.json`` under ``directory`` (atomically)."""
    check(spec)
    path = folder(directory) / f"{spec.name}.json"
    fileio.atomic_write(path, (json.dumps(to_dict(spec), indent=2) + "\n").encode("utf-8"))
    return path


_read: dict[tuple, tuple[dict[str, ModelSpec], dict[str, str]]] = {}  # pages ask for the registry many times a run


def load_folder(directory: Path | str) -> tuple[dict[str, ModelSpec], dict[str, str]]:
    """Every valid spec under ``directory``'s specs/, and for each file that is not valid, why. Read again only
    when a file there changes."""
    paths = sorted(folder(directory).glob("*.json"))
    key = (str(directory), *((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths if p.exists()))
    if key not in _read:
        _read.clear()
        _read[key] = _load(paths)
    specs, problems = _read[key]
    return dict(specs), dict(problems)


def _load(paths: list[Path]) -> tuple[dict[str, ModelSpec], dict[str, str]]:
    specs, problems = {}, {}
    for path in paths:
        try:
            spec = from_dict(json.loads(path.read_text(encoding="utf-8")))
            if spec.name != path.stem:
                raise SpecError(f"the file is named {path.stem!r} but the spec names {spec.name!r}")
            specs[spec.name] = spec
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, SpecError) as e:
            problems[path.name] = str(e)
    return specs, problems
