"""Text normalisation, defined once and embedded in tokenizer.json.

Training builds the tokenizer with :func:`build_normalizer`, so the normaliser
travels inside ``tokenizer.json`` and serving applies exactly the same steps
without any Python code of its own.
"""

from __future__ import annotations

import re
import unicodedata

from tokenizers import Regex, normalizers

# Characters whose long runs carry no more signal than a double ("ㅋㅋㅋㅋㅋ" -> "ㅋㅋ").
SQUASHED_CHARS = "ㅋㅎㅠㅜㅡㄷㄱㅇ.!?~^;-=♡♥★☆*ㅉㅗ"
MAX_RUN = 2


def build_normalizer() -> normalizers.Normalizer:
    """NFKC, lowercase, squash repeated characters, collapse whitespace, strip."""
    steps: list[normalizers.Normalizer] = [normalizers.NFKC(), normalizers.Lowercase()]
    for char in sorted({unicodedata.normalize("NFKC", c) for c in SQUASHED_CHARS}):
        pattern = f"{re.escape(char)}{{{MAX_RUN + 1},}}"
        steps.append(normalizers.Replace(Regex(pattern), char * MAX_RUN))
    steps.append(normalizers.Replace(Regex(r"\s+"), " "))
    steps.append(normalizers.Strip())
    return normalizers.Sequence(steps)


def normalize(text: str) -> str:
    """Apply the shared normaliser to one string (for inspection and tests)."""
    return build_normalizer().normalize_str(text)
