"""How fast the photo checks run: photos checked per second, one process, one thread.

    .venv/bin/python bench/photo_speed.py [--seconds 5] [--detectors]

Three sizes of JPEG are made from scikit-image's astronaut portrait (a real photograph in a
package: the bench needs nothing outside the repository), upscaled with sensor
noise so that their files weigh what real ones do: 640x480 (~100 KB), 1536x2048 (~600 KB)
and a 4032x3024 smartphone photo (~3 MB). Each is checked repeatedly with ``check_photo``.
Each size is measured in a fresh process, which also reports where one check's CPU time
goes: the header and the reduced decode, the landmarker, and the measures. Peak memory: the process's maximum resident size
(Python, NumPy, OpenCV and the models included), how much it grew while checking, and
tracemalloc's peak for one check (allocations Python sees: NumPy's, not Pillow's or OpenCV's).

``--detectors`` also compares the face detectors on the labelled test corpus (accuracy and
milliseconds per photo), for the README's choice of detector.

Not a test: the numbers depend on the machine. docs/photos.md records them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kofu.base.photo_rules import PhotoRules  # noqa: E402
from kofu.tasks.demo.names import Framing, portrait  # noqa: E402
from kofu.tasks.photos.core import check_photo  # noqa: E402
from tests.photo_corpus import jpeg  # noqa: E402

# (name, size, JPEG quality, grain): quality and grain chosen to give the target file sizes.
ROUNDS = 5
SIZES = [
    ("640x480", (640, 480), 90, 3.0),
    ("1536x2048", (1536, 2048), 90, 3.5),
    ("4032x3024", (4032, 3024), 92, 4.0),
]


def make_photo(size: tuple[int, int], quality: int, grain: float) -> bytes:
    rng = random.Random(1)
    width, height = size
    framing = Framing(face_width=0.34 if height > width else 0.24, centre_y=0.42)
    return jpeg(portrait(rng, size, framing, grain=grain), quality)


def measure(data: bytes, seconds: float) -> dict:
    rules = PhotoRules()
    before = _max_rss_mb()  # Python, Prefect, NumPy, OpenCV imported; no photo checked yet
    verdict = check_photo(data, rules)  # warm up: loads the models
    # Five rounds: the best is the machine's speed, the median shows the noise from other
    # work on a shared machine.
    rounds = []
    for _ in range(ROUNDS):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / ROUNDS:
            check_photo(data, rules)
            count += 1
        rounds.append((time.perf_counter() - start) / count)
    best, median = min(rounds), sorted(rounds)[ROUNDS // 2]
    # Two threads, as the stage's chunks run: Pillow and OpenCV release the GIL.
    cv2.setNumThreads(1)
    counts = [0, 0]
    stop = time.perf_counter() + seconds / ROUNDS

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            check_photo(data, rules)
            counts[i] += 1

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(work, range(2)))
    tracemalloc.start()
    check_photo(data, rules)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    parts = breakdown(data, rules)
    return {
        **parts,
        "bytes": len(data),
        "photos_per_s": round(1 / best, 1),
        "ms_per_photo": round(1000 * best, 2),
        "ms_per_photo_median": round(1000 * median, 2),
        "two_threads_photos_per_s": round(sum(counts) / (seconds / ROUNDS), 1),
        "peak_traced_mb": round(peak / 2**20, 1),
        "max_rss_mb": _max_rss_mb(),
        "rss_before_checks_mb": before,
        "verdict": verdict.codes + [f"review:{c}" for c in verdict.review_codes] or ["ok"],
    }


def breakdown(data: bytes, rules: PhotoRules, runs: int = 40) -> dict:
    """Where one check's time goes, as CPU time of this process (all its threads: MediaPipe
    may use more than one): the header and the reduced decode, the landmarker, and the
    measures (the whole check less those two). Medians of ``runs``."""
    import io

    import numpy as np
    from PIL import Image

    from kofu.tasks.photos import core as photos
    from kofu.tasks.photos.landmarks import default_landmarker

    landmarker = default_landmarker()
    decode, marks, whole = [], [], []
    for _ in range(runs):
        start = time.process_time()
        image = photos._decode_reduced(Image.open(io.BytesIO(data)))
        rgb = np.asarray(image.convert("RGB"))
        decode.append(time.process_time() - start)
        start = time.process_time()
        landmarker.find(rgb)
        marks.append(time.process_time() - start)
        start = time.process_time()
        check_photo(data, rules)
        whole.append(time.process_time() - start)

    def ms(values: list[float]) -> float:
        return round(1000 * sorted(values)[len(values) // 2], 2)

    return {
        "cpu_ms_decode": ms(decode),
        "cpu_ms_landmarks": ms(marks),
        "cpu_ms_measures": round(ms(whole) - ms(decode) - ms(marks), 2),
        "cpu_ms_total": ms(whole),
        "decoded": f"{rgb.shape[1]}x{rgb.shape[0]}",
    }


def _max_rss_mb() -> float:
    """Peak resident memory of this process. Linux's VmHWM, because ru_maxrss carries the
    parent's peak over into a child started by fork and exec."""
    try:
        status = Path("/proc/self/status").read_text()
        return round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)
    except (OSError, IndexError, ValueError):
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure_in_child(data: bytes, seconds: float) -> dict:
    """In a fresh process, so that its peak memory is the checks', not the photo maker's."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as photo:
        photo.write(data)
        photo.flush()
        command = [sys.executable, __file__, "--one", photo.name, "--seconds", str(seconds)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def expected_faces(variant) -> int:
    if "no-face" in variant.expect:
        return 0
    return 2 if "several-faces" in variant.expect else 1


def compare_detectors() -> dict:
    """Each detector on the labelled corpus (right number of faces found; milliseconds per
    detection, on the picture as the checks decode it) and on scikit-image's LFW subset:
    100 real faces of 100 people and 100 non-face patches, 25 px, enlarged to 100 px."""
    import numpy as np
    from PIL import Image
    from skimage.data import lfw_subset

    from kofu.tasks.photos import core as photos
    from kofu.tasks.photos import detect as face_detect
    from tests.photo_corpus import corpus

    pictures = []
    for v in corpus():
        if v.kind == "hard":
            continue
        image = photos._decode_reduced(Image.open(__import__("io").BytesIO(v.data)))
        grey = np.asarray(image.convert("L"))
        pictures.append((v, grey))
    lfw = (lfw_subset() * 255).astype(np.uint8)
    tiles = []
    for patch in lfw:
        tile = np.full((200, 200), 128, np.uint8)
        tile[50:150, 50:150] = cv2.resize(patch, (100, 100), interpolation=cv2.INTER_CUBIC)
        tiles.append(tile)
    results = {}
    for name, make in face_detect.DETECTORS.items():
        detector = make()
        right, by_count, elapsed, on_valid = 0, {0: [0, 0], 1: [0, 0], 2: [0, 0]}, 0.0, []
        for v, grey in pictures:
            start = time.perf_counter()
            found = detector.detect(grey)
            took = time.perf_counter() - start
            elapsed += took
            if v.kind == "valid":
                on_valid.append(took)
            want = expected_faces(v)
            by_count[want][1] += 1
            if len(found) == want:
                right += 1
                by_count[want][0] += 1
        lfw_found = [len(detector.detect(t)) > 0 for t in tiles]
        results[name] = {
            "right_count": f"{right}/{len(pictures)}",
            "one_face_found": "{}/{}".format(*by_count[1]),
            "no_face_right": "{}/{}".format(*by_count[0]),
            "two_faces_right": "{}/{}".format(*by_count[2]),
            "ms_valid_photo": round(1000 * sum(on_valid) / len(on_valid), 2),
            "ms_any_photo": round(1000 * elapsed / len(pictures), 2),
            "lfw_faces_found": f"{sum(lfw_found[:100])}/100",
            "lfw_false_alarms": f"{sum(lfw_found[100:])}/100",
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--detectors", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: measure one file
    args = parser.parse_args()
    cv2.setNumThreads(1)  # per core: the stage runs chunks side by side
    if args.one:
        print(json.dumps(measure(Path(args.one).read_bytes(), args.seconds)))
        return
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next(
        (line.split(":", 1)[1].strip() for line in model.splitlines() if "Model name" in line),
        platform.processor(),
    )
    report: dict = {"cpu": cpu, "cores": os.cpu_count(), "sizes": {}}
    print(f"cpu: {cpu}, {os.cpu_count()} cores; one process, one thread")
    print(
        f"{'size':>10} {'file':>8} {'photos/s':>9} {'ms/photo':>9} {'median':>7} {'2 threads':>9}"
        f" {'peak RSS (before)':>18}  CPU ms: decode+landmarks+measures=total  verdict"
    )
    for name, size, quality, grain in SIZES:
        row = measure_in_child(make_photo(size, quality, grain), args.seconds)
        report["sizes"][name] = row
        print(
            f"{name:>10} {row['bytes'] / 1024:>6.0f}KB {row['photos_per_s']:>9} "
            f"{row['ms_per_photo']:>9} {row['ms_per_photo_median']:>7}"
            f" {row['two_threads_photos_per_s']:>9}"
            f" {row['max_rss_mb']:>7}MB ({row['rss_before_checks_mb']}MB)"
            f"  {row['cpu_ms_decode']}+{row['cpu_ms_landmarks']}+{row['cpu_ms_measures']}"
            f"={row['cpu_ms_total']} ({row['decoded']})"
            f"  {','.join(row['verdict'])}"
        )
    if args.detectors:
        report["detectors"] = compare_detectors()
        for name, row in report["detectors"].items():
            print(name, row)
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
