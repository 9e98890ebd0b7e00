"""Rewrite the results table of reference-models/README.md from training-logs/*.json."""
import json
import os

import common

ORDER = ["vit", "deepvit", "mobilevit", "mobilevitv2", "efficientvit", "navit", "memvit", "detr"]
BARS = {"vit": "top-1 >= 0.87", "deepvit": "top-1 >= 0.87", "mobilevit": "top-1 >= 0.90",
        "mobilevitv2": "top-1 >= 0.90", "efficientvit": "top-1 >= 0.90", "navit": "stream top-1 >= 0.85",
        "memvit": "A >= 0.87, B >= 0.93, A unchanged", "detr": "mAP@0.5 >= 0.5"}
START, END = "<!-- results:start -->", "<!-- results:end -->"


def metric_text(log):
    m = log["metric"]["pytorch"]
    if isinstance(m, dict):
        s = f"A {m['task_a']:.4f}, B {m['task_b']:.4f}"
        if "task_a_bit_identical_to_base" in log:
            s += ", A bit-identical: " + str(log["task_a_bit_identical_to_base"]).lower()
        return s
    return f"{m:.4f}"


def main():
    rows = ["| model | paper | PyTorch metric | bar | params | epochs | train min | ONNX MB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in ORDER:
        path = os.path.join(common.LOGS_DIR, f"{name}.json")
        if not os.path.exists(path):
            rows.append(f"| {name} | | not trained yet | {BARS[name]} | | | | |")
            continue
        log = json.load(open(path))
        ext = sum(1 for h in log.get("history", []) if h.get("extension"))
        epochs = f"{log['training']['epochs']}+{ext} ext" if ext else str(log["training"]["epochs"])
        rows.append(f"| {name} | {log['paper']['title']} ({log['paper']['year']}) | {metric_text(log)} | "
                    f"{BARS[name]} | {log['params']:,} | {epochs} | {log['train_minutes']} | "
                    f"{log['onnx']['bytes'] / 1e6:.2f} |")
    table = START + "\n" + "\n".join(rows) + "\n" + END
    readme = os.path.join(common.REF_DIR, "README.md")
    text = open(readme).read()
    if START in text:
        text = text[:text.index(START)] + table + text[text.index(END) + len(END):]
    else:
        text = text.replace("RESULTS_TABLE", table)
    open(readme, "w").write(text)
    print(table)


if __name__ == "__main__":
    main()
