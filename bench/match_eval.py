"""How well resident matching decides, on data it was not tuned on.

    .venv/bin/python bench/match_eval.py [--applications N] [--residents R] [--seed S]
        [--febrl] [--json out.json] [--workdir DIR] [--name-indexes] [--skip-synthetic]

1. Builds a synthetic register of R residents (``bench/match_register.py``), writes it as the
   municipality's CSV and imports it into a fresh SQLite file (Alembic schema) through the real
   import path, ``read_register`` + ``upsert_residents``, in one transaction as
   ``kofu residents import`` does, under a temporary secret key. This runs in a child
   process, so its time and memory are reported apart from the matching's.
2. Derives N labelled applications with corruptions (``bench/match_corruptions.py``).
3. Runs the nightly flow's decision on each: the intake's check-digit test and keyed hash,
   ``person_keys``, ``find_candidates`` (SQL blocking) and ``decide_match`` (three tiers), in
   read sessions of 250 applications as ``match_chunk`` does, in this process, on one core.

Reported:
- wrong automatic matches: an automatic decision (matched, or ineligible through a resident)
  naming another resident than the truth, or anyone for an applicant not in the register;
- precision of automatic matches: right automatic / automatic;
- recall including review: applicants in the register matched automatically to themselves,
  or sent to review with themselves among the reviewer's candidates, over all applicants in
  the register;
- share decided without a person: automatic decisions and no-matches, over all applications;
- time: total and per application (matching), the import apart; peak resident memory
  (``ru_maxrss``) of the matching process and of the import process.

``--workdir`` keeps the database and reuses it when R and the seed are the same (the import
time reported is then the saved one). ``--name-indexes`` adds indexes on ``name_key`` and
``kana_key`` to the bench database only, to measure what the schema's missing indexes cost.
``--febrl`` runs the public benchmark (``bench/match_febrl.py``) as well.

Not a test: the numbers depend on the machine. docs/matching.md records them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import pickle
import platform
import random
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.match_corruptions import DESIGNED, KIND_SHARES, LabelledApplication  # noqa: E402
from kofu.base.mynumber import has_valid_check_digit, keyed_hash  # noqa: E402
from kofu.models import ApplicationState  # noqa: E402
from kofu.models.db import unit_of_work, upgrade_schema  # noqa: E402
from kofu.tasks.matching.core import Applicant, decide_widening, person_keys  # noqa: E402
from kofu.tasks.matching.records import find_candidates  # noqa: E402
from kofu.tasks.matching.scoring import ScoringRules  # noqa: E402

CHUNK = 250  # applications per read session, as the nightly flow's chunks
TARGETS = {"wrong_auto": 0, "recall_incl_review": 0.995, "automation": 0.97, "seconds": 60.0}
AUTO = (ApplicationState.MATCHED, ApplicationState.INELIGIBLE)


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str
    truth: str | None
    state: str
    chosen: str | None  # the resident an automatic decision named
    truth_listed: bool  # the truth is among the candidates a reviewer sees
    method: str | None
    reasons: tuple[str, ...]

    @property
    def auto(self) -> bool:
        return self.chosen is not None

    @property
    def wrong(self) -> bool:
        return self.auto and self.chosen != self.truth

    @property
    def review(self) -> bool:
        return self.state == ApplicationState.NEEDS_REVIEW.value


# --- Build (in a child process) -------------------------------------------------------------


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def _timed(rows: Iterator[dict], spent: list[float]) -> Iterator[dict]:
    """The rows, adding the time spent reading them (parse, check, normalise, hash) to spent[0]."""
    while True:
        t = time.perf_counter()
        row = next(rows, None)
        spent[0] += time.perf_counter() - t
        if row is None:
            return
        yield row


def _build(residents: int, applications: int, seed: int, workdir: Path, extra_indexes: bool):
    """Register, import, applications; writes build.json and the applications' pickle."""
    from bench.match_corruptions import derive_applications
    from bench.match_register import NamePools, build_register
    from kofu.tasks.demo.register import write_register_csv
    from kofu.tasks.matching.normalize import address_key, kana_key, name_key
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    stats: dict = {}
    db = workdir / f"register-{residents}-{seed}.db"
    saved = workdir / f"import-{residents}-{seed}.json"
    key_file = workdir / "secret.key"
    if not key_file.exists():
        key_file.write_bytes(os.urandom(32))
    key = key_file.read_bytes()
    t = time.perf_counter()
    pools = NamePools()
    register = build_register(random.Random(seed), residents, pools)
    stats["generate_register_s"] = time.perf_counter() - t
    stats["name_source"] = pools.source
    stats["surnames_in_pool"] = pools.surname_count
    stats["distinct_given_names"] = len({r.given_name for r in register.rows})
    stats["twin_pairs"] = len(register.twin_of) // 2
    stats["statuses"] = dict(Counter(r.status for r in register.rows))
    stats["without_number"] = sum(r.individual_number is None for r in register.rows)
    url = f"sqlite:///{db}"
    if not db.exists():
        csv_path = workdir / "register.csv"
        write_register_csv(register.rows, csv_path)
        t = time.perf_counter()
        upgrade_schema(url)
        imp: dict = {"schema_s": time.perf_counter() - t}
        sample = register.rows[:20_000]
        t = time.perf_counter()
        for r in sample:
            name_key(r.family_name, r.given_name)
            kana_key(r.family_name_kana, r.given_name_kana)
            address_key(r.address)
        imp["normalise_us_per_row"] = (time.perf_counter() - t) / len(sample) * 1e6
        # The generated register alone (held by this process throughout) peaks here.
        imp["rss_before_import_mb"] = _peak_rss_mb()
        # The rows stream from the file into the upsert: time the reading apart.
        reading = [0.0]
        t = time.perf_counter()
        with unit_of_work(url, write=True) as session:
            rows = _timed(read_register(csv_path, key), reading)
            result = upsert_residents(session, rows)
            session.commit()
        imp["import_s"] = time.perf_counter() - t
        imp["read_register_s"] = reading[0]
        imp["upsert_commit_s"] = imp["import_s"] - reading[0]
        imp["inserted"] = result.inserted
        imp["import_peak_rss_mb"] = _peak_rss_mb()
        imp["db_mb"] = db.stat().st_size / 2**20
        csv_path.unlink()
        saved.write_text(json.dumps(imp))
    stats["import"] = json.loads(saved.read_text())
    from sqlalchemy import text

    with unit_of_work(url, write=True) as session:
        for name, column in (("bench_name", "name_key"), ("bench_kana", "kana_key")):
            if extra_indexes:
                session.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON residents({column})"))
            else:
                session.execute(text(f"DROP INDEX IF EXISTS {name}"))
        session.commit()
    t = time.perf_counter()
    apps = derive_applications(random.Random(seed + 1), register, applications)
    stats["derive_applications_s"] = time.perf_counter() - t
    with (workdir / "applications.pkl").open("wb") as fh:
        pickle.dump(apps, fh)
    stats["build_peak_rss_mb"] = _peak_rss_mb()
    (workdir / "build.json").write_text(json.dumps(stats))


# --- Matching (in this process) -------------------------------------------------------------


def _applicant(app, key: bytes) -> Applicant:
    """What intake and ``applicant_of`` make of an application."""
    number = app.individual_number
    number_hmac = keyed_hash(number, key) if number and has_valid_check_digit(number) else None
    keys = person_keys(
        app.family_name.strip(),
        app.given_name.strip(),
        app.family_name_kana.strip(),
        app.given_name_kana.strip(),
        app.birth_date,
        app.sex,
        app.postal_code,
        app.address.strip(),
    )
    return Applicant(keys=keys, number_hmac=number_hmac)


def match_all(
    url: str, key: bytes, apps: list[LabelledApplication], rules: ScoringRules
) -> tuple[list[Outcome], dict]:
    outcomes: list[Outcome] = []
    timing = {"find_candidates_s": 0.0, "decide_s": 0.0, "candidates": 0, "wide_searches": 0}
    for start in range(0, len(apps), CHUNK):
        with unit_of_work(url) as session:
            for la in apps[start : start + CHUNK]:
                applicant = _applicant(la.application, key)
                code_of: dict[int, str] = {}

                def find(applicant, wide=False, session=session, code_of=code_of):
                    t = time.perf_counter()
                    by_number, candidates = find_candidates(session, applicant, wide)
                    timing["find_candidates_s"] += time.perf_counter() - t
                    timing["candidates"] += len(candidates)
                    timing["wide_searches"] += wide
                    code_of.update((c.resident_id, c.resident_code) for c in by_number)
                    code_of.update((c.resident_id, c.resident_code) for c in candidates)
                    return by_number, candidates

                t0 = time.perf_counter()
                decision = decide_widening(applicant, find, rules)
                timing["decide_s"] += time.perf_counter() - t0
                listed = {c["resident_code"] for c in decision.evidence.get("candidates", [])}
                chosen = code_of[decision.resident_id] if decision.state in AUTO else None
                outcomes.append(
                    Outcome(
                        kind=la.kind,
                        detail=la.detail,
                        truth=la.truth,
                        state=decision.state,
                        chosen=chosen,
                        truth_listed=la.truth is not None and la.truth in listed,
                        method=decision.method or decision.evidence.get("method"),
                        reasons=decision.reasons,
                    )
                )
    timing["decide_s"] -= timing["find_candidates_s"]  # decide_widening's own share
    return outcomes, timing


def summarise(outcomes: list[Outcome]) -> dict:
    n = len(outcomes)
    in_register = [o for o in outcomes if o.truth is not None]
    auto = [o for o in outcomes if o.auto]
    wrong = [o for o in auto if o.wrong]
    found = [o for o in in_register if (o.auto and not o.wrong) or (o.review and o.truth_listed)]
    no_match = [o for o in outcomes if o.state == ApplicationState.NO_MATCH.value]
    kinds: dict[str, Counter] = defaultdict(Counter)
    for o in outcomes:
        c = kinds[o.kind]
        c["n"] += 1
        if o.auto:
            c["auto_wrong" if o.wrong else "auto_right"] += 1
        elif o.review:
            c["review_listed" if o.truth_listed or o.truth is None else "review_unlisted"] += 1
        else:
            c["no_match_right" if o.truth is None else "no_match_missed"] += 1
    return {
        "applications": n,
        "in_register": len(in_register),
        "auto": len(auto),
        "wrong_auto": len(wrong),
        "precision_auto": (len(auto) - len(wrong)) / len(auto) if auto else 1.0,
        "recall_auto": sum(1 for o in in_register if o.auto and not o.wrong) / len(in_register),
        "recall_incl_review": len(found) / len(in_register),
        "review": sum(o.review for o in outcomes),
        "no_match": len(no_match),
        "automation": (len(auto) + len(no_match)) / n,
        "by_method": dict(Counter(f"{o.state}/{o.method}" for o in outcomes)),
        "review_reasons": dict(
            Counter(f"{o.kind} {list(o.reasons)}" for o in outcomes if o.review).most_common(20)
        ),
        "by_kind": {k: dict(v) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]["n"])},
        "wrong_examples": [asdict(o) for o in wrong[:10]],
        "missed_examples": [
            asdict(o)
            for o in in_register
            if not (o.auto and not o.wrong) and not (o.review and o.truth_listed)
        ][:10],
    }


# --- Report ---------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def print_report(result: dict) -> None:
    s, b = result["summary"], result["build"]
    imp = b["import"]
    print(
        f"\nMatching: {s['applications']:,} applications against {result['residents']:,} residents"
        f" (seed {result['seed']}; {result['machine']})"
    )
    print(
        f"register: {b['name_source']}; {b['surnames_in_pool']:,} surnames in the pool, "
        f"{b['distinct_given_names']:,} distinct given names, {b['twin_pairs']:,} twin pairs, "
        f"{b['without_number']:,} without a number, statuses {b['statuses']}"
    )
    print(
        f"import (read_register + upsert_residents, one transaction): {imp['import_s']:.1f} s "
        f"= read/normalise/hash {imp['read_register_s']:.1f} s + upsert/commit "
        f"{imp['upsert_commit_s']:.1f} s; normalisation {imp['normalise_us_per_row']:.0f} µs/row; "
        f"peak RSS {imp['import_peak_rss_mb']:.0f} MB "
        f"({imp.get('rss_before_import_mb', float('nan')):.0f} MB before the import: "
        f"the generated register); database {imp['db_mb']:.0f} MB"
    )
    t = result["timing"]
    print(
        f"matching: {t['total_s']:.1f} s, {t['per_application_ms']:.2f} ms/application "
        f"(find_candidates {t['find_candidates_s']:.1f} s, decide {t['decide_s']:.1f} s, "
        f"{t['candidates_per_application']:.1f} candidates/application, "
        f"{t['wide_searches']} wide searches); peak RSS "
        f"{result['matching_peak_rss_mb']:.0f} MB"
        + ("; with bench-only name_key/kana_key indexes" if result["name_indexes"] else "")
    )
    rows = [
        ("wrong automatic matches", str(s["wrong_auto"]), "0", s["wrong_auto"] == 0),
        ("precision of automatic matches", _pct(s["precision_auto"]), "100%", s["wrong_auto"] == 0),
        (
            "recall including review",
            _pct(s["recall_incl_review"]),
            "≥ 99.5%",
            s["recall_incl_review"] >= TARGETS["recall_incl_review"],
        ),
        ("recall, automatic only", _pct(s["recall_auto"]), "", None),
        (
            "decided without a person",
            _pct(s["automation"]),
            "≥ 97%",
            s["automation"] >= TARGETS["automation"],
        ),
        ("matching time", f"{t['total_s']:.1f} s", "< 60 s (10,000 vs 1M)", None),
    ]
    print("\n| metric | value | target | met |\n|---|---|---|---|")
    for name, value, target, ok in rows:
        print(f"| {name} | {value} | {target} | {'' if ok is None else 'yes' if ok else 'NO'} |")
    print(
        "\n| kind | share | n | auto right | auto WRONG | review | review, truth not listed "
        "| no-match (right) | no-match (missed) | designed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for kind, c in s["by_kind"].items():
        share = KIND_SHARES.get(kind)
        print(
            f"| {kind} | {'rest' if share is None else f'{share:.1%}'} | {c.get('n', 0)} | "
            f"{c.get('auto_right', 0)} | {c.get('auto_wrong', 0)} | {c.get('review_listed', 0)} | "
            f"{c.get('review_unlisted', 0)} | {c.get('no_match_right', 0)} | "
            f"{c.get('no_match_missed', 0)} | {DESIGNED.get(kind, '')} |"
        )
    print("\nby decision/method:", json.dumps(s["by_method"], ensure_ascii=False))
    print("reviews by kind and reason:", json.dumps(s["review_reasons"], ensure_ascii=False))
    for title, key in (
        ("wrong automatic matches", "wrong_examples"),
        ("missed (not found, not listed for review)", "missed_examples"),
    ):
        if s[key]:
            print(f"\nfirst {title}:")
            for o in s[key]:
                print(
                    f"  {o['kind']} ({o['detail']}): truth {o['truth']}, {o['state']} "
                    f"{o['chosen'] or ''} via {o['method']} {list(o['reasons'])}"
                )


def _machine() -> str:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def run(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="kofu-match-eval-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        child = multiprocessing.get_context("fork").Process(
            target=_build,
            args=(args.residents, args.applications, args.seed, workdir, args.name_indexes),
        )
        t = time.perf_counter()
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"match_eval: building the register failed ({child.exitcode})")
        build = json.loads((workdir / "build.json").read_text())
        build["build_wall_s"] = time.perf_counter() - t
        with (workdir / "applications.pkl").open("rb") as fh:
            apps = pickle.load(fh)
        key = (workdir / "secret.key").read_bytes()
        url = f"sqlite:///{workdir / f'register-{args.residents}-{args.seed}.db'}"
        rules = ScoringRules()
        t = time.perf_counter()
        outcomes, timing = match_all(url, key, apps, rules)
        total = time.perf_counter() - t
    timing.update(
        total_s=total,
        per_application_ms=total / len(apps) * 1000,
        candidates_per_application=timing.pop("candidates") / len(apps),
    )
    return {
        "residents": args.residents,
        "applications": args.applications,
        "seed": args.seed,
        "machine": _machine(),
        "name_indexes": args.name_indexes,
        "build": build,
        "timing": timing,
        "matching_peak_rss_mb": _peak_rss_mb(),
        "summary": summarise(outcomes),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--febrl", action="store_true", help="also run FEBRL3/4 against Splink")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--workdir", help="keep the database here and reuse it")
    parser.add_argument(
        "--name-indexes", action="store_true", help="bench-only indexes on name_key and kana_key"
    )
    parser.add_argument("--skip-synthetic", action="store_true", help="only --febrl")
    args = parser.parse_args(argv)
    out: dict = {}
    if not args.skip_synthetic:
        out["synthetic"] = run(args)
        print_report(out["synthetic"])
    if args.febrl:
        from bench.match_febrl import print_febrl, run_febrl

        out["febrl"] = run_febrl()
        print_febrl(out["febrl"])
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
