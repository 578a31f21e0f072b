"""명령줄: ``python -m course_utils download --to 폴더`` (폐쇄망 교실용 모델 미리 받기),
``python -m course_utils bench [--quick] [--json 파일]`` (이 기기에서 리랭커 모양별 비용 재기),
``python -m course_utils finetune --data 폴더 --out 폴더`` (내 BEIR 데이터의 train 분할로 e5 임베딩을 더 학습하고
test 분할에서 전후 비교).

받은 폴더를 폐쇄망 머신에 옮기고 ``RERANK_COURSE_MODELS_DIR=폴더`` 를 주면 강의가 네트워크 없이 그 모델을 씁니다.
폴더 구성: ``폴더/hf/<조직>--<모델>/`` (Hugging Face 스냅숏), ``폴더/flashrank/<모델>/`` (FlashRank 압축 해제본).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def course_models() -> dict[str, list[str]]:
    """강의가 쓰는 실제 모델 목록: ``{"hf": [...], "flashrank": [...]}``."""
    from .rerankers import CROSS_ENCODER_MODELS, FLASHRANK_MODELS
    from .retrieval import OPEN_EMBEDDING_MODEL

    return {"hf": [OPEN_EMBEDDING_MODEL, *CROSS_ENCODER_MODELS], "flashrank": list(FLASHRANK_MODELS)}


def download(target: Path, only: Sequence[str] = ()) -> list[Path]:
    """모델을 ``target`` 아래에 받습니다. ``only`` 를 주면 그 이름들만 받습니다.

    Raises:
        ValueError: ``only`` 에 강의가 쓰지 않는 이름이 있을 때 (쓸 수 있는 이름을 알려 줍니다).
        course_utils.env.ModelDownloadError: 받지 못했을 때 (무엇을 하면 되는지 알려 줍니다).
    """
    from huggingface_hub import snapshot_download

    from .env import hub_folder_name, model_download_error
    from .rerankers import download_flashrank_model

    models = course_models()
    known = models["hf"] + models["flashrank"]
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(f"알 수 없는 모델 {unknown}. 쓸 수 있는 이름: {', '.join(known)}")
    saved = []
    for repo_id in models["hf"]:
        if not only or repo_id in only:
            print(f"Hugging Face 스냅숏 받는 중: {repo_id}", flush=True)
            final = target / "hf" / hub_folder_name(repo_id)
            if final.is_dir():
                saved.append(final)
                continue
            # 다 받은 뒤에야 최종 이름으로 옮깁니다: 실패해도 반쯤 받은 폴더를 강의가 모델로 읽지 않고,
            # 다시 실행하면 .partial 폴더에서 이어 받습니다.
            partial = final.with_name(f".partial-{final.name}")
            try:
                downloaded = Path(snapshot_download(repo_id, local_dir=partial))
            except (ImportError, ValueError):
                raise
            except Exception as error:
                raise model_download_error(repo_id, error) from error
            os.replace(downloaded, final)
            saved.append(final)
    for name in models["flashrank"]:
        if not only or name in only:
            print(f"FlashRank 모델 받는 중: {name}", flush=True)
            saved.append(download_flashrank_model(name, target / "flashrank"))
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils", description="reranker-course 도구")
    commands = parser.add_subparsers(dest="command", required=True)
    download_parser = commands.add_parser("download", help="폐쇄망 교실용으로 강의의 실제 모델을 미리 받습니다")
    download_parser.add_argument("--to", type=Path, required=True, help="저장할 폴더")
    download_parser.add_argument("--models", nargs="*", default=[], help="이 이름들만 받습니다 (기본: 전부)")
    bench_parser = commands.add_parser("bench", help="이 기기에서 강의 리랭커 모양들의 지연 시간·효율을 잽니다")
    bench_parser.add_argument(
        "--quick", action="store_true", help="작은 모양 두 개(TinyBERT-L2, 오프라인 e5-small), 후보 10·20개만"
    )
    bench_parser.add_argument("--json", type=Path, help="결과(기기 정보와 모든 수치)를 이 JSON 파일에 저장")
    bench_parser.add_argument(
        "--shapes",
        nargs="+",
        help="잴 모양 이름 (기본: 크로스 인코더 모양 여섯 개, --quick 이면 작은 두 개; Qwen3-Reranker-0.6B 는 이름으로)",
    )
    bench_parser.add_argument("--candidates", nargs="+", type=int, help="질의당 후보 수들 (기본: 10 20 50 100)")
    bench_parser.add_argument("--queries", type=int, help="후보 수마다 잴 질의 수 (기본: 5, --quick 이면 3)")
    bench_parser.add_argument(
        "--agreement-queries",
        type=int,
        help="fp32 와 int8 의 순위 일치를 잴 test 질의 수 (기본: test 질의 100개 전부, --quick 이면 10)",
    )
    bench_parser.add_argument(
        "--cold-start",
        nargs="*",
        help="load_reranker 부터 첫 점수까지 잴 백엔드 (기본: cross-encoder flashrank feature-ltr, --quick 이면 "
        "cross-encoder; 이름 없이 주면 재지 않음)",
    )
    finetune_parser = commands.add_parser(
        "finetune", help="BEIR 폴더의 train 분할로 오프라인 e5 임베딩을 더 학습하고 test 분할에서 전후를 잽니다"
    )
    finetune_parser.add_argument("--data", type=Path, help="BEIR 폴더 (train·test 분할 필요, 기본: 강의 데이터셋)")
    finetune_parser.add_argument("--out", type=Path, required=True, help="학습한 모델을 저장할 폴더")
    finetune_parser.add_argument(
        "--steps", type=int, default=None, help="학습 걸음 수 (기본: 24, 2코어 CPU 에서 3분 안쪽)"
    )
    finetune_parser.add_argument("--seed", type=int, default=0, help="난수 씨앗 (같으면 같은 결과)")
    args = parser.parse_args(argv)

    if args.command == "finetune":
        return _finetune(parser, args)

    if args.command == "bench":
        from .bench import run_benchmark

        try:
            report = run_benchmark(
                quick=args.quick,
                shapes=args.shapes,
                candidates=args.candidates,
                queries=args.queries,
                agreement_queries=args.agreement_queries,
                cold_start_backends=args.cold_start,
            )
        except ValueError as error:
            parser.error(str(error))
        print(report)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(report.to_json(), encoding="utf-8")
            print(f"저장: {args.json}")

    if args.command == "download":
        from .env import ModelDownloadError

        try:
            saved = download(args.to, args.models)
        except ValueError as error:
            parser.error(str(error))
        except ModelDownloadError as error:
            # 긴 추적(traceback) 대신 무엇이 실패했고 무엇을 하면 되는지만 알립니다. 받은 모델은 그대로 둡니다.
            print(f"오류: {error}", file=sys.stderr)
            print("같은 명령을 다시 실행하면 이미 받은 모델은 건너뛰고 이어 받습니다.", file=sys.stderr)
            return 1
        print(f"\n{len(saved)}개 모델을 {args.to} 에 받았습니다. 폐쇄망 머신에서:")
        print(f"  export RERANK_COURSE_MODELS_DIR={args.to.resolve()}")
    return 0


def _finetune(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from .data import COURSE_DATASET_DIR, available_splits
    from .display import metrics_table
    from .finetune import DEFAULT_STEPS, finetune_embeddings, first_stage_results
    from .offline_models import bi_encoder_path

    data = args.data or COURSE_DATASET_DIR
    if not data.is_dir() or not {"train", "test"} <= set(available_splits(data)):
        parser.error(f"--data 는 qrels/train.tsv 와 qrels/test.tsv 가 있는 BEIR 폴더여야 합니다 (받은 값: {data}).")
    try:
        report = finetune_embeddings(data, args.out, steps=args.steps or DEFAULT_STEPS, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    print(
        f"학습: 세 쌍 {report.triplets}개, {report.steps}걸음, {report.wall_seconds:.0f}초 "
        f"(CPU {report.cpu_seconds:.0f}초), 손실 {report.losses[0]:.3f} → {report.losses[-1]:.3f} · 저장: {args.out}"
    )
    results = first_stage_results(data, {"e5 (학습 전)": bi_encoder_path(), "e5 (학습 후)": args.out})
    print("test 분할의 1단계 벡터 검색, 후보 20개:")
    print(metrics_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
