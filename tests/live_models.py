"""The shipped models the live-Draw browser tests serve (AELAB_REGISTRY=tests.live_models:REGISTRY): one of each
shipped family, so that a fresh test workspace exports three graphs pairs and the classifier in seconds, not all."""

from ae.storage.catalogue import REGISTRY as _ALL

REGISTRY = {name: _ALL[name] for name in ("linear-32", "conv-1")}
