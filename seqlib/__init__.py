"""seqlib: user-behaviour sequence models for CTR prediction, the library behind seqbook."""

__version__ = "0.1.0"
