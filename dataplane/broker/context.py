"""What a request handler gets besides the request: the broker and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataplane.protocol.header import RequestHeader

if TYPE_CHECKING:
    from dataplane.broker.authentication import SaslSession
    from dataplane.broker.server import Broker


@dataclass(frozen=True, slots=True)
class RequestContext:
    broker: Broker
    header: RequestHeader
    peer: str
    listener: str = ""  # the name of the listener the request came in on
    session: SaslSession | None = None  # None on a listener without SASL

    @property
    def principal(self) -> str:
        """Who is asking: "User:<name>" once SASL authenticated, else Kafka's "User:ANONYMOUS"."""
        if self.session is not None and self.session.principal is not None:
            return self.session.principal
        return "User:ANONYMOUS"

    @property
    def version(self) -> int:
        return self.header.api_version
