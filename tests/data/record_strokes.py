"""Record the stroke sets of strokes.json: digit-shaped pen paths (3 per digit, jittered) drawn with the mouse on the
live Draw pad in headless Chromium, kept as the pad recorded them from its pointer events (pad pixels, 256 x 256).

    .venv/bin/python tests/data/record_strokes.py     # rewrites tests/data/strokes.json
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def _arc(cx, cy, rx, ry, a0, a1, n=10):
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


TEMPLATES = {
    0: [_arc(128, 128, 55, 85, -90, 270, 16)],
    1: [[(120, 50), (135, 40), (132, 215)]],
    2: [[*_arc(128, 95, 50, 45, 200, 360, 8), (100, 200), (80, 215), (185, 212)]],
    3: [_arc(125, 85, 48, 40, 210, 450, 8) + _arc(125, 168, 55, 45, 270, 510, 8)[1:]],
    4: [[(150, 45), (75, 160), (190, 160)], [(160, 100), (155, 225)]],
    5: [[(180, 50), (95, 52), (88, 120), *_arc(125, 160, 55, 50, 230, 500, 10)[1:]]],
    6: [[(165, 45), (110, 100), *_arc(125, 170, 50, 45, 200, 560, 14)]],
    7: [[(70, 60), (195, 58), (120, 235)]],
    8: [_arc(128, 85, 40, 38, 90, 450, 12) + _arc(128, 165, 50, 45, -90, 270, 14)],
    9: [_arc(125, 95, 45, 40, 0, 360, 12), [(170, 95), (160, 225)]],
}


def jittered(strokes, rng):
    s, dx, dy = rng.uniform(0.6, 1.05), rng.uniform(-25, 25), rng.uniform(-20, 20)
    return [[(128 + (x - 128) * s + dx + rng.gauss(0, 2), 128 + (y - 128) * s + dy + rng.gauss(0, 2)) for x, y in st]
            for st in strokes]  # fmt: skip


def main() -> None:
    from playwright.sync_api import sync_playwright

    from bench.load import CHROMIUM, FLAGS
    from tests.test_live_draw import draw_live, static_server

    rng = random.Random(19)
    recorded = []
    with sync_playwright() as p, static_server(ROOT / "components" / "live_draw") as url:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.goto(f"{url}/index.html")
        page.wait_for_function("window.__liveDraw !== undefined")
        for digit in range(10):
            for _ in range(3):
                page.evaluate("window.__liveDraw.setStrokes([])")
                draw_live(page, page, jittered(TEMPLATES[digit], rng), steps=6)
                strokes = page.evaluate("window.__liveDraw.strokes()")
                recorded.append([[[round(x, 2), round(y, 2)] for x, y in s] for s in strokes])
        browser.close()
    (HERE / "strokes.json").write_text(json.dumps(recorded, separators=(",", ":")) + "\n")
    print(f"recorded {len(recorded)} stroke sets, {sum(len(s) for r in recorded for s in r)} points")


if __name__ == "__main__":
    main()
