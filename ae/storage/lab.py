"""The lab: build your own autoencoder, keep it beside the shipped ones, delete it again.

A request to build (``Build``) becomes a ``ModelSpec`` with the same checks wherever it comes from (the Build page,
``python -m ae new``, a hand-edited spec file), is saved as a spec file in the workspace, and from then on is in
``active_registry()``: every page and command lists it. Training it is training any model (ae.training.runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ae.models.specs import ModelSpec, Recipe
from ae.runtime import workspace
from ae.storage import checkpoints, spec_files
from ae.storage.catalogue import active_registry, shipped_registry
from ae.storage.spec_files import SpecError

# Defaults that train a model of each family on the 60k digits in well under 30 s on 2 cores (bench/lab.py).
DEFAULTS = {
    "linear": {"code": 32, "epochs": 5, "lr": 5e-3, "batch_size": 64},
    "mlp": {"code": 32, "hidden": (256, 128), "epochs": 5, "lr": 3e-3, "batch_size": 128},
    # At batch 64 a second thread pays for a conv model (not for the others): it holds both cores, for half as long.
    "conv": {"code": 4, "hidden": (16,), "epochs": 3, "lr": 1e-2, "batch_size": 64, "threads": 2},
    "vae": {"code": 16, "hidden": (256,), "epochs": 6, "lr": 2e-3, "batch_size": 128},
}


@dataclass(frozen=True)
class Build:
    """What a user asks the lab for. Unset fields take the family's DEFAULTS."""

    name: str
    family: str
    code: int | None = None  # code size; for conv, the code's channels (each a 7x7 map)
    hidden: tuple[int, ...] | None = None  # mlp and vae: layer widths; conv: (hidden channels,)
    activation: str = "relu"  # mlp
    third_block: bool = False  # conv: one more 3x3 conv on each side
    kind: str = "mlp"  # vae: "mlp" or "conv" encoder and decoder
    beta: float = 1.0  # vae: the weight of the KL term
    noise: float = 0.0  # denoising noise σ; 0 is a plain autoencoder
    epochs: int | None = None
    lr: float | None = None
    seed: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)  # recipe fields for tests (train_subset)
    dataset: str = "mnist"  # what it learns (ae.data.datasets)


def spec_for(build: Build) -> ModelSpec:
    """The spec ``build`` asks for, checked (SpecError says what is wrong)."""
    if build.family not in DEFAULTS:
        raise SpecError(f"unknown family {build.family!r}; the lab builds {', '.join(DEFAULTS)}")
    d = DEFAULTS[build.family]
    code = d["code"] if build.code is None else build.code
    hidden = list(d.get("hidden", ()) if build.hidden is None else build.hidden)
    args, text = _architecture(build, code, hidden)
    recipe = Recipe(
        epochs=d["epochs"] if build.epochs is None else build.epochs, batch_size=d["batch_size"],
        lr=d["lr"] if build.lr is None else build.lr, seed=build.seed, noise_std=float(build.noise),
        threads=d.get("threads", 1), **build.extra,
    )  # fmt: skip
    if build.noise:
        text += f"; denoising, trained on noise σ = {build.noise:g}"
    spec = ModelSpec(build.name, build.family, args, recipe, text, "lab", build.note.strip(), build.dataset)
    spec_files.check(spec)
    return spec


def _architecture(build: Build, code: int, hidden: list[int]) -> tuple[dict, str]:
    """The family's constructor arguments and a one-line description of the architecture."""
    widths = "->".join(str(w) for w in [784, *hidden, code])
    if build.family == "linear":
        return {"depth": code}, f"Linear(784->{code}) encoder, Linear({code}->784) decoder, sigmoid output"
    if build.family == "mlp":
        args = {"code_size": code, "hidden": hidden, "activation": build.activation}
        return args, f"MLP {widths}, {build.activation}, mirrored decoder, sigmoid output"
    if build.family == "conv":
        if len(hidden) != 1:
            raise SpecError("a conv model takes one hidden width: its hidden channels")
        args = {"code_channels": code, "hidden": hidden[0], "third_block": build.third_block}
        blocks = "three conv blocks" if build.third_block else "two conv blocks"
        return args, f"Conv AE, {hidden[0]} hidden channels, {blocks}, code {code}x7x7, sigmoid output"
    args = {"code_size": code, "hidden": hidden, "kind": build.kind, "beta": float(build.beta)}
    return args, f"VAE ({build.kind}) {widths}, β = {build.beta:g}, Gaussian code sampled in training"


def create(build: Build, directory: Path | str | None = None) -> ModelSpec:
    """Check ``build`` and save its spec (in the workspace, or under ``directory``: the shipped folder for the
    shipped example). Nothing is written when it is refused."""
    spec = spec_for(build)
    if spec.name in active_registry() or spec.name == "classifier":
        owner = "a shipped model" if spec.name in shipped_registry() else "a model built earlier"
        raise SpecError(f"{spec.name!r} is already the name of {owner}: choose another")
    spec_files.save(spec, workspace.home() if directory is None else directory)
    return spec


def delete(name: str) -> list[str]:
    """Remove a built model: its spec and its checkpoint files. Refused for a shipped model, or while it trains.
    Returns the files removed."""
    if name in shipped_registry():
        raise SpecError(f"{name} is a shipped model: it cannot be deleted (only its retrained copy reset)")
    spec_file = spec_files.folder(workspace.home()) / f"{name}.json"
    if not spec_file.exists():
        raise SpecError(f"there is no built model named {name!r}")
    directory = workspace.checkpoint_dir(create=False)
    removed = []
    if directory.is_dir():
        weights, sidecar = checkpoints.paths(name, directory)
        removed = [str(p) for p in (weights, sidecar) if p.exists()]
        try:  # removes the checkpoint under the model's training lock
            checkpoints.reset_to_shipped(name, directory)
        except checkpoints.TrainingBusy:
            raise SpecError(f"{name} is being trained: cancel that run first, then delete it") from None
    spec_file.unlink()
    return [*removed, str(spec_file)]


def origin(name: str) -> str:
    """Where a model comes from: "shipped", or "built" in this workspace's lab."""
    return "shipped" if name in shipped_registry() else "built"
