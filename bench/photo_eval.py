"""What the photo checks decide on real faces: the rates README "Photo checks" reports.

    .venv/bin/python bench/photo_eval.py [--photos DIR] [--rounds N] [--seed S] [--json OUT]

``--photos`` is a folder laid out as tests/data/photos (the default): ``london-neutral/``
portraits with their .tem landmark files, ``london-smiling/``, ``selfies/``, and optionally
``yale/`` (the Yale Face Database's ``NN_kind.png``: its closed eyes, winks and open mouths
are the only real ones; its pictures are 320 x 243, so they are enlarged 2x to pass the
pixel rule). The development sets live outside the repository; see the README.

For the good photos: accepted automatically, sent to review, refused. For each defect: how
many were caught (refused or reviewed), caught with the reason that names the defect,
refused with it, and given that reason only. Then the crown estimate's error against the
.tem files, and the hard rules.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kofu.base.photo_rules import PhotoRules  # noqa: E402
from kofu.tasks.photos.core import check_photo  # noqa: E402
from kofu.tasks.photos.landmarks import default_landmarker  # noqa: E402
from kofu.tasks.photos.measures import head_of  # noqa: E402
from tests import photo_defects as d  # noqa: E402
from tests.photo_corpus import REPO_PHOTOS, SEED, SUBMITTED_AT, Variant, corpus, evaluate, jpeg  # noqa: E402

# Yale kinds and what they must give: a reason, or nothing at all (None).
YALE = {
    "sleepy": "eyes-closed",
    "wink": "eyes-closed",
    "surprised": "mouth-open",
    "normal": None,
    "noglasses": None,
    "glasses": None,
    "happy": None,
}


def yale_variants(folder: Path) -> list[Variant]:
    out = []
    for path in sorted(folder.glob("*.png")):
        kind = path.stem.split("_", 1)[1]
        if kind not in YALE:
            continue
        grey = Image.open(path).convert("L")
        big = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
        code = YALE[kind]
        out.append(
            Variant(
                f"yale/{path.stem}",
                "valid" if code is None else "defect",
                frozenset() if code is None else frozenset({code}),
                jpeg(big, 92),
                how="real",
            )
        )
    return out


def crown_error(folder: Path) -> dict:
    """The landmark crown and chin against the .tem files' points 151 and 129, as a share
    of the true crown-to-chin height, on each portrait as it is (decoded as the stage does)."""
    errors, chins = [], []
    landmarker = default_landmarker()
    for p in d.load_portraits(folder):
        if p.points is None:
            continue
        image = Image.open(__import__("io").BytesIO(jpeg(p.rgb)))
        image.draft("RGB", (480, 480))
        rgb = np.asarray(image.convert("RGB"))
        k = rgb.shape[1] / p.rgb.shape[1]
        faces = landmarker.find(rgb)
        if not faces:
            continue
        head = head_of(faces[0])
        true_head = p.head * k
        errors.append((head.crown[1] - p.points[d.CROWN, 1] * k) / true_head)
        chins.append((head.chin[1] - p.points[d.CHIN, 1] * k) / true_head)
    e, c = np.abs(errors), np.abs(chins)
    return {
        "portraits": len(errors),
        "crown_mean": float(e.mean()),
        "crown_p95": float(np.percentile(e, 95)),
        "crown_max": float(e.max()),
        "chin_mean": float(c.mean()),
        "chin_p95": float(np.percentile(c, 95)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=REPO_PHOTOS)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--list", action="store_true", help="print every miss and false call")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rules = PhotoRules()
    started = time.time()
    variants = corpus(args.photos, args.seed, args.rounds)
    if (args.photos / "yale").is_dir():
        variants = (*variants, *yale_variants(args.photos / "yale"))
    built = time.time() - started
    verdicts = {}
    for v in variants:
        verdict = check_photo(v.data, rules, SUBMITTED_AT)
        verdicts[v.name + "|" + v.how] = (set(verdict.codes), set(verdict.review_codes))
    checked = time.time() - started - built

    def check(v: Variant) -> tuple[set, set]:
        return verdicts[v.name + "|" + v.how]

    # The Yale pictures are small, grey, badly framed and lit: they speak only for the eyes
    # and the mouth, so only those reasons are counted on them (reported apart).
    yale = [v for v in variants if v.name.startswith("yale/")]
    variants = tuple(v for v in variants if not v.name.startswith("yale/"))
    result = evaluate(variants, check)
    hard = [v for v in variants if v.kind == "hard"]
    hard_exact = sum(check(v)[0] == set(v.expect) and not check(v)[1] for v in hard)
    valid = result["valid"]
    print(
        f"{len(variants)} photos from {args.photos} (built {built:.0f} s, checked {checked:.0f} s)"
    )
    print(
        f"good photos: {valid['total']}, accepted {valid['accepted']} "
        f"({valid['accepted'] / valid['total']:.1%}), reviewed {valid['reviewed']}, "
        f"refused {valid['refused']} ({valid['refused'] / valid['total']:.1%})"
    )
    print(f"hard rules: {hard_exact}/{len(hard)} with exactly their codes")
    print(
        "| reason | photos | caught | with its reason | refused with it | its reason only | other reasons given |"
    )
    print("|---|---|---|---|---|---|---|")
    total = Counter()
    for code, t in result["reasons"].items():
        others = ", ".join(f"`{k}` {n}" for k, n in sorted(t.others.items(), key=lambda kv: -kv[1]))
        print(
            f"| `{code}` | {t.total} | {t.caught}/{t.total} | {t.named}/{t.total} | "
            f"{t.refused}/{t.total} | {t.only}/{t.total} | {others} |"
        )
        total.update(total=t.total, caught=t.caught, named=t.named, refused=t.refused, only=t.only)
    print(
        f"| all defects | {total['total']} | {total['caught'] / total['total']:.1%} | "
        f"{total['named'] / total['total']:.1%} | {total['refused'] / total['total']:.1%} | "
        f"{total['only'] / total['total']:.1%} | |"
    )
    crown = (
        crown_error(args.photos / "london-neutral")
        if (args.photos / "london-neutral").is_dir()
        else {}
    )
    if crown:
        print(
            f"crown estimate on {crown['portraits']} portraits: mean error {crown['crown_mean']:.1%} "
            f"of the head's height, p95 {crown['crown_p95']:.1%}, max {crown['crown_max']:.1%}; "
            f"chin mean {crown['chin_mean']:.1%}, p95 {crown['chin_p95']:.1%}"
        )
    if yale:
        own = {"eyes-closed", "mouth-open"}
        for kind in ("sleepy", "wink", "surprised"):
            shots = [v for v in yale if v.name.endswith("_" + kind)]
            named = sum(v.expect <= (check(v)[0] | check(v)[1]) for v in shots)
            refused = sum(v.expect <= check(v)[0] for v in shots)
            print(
                f"Yale {kind}: {named}/{len(shots)} with {sorted(shots[0].expect)[0]}, {refused} refused"
            )
        open_ones = [v for v in yale if v.kind == "valid"]
        false = sum(bool((check(v)[0] | check(v)[1]) & own) for v in open_ones)
        print(
            f"Yale open eyes, mouth closed: {false}/{len(open_ones)} given eyes-closed or mouth-open"
        )
    if args.list:
        for v in variants:
            refused, reviewed = check(v)
            given = refused | reviewed
            if v.kind == "valid" and given or v.kind == "defect" and not v.expect <= given:
                print(
                    f"  {v.kind:6s} {v.name} [{v.how}] expect {sorted(v.expect)} refused {sorted(refused)} reviewed {sorted(reviewed)}"
                )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "valid": valid,
                    "hard_exact": [hard_exact, len(hard)],
                    "reasons": {k: vars(t) for k, t in result["reasons"].items()},
                    "crown": crown,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
