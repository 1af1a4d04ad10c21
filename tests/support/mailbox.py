"""The handler for a real SMTP server on loopback (aiosmtpd's Controller) that keeps every message
it receives, so tests can read what the control plane mailed."""

from __future__ import annotations


class Mailbox:
    """An aiosmtpd handler keeping each received envelope, in order."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(envelope)
        return "250 OK"
