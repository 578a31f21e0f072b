"""각 백엔드를 실제 라이브러리 경로로, 오프라인 모델(e5-small, 크로스 인코더 모양)과 함께 돌려 봅니다."""

import logging
import shutil
import sys

import pytest
import requests
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
from langchain_cohere import CohereRerank
from langchain_community.document_compressors import FlashrankRerank, JinaRerank

from course_utils.data import to_documents
from course_utils.env import hub_folder_name
from course_utils.offline_models import OFFLINE_RERANKER_LABEL, cross_encoder_path
from course_utils.rerankers import load_reranker
from course_utils.retrieval import build_retriever

QUERY = "강아지 예방접종은 언제 시작하나요?"
PASSAGES = [
    "고양이 사료는 나이에 맞게 고릅니다.",
    "강아지 기본 예방접종은 생후 6~8주에 시작합니다.",
    "여권을 잃어버리면 재외공관에 신고합니다.",
    "강아지 산책은 하루 두 번이 좋습니다.",
]


@pytest.fixture(scope="module")
def offline_scores():
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(cross_encoder_path()), device="cpu", trust_remote_code=True)
    return [float(score) for score in model.predict([(QUERY, text) for text in PASSAGES])]


@pytest.fixture(scope="module")
def pipeline_retriever(course_test_split):
    return build_retriever(to_documents(course_test_split[0]), kind="bm25", k=8)


def assert_pipeline_scores(compressor, retriever, top_n):
    found = ContextualCompressionRetriever(base_compressor=compressor, base_retriever=retriever).invoke(QUERY)
    assert len(found) == top_n
    scores = [document.metadata["relevance_score"] for document in found]
    assert scores == sorted(scores, reverse=True)
    assert all("id" in document.metadata and "title" in document.metadata for document in found)


@pytest.mark.parametrize("backend", ["cross-encoder", "cohere", "jina", "flashrank"])
def test_every_backend_offline_is_an_announced_stand_in_with_the_same_scores(backend, offline_scores, capsys):
    reranker = load_reranker(backend)
    assert reranker.is_standin and "대체 모델" in reranker.describe()
    # describe() 는 실제로 돈 모델과 그것이 대신하는 모델을 함께 말합니다.
    assert OFFLINE_RERANKER_LABEL in reranker.describe() and reranker.model in reranker.describe()
    results = reranker.rank(QUERY, PASSAGES)
    assert sorted(result.index for result in results) == [0, 1, 2, 3]
    by_index = {result.index: result.score for result in results}
    # 네 백엔드 모두 같은 오프라인 모델을 각자의 라이브러리 경로(ST, HTTP API, ONNX)로 부릅니다.
    assert [by_index[i] for i in range(4)] == pytest.approx(offline_scores, abs=1e-4)
    assert results[0].index == 1  # 실제 가중치라서 답이 든 문단이 1등입니다
    load_reranker(backend)
    assert capsys.readouterr().out.count("[대체 모델 사용]") <= 1


@pytest.mark.parametrize(
    ("backend", "compressor_class"),
    [
        ("cross-encoder", CrossEncoderReranker),
        ("cohere", CohereRerank),
        ("jina", JinaRerank),
        ("flashrank", FlashrankRerank),
    ],
)
def test_compressors_are_the_real_langchain_classes(backend, compressor_class, pipeline_retriever):
    compressor = load_reranker(backend).as_compressor(top_n=3)
    assert isinstance(compressor, compressor_class)
    assert_pipeline_scores(compressor, pipeline_retriever, top_n=3)


def test_cross_encoder_scores_without_loading_langchain_and_wraps_the_same_model_for_pipelines():
    import subprocess

    child = (
        "import sys\n"
        "from course_utils.rerankers import load_reranker\n"
        "reranker = load_reranker('cross-encoder')\n"
        "assert reranker.rank('질의', ['문서'])[0].score > 0\n"
        "print(sorted(name for name in ('langchain_community', 'langchain_classic.retrievers') if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300, check=False)
    # rank() 만 쓰면 LangChain 의 검색기 모듈을 불러오지 않습니다 (새 프로세스의 첫 점수가 그만큼 빠름).
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "[]", done.stderr[-2000:]
    reranker = load_reranker("cross-encoder")
    compressor = reranker.as_compressor(top_n=2)
    # 파이프라인용 HuggingFaceCrossEncoder 는 모델을 다시 불러오지 않고 이미 불러온 그 모델을 씁니다.
    assert type(compressor.model).__name__ == "HuggingFaceCrossEncoder"
    assert compressor.model.client is reranker._encoder
    assert compressor.model.model_name == str(cross_encoder_path())


def test_api_backends_put_a_timeout_on_every_request():
    cohere_backend = load_reranker("cohere")
    assert cohere_backend._client._client_wrapper.get_timeout() == 30
    jina = load_reranker("jina").as_compressor(2)
    assert jina.session._timeout == 30


def test_flashrank_uses_the_course_cache_not_tmp_and_tames_logging(fresh_runtime, tmp_path, monkeypatch):
    # 이미 만든 오프라인 모델을 새 캐시에 복사해 다시 만들지 않게 합니다.
    shutil.copytree(cross_encoder_path().parents[1], tmp_path / "cache" / "offline-models")
    monkeypatch.setenv("RERANK_COURSE_CACHE", str(tmp_path / "cache"))
    fresh_runtime()
    root = logging.getLogger()
    handlers_before, level_before = list(root.handlers), root.level
    reranker = load_reranker("flashrank")
    assert root.handlers == handlers_before and root.level == level_before
    assert str(reranker._ranker.cache_dir).startswith(str(tmp_path / "cache"))


def test_cross_encoder_loads_from_the_air_gapped_models_dir(monkeypatch, tmp_path, fresh_runtime, offline_scores):
    """폐쇄망 경로: 미리 받은 폴더에 모델이 있으면 대체 모델이 아니라 그 모델을 씁니다 (여기서는 오프라인 모델 파일로 흉내)."""
    shutil.copytree(cross_encoder_path(), tmp_path / "hf" / hub_folder_name("BAAI/bge-reranker-v2-m3"))
    monkeypatch.setenv("RERANK_COURSE_MODELS_DIR", str(tmp_path))
    fresh_runtime()
    reranker = load_reranker("cross-encoder", trust_remote_code=True)
    assert not reranker.is_standin and reranker.model == "BAAI/bge-reranker-v2-m3"
    assert [result.score for result in reranker.rank(QUERY, PASSAGES[:1])] == pytest.approx(
        offline_scores[:1], abs=1e-5
    )


def test_flashrank_loads_from_the_air_gapped_models_dir(monkeypatch, tmp_path, fresh_runtime):
    from flashrank.Config import model_file_map

    from course_utils.offline_models import FLASHRANK_FILE, build_flashrank_folder

    cache = tmp_path / "cache"
    name = build_flashrank_folder(cache)
    target = tmp_path / "models" / "flashrank" / "ms-marco-MultiBERT-L-12"
    shutil.copytree(cache / name, target)
    (target / FLASHRANK_FILE).rename(target / model_file_map["ms-marco-MultiBERT-L-12"])
    monkeypatch.setenv("RERANK_COURSE_MODELS_DIR", str(tmp_path / "models"))
    fresh_runtime()
    reranker = load_reranker("flashrank")
    assert not reranker.is_standin and len(reranker.rank(QUERY, PASSAGES)) == 4


def test_long_documents_are_truncated_with_a_warning():
    reranker = load_reranker("cross-encoder", max_length=64)
    with pytest.warns(UserWarning, match="max_length=64"):
        results = reranker.rank(QUERY, ["강아지 예방접종 " * 200, "짧은 문서"])
    assert len(results) == 2


def test_missing_package_gives_the_pip_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "flashrank", None)
    with pytest.raises(ImportError, match="pip install flashrank"):
        load_reranker("flashrank")


def test_unknown_models_per_backend_list_the_choices():
    with pytest.raises(ValueError, match=r"rerank-v3\.5"):
        load_reranker("cohere", "rerank-english-v2.0")
    with pytest.raises(ValueError, match="ms-marco-MultiBERT-L-12"):
        load_reranker("flashrank", "bge")


def test_cohere_rejects_a_bad_key_through_the_real_sdk():
    """로컬 API 서버도 잘못된 키에는 401 로 답하고, SDK 는 그것을 오류로 올립니다."""
    import cohere

    from course_utils.rerank_server import shared_offline_server

    client = cohere.ClientV2(api_key="wrong-key", base_url=shared_offline_server().url, timeout=10)
    with pytest.raises(cohere.errors.UnauthorizedError):
        client.rerank(model="rerank-v3.5", query=QUERY, documents=PASSAGES)
    assert requests.post(f"{shared_offline_server().url}/v1/rerank", json={}, timeout=10).status_code == 401


@pytest.mark.parametrize("backend", ["cross-encoder", "cohere", "jina", "flashrank"])
def test_bad_and_odd_inputs_on_every_backend(backend):
    reranker = load_reranker(backend)
    for query, error in (("", ValueError), ("   ", ValueError), (None, TypeError)):
        with pytest.raises(error, match="query"):
            reranker.rank(query, PASSAGES)
    with pytest.raises(TypeError, match=r"documents\[1\]"):
        reranker.rank(QUERY, [PASSAGES[0], None])
    with pytest.raises(ValueError, match="top_n"):
        reranker.rank(QUERY, PASSAGES, top_n=0)
    assert len(reranker.rank(QUERY, [])) == 0
    assert len(reranker.rank(QUERY, PASSAGES, top_n=99)) == len(PASSAGES)
    twins = reranker.rank(QUERY, [PASSAGES[1], PASSAGES[1]])
    assert twins[0].score == pytest.approx(twins[1].score, abs=1e-6)
    assert len(reranker.rank("🐶 강아지 vaccine 接種?", ["🐶🐶", "", "Dog vaccination 강아지 접종"])) == 3


def test_flashrank_warns_about_truncated_documents():
    reranker = load_reranker("flashrank", max_length=64)
    with pytest.warns(UserWarning, match="max_length=64"):
        assert len(reranker.rank(QUERY, ["강아지 예방접종 " * 200, "짧은 문서"])) == 2
