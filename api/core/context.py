"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from api.core.loaders import Loaders
from api.core.principal import Principal
from services.core.feed import Feed


@dataclass
class Context:
    request: Request | WebSocket | None = None
    response: Response | None = None
    loaders: Loaders = field(default_factory=Loaders)
    principal: Principal | None = None
    """The API key the request came with (set for every request that reaches a resolver)."""
    feed: Feed | None = None
    """This process's live feed, which subscriptions read."""
    connection_params: dict[str, object] | None = None
    """What a websocket client sent with connection_init (its key)."""


Info = StrawberryInfo[Context, None]
