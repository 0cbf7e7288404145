"""Prefect flows. Importing this package installs the individual-number log mask, so that
runs started by a Prefect worker, which imports the flow from prefect.yaml's entrypoint and
not through the kofu CLI, mask them as well."""

from kofu.runtime import install_log_mask

install_log_mask()
