"""Training of the prior's weights, evaluation, pseudo-labelling and benchmark data.

* :mod:`.pairs` — training pairs from ``.npz``/Parquet files, shards (streamed), Qdrant collections;
* :mod:`.pseudolabel` — Noise2Music §3.5 pseudo-labels for catalogs without text;
* :mod:`.trainer` / :class:`TrainConfig` — the EDM training loop (and the regression baseline);
* :mod:`.evaluate` / :mod:`.metrics` — R@K, MedR, triplet accuracy, MISCS, FMD, Vendi, H@K, sweeps;
* :mod:`.synthetic` — a one-to-many "ambiguous world" with known relevance;
* :mod:`.musiccaps_data` / :mod:`.textembed` — MusicCaps with real offline encoders (cached);
  :mod:`.musiccaps_embeddings` — the shipped MusicCaps catalog embeddings (verified, regenerable).

Importing this package does not import matplotlib, pyarrow or the text encoders.
"""

from .config import TrainConfig
from .pairs import PairSet, PairStream, TrainingDataError, load_pairs, pairs_from_qdrant, split_pairs
from .pseudolabel import CollectionLabels, PseudoLabels, pseudo_label, pseudo_label_collection
from .trainer import TrainResult, learning_rate, train

__all__ = [
    "CollectionLabels",
    "PairSet",
    "PairStream",
    "PseudoLabels",
    "TrainConfig",
    "TrainResult",
    "TrainingDataError",
    "learning_rate",
    "load_pairs",
    "pairs_from_qdrant",
    "pseudo_label",
    "pseudo_label_collection",
    "split_pairs",
    "train",
]
