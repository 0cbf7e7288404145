"""A failed batch rerun from the Prefect UI: the `rerun-failed` deployment, registered from the
shipped prefect.yaml, run with a batch id the way the UI's Run button does it, and executed by
a real process worker in a process of its own, on a real Prefect server.

The nightly run happens in-process (as in test_queues_flow.py) and leaves one application in
the failure queue (its photo is missing); the photo is then put in place, as a person would,
and the deployment's run must carry the application to its notice. Running it again changes
nothing."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from kofu.models import Application, FailureItem, FailureStatus, Notice, PrintBatch
from kofu.models.db import unit_of_work
from tests.conftest import TEST_KEY
from tests.e2e.test_queues_flow import person
from tests.helpers import (
    aid,
    application_for,
    db_env,
    import_register,
    portrait_jpeg,
    valid_number,
    write_delivery,
)
from tests.prefect_server import (
    POOL,
    REPO_ROOT,
    PrefectServer,
    prefect_server_process,
    run_through_worker,
)

DEPLOYMENT = "rerun-failed/rerun-failed"
BATCH = "2026-11-26"


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """A Prefect server started for this module, the way the vendor runs one (why not the
    session's embedded server: tests/prefect_server.py). It starts here and is waited for only
    once the in-process nightly run is done, so the two start-ups overlap."""
    with prefect_server_process(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server


def _business_state(settings) -> dict:
    """Everything a rerun could change: states, notices, queue items, print batches, files."""
    with unit_of_work(settings.db_url) as session:
        apps = sorted(
            (a.application_id, a.state.value) for a in session.scalars(select(Application))
        )
        notices = sorted(
            (n.notice_number, n.application_pk, n.pdf_path, n.content_digest)
            for n in session.scalars(select(Notice))
        )
        failures = sorted(
            (f.id, f.stage.value, f.error_code, f.status.value, f.attempts)
            for f in session.scalars(select(FailureItem))
        )
        batches = sorted((b.pdf_path, b.page_count) for b in session.scalars(select(PrintBatch)))
    files = {
        str(path.relative_to(settings.data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in (settings.notices_dir, settings.letters_dir, settings.print_dir)
        if folder.exists()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    return {
        "applications": apps,
        "notices": notices,
        "failures": failures,
        "print": batches,
        "files": files,
    }


def test_rerun_failed_deployment_run_by_a_worker_completes_the_failed_item(
    kofu_env, tmp_path, prefect_server
):
    from prefect.deployments import run_deployment

    from kofu.flows.nightly import nightly

    settings = kofu_env
    server = prefect_server

    # 1. A register, a delivery whose first photo is missing, and the nightly run.
    rng = random.Random(3)
    rows = [
        person(
            "10000000001",
            valid_number(rng),
            "山田",
            "花子",
            ("ヤマダ", "ハナコ"),
            "見本市中央1丁目2番3号",
        ),
        person(
            "10000000003",
            valid_number(rng),
            "森",
            "幸子",
            ("モリ", "サチコ"),
            "見本市北町1丁目1番1号",
        ),
    ]
    import_register(settings.db_url, rows, tmp_path / "register.csv", TEST_KEY.encode())
    lines = [
        application_for(app_id, row) for app_id, row in ((aid(2001), rows[0]), (aid(2003), rows[1]))
    ]
    folder = write_delivery(
        tmp_path / BATCH, lines, {"photos/20261125000000000002003.jpg": portrait_jpeg(2)}
    )
    first = nightly(inbox=str(folder))
    assert first["failure_queue"] == 1, first
    with unit_of_work(settings.db_url) as session:
        item = session.scalars(select(FailureItem)).one()
        assert (item.stage.value, item.error_code, item.status) == (
            "photos",
            "photo-file-unreadable",
            FailureStatus.PENDING,
        )
    assert _state_of(settings, aid(2001)) == "received"
    assert _state_of(settings, aid(2003)) == "notice_generated"
    # A person fixes the cause: the photo arrives.
    (folder / "photos" / "20261125000000000002001.jpg").write_bytes(portrait_jpeg(9))

    # 2-3. The server, the work pool, and the deployment registered from prefect.yaml.
    server.wait_ready()
    server.cli("work-pool", "create", POOL, "--type", "process")
    # KOFU_HOME is left unset here on purpose: `{{ $KOFU_HOME }}` in the pull step then stays
    # in the deployment and is filled in by each worker from its own environment.
    server.cli("deploy", "--name", "rerun-failed")
    with server.client() as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
    assert deployment.work_pool_name == POOL
    assert deployment.entrypoint == "flows/rerun.py:rerun_failed"
    assert deployment.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $KOFU_HOME }}"}}
    ]

    # The worker's environment, as the vendor's service definition would set it. It starts
    # outside the checkout: the pull step has to take the run there.
    worker_env = server.env(
        KOFU_HOME=str(REPO_ROOT),
        KOFU_DATA_DIR=str(settings.data_dir.resolve()),
        KOFU_SECRET_KEY=TEST_KEY,
        **db_env(settings.data_dir),  # the test's own PostgreSQL database, if any
    )
    elsewhere = tmp_path / "worker-cwd"
    elsewhere.mkdir()

    def run_once(n: int):
        # 4. What the UI's Run button does: a flow run of the deployment, with its parameter.
        with server.client():
            flow_run = run_deployment(name=DEPLOYMENT, parameters={"batch_id": BATCH}, timeout=0)
        assert flow_run.state is not None and flow_run.state.is_scheduled()
        # 5. A real process worker picks it up and runs it in a process of its own.
        done = run_through_worker(
            server, flow_run.id, worker_env, elsewhere, tmp_path / f"worker-{n}.log"
        )
        assert done.state == "Completed", (
            f"run {n} of the deployment ended {done.state}; worker output:\n{done.output}"
        )
        with server.client() as client:
            ran = client.read_flow_run(flow_run.id)
        assert ran.parameters == {"batch_id": BATCH}
        assert ran.work_pool_name == POOL and ran.deployment_id == deployment.id
        return done

    # 6. The failed item is resolved and the application has its notice.
    run_once(1)
    with unit_of_work(settings.db_url) as session:
        assert session.scalars(select(FailureItem.status)).one() == FailureStatus.RESOLVED
    assert _state_of(settings, aid(2001)) == "notice_generated"
    after_first = _business_state(settings)
    assert len(after_first["notices"]) == 2

    # A second run of the deployment is harmless: it completes, and nothing changes.
    run_once(2)
    assert _business_state(settings) == after_first


def _state_of(settings, application_id: str) -> str:
    with unit_of_work(settings.db_url) as session:
        return session.scalar(
            select(Application.state).where(Application.application_id == application_id)
        ).value
