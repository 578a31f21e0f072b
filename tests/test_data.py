import json
import re
from collections import Counter

import pytest

from course_utils.data import (
    COURSE_DATASET_DIR,
    DatasetFormatError,
    available_splits,
    document_text,
    load_beir,
    load_course_dataset,
    to_documents,
)


def write_beir(folder, corpus_lines, query_lines, qrels_text, split="test"):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(corpus_lines) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text("\n".join(query_lines) + "\n", encoding="utf-8")
    (folder / "qrels" / f"{split}.tsv").write_text(qrels_text, encoding="utf-8")
    return folder


GOOD_CORPUS = [
    json.dumps({"_id": "d1", "title": "강아지 산책", "text": "하루 두 번 산책합니다."}, ensure_ascii=False),
    json.dumps({"_id": "d2", "title": "고양이", "text": "고양이는 실내에서 키웁니다."}, ensure_ascii=False),
]
GOOD_QUERIES = [json.dumps({"_id": "q1", "text": "산책 횟수"}, ensure_ascii=False), '{"_id": "q2", "text": "unused"}']


def test_course_dataset_meets_the_spec():
    corpus, test_queries, test_qrels = load_course_dataset("test")
    _, train_queries, train_qrels = load_course_dataset("train")
    assert len(corpus) >= 150
    domains = Counter(doc_id.split("-")[0] for doc_id in corpus)
    assert len(domains) >= 5 and "pet" in domains
    assert len(test_queries) >= 50
    assert not set(test_queries) & set(train_queries), "train 과 test 질의 id 가 겹치면 안 됩니다"
    assert not set(test_queries.values()) & set(train_queries.values()), "train 과 test 질의 문장이 겹치면 안 됩니다"
    grades = {grade for qrels in (test_qrels, train_qrels) for judged in qrels.values() for grade in judged.values()}
    assert grades == {0, 1, 2}
    for query_id, judged in test_qrels.items():
        assert 2 in judged.values(), f"{query_id} 에 등급 2 문서가 없습니다"
    hard_negative_queries = sum(1 for judged in test_qrels.values() if 0 in judged.values())
    assert hard_negative_queries >= 0.8 * len(test_qrels)


def test_course_passages_are_two_to_six_sentences():
    corpus, _, _ = load_course_dataset()
    for doc_id, entry in corpus.items():
        sentences = [part for part in re.split(r"(?<=[.?!])\s+", entry["text"].strip()) if part]
        assert 2 <= len(sentences) <= 6, (doc_id, len(sentences))


def test_load_beir_reads_a_folder_and_keeps_only_queries_of_the_split(tmp_path):
    folder = write_beir(tmp_path, GOOD_CORPUS, GOOD_QUERIES, "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n")
    corpus, queries, qrels = load_beir(folder, "test")
    assert corpus["d1"] == {"title": "강아지 산책", "text": "하루 두 번 산책합니다."}
    assert queries == {"q1": "산책 횟수"}
    assert qrels == {"q1": {"d1": 2, "d2": 0}}
    assert available_splits(folder) == ["test"]


def test_load_beir_accepts_qrels_without_header_and_a_byte_order_mark(tmp_path):
    folder = write_beir(tmp_path, GOOD_CORPUS, GOOD_QUERIES, "\ufeffq1\td1\t1\n")
    assert load_beir(folder)[2] == {"q1": {"d1": 1}}


@pytest.mark.parametrize(
    ("corpus_lines", "qrels_text", "file_name", "line", "words"),
    [
        ([GOOD_CORPUS[0], '{"_id": "d2", "text": '], "q1\td1\t1\n", "corpus.jsonl", 2, "JSON"),
        ([GOOD_CORPUS[0], '{"title": "제목", "text": "본문"}'], "q1\td1\t1\n", "corpus.jsonl", 2, "'_id'"),
        ([GOOD_CORPUS[0], GOOD_CORPUS[0]], "q1\td1\t1\n", "corpus.jsonl", 2, "중복"),
        ([GOOD_CORPUS[0], '["d2", "목록"]'], "q1\td1\t1\n", "corpus.jsonl", 2, "JSON 객체"),
        ([GOOD_CORPUS[0], '{"_id": "d2", "text": 3}'], "q1\td1\t1\n", "corpus.jsonl", 2, "문자열"),
        (GOOD_CORPUS, "q1\td1\t1\nq1\td9\t1\n", "test.tsv", 2, "d9"),
        (GOOD_CORPUS, "q1\td1\t1\nq7\td1\t1\n", "test.tsv", 2, "q7"),
        (GOOD_CORPUS, "q1\td1\t높음\n", "test.tsv", 1, "정수"),
        (GOOD_CORPUS, "q1\td1\n", "test.tsv", 1, "3개 열"),
        (GOOD_CORPUS, "q1\td1\t-1\n", "test.tsv", 1, "0 이상"),
        (GOOD_CORPUS, "q1\td1\t1\nq1\td1\t2\n", "test.tsv", 2, "중복"),
    ],
)
def test_malformed_files_name_the_file_and_line(tmp_path, corpus_lines, qrels_text, file_name, line, words):
    folder = write_beir(tmp_path, corpus_lines, GOOD_QUERIES, qrels_text)
    with pytest.raises(DatasetFormatError) as caught:
        load_beir(folder)
    message = str(caught.value)
    assert file_name in message and f"{line}번째 줄" in message and words in message
    assert caught.value.line_number == line


def test_missing_split_lists_available_splits(tmp_path):
    folder = write_beir(tmp_path, GOOD_CORPUS, GOOD_QUERIES, "q1\td1\t1\n")
    with pytest.raises(FileNotFoundError, match=r"'dev'.*있는 분할: test"):
        load_beir(folder, "dev")


def test_missing_folder_and_wrong_argument_types(tmp_path):
    with pytest.raises(FileNotFoundError, match="폴더가 없습니다"):
        load_beir(tmp_path / "nothing")
    with pytest.raises(TypeError, match="path"):
        load_beir(None)
    with pytest.raises(ValueError, match="split"):
        load_beir(tmp_path, "  ")
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("q1\td1\t1\n", encoding="utf-8")
    with pytest.raises(FileNotFoundError, match=r"corpus\.jsonl"):
        load_beir(tmp_path)


def test_to_documents_carries_id_and_title():
    corpus = {"d1": {"title": "제목", "text": "본문입니다."}, "d2": {"title": "", "text": "제목 없음"}}
    documents = to_documents(corpus)
    assert [document.metadata for document in documents] == [{"id": "d1", "title": "제목"}, {"id": "d2", "title": ""}]
    assert documents[0].page_content == "제목\n본문입니다." and documents[1].page_content == "제목 없음"
    assert document_text(corpus["d2"]) == "제목 없음"


def test_bundled_dataset_is_in_the_installed_package():
    assert (COURSE_DATASET_DIR / "corpus.jsonl").is_file()
    assert available_splits(COURSE_DATASET_DIR) == ["test", "train"]
