"""Models and their registry: ``seqlib.models.create(name, vocab)``."""

from seqlib.models.base import BaseModel, CTRModel
from seqlib.models.registry import available, create, register

__all__ = ["BaseModel", "CTRModel", "available", "create", "register"]
