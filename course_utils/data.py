"""BEIR 형식 데이터 읽기: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

강의에 딸린 한국어 데이터셋도, 여러분이 가져온 데이터도 같은 함수로 읽습니다.

Example:
    >>> corpus, queries, qrels = load_course_dataset("test")
    >>> len(corpus) >= 150 and len(queries) >= 50
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

from langchain_core.documents import Document

#: 강의용 한국어 데이터셋 위치 (패키지에 함께 설치됩니다).
COURSE_DATASET_DIR = Path(__file__).resolve().parent / "datasets" / "korean_rag"
QRELS_HEADER = ("query-id", "corpus-id", "score")

Corpus = dict[str, dict[str, str]]
Queries = dict[str, str]
Qrels = dict[str, dict[str, int]]


class DatasetFormatError(ValueError):
    """BEIR 파일의 특정 줄이 형식에 맞지 않을 때 발생합니다 (파일과 줄 번호를 알려 줍니다)."""

    def __init__(self, path: Path, line_number: int, problem: str) -> None:
        super().__init__(f"{path} 의 {line_number}번째 줄: {problem}")
        self.path = path
        self.line_number = line_number


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    if not path.is_file():
        raise FileNotFoundError(f"BEIR 파일이 없습니다: {path}")
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DatasetFormatError(path, line_number, f"JSON 으로 읽을 수 없습니다 ({error.msg}).") from None
            if not isinstance(record, dict):
                raise DatasetFormatError(path, line_number, "한 줄에 JSON 객체({...}) 하나가 있어야 합니다.")
            yield line_number, record


def _string_field(record: dict, field: str, path: Path, line_number: int, *, required: bool = True) -> str:
    value = record.get(field, None if required else "")
    if value is None:
        raise DatasetFormatError(path, line_number, f"필수 필드가 없습니다: '{field}'.")
    if isinstance(value, int) and field == "_id":
        value = str(value)
    if not isinstance(value, str):
        raise DatasetFormatError(path, line_number, f"필드 '{field}' 의 값은 문자열이어야 합니다 (받은 값: {value!r}).")
    if field == "_id" and not value.strip():
        raise DatasetFormatError(path, line_number, "'_id' 가 비어 있습니다.")
    return value


def _read_corpus(path: Path) -> Corpus:
    corpus: Corpus = {}
    for line_number, record in _jsonl_records(path):
        doc_id = _string_field(record, "_id", path, line_number)
        text = _string_field(record, "text", path, line_number)
        title = _string_field(record, "title", path, line_number, required=False)
        if doc_id in corpus:
            raise DatasetFormatError(path, line_number, f"문서 id 가 중복됩니다: '{doc_id}'.")
        if not text.strip() and not title.strip():
            raise DatasetFormatError(path, line_number, f"문서 '{doc_id}' 의 title 과 text 가 모두 비어 있습니다.")
        corpus[doc_id] = {"title": title, "text": text}
    if not corpus:
        raise ValueError(f"{path} 에 문서가 하나도 없습니다.")
    return corpus


def _read_queries(path: Path) -> Queries:
    queries: Queries = {}
    for line_number, record in _jsonl_records(path):
        query_id = _string_field(record, "_id", path, line_number)
        text = _string_field(record, "text", path, line_number)
        if query_id in queries:
            raise DatasetFormatError(path, line_number, f"질의 id 가 중복됩니다: '{query_id}'.")
        if not text.strip():
            raise DatasetFormatError(path, line_number, f"질의 '{query_id}' 의 text 가 비어 있습니다.")
        queries[query_id] = text
    return queries


def _read_qrels(path: Path, corpus: Corpus, queries: Queries) -> Qrels:
    if not path.is_file():
        raise FileNotFoundError(f"BEIR 파일이 없습니다: {path}")
    qrels: Qrels = {}
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if line_number == 1 and tuple(field.strip() for field in fields) == QRELS_HEADER:
                continue
            if len(fields) != 3:
                raise DatasetFormatError(
                    path,
                    line_number,
                    f"탭으로 나뉜 3개 열(query-id, corpus-id, score)이 필요합니다 (받은 열: {len(fields)}개).",
                )
            query_id, doc_id, grade_text = (field.strip() for field in fields)
            try:
                grade = int(grade_text)
            except ValueError:
                raise DatasetFormatError(
                    path, line_number, f"score 는 정수여야 합니다 (받은 값: {grade_text!r})."
                ) from None
            if grade < 0:
                raise DatasetFormatError(path, line_number, f"score 는 0 이상이어야 합니다 (받은 값: {grade}).")
            if query_id not in queries:
                raise DatasetFormatError(path, line_number, f"queries.jsonl 에 없는 질의 id '{query_id}' 입니다.")
            if doc_id not in corpus:
                raise DatasetFormatError(path, line_number, f"corpus.jsonl 에 없는 문서 id '{doc_id}' 입니다.")
            if doc_id in qrels.get(query_id, {}):
                raise DatasetFormatError(path, line_number, f"('{query_id}', '{doc_id}') 쌍이 중복됩니다.")
            qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def available_splits(path: str | Path) -> list[str]:
    """``qrels/`` 폴더에 있는 분할 이름들 (예: ``["test", "train"]``)."""
    return sorted(file.stem for file in (Path(path) / "qrels").glob("*.tsv"))


def load_beir(path: str | Path, split: str = "test") -> tuple[Corpus, Queries, Qrels]:
    """BEIR 형식 폴더를 읽습니다.

    Args:
        path: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv`` 가 있는 폴더.
        split: 읽을 qrels 분할 이름 (예: ``"test"``, ``"train"``).

    Returns:
        ``(corpus, queries, qrels)``. ``corpus[doc_id] = {"title", "text"}``,
        ``queries[query_id] = text`` (이 분할의 qrels 에 나오는 질의만),
        ``qrels[query_id][doc_id] = grade`` (0 이면 관련 없음으로 판정된 문서).

    Raises:
        FileNotFoundError: 폴더나 파일이 없을 때 (있는 분할 목록을 알려 줍니다).
        DatasetFormatError: 파일의 한 줄이 형식에 맞지 않을 때 (파일과 줄 번호 포함).
    """
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path 는 폴더 경로(str 또는 Path)여야 합니다 (받은 값: {type(path).__name__}).")
    if not isinstance(split, str) or not split.strip():
        raise ValueError(f"split 은 비어 있지 않은 문자열이어야 합니다 (받은 값: {split!r}).")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"BEIR 데이터 폴더가 없습니다: {folder}")
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        splits = ", ".join(available_splits(folder)) or "없음"
        raise FileNotFoundError(f"분할 '{split}' 의 qrels 파일이 없습니다: {qrels_path} (있는 분할: {splits})")
    corpus = _read_corpus(folder / "corpus.jsonl")
    all_queries = _read_queries(folder / "queries.jsonl")
    qrels = _read_qrels(qrels_path, corpus, all_queries)
    queries = {query_id: all_queries[query_id] for query_id in qrels}
    return corpus, queries, qrels


def load_course_dataset(split: str = "test") -> tuple[Corpus, Queries, Qrels]:
    """강의용 한국어 데이터셋(5개 분야, 등급 0–2)을 읽습니다. ``load_beir`` 와 같은 결과 형식입니다."""
    return load_beir(COURSE_DATASET_DIR, split)


def document_text(entry: Mapping[str, str]) -> str:
    """제목과 본문을 검색·리랭킹에 쓰는 한 문자열로 합칩니다 (BEIR 관례)."""
    title = entry.get("title", "").strip()
    text = entry.get("text", "").strip()
    return f"{title}\n{text}" if title else text


def to_documents(corpus: Corpus) -> list[Document]:
    """말뭉치를 LangChain ``Document`` 목록으로 바꿉니다. ``metadata`` 에 ``id`` 와 ``title`` 이 들어갑니다."""
    return [
        Document(page_content=document_text(entry), metadata={"id": doc_id, "title": entry.get("title", "")})
        for doc_id, entry in corpus.items()
    ]
