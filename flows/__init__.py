"""Prefect flows and the command line over the plain-Python steps in `pipelines/`."""

import logging

# httpx logs every request URL at INFO: presigned S3 URLs carry signatures, and Kindful's
# email_exist URL carries an email. Neither may reach a log.
logging.getLogger("httpx").setLevel(logging.WARNING)
