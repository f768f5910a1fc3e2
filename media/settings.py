"""The settings of a `junta media` process, read from `JUNTA_MEDIA_*` environment variables.

Media keeps its own small settings object so that it never imports `web`; the CLI builds it and
overrides what its flags say.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_LENGTH = 32
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8081
DEFAULT_RECORDINGS_DIR = Path("var/recordings")


class MediaSettingsError(ValueError):
    """A media setting has a value the node cannot use; the message names the variable."""


def check_secret(secret: str) -> None:
    """Refuse a media API secret too short to resist guessing (the node and its callers)."""
    if len(secret) < MIN_SECRET_LENGTH:
        raise MediaSettingsError(
            f"JUNTA_MEDIA_SECRET must be at least {MIN_SECRET_LENGTH} characters long"
        )


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """Where the internal media API listens and the secret its callers must present."""

    secret: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # The node's own STUN servers, to learn its public address (the same JUNTA_STUN_URLS the
    # web process hands to browsers). None by default: a closed network has no public STUN.
    stun_urls: tuple[str, ...] = ()
    # The storage root recordings are written under (the web process's JUNTA_RECORDINGS_DIR).
    recordings_dir: Path = DEFAULT_RECORDINGS_DIR
    # With Redis the node registers itself there (media/registration.py) and web processes
    # place rooms on the least loaded node; `advertise_url` is how they reach this one.
    redis_url: str | None = None
    redis_prefix: str = "junta:"
    advertise_url: str | None = None
    node_ttl: float = 3.0

    def __post_init__(self) -> None:
        check_secret(self.secret)
        if self.advertise_url is not None and not self.advertise_url.startswith(
            ("http://", "https://")
        ):
            raise MediaSettingsError("JUNTA_MEDIA_ADVERTISE_URL must start with http:// or https://")
        if not 1.0 <= self.node_ttl <= 60.0:
            raise MediaSettingsError(
                f"JUNTA_MEDIA_NODE_TTL must be between 1 and 60 seconds: {self.node_ttl}"
            )
        for url in self.stun_urls:
            if not url.startswith(("stun:", "stuns:")):
                raise MediaSettingsError(f"JUNTA_STUN_URLS: {url!r} does not start with stun:")
        if not 1 <= self.port <= 65535:
            raise MediaSettingsError(f"JUNTA_MEDIA_PORT must be between 1 and 65535: {self.port}")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
    ) -> MediaSettings:
        """Settings from `JUNTA_MEDIA_*`; `host`/`port` (command-line flags) take priority."""
        env = os.environ if environ is None else environ
        secret = env.get("JUNTA_MEDIA_SECRET", "").strip()
        if not secret:
            raise MediaSettingsError("JUNTA_MEDIA_SECRET is not set (the internal API needs it)")
        raw_port = env.get("JUNTA_MEDIA_PORT", "").strip()
        if port is None and raw_port:
            try:
                port = int(raw_port)
            except ValueError:
                raise MediaSettingsError(
                    f"JUNTA_MEDIA_PORT must be a whole number, got {raw_port!r}"
                ) from None
        return cls(
            secret=secret,
            host=host or env.get("JUNTA_MEDIA_HOST", "").strip() or DEFAULT_HOST,
            port=DEFAULT_PORT if port is None else port,
            stun_urls=tuple(
                url.strip() for url in env.get("JUNTA_STUN_URLS", "").split(",") if url.strip()
            ),
            recordings_dir=Path(
                env.get("JUNTA_RECORDINGS_DIR", "").strip() or DEFAULT_RECORDINGS_DIR
            ),
            redis_url=env.get("JUNTA_REDIS_URL", "").strip() or None,
            redis_prefix=env.get("JUNTA_REDIS_PREFIX", "").strip() or "junta:",
            advertise_url=env.get("JUNTA_MEDIA_ADVERTISE_URL", "").strip() or None,
            node_ttl=_seconds(env, "JUNTA_MEDIA_NODE_TTL", 3.0),
        )

    @property
    def public_url(self) -> str:
        """How web processes reach this node's API (`JUNTA_MEDIA_ADVERTISE_URL`, else where it
        listens)."""
        return self.advertise_url or f"http://{self.host}:{self.port}"


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise MediaSettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
