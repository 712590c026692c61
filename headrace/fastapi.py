"""Serve functions from a FastAPI (or Starlette) app.

>>> from fastapi import FastAPI  # doctest: +SKIP
>>> app = FastAPI()  # doctest: +SKIP
>>> headrace.fastapi.serve(app, client, [welcome])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .asgi import DEFAULT_SERVE_PATH, HeadraceApp
from .client import Client
from .function import Function

if TYPE_CHECKING:
    from starlette.applications import Starlette


def serve(
    app: Starlette,
    client: Client,
    functions: Sequence[Function],
    serve_path: str = DEFAULT_SERVE_PATH,
    *,
    serve_origin: str | None = None,
) -> HeadraceApp:
    """Route ``GET``, ``PUT`` and ``POST`` at ``serve_path`` to the Headrace handler."""
    handler = HeadraceApp(
        client,
        functions,
        serve_path=serve_path,
        serve_origin=serve_origin,
        framework="fast_api",
        check_path=False,
    )
    from starlette.routing import Route

    # A Route whose endpoint is not a function is treated as a raw ASGI app.
    app.router.routes.append(
        Route(serve_path, handler, methods=["GET", "PUT", "POST"], include_in_schema=False)
    )
    return handler
