"""kofu (交付): nightly My Number Card issuance pipeline."""
