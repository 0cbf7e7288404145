"""The nightly run at scale: N applications against a register of R residents, end to end.

    .venv/bin/python -m bench.nightly_scale --applications 2000 --residents 20000
        [--seed 20261126] [--work DIR] [--json PATH] [--skip-plain] [--plain-workers 4]

The data is the demo's (tasks/demo/generator.py: its mix of defects, unknown applicants,
ineligible residents and malformed lines), with the good photos replaced by a deterministic
mix of realistic sizes: 480x640, 1536x2048 and 3024x4032 JPEGs (portrait, 3:4, as the
photo rules expect), upscaled from the demo's portrait with sensor grain so that their files
weigh what real ones do. Defective photos stay the demo's.

Then, each in a fresh child process (so that each peak memory is its own), the register
imported into a fresh database (its own process too: its time and peak memory are reported
apart from the night's), and:

- ``prefect``: the real ``kofu.flows.nightly.nightly`` flow in process, against its own data
  directory and PREFECT_HOME (an embedded Prefect server, a subprocess), on the task runner
  ``KOFU_TASK_RUNNER`` names (flows/runners.py; default: a process pool, one per core). Time
  per stage is read back from the flow run's task runs (first start to last end of each
  stage's task runs); then how long the server took to show every task run final.
- ``plain``: the same stage functions in the same order with the same chunks, without
  Prefect: ``take_in``, the ``*_chunk`` functions, ``assign_batch_windows``,
  ``plan_print_files`` and ``print_file``. Chunks and print files run on the same kind of
  pool as the flow's (spawned processes, one per core; ``--plain-workers`` threads with
  KOFU_TASK_RUNNER=threads). Not done: the lease, the failure queue's take/settle and the
  summary artifacts, which the Prefect run's time includes.

Reported, as JSON (``--json``) and a table: applications per second end to end, seconds per
stage for both, Prefect task runs, peak resident memory of every process (each run's own
process and every process it started: the Prefect server, the pool workers), cores busy
(CPU seconds of all of them over wall seconds), the ratio prefect_seconds / plain_seconds,
and whether both runs ended with the same counts per state.

Not a test, not part of ``make test``: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-key-0123456789abcdef"
FONT_CACHE = Path(tempfile.gettempdir()) / "kofu-test-font-cache"  # shared with the tests
# (name, size (w, h), JPEG quality, grain, share): portrait, like the photos the rules expect.
SIZES = [
    ("640x480", (480, 640), 90, 3.0, 0.3),
    ("1536x2048", (1536, 2048), 90, 3.5, 0.3),
    ("4032x3024", (3024, 4032), 90, 4.0, 0.4),
]
VARIANTS = 3  # distinct files per size class; the rest are hard links to them
STAGES = ("intake", "photos", "letters", "matching", "visit windows", "notices", "print batch")


# ------------------------------------------------------------------------------- helpers


def _env(data_dir: Path, prefect_home: Path | None) -> None:
    """Before kofu or Prefect is imported."""
    os.environ["KOFU_DATA_DIR"] = str(data_dir)
    os.environ["KOFU_SECRET_KEY"] = SECRET
    # KOFU_CONFIG is main()'s: the sample settings, or a copy with --chunk-size.
    for name in ("KOFU_DATABASE_URL", "KOFU_SECRET_KEY_FILE", "PREFECT_API_URL"):
        os.environ.pop(name, None)
    if prefect_home is not None:
        os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    fonts = data_dir / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    # The converted notice font, if the tests left one: converting takes ~10 s per data dir.
    if FONT_CACHE.is_dir():
        for cached in FONT_CACHE.iterdir():
            if not (fonts / cached.name).exists():
                (fonts / cached.name).symlink_to(cached)


def _name(proc: psutil.Process) -> str:
    """What a process is, for the memory table: the Prefect server, a pool worker, a Dask
    worker, without paths."""
    try:
        cmd = " ".join(proc.cmdline())
    except psutil.Error:
        return "?"
    for needle, label in (
        ("prefect.server", "Prefect server (uvicorn)"),
        ("resource_tracker", "multiprocessing resource tracker"),
        ("spawn_main", "process-pool worker"),
        ("distributed", "Dask worker/nanny"),
    ):
        if needle in cmd:
            return label
    return cmd[:80]


class Sampler(threading.Thread):
    """Peak resident memory (RSS, sampled every 0.2 s) and CPU seconds of every process this
    one started, recursively: the Prefect server, pool and Dask workers."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak_mb: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self.names: dict[int, str] = {}
        self.me = psutil.Process()

    def sample(self) -> None:
        for proc in self.me.children(recursive=True):
            try:
                with proc.oneshot():
                    rss = proc.memory_info().rss / 2**20
                    times = proc.cpu_times()
            except psutil.Error:
                continue
            self.peak_mb[proc.pid] = max(self.peak_mb.get(proc.pid, 0.0), rss)
            self.cpu[proc.pid] = times.user + times.system
            if proc.pid not in self.names:
                self.names[proc.pid] = _name(proc)

    def run(self) -> None:
        while not self.stop.wait(0.2):
            self.sample()

    def processes(self, own: str) -> dict[str, float]:
        """Peak MB by process, this one first."""
        out = {own: _self_peak_mb()}
        for pid, mb in sorted(self.peak_mb.items()):
            out[f"{self.names[pid]} (pid {pid})"] = round(mb, 1)
        return out

    def children_cpu(self) -> float:
        return sum(self.cpu.values())


def _self_peak_mb() -> float:
    """VmHWM: this process's own peak (ru_maxrss can carry the forking parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ---------------------------------------------------------------------------------- data


def make_data(work: Path, seed: int, residents: int, applications: int, today: date) -> dict:
    """The demo's register and delivery under ``work/data``, its good photos of realistic
    sizes: a few distinct files per size class, made first from a real portrait, and each
    good application's photo a hard link to one of them (drawn by the size shares). Decoding
    and checking cost what they would for distinct photos of that size; disk cache
    behaviour does not (the same few files stay in the page cache)."""
    import io

    from PIL import Image

    from kofu.base.photo_rules import PhotoRules
    from kofu.tasks.demo.generator import write_demo_data
    from kofu.tasks.demo.names import add_grain, portrait
    from kofu.tasks.photos.core import check_photo

    start = time.perf_counter()
    rng = random.Random(seed)
    rules = PhotoRules()
    made: dict[str, list[Path]] = {}
    sizes: dict[str, dict] = {}
    stock = work / "data" / "stock"
    stock.mkdir(parents=True, exist_ok=True)
    for name, size, quality, grain, _ in SIZES:
        made[name] = []
        for v in range(VARIANTS):
            source = portrait(random.Random(seed + v), (600, 800))
            picture = add_grain(rng, source.resize(size, Image.Resampling.LANCZOS), grain)
            buf = io.BytesIO()
            picture.save(buf, "JPEG", quality=quality)
            data = buf.getvalue()
            verdict = check_photo(data, rules)
            if verdict.problems or verdict.borderline or len(data) > rules.max_bytes:
                raise RuntimeError(f"{name} photo is not a good one: {verdict}, {len(data)} B")
            path = stock / f"{name}-{v}.jpg"
            path.write_bytes(data)
            made[name].append(path)
        sizes[name] = {"size": list(size), "bytes": [p.stat().st_size for p in made[name]]}
    names, shares = [s[0] for s in SIZES], [s[4] for s in SIZES]
    counts: dict[str, int] = defaultdict(int)

    def link_good_photo(path: Path) -> None:
        name = rng.choices(names, shares)[0]
        os.link(made[name][counts[name] % VARIANTS], path)
        counts[name] += 1

    register_csv, truth = write_demo_data(
        work / "data",
        seed=seed,
        residents=residents,
        applications=applications,
        submitted_on=today,
        write_good_photo=link_good_photo,
    )
    for name in sizes:
        sizes[name]["photos"] = counts[name]
    return {
        "register_csv": str(register_csv),
        "delivery": str(truth.folder),
        "seconds": round(time.perf_counter() - start, 1),
        "photo_sizes": sizes,
        "kinds": dict(truth.kind_counts()),
    }


def copy_delivery(delivery: Path, to: Path) -> Path:
    """A run's own copy: intake scrubs the individual numbers out of applications.jsonl, so
    each run needs an untouched one. Photos are hard links."""
    target = to / delivery.name
    shutil.copytree(delivery, target, copy_function=os.link)
    jsonl = target / "applications.jsonl"
    jsonl.unlink()
    shutil.copyfile(delivery / "applications.jsonl", jsonl)
    return target


def import_register(register_csv: Path) -> dict:
    from kofu.base.secret import load_secret_key
    from kofu.base.settings import get_settings
    from kofu.models.db import unit_of_work, upgrade_schema
    from kofu.tasks.register.core import read_register
    from kofu.tasks.register.records import upsert_residents

    settings = get_settings()
    start = time.perf_counter()
    upgrade_schema(settings.db_url)
    rows = read_register(register_csv, load_secret_key(settings))
    with unit_of_work(settings.db_url, write=True) as session:
        result = upsert_residents(session, rows)
        session.commit()
    return {
        "inserted": result.inserted,
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": _self_peak_mb(),
    }


# ------------------------------------------------------------------------------ the runs


def run_prefect(phase_dir: Path, delivery: Path, register_csv: Path) -> dict:
    _env(phase_dir / "var", phase_dir / "prefect-home")
    inbox = copy_delivery(delivery, phase_dir / "inbox")

    from prefect.client.orchestration import get_client

    from kofu.flows.nightly import nightly

    # The ephemeral Prefect server starts on the first API call (~10-20 s): timed apart.
    t0 = time.perf_counter()
    with get_client(sync_client=True) as client:
        client.api_healthcheck()
    server_start = round(time.perf_counter() - t0, 2)
    sampler = Sampler()
    sampler.sample()
    before = dict(sampler.cpu)  # the server's start-up is not the run's
    sampler.start()
    cpu0, start = _self_cpu(), time.perf_counter()
    state = nightly(inbox=str(inbox), return_state=True)
    seconds = time.perf_counter() - start
    cpu = _self_cpu() - cpu0
    summary = state.result()
    flow_run_id = state.state_details.flow_run_id
    # Recording: how long after the flow returned until the server shows the flow run and
    # every one of its task runs in a final state (the task-run recorder works from events).
    recorded_after, task_runs, flow_run = _wait_recorded(flow_run_id, start + seconds)
    sampler.sample()
    sampler.stop.set()
    spans: dict[str, list[datetime]] = defaultdict(list)
    busy: dict[str, float] = defaultdict(float)
    per_stage: dict[str, int] = defaultdict(int)
    for tr in task_runs:
        stage = _stage_of(tr.name, inbox.name)
        per_stage[stage] += 1
        if tr.start_time and tr.end_time:
            spans[stage] += [tr.start_time, tr.end_time]
            busy[stage] += (tr.end_time - tr.start_time).total_seconds()
    stages = {
        s: round((max(spans[s]) - min(spans[s])).total_seconds(), 2) for s in STAGES if spans[s]
    }
    children_cpu = sampler.children_cpu() - sum(before.values())
    return {
        "runner": os.environ.get("KOFU_TASK_RUNNER", "processes"),
        "seconds": round(seconds, 2),
        "server_start_seconds": server_start,
        "flow_run_state": state.type.value,
        "flow_run_seconds": round(flow_run.total_run_time.total_seconds(), 2),
        "recorded_seconds_after_flow_end": recorded_after,
        "stages": stages,
        "stage_busy_seconds": {s: round(busy[s], 2) for s in STAGES if s in busy},
        "task_runs": len(task_runs),
        "task_runs_per_stage": dict(per_stage),
        "peak_rss_mb": sampler.processes("bench (flow, in process)"),
        "cpu_seconds": {
            "flow process": round(cpu, 1),
            **{
                f"{sampler.names[p]} (pid {p})": round(c - before.get(p, 0.0), 1)
                for p, c in sampler.cpu.items()
            },
        },
        # Cores busy over the run: the flow process and every process it started, the
        # Prefect server included (its CPU since it started, so slightly over).
        "cores_busy": round((cpu + children_cpu) / seconds, 2),
        "states": summary["states"],
    }


def _wait_recorded(flow_run_id, flow_end: float, limit: float = 300.0):  # type: ignore[no-untyped-def]
    """Poll the API until the flow run and all its task runs are final and their number has
    not changed for 2 s. Returns (seconds after ``flow_end`` when that first held, the task
    runs, the flow run)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    seen, since = -1, None
    with get_client(sync_client=True) as client:
        while True:
            task_runs: list = []
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                    sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                    offset=len(task_runs),
                    limit=200,
                )
                task_runs += page
                if len(page) < 200:
                    break
            flow_run = client.read_flow_run(flow_run_id)
            now = time.perf_counter()
            final = flow_run.state is not None and flow_run.state.is_final()
            final = final and all(t.state is not None and t.state.is_final() for t in task_runs)
            if final and len(task_runs) == seen:
                if now - since >= 2.0:
                    return round(since - flow_end, 2), task_runs, flow_run
            else:
                seen, since = (len(task_runs), now) if final else (-1, None)
            if now - flow_end > limit:
                return None, task_runs, flow_run
            time.sleep(0.25)


def _stage_of(task_run_name: str, batch_id: str) -> str:
    """`2026-11-26 photos 3/40` -> `photos`; `2026-11-26 visit windows` -> `visit windows`."""
    name = task_run_name.removeprefix(batch_id).strip()
    last = name.rsplit(" ", 1)
    if len(last) == 2 and "/" in last[1] and last[1].replace("/", "").isdigit():
        name = last[0]
    return name


def run_plain(phase_dir: Path, delivery: Path, register_csv: Path, workers: int) -> dict:
    _env(phase_dir / "var", None)
    inbox = copy_delivery(delivery, phase_dir / "inbox")

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from functools import partial

    from kofu.base.settings import get_settings
    from kofu.flows.nightly import JST
    from kofu.models import ApplicationState as S
    from kofu.models.db import unit_of_work, upgrade_schema
    from kofu.tasks.chunks.records import plan_chunks
    from kofu.tasks.intake.records import take_in
    from kofu.tasks.letters.records import write_letters_chunk
    from kofu.tasks.matching.records import match_chunk
    from kofu.tasks.matching.scoring import ScoringRules
    from kofu.tasks.notices.records import generate_notice_chunk
    from kofu.tasks.photos.records import check_photo_chunk
    from kofu.tasks.printing.records import plan_print_files, print_file
    from kofu.tasks.visits.records import assign_batch_windows

    settings = get_settings()
    now = datetime.now(UTC)
    today = now.astimezone(JST).date()
    batch_id, size = inbox.name, settings.municipality.chunk_size
    rules = ScoringRules.from_settings(settings.municipality.matching)
    chunked = [
        (
            "photos",
            S.RECEIVED,
            partial(check_photo_chunk, settings.db_url, settings.municipality.photo, now=now),
        ),
        (
            "letters",
            S.PHOTO_REJECTED,
            partial(write_letters_chunk, settings, issued_on=today, now=now),
        ),
        ("matching", S.PHOTO_OK, partial(match_chunk, settings.db_url, now=now, rules=rules)),
        ("notices", S.MATCHED, partial(generate_notice_chunk, settings, issued_on=today, now=now)),
    ]
    # The same parallelism as the flow's task runner (flows/runners.py): spawned processes,
    # one per core, or threads.
    if os.environ.get("KOFU_TASK_RUNNER", "processes") == "processes":
        workers = int(os.environ.get("KOFU_WORKERS") or os.cpu_count() or 1)
        pool_of = partial(ProcessPoolExecutor, workers, multiprocessing.get_context("spawn"))
    else:
        pool_of = partial(ThreadPoolExecutor, workers)
    stages: dict[str, float] = {}
    cores: dict[str, float] = {}
    chunks_run = 0

    sampler = Sampler()
    sampler.start()

    def all_cpu() -> float:
        sampler.sample()
        return _self_cpu() + sampler.children_cpu()

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        cpu0, t0 = all_cpu(), time.perf_counter()
        out = fn()
        stages[name] = round(time.perf_counter() - t0, 2)
        cores[name] = round((all_cpu() - cpu0) / max(stages[name], 1e-9), 2)
        return out

    cpu0, start = all_cpu(), time.perf_counter()
    upgrade_schema(settings.db_url)
    timed("intake", lambda: take_in(settings, inbox, batch_id, today))
    with pool_of() as pool:
        for name, state, fn in chunked:
            if name == "notices":
                timed("visit windows", lambda: assign_batch_windows(settings, batch_id, today))

            def stage(state=state, fn=fn) -> int:  # type: ignore[no-untyped-def]
                with unit_of_work(settings.db_url) as session:
                    chunks = plan_chunks(session, batch_id, state, size)
                list(pool.map(fn, chunks))
                return len(chunks)

            chunks_run += timed(name, stage)

        def print_files() -> None:
            plans = plan_print_files(settings, batch_id)
            list(pool.map(partial(print_file, settings, printed_on=today), plans))

        timed("print batch", print_files)
    seconds = time.perf_counter() - start
    cpu = all_cpu() - cpu0
    sampler.stop.set()
    from sqlalchemy import func, select

    from kofu.models import Application

    with unit_of_work(settings.db_url) as session:
        states = dict(
            session.execute(
                select(Application.state, func.count())
                .where(Application.batch_id == batch_id)
                .group_by(Application.state)
            ).all()
        )
    return {
        "workers": workers,
        "seconds": round(seconds, 2),
        "stages": stages,
        "cores_busy_per_stage": cores,
        "chunks": chunks_run,
        "peak_rss_mb": sampler.processes("bench (plain loop)"),
        "cpu_seconds": {"all processes": round(cpu, 1)},
        "cores_busy": round(cpu / seconds, 2),
        "states": {str(getattr(k, "value", k)): v for k, v in states.items()},
    }


def in_child(phase: str, args: argparse.Namespace, data: dict) -> dict:
    """One phase in a fresh interpreter: its own imports, environment and peak memory."""
    command = [
        sys.executable,
        "-m",
        "bench.nightly_scale",
        "--phase",
        phase,
        "--work",
        str(args.work),
        "--delivery",
        data["delivery"],
        "--register",
        data["register_csv"],
        "--plain-workers",
        str(args.plain_workers),
    ]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-5000:])
        raise SystemExit(f"the {phase} phase failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------- main


def report_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    prefect, plain = result["prefect"], result.get("plain")
    n = result["applications"]
    table = Table(title=f"nightly at scale: {n} applications, {result['residents']} residents")
    table.add_column("stage")
    table.add_column("prefect s", justify="right")
    table.add_column("task runs", justify="right")
    table.add_column("plain s", justify="right")
    table.add_column("plain cores", justify="right")
    for stage in STAGES:
        table.add_row(
            stage,
            f"{prefect['stages'].get(stage, 0):.2f}",
            str(prefect["task_runs_per_stage"].get(stage, 0)),
            f"{plain['stages'].get(stage, 0):.2f}" if plain else "-",
            f"{plain['cores_busy_per_stage'].get(stage, 0):.2f}" if plain else "-",
        )
    table.add_row(
        "[bold]end to end[/]",
        f"{prefect['seconds']:.2f}",
        str(prefect["task_runs"]),
        f"{plain['seconds']:.2f}" if plain else "-",
        "",
    )
    table.add_row(
        "[bold]applications/s[/]",
        f"{result['prefect_apps_per_s']:.1f}",
        "",
        f"{result['plain_apps_per_s']:.1f}" if plain else "-",
        "",
    )
    console.print(table)
    memory = Table(title="peak resident memory (MB) and CPU seconds")
    memory.add_column("process")
    memory.add_column("peak RSS MB", justify="right")
    for run in ("prefect", "plain"):
        for proc, mb in (result.get(run) or {}).get("peak_rss_mb", {}).items():
            memory.add_row(f"{run}: {proc}", f"{mb:.1f}")
    console.print(memory)
    if plain:
        console.print(f"prefect / plain: [bold]{result['ratio_prefect_over_plain']:.2f}[/]")
    console.print(f"cores busy (prefect run, bench process): {result['prefect_cores_busy']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", type=int, default=2000)
    parser.add_argument("--residents", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--work", type=Path, help="working directory (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--skip-plain", action="store_true")
    parser.add_argument(
        "--chunk-size", type=int, help="applications per chunk (default: the sample settings')"
    )
    parser.add_argument(
        "--plain-workers", type=int, default=4, help="threads (KOFU_TASK_RUNNER=threads)"
    )
    parser.add_argument(
        "--phase",
        choices=("import-prefect", "import-plain", "prefect", "plain"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--delivery", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--register", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase and args.phase.startswith("import-"):
        # The register import in a process of its own, before the run: its peak memory is
        # the import's, not the night's.
        _env(args.work / args.phase.removeprefix("import-") / "var", None)
        print(json.dumps(import_register(args.register)))
        return
    if args.phase == "prefect":
        print(json.dumps(run_prefect(args.work / "prefect", args.delivery, args.register)))
        return
    if args.phase == "plain":
        result = run_plain(args.work / "plain", args.delivery, args.register, args.plain_workers)
        print(json.dumps(result))
        return

    args.work = (args.work or Path(tempfile.mkdtemp(prefix="kofu-scale-"))).resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ.pop("KOFU_CONFIG", None)
    if args.chunk_size:
        from kofu.base.settings import SAMPLE_CONFIG

        config = args.work / "municipality.toml"
        text = SAMPLE_CONFIG.read_text(encoding="utf-8")
        config.write_text(re.sub(r"chunk_size = \d+", f"chunk_size = {args.chunk_size}", text))
        os.environ["KOFU_CONFIG"] = str(config)
    _env(args.work / "gen", None)
    from kofu.flows.nightly import japan_today  # noqa: F401  (imports Prefect: env set above)

    print(f"work dir: {args.work}", file=sys.stderr)
    data = make_data(args.work, args.seed, args.residents, args.applications, japan_today())
    print(f"data made in {data['seconds']} s; running the flow", file=sys.stderr)
    result: dict = {
        "applications": args.applications,
        "residents": args.residents,
        "seed": args.seed,
        "chunk_size": args.chunk_size or "the sample settings'",
        "machine": machine(),
        "data": data,
        "register_import": in_child("import-prefect", args, data),
    }
    result["prefect"] = in_child("prefect", args, data)
    prefect = result["prefect"]
    result["prefect_apps_per_s"] = round(args.applications / prefect["seconds"], 2)
    result["prefect_cores_busy"] = prefect["cores_busy"]
    if not args.skip_plain:
        print("running the plain loop", file=sys.stderr)
        result["register_import_plain"] = in_child("import-plain", args, data)
        plain = in_child("plain", args, data)
        result["plain"] = plain
        result["plain_apps_per_s"] = round(args.applications / plain["seconds"], 2)
        result["ratio_prefect_over_plain"] = round(prefect["seconds"] / plain["seconds"], 3)
        result["same_outcomes"] = {k: v for k, v in prefect["states"].items() if v} == {
            k: v for k, v in plain["states"].items() if v
        }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, ensure_ascii=False))
    report_table(result)


if __name__ == "__main__":
    main()
