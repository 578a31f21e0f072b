"""README 의 2코어 CPU 벤치마크 표를 저장소의 측정 파일에서 만듭니다.

사용법: python scripts/bench_readme_table.py  (course_utils/resources/bench_2core.json 을 읽어 표를 출력)
"""

from course_utils.bench import CROSS_ENCODER_SHAPES, MODEL_SHAPES, reference_report


def main() -> None:
    report = reference_report()
    counts = sorted({row["candidates"] for row in report.rows})
    print("| 모양 (해당 모델) | " + " | ".join(f"후보 {count}개 p50 / p95" for count in counts) + " | 효율 (후보 20) |")
    print("|---|" + "---:|" * (len(counts) + 1))
    for name in CROSS_ENCODER_SHAPES:
        shape = MODEL_SHAPES[name]
        cells = []
        for count in counts:
            row = report.row(name, count)
            cells.append(f"{row['p50_ms'] / 1000:.2f} / {row['p95_ms'] / 1000:.2f} s")
        models = ", ".join(model.split("/")[-1] for model in shape.real_models) or "FlashRank ms-marco-MultiBERT-L-12"
        print(f"| {name} ({models}) | " + " | ".join(cells) + f" | {report.row(name, 20)['efficiency']:.2f} |")


if __name__ == "__main__":
    main()
