"""Prefect flows. Importing this package sets up the process as the kofu CLI does, for runs
started by a Prefect worker, which imports the flow from prefect.yaml's entrypoint and not
through the kofu CLI:
- the individual-number log mask;
- the owner-only umask (kofu/base/private.py), so notices, letters, print batches and the
  database a worker's run writes have no group or other permissions."""

from kofu.base.private import set_private_umask
from kofu.flows.runtime import install_log_mask

set_private_umask()
install_log_mask()
