"""The photo upload rules of the settings file's ``[photo]`` section (kofu.base.settings)."""

from __future__ import annotations

from pydantic import BaseModel, model_validator


class PhotoRules(BaseModel):
    """The upload rules. Hard rules refuse; each quality measure has a level that refuses
    (``*_fail``) and a milder level that sends the photo to a person (``*_review``).
    config/municipality.sample.toml says what each one guards against."""

    # DOMAIN.md hard rules for an online upload.
    min_bytes: int = 20 * 1024
    max_bytes: int = 7 * 1024 * 1024
    min_side_px: int = 480
    max_side_px: int = 6000
    # Head size: crown-to-chin height over the picture's height.
    head_size_fail: float = 0.18
    head_size_review: float = 0.25
    # Head centre's distance from the middle, as a share of the picture width.
    face_offset_fail: float = 0.15
    face_offset_review: float = 0.08
    # Head tilt (roll): the angle of the line between the pupils, in degrees.
    tilt_fail_deg: float = 12.0
    tilt_review_deg: float = 8.0
    # Head turned left or right (yaw) and up or down (pitch), in degrees.
    yaw_fail_deg: float = 20.0
    yaw_review_deg: float = 13.0
    pitch_fail_deg: float = 25.0
    pitch_review_deg: float = 18.0
    # Room between the crown and the top of the picture, in head heights (negative: cut off).
    crown_room_fail: float = -0.07
    crown_room_review: float = -0.035
    # Room between the chin and the bottom of the picture, in head heights.
    chin_room_fail: float = -0.04
    chin_room_review: float = 0.03
    # Eyes: the smaller lid opening over the eye's width (about 0.3 open).
    eye_open_fail: float = 0.12
    eye_open_review: float = 0.16
    # Eyes covered: share of an eye's zone far darker than the skin (dark glasses) ...
    eye_dark_fail: float = 0.7
    eye_dark_review: float = 0.6
    # ... or blown out (a reflection on glasses).
    eye_glare_fail: float = 0.08
    eye_glare_review: float = 0.04
    # Mouth: the gap between the inner lips over the mouth's width.
    mouth_open_fail: float = 0.30
    mouth_open_review: float = 0.22
    # Head covering: share of the band above the hairline in a colour no hair has ...
    head_odd_colour_fail: float = 0.5
    head_odd_colour_review: float = 0.3
    # ... or of one flat colour (this share within ΔE 8 of its median, and texture below
    # head_flat_texture), where hair shows strands.
    head_flat_uniform: float = 0.9
    head_flat_texture: float = 6.0
    # Background around the head: share of edge pixels, and spread of its brightness.
    background_edges_fail: float = 0.07
    background_edges_review: float = 0.04
    background_spread_fail: float = 190.0
    background_spread_review: float = 150.0
    # Exposure of the face: mean brightness (0-255) and share of crushed or blown pixels.
    dark_fail: float = 70.0
    dark_review: float = 75.0
    dark_white_point: float = 150.0
    dark_review_white_point: float = 200.0
    bright_fail: float = 235.0
    bright_review: float = 220.0
    # Share of the whole picture blown to white (a washed-out photo around a darker face).
    blown_fail: float = 0.6
    blown_review: float = 0.4
    clipped_fail: float = 0.3
    clipped_review: float = 0.12
    # Contrast of the face: (p98 - p2) / (p98 + p2) of its brightness.
    contrast_fail: float = 0.2
    contrast_review: float = 0.26
    # Sharpness of the face, scaled to a fixed width: variance of the Laplacian.
    sharpness_fail: float = 40.0
    sharpness_review: float = 50.0
    # Colour cast: distance (CIELAB a*b*) of the face's mean colour from the range of skin.
    colour_cast_fail: float = 12.0
    colour_cast_review: float = 7.0
    # The photo must be taken within the last 6 months (EXIF capture date).
    max_age_days: int = 183

    @model_validator(mode="after")
    def _review_is_milder(self) -> PhotoRules:
        """A review level lies between the passing values and the refusing level."""
        low = ("head_size", "crown_room", "chin_room", "dark", "contrast", "sharpness", "eye_open")
        high = (
            "face_offset",
            "background_edges",
            "background_spread",
            "bright",
            "clipped",
            "blown",
            "colour_cast",
            "tilt",
            "yaw",
            "pitch",
            "eye_dark",
            "eye_glare",
            "mouth_open",
            "head_odd_colour",
        )
        for name in low:
            fail, review = self._levels(name)
            if fail > review:
                raise ValueError(f"{name}_fail must not be above {name}_review")
        for name in high:
            fail, review = self._levels(name)
            if fail < review:
                raise ValueError(f"{name}_fail must not be below {name}_review")
        return self

    def _levels(self, name: str) -> tuple[float, float]:
        unit = "_deg" if name in ("tilt", "yaw", "pitch") else ""
        return getattr(self, f"{name}_fail{unit}"), getattr(self, f"{name}_review{unit}")
