"""The named parts a student can swap (attention units, GRU cells, session encoders)."""

from seqlib.nn.layers import MLP, ItemEmbedding, masked_mean, masked_sum

__all__ = ["MLP", "ItemEmbedding", "masked_mean", "masked_sum"]
