"""The face's own checks, from its landmarks: found, framed, facing the camera, eyes open and
seen, mouth closed, head uncovered. Each ``judge_*`` adds measures and codes to a
``QualityReport``; ``kofu.tasks.photos.quality.assess_photo`` runs them in order."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from kofu.base.photo_rules import PhotoRules
from kofu.tasks.photos.detect import Face, FaceDetector, default_detector
from kofu.tasks.photos.landmarks import MAX_FACES, FaceMesh, Landmarker
from kofu.tasks.photos.measures import (
    CHIN,
    FACE_OUTLINE,
    FOREHEAD,
    Head,
    HeadTop,
    eye_looks,
    mouth_openness,
)
from kofu.tasks.photos.report import QualityReport

# A head cut by the top or bottom edge is searched for again in the picture extended by
# this share of its height at both ends (edge rows repeated): the landmarker then sees
# enough of the head to place it, points beyond the picture included.
EDGE_PAD = 0.3
# A small face is cropped out at this many times its box, and the crop enlarged to this
# longest side, before the landmarker looks at it.
CROP_GROWTH, CROP_SIDE = 3.0, 320


def find_faces(
    rgb: np.ndarray, grey: np.ndarray, landmarker: Landmarker, detector: FaceDetector | None
) -> list[FaceMesh]:
    """The landmarker on the picture; when it sees no face, on the picture extended at the
    top and bottom (a head cut by the edge), then on crops around the faces the cascade
    finds (a face too small for the landmarker's own detector)."""
    faces = landmarker.find(rgb)
    if faces:
        return faces
    pad = round(rgb.shape[0] * EDGE_PAD)
    padded = cv2.copyMakeBorder(rgb, pad, pad, 0, 0, cv2.BORDER_REPLICATE)
    faces = [f.moved(0, pad) for f in landmarker.find(padded)]
    if faces:
        return faces
    found = []
    for box in (detector or default_detector()).detect(grey)[:MAX_FACES]:
        side = max(box.w, box.h) * CROP_GROWTH
        cx, cy = box.centre
        x0, y0 = max(int(cx - side / 2), 0), max(int(cy - side / 2), 0)
        crop = rgb[y0 : int(cy + side / 2), x0 : int(cx + side / 2)]
        if crop.size == 0:
            continue
        k = CROP_SIDE / max(crop.shape[:2])
        enlarged = cv2.resize(crop, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
        found += [f.moved(-x0 * k, -y0 * k, 1 / k) for f in landmarker.find(enlarged)[:1]]
    return found


def face_box(face: FaceMesh) -> Face:
    """The face as a box from the top of the forehead to the chin and cheek to cheek, as
    the sharpness, exposure, background and colour measures take it."""
    p = face.points
    outline = p[list(FACE_OUTLINE), :2]
    x0, x1 = float(outline[:, 0].min()), float(outline[:, 0].max())
    y0, y1 = float(p[FOREHEAD, 1]), float(p[CHIN, 1])
    return Face(x0, y0, x1 - x0, y1 - y0)


def judge_framing(
    report: QualityReport, head: Head, clear_above: float, shape: tuple[int, ...], rules: PhotoRules
) -> None:
    height, width = shape[:2]
    report.low(
        "face-too-small",
        "head_size",
        head.height / height,
        rules.head_size_fail,
        rules.head_size_review,
    )
    offset = abs(head.centre_x / width - 0.5)
    if "face-turned" in (*report.fails, *report.reviews):
        # A turned head moves its forehead and chin, which place the head, to one side:
        # the resident is told to face the camera, and that centres it too.
        report.measures["face_offset"] = round(offset, 3)
    else:
        report.high(
            "face-off-centre",
            "face_offset",
            offset,
            rules.face_offset_fail,
            rules.face_offset_review,
        )
    crown_room = min(head.crown[1], head.chin[1] - head.height) / head.height
    report.measures["top_clear"] = round(clear_above, 3)
    if clear_above >= TOP_CLEAR:
        # The backdrop shows above the hair: the head is in the picture, and the estimate
        # (about 3% of the head's height off on average) must not say otherwise.
        crown_room = max(crown_room, 0.0)
    report.low(
        "head-cut-off", "crown_room", crown_room, rules.crown_room_fail, rules.crown_room_review
    )
    report.low(
        "chin-cut-off",
        "chin_room",
        (height - head.chin[1]) / head.height,
        rules.chin_room_fail,
        rules.chin_room_review,
    )


# At least this share of the top rows over the head is backdrop: the head is not cut.
TOP_CLEAR = 0.6


def judge_pose(report: QualityReport, face: FaceMesh, head: Head, rules: PhotoRules) -> None:
    report.high(
        "face-tilted", "tilt_deg", abs(head.roll), rules.tilt_fail_deg, rules.tilt_review_deg
    )
    report.high("face-turned", "yaw_deg", abs(face.yaw), rules.yaw_fail_deg, rules.yaw_review_deg)
    report.high(
        "face-turned", "pitch_deg", abs(face.pitch), rules.pitch_fail_deg, rules.pitch_review_deg
    )


def judge_eyes(
    report: QualityReport,
    rgb: np.ndarray | None,
    grey: np.ndarray,
    face: FaceMesh,
    rules: PhotoRules,
) -> None:
    """Covered eyes (dark glasses, a reflection) first: an eye that cannot be seen is not
    also judged closed, since the lids the landmarker places on it are a guess."""
    # A closed eye's zone is its lid and lashes, dark and flat in dim light like a lens: an
    # eye the landmarker outlines as closed is judged closed, not covered.
    looks = [
        replace(look, lens=0.0) if look.opening < rules.eye_open_fail else look
        for look in eye_looks(rgb, grey, face)
    ]
    # Dark glasses cover both eyes: the less covered eye decides. One covered eye alone
    # (a lens with a reflection on the other, hair, a patch) goes to a person.
    lens = min(look.lens for look in looks)
    report.high("eyes-not-visible", "eye_dark", lens, rules.eye_dark_fail, rules.eye_dark_review)
    if max(look.lens for look in looks) >= rules.eye_dark_fail:
        report.reviews.append("eyes-not-visible")
    glare = max(look.blown for look in looks)
    report.high(
        "eyes-not-visible", "eye_glare", glare, rules.eye_glare_fail, rules.eye_glare_review
    )
    seen = [
        look.opening
        for look in looks
        if look.lens < rules.eye_dark_review and look.blown < rules.eye_glare_review
    ]
    if seen:
        opening = min(seen)
        report.low("eyes-closed", "eye_open", opening, rules.eye_open_fail, rules.eye_open_review)
        # The blink blendshape sees a closed lid the points may still outline as open.
        blink = max(face.blink)
        report.measures["eye_blink"] = round(blink, 3)
        if blink >= BLINK:
            closed = opening < rules.eye_open_review
            (report.fails if closed else report.reviews).append("eyes-closed")


# The blink blendshape at or above which an eye is taken as closing: open eyes measured up to
# 0.35 on the London portraits and 0.49 on a smile squinting in the Yale set, closed ones
# from 0.52.
BLINK = 0.5
# The jaw blendshape above which a mouth in the review band is taken as open: a smile shows
# teeth between parted lips with the jaw closed, speech or surprise drops the jaw.
JAW_OPEN = 0.3


def judge_mouth(report: QualityReport, face: FaceMesh, rules: PhotoRules) -> None:
    gap = mouth_openness(face)
    report.measures["jaw_open"] = round(face.jaw_open, 3)
    report.high("mouth-open", "mouth_open", gap, rules.mouth_open_fail, rules.mouth_open_review)
    if rules.mouth_open_review <= gap < rules.mouth_open_fail and face.jaw_open >= JAW_OPEN:
        report.fails.append("mouth-open")


def judge_head_top(report: QualityReport, top: HeadTop | None, rules: PhotoRules) -> None:
    """A hat, cap or hood above the forehead: a colour no hair has, or one flat colour where
    hair shows strands (a bald head is the skin's colour; very dark hair shows too little
    texture to judge, so it is not judged flat)."""
    if top is None:
        return
    report.measures.update(
        head_top_uniform=round(top.uniform, 3),
        head_top_texture=round(top.texture, 2),
        head_top_lightness=round(top.lightness, 1),
        head_top_skin=round(top.skin, 3),
    )
    report.high(
        "head-covering",
        "head_odd_colour",
        top.odd_colour,
        rules.head_odd_colour_fail,
        rules.head_odd_colour_review,
    )
    flat = top.uniform >= rules.head_flat_uniform and top.texture < rules.head_flat_texture
    # In a blurred photo all hair looks flat: the blur is reported, not a hat.
    blurred = "blurred" in (*report.fails, *report.reviews)
    if flat and not blurred and top.skin < 0.5 and top.lightness >= DARK_HAIR_LIGHTNESS:
        report.fails.append("head-covering")


# Hair darker than this (CIELAB L*) is not judged flat: black hair in a reduced picture
# shows hardly any texture.
DARK_HAIR_LIGHTNESS = 12.0
