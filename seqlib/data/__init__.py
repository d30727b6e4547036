"""Interaction logs and the samples built from them (book chapter 1)."""

from seqlib.data.batch import Batch, length_mask
from seqlib.data.movielens import DataIntegrityError, DownloadError, load_movielens
from seqlib.data.samples import SampleSet, Vocab, build_samples
from seqlib.data.sessions import split_sessions
from seqlib.data.sessions import boundary_curve, boundary_precision_recall, session_breaks
from seqlib.data.synthetic import SyntheticData, make_synthetic
from seqlib.data.taobao import load_taobao
from seqlib.data.validate import validate_log

__all__ = [
    "Batch",
    "DataIntegrityError",
    "DownloadError",
    "SampleSet",
    "SyntheticData",
    "Vocab",
    "build_samples",
    "length_mask",
    "load_movielens",
    "load_taobao",
    "make_synthetic",
    "split_sessions",
    "validate_log",
    "boundary_curve", "boundary_precision_recall", "session_breaks",
]
