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
    tls_principal: str | None = None  # from the client certificate on an SSL listener

    @property
    def principal(self) -> str:
        """Who is asking: "User:<name>" once SASL authenticated; on an SSL listener
        "User:<subject DN>" of the client certificate; else Kafka's "User:ANONYMOUS"."""
        if self.session is not None:
            return self.session.principal or "User:ANONYMOUS"
        return self.tls_principal or "User:ANONYMOUS"

    @property
    def version(self) -> int:
        return self.header.api_version
