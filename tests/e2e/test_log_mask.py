"""A run started by a Prefect worker imports the flow module directly, not through the CLI:
the individual-number log mask must be in place all the same."""

import subprocess
import sys


def test_importing_the_flows_as_a_worker_does_installs_the_mask():
    script = (
        "import logging, kofu.flows.nightly\n"
        "logging.getLogger('worker').warning('looked up %s and 1234-5678-9012', '123456789012')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "looked up [individual-number] and [individual-number]" in result.stderr
    assert "123456789012" not in result.stderr and "1234-5678-9012" not in result.stderr
