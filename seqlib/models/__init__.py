"""Models and their registry: ``seqlib.models.create(name, vocab)``."""

from seqlib.models.base import BaseModel, CTRModel
from seqlib.models.dien import DIEN
from seqlib.models.din import DIN
from seqlib.models.dsin import DSIN
from seqlib.models.registry import available, create, create_for, register

__all__ = ["DIEN", "DIN", "DSIN", "BaseModel", "CTRModel", "available", "create", "create_for", "register"]
