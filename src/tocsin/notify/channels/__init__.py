"""Delivery channels: SMTP mail and webhooks (generic signed JSON, Slack, Microsoft Teams)."""

from __future__ import annotations


class DeliveryError(Exception):
    """A message could not be delivered.

    ``permanent`` failures (a recipient the server rejects for good, a webhook URL that does
    not exist) go to the dead letters at once; the others are retried with backoff.
    The message never contains a secret (no password, no webhook URL: they can hold tokens).
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
