"""What a photo's quality checks found: the measures, and the codes that refuse the photo or
send it to a person. Shared by the face checks and the picture checks."""

from __future__ import annotations

from dataclasses import dataclass, field

Measure = int | float | str


@dataclass
class QualityReport:
    measures: dict[str, Measure] = field(default_factory=dict)
    fails: list[str] = field(default_factory=list)
    reviews: list[str] = field(default_factory=list)

    def low(self, code: str, name: str, value: float, fail: float, review: float) -> None:
        """Judge a measure where a low value is the defect."""
        self.measures[name] = round(float(value), 3)
        if value < fail:
            self.fails.append(code)
        elif value < review:
            self.reviews.append(code)

    def high(self, code: str, name: str, value: float, fail: float, review: float) -> None:
        """Judge a measure where a high value is the defect."""
        self.low(code, name, -value, -fail, -review)
        self.measures[name] = round(float(value), 3)

    def settled(self) -> QualityReport:
        """Each code once, and a code that refuses is not also sent to review."""
        fails = list(dict.fromkeys(self.fails))
        reviews = [c for c in dict.fromkeys(self.reviews) if c not in fails]
        return QualityReport(self.measures, fails, reviews)
