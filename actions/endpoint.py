"""Where a local HTTP service the actions call lives, read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceEndpoint:
    """A base URL and the token the service expects."""

    base_url: str
    token: str

    @staticmethod
    def read_env(url_var: str, port_var: str, default_port: int, token_var: str) -> tuple[str, str]:
        """Returns (base URL, token): ``url_var``, else localhost on ``port_var``."""
        base = os.environ.get(url_var) or (
            f"http://localhost:{os.environ.get(port_var, str(default_port))}"
        )
        return base.rstrip("/"), os.environ.get(token_var, "").strip()
