"""The named parts a student can swap (attention units, GRU cells, session encoders)."""

from seqlib.nn.attention import LocalActivationUnit, attention_pool, local_activation, pool_valid
from seqlib.nn.aux_loss import AuxiliaryMLP, auxiliary_loss
from seqlib.nn.dice import Dice, activation
from seqlib.nn.dien_attention import BilinearAttention
from seqlib.nn.gru import AGRUCell, AIGRUCell, AUGRUCell, GRUCell, InterestExtractor, evolve
from seqlib.nn.layers import MLP, ItemEmbedding, masked_mean, masked_softmax, masked_sum
from seqlib.nn.regularization import l2_penalty, mba_penalty
from seqlib.nn.session import BiasEncoding, SessionActivation, SessionExtractor, SessionInteracting, bias_encoding

__all__ = [
    "AGRUCell", "AIGRUCell", "AUGRUCell", "AuxiliaryMLP", "BilinearAttention", "GRUCell", "InterestExtractor",
    "auxiliary_loss", "evolve",
    "MLP", "ItemEmbedding", "masked_mean", "masked_sum",
    "Dice", "LocalActivationUnit", "activation", "attention_pool", "l2_penalty", "local_activation",
    "masked_softmax", "mba_penalty", "pool_valid",
    "BiasEncoding", "SessionActivation", "SessionExtractor", "SessionInteracting", "bias_encoding",
]
