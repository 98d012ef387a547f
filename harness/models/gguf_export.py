"""Write a transformers Llama model, optionally with a merged LoRA adapter, as a GGUF file.

The llamacpp backend decodes a sequence on CPU several times faster than transformers, but it
runs GGUF files only, and training writes safetensors (a LoRA adapter or a whole model). This
module bridges the two the way llama.cpp's own ``convert_hf_to_gguf.py`` does for the Llama
architecture, with the ``gguf`` package alone:

- weights: fp32 in torch, the adapter merged (``merge_and_unload``), then every tensor renamed
  to its GGUF name. q_proj and k_proj rows are permuted from transformers' rotate-half RoPE
  layout to llama.cpp's interleaved-pair layout (transformers' GGUF loader undoes exactly this
  permutation in ``LlamaTensorProcessor._reverse_permute_weights``). Norms stay f32; matrices are
  f16 (default), f32 (for exactness checks) or q8_0.
- hyper-parameters from the transformers config;
- tokenizer metadata (``tokenizer.*``: tokens, merges, token types, special ids, chat template)
  copied from a template GGUF, the embedded model's file by default, after checking that its
  token list is the model tokenizer's vocabulary id for id.

``cached_gguf`` exports once per set of weights into ``<cache>/gguf/`` and reuses the file.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from slbench.harness.models import gguf_cache
from slbench.harness.paths import cache_dir

log = logging.getLogger(__name__)

OutType = Literal["f32", "f16", "q8_0"]
OUT_TYPES: tuple[OutType, ...] = ("f32", "f16", "q8_0")
# Bump when the exported bytes change for the same inputs, so stale cached files are not reused.
EXPORT_VERSION = "1"

# transformers parameter name (after "model.layers.N.") -> GGUF tensor name (after "blk.N.").
_BLOCK_NAMES = {
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}
_TOP_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}


def _permute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's ``LlamaModel.permute``: each head's two rotary halves become interleaved pairs."""
    rest = weight.shape[1:]
    return (
        weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *rest).swapaxes(1, 2).reshape(weight.shape)
    )


def _load_model(model_dir: Path, adapter: Path | None) -> Any:
    """The fp32 transformers model, with the LoRA adapter merged into its weights when given."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return model.eval()


def _check_supported(config: Any, model_dir: Path) -> None:
    """Refuse what the plain llama.cpp ``llama`` graph would silently compute differently."""
    if config.model_type != "llama":
        raise ValueError(
            f"{model_dir}: GGUF export supports model_type 'llama' only, not {config.model_type!r}"
        )
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ValueError(f"{model_dir}: GGUF export does not handle attention or MLP biases")
    rope = _rope_parameters(config)
    if rope.get("rope_type", "default") != "default":
        raise ValueError(
            f"{model_dir}: GGUF export handles default RoPE only, not rope_type {rope.get('rope_type')!r}"
        )


def _rope_parameters(config: Any) -> dict[str, Any]:
    # transformers 5 keeps RoPE settings in rope_parameters; older configs have rope_theta.
    params = dict(getattr(config, "rope_parameters", None) or {})
    params.setdefault("rope_theta", getattr(config, "rope_theta", 10000.0))
    return params


def _head_dim(config: Any) -> int:
    return int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)


@dataclass(frozen=True)
class TemplateMetadata:
    """What an export takes from the template GGUF: its ``tokenizer.*`` keys, typed, and one fact."""

    path: Path
    tokenizer_keys: tuple[tuple[str, Any, Any, Any], ...]  # (key, value, GGUF type, array item type)
    has_output: bool  # whether the template stores output.weight beside token_embd

    @property
    def tokens(self) -> list[str]:
        found = [value for key, value, _, _ in self.tokenizer_keys if key == "tokenizer.ggml.tokens"]
        if not found:
            raise ValueError(f"template GGUF {self.path} has no tokenizer.ggml.tokens")
        return list(found[0])


def template_metadata(template: Path) -> TemplateMetadata:
    """The template's metadata, read once per file version (parsing ~100k strings takes seconds)."""
    stat = template.stat()
    return _read_template(template.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _read_template(template: Path, _size: int, _mtime_ns: int) -> TemplateMetadata:
    import gguf

    reader = gguf.GGUFReader(template)
    keys = []
    for key, field in reader.fields.items():
        if key.startswith("tokenizer."):
            vtype = field.types[0]
            sub_type = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
            keys.append((key, field.contents(), vtype, sub_type))
    has_output = any(tensor.name == "output.weight" for tensor in reader.tensors)
    return TemplateMetadata(template, tuple(keys), has_output)


def _check_vocab(model_dir: Path, tokens: list[str], template: Path) -> None:
    """The template's token list must be the model tokenizer's vocabulary, id for id."""
    from transformers import AutoTokenizer

    vocab = AutoTokenizer.from_pretrained(model_dir).get_vocab()
    by_id: dict[int, str] = {index: token for token, index in vocab.items()}
    ours = [by_id.get(index) for index in range(max(len(by_id), len(tokens)))]
    if ours == tokens:
        return
    first = next(
        (i for i, (a, b) in enumerate(zip(ours, tokens, strict=False)) if a != b), min(len(ours), len(tokens))
    )
    raise ValueError(
        f"the tokenizer of {model_dir} ({len(by_id)} tokens) does not match the token list of the template "
        f"GGUF {template} ({len(tokens)} tokens; first difference at id {first}); pass template_gguf= a GGUF "
        "made with this model's tokenizer"
    )


def _write_hparams(writer: Any, config: Any, name: str, out_type: OutType) -> None:
    import gguf

    head_dim = _head_dim(config)
    writer.add_name(name)
    writer.add_context_length(int(config.max_position_embeddings))
    writer.add_embedding_length(int(config.hidden_size))
    writer.add_block_count(int(config.num_hidden_layers))
    writer.add_feed_forward_length(int(config.intermediate_size))
    writer.add_head_count(int(config.num_attention_heads))
    writer.add_head_count_kv(int(config.num_key_value_heads))
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_freq_base(float(_rope_parameters(config)["rope_theta"]))
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(float(config.rms_norm_eps))
    writer.add_vocab_size(int(config.vocab_size))
    file_type = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }[out_type]
    writer.add_file_type(int(file_type))
    if out_type == "q8_0":
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)


def _gguf_tensors(model: Any, keep_output: bool) -> Iterator[tuple[str, np.ndarray]]:
    """(GGUF name, fp32 array) for every weight, q/k permuted, in llama.cpp's expected layout."""
    import torch

    config = model.config
    state = model.state_dict()
    embed, head = state["model.embed_tokens.weight"], state.get("lm_head.weight")
    # Tied embeddings need no output tensor: llama.cpp falls back to token_embd.
    tied = head is None or head.data_ptr() == embed.data_ptr() or torch.equal(head, embed)
    for hf_name, tensor in state.items():
        if hf_name == "lm_head.weight" and tied and not keep_output:
            continue
        array = tensor.detach().to(torch.float32).cpu().numpy()
        if hf_name in _TOP_NAMES:
            yield _TOP_NAMES[hf_name], array
            continue
        prefix, _, rest = hf_name.partition(".layers.")
        block, _, local = rest.partition(".")
        if prefix != "model" or not block.isdigit() or local not in _BLOCK_NAMES:
            raise ValueError(f"GGUF export: no GGUF name for the parameter {hf_name!r}")
        if local == "self_attn.q_proj.weight":
            array = _permute_rows(array, int(config.num_attention_heads))
        elif local == "self_attn.k_proj.weight":
            array = _permute_rows(array, int(config.num_key_value_heads))
        yield f"blk.{block}.{_BLOCK_NAMES[local]}", array


def _add_tensor(writer: Any, name: str, array: np.ndarray, out_type: OutType) -> None:
    import gguf

    if array.ndim == 1 or out_type == "f32":
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))
    elif (
        out_type == "q8_0" and array.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0
    ):
        q8 = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor(name, q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    else:  # f16, and q8_0 rows whose length is not a multiple of the 32-value block (as llama.cpp does)
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float16))


def _template_or_embedded(template_gguf: str | Path | None) -> Path:
    """The GGUF whose tokenizer metadata an export copies: the given file, else the embedded model's."""
    if template_gguf is None:
        from slbench.harness.models.embedded import embedded_gguf_path

        return Path(embedded_gguf_path())
    return Path(template_gguf)


def export_gguf(
    model_dir: str | Path,
    out_path: str | Path,
    *,
    adapter: str | Path | None = None,
    template_gguf: str | Path | None = None,
    out_type: OutType = "f16",
) -> Path:
    """Write ``model_dir`` (+ ``adapter`` merged) as a llama-architecture GGUF at ``out_path``."""
    import gguf

    if out_type not in OUT_TYPES:
        raise ValueError(f"out_type must be one of {OUT_TYPES}, got {out_type!r}")
    model_dir, out_path = Path(model_dir), Path(out_path)
    adapter_dir = None if adapter is None else Path(adapter)
    if adapter_dir is not None and not (adapter_dir / "adapter_config.json").is_file():
        raise FileNotFoundError(f"LoRA adapter {adapter_dir}: no adapter_config.json there")
    template = _template_or_embedded(template_gguf)
    metadata = template_metadata(template)
    tokens = metadata.tokens
    _check_vocab(model_dir, tokens, template)

    from transformers import AutoConfig

    _check_supported(AutoConfig.from_pretrained(model_dir), model_dir)
    model = _load_model(model_dir, adapter_dir)
    config = model.config
    if int(config.vocab_size) != len(tokens):
        raise ValueError(
            f"{model_dir}: vocab_size {config.vocab_size} differs from the {len(tokens)} tokens of {template}"
        )
    name = model_dir.name + (f"+{adapter_dir.name}" if adapter_dir is not None else "")
    writer = gguf.GGUFWriter(out_path, arch="llama")
    _write_hparams(writer, config, name, out_type)
    for key, value, vtype, sub_type in metadata.tokenizer_keys:
        writer.add_key_value(key, value, vtype, sub_type)
    for gguf_name, array in _gguf_tensors(model, metadata.has_output):
        _add_tensor(writer, gguf_name, array, out_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_path


def _files_key(path: Path, digest: Any) -> None:
    """Path, then name, size and mtime of each file directly inside (or of the file itself)."""
    digest.update(str(path.resolve()).encode())
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    for file in files:
        stat = file.stat()
        digest.update(f"\0{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())


def cached_gguf(
    model_dir: str | Path,
    adapter: str | Path | None = None,
    out_type: OutType = "f16",
    *,
    template_gguf: str | Path | None = None,
) -> Path:
    """The exported GGUF of these weights, written once to ``<cache>/gguf/<hash>.gguf``.

    The key covers the sizes and mtimes of the model's, the adapter's and the template's files
    (an adapter rewritten in place gets a new file), ``out_type`` and ``EXPORT_VERSION``. The file
    is written under a private temporary name and renamed, so readers never see half a file. The
    cache is capped (``gguf_cache``: ``SLBENCH_GGUF_CACHE_GB``, oldest exports out first).
    """
    template_gguf = _template_or_embedded(template_gguf)
    if adapter is not None and not Path(adapter).is_dir():
        raise FileNotFoundError(f"LoRA adapter {adapter}: no such directory")
    digest = hashlib.sha256(f"gguf-export-v{EXPORT_VERSION}\0{out_type}".encode())
    for part in (model_dir, adapter, template_gguf):
        digest.update(b"\1")
        if part is not None:
            _files_key(Path(part), digest)
    target = cache_dir() / "gguf" / f"{digest.hexdigest()[:24]}.gguf"
    if target.is_file():
        gguf_cache.touch(target)
        return target
    limit = gguf_cache.limit_bytes()  # a bad SLBENCH_GGUF_CACHE_GB fails before the export, not after
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    log.info(
        "exporting %s%s to GGUF (%s, once) -> %s",
        model_dir,
        f" + {adapter}" if adapter else "",
        out_type,
        target,
    )
    try:
        export_gguf(model_dir, tmp, adapter=adapter, template_gguf=template_gguf, out_type=out_type)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    gguf_cache.prune(target.parent, keep=target, limit=limit)
    return target
