"""A randomly initialised BERT classifier with a WordPiece fast tokenizer, saved as a local
Hugging Face folder: what ``model.convert_hf`` is tested and benchmarked on (no download)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def save_random_bert(
    folder: Path, texts: Iterable[str], vocab_size: int, normalizer: Any = None, **config: Any
) -> None:
    """Train a WordPiece tokenizer on ``texts``; save it with a 2-label random BERT.

    ``config`` overrides ``BertConfig`` (its defaults are the BERT-base shape);
    ``normalizer`` defaults to BERT's, without lower-casing or accent stripping.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizer or normalizers.BertNormalizer(
        lowercase=False, strip_accents=False
    )
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIALS)
    )
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    torch.manual_seed(0)
    bert = BertConfig(vocab_size=vocab_size, **config)
    bert.num_labels = 2
    BertForSequenceClassification(bert).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
