"""README 의 2코어 CPU 벤치마크 표들을 저장소의 측정 파일에서 만듭니다.

사용법: python scripts/bench_readme_table.py  (course_utils/resources/bench_2core.json 을 읽어 표 두 개를 출력)
"""

from course_utils.bench import COMPARE_CANDIDATES, MODEL_SHAPES, reference_report


def _models(name: str) -> str:
    shape = MODEL_SHAPES[name]
    if shape.offline:
        return "multilingual-e5-small, 오프라인 모델"
    return ", ".join(model.split("/")[-1] for model in shape.real_models) or "FlashRank ms-marco-MultiBERT-L-12"


def main() -> None:
    report = reference_report()
    counts = sorted({row["candidates"] for row in report.rows})
    shapes = [name for name in MODEL_SHAPES if any(row["shape"] == name for row in report.rows)]
    header = " | ".join(f"후보 {count}개" for count in counts)
    print(
        f"| 모양 (해당 모델) | {' | '.join(f'후보 {count}개 p50 / p95' for count in counts)} "
        f"| 효율 (후보 {COMPARE_CANDIDATES}: 달성 ÷ 최고치 GFLOP/s) |"
    )
    print("|---|" + "---:|" * (len(counts) + 1))
    for name in shapes:
        cells = [
            f"{report.row(name, count)['p50_ms'] / 1000:.2f} / {report.row(name, count)['p95_ms'] / 1000:.2f} s"
            for count in counts
        ]
        row = report.row(name, COMPARE_CANDIDATES)
        efficiency = f"{row['efficiency']:.2f} ({row['achieved_gflops']:.0f} ÷ {row['peak_gflops']:.0f})"
        print(f"| {name} ({_models(name)}) | " + " | ".join(cells) + f" | {efficiency} |")
    print()
    print(f"| 모양 | {header} |")
    print("|---|" + "---:|" * len(counts))
    for name in shapes:
        cells = [
            f"{report.row(name, count)['ratio_predict']:.2f} / {report.row(name, count)['ratio_langchain']:.2f}"
            for count in counts
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
