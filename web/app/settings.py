"""Every setting of a Junta process, read once from `JUNTA_*` environment variables."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from media.settings import MediaSettingsError, check_secret
from web.http.forwarded import Network, parse_proxies

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = PACKAGE_DIR.parent

LOCALES = ("es_MX", "en")


class SettingsError(ValueError):
    """A setting has a value Junta cannot use; the message names the variable."""

# The Mexican data protection laws the privacy notice can cite (JUNTA_PRIVACY_LAW).
PRIVACY_LAWS = ("lgpdppso", "lfpdppp")


def _default_node_modules() -> Path:
    # A source checkout serves the browser client's packages from its own node_modules.
    beside_source = REPO_DIR / "node_modules"
    return beside_source if beside_source.is_dir() else Path("node_modules")


@dataclass(frozen=True)
class Settings:
    """One process's configuration; built by `from_env`, or directly in tests."""

    secret_key: bytes
    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite+aiosqlite:///var/junta.db"
    redis_url: str | None = None
    redis_prefix: str = "junta:"  # keys and pub/sub channel of this deployment in Redis
    log_format: str = "text"  # "text" lines, or "json" lines for a log collector
    recordings_dir: Path = Path("var/recordings")
    # Days a recording is kept after it ends; then its files are deleted (`junta recordings purge`).
    recording_retention_days: int = 365
    storage_dir: Path = Path("var/storage")  # case attachments, content-addressed
    max_attachment_mb: int = 50
    stun_urls: tuple[str, ...] = ()
    # A separate `junta media` node (its internal API) instead of the in-process SFU; the secret
    # is the node's JUNTA_MEDIA_SECRET.
    media_url: str | None = None
    media_secret: str | None = None
    # Instead: every `junta media` node registered in Redis (JUNTA_REDIS_URL), each room placed
    # on the least loaded one and moved when its node dies (web/calls/media_fleet.py).
    media_fleet: bool = False
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None
    turn_ttl: int = 21600
    reconnect_grace: float = 20.0
    session_idle_minutes: int = 30
    cookie_secure: bool = False
    default_locale: str = "es_MX"
    # Failed sign-ins in the window for one account from one address (the account alone is only
    # slowed, never blocked for everyone), and from one address across accounts.
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 20
    login_window_seconds: int = 300
    # Reverse proxies whose X-Forwarded-For names the client (nginx in docker-compose.yml); the
    # client's address is what sign-in throttling, lockout and the audit trail key on.
    trusted_proxies: tuple[Network, ...] = ()
    # Failed sign-ins in a row that lock an account at one address, those that lock an address
    # across accounts, and for how long (database-wide).
    lockout_threshold: int = 20
    lockout_address_threshold: int = 100
    lockout_minutes: int = 15
    invite_hours: int = 72  # how long an invitation link works
    retention_years: int = 5  # clinical records are never hard-deleted before this
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    node_modules_dir: Path = field(default_factory=_default_node_modules)
    # Outgoing mail (the notification outbox). No SMTP host: notifications accumulate in the
    # outbox unsent (logged at startup) until one is configured.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = True
    smtp_implicit_tls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str | None = None  # "Junta <junta@example.org>"; required with an SMTP host
    public_url: str | None = None  # e.g. https://junta.example.org; required with an SMTP host
    outbox_interval: float = 30.0  # seconds between outbox passes
    # The privacy notice (/privacy): the institution responsible for the data and where to
    # write to exercise ARCO rights. Unset: the page shows a marked placeholder.
    privacy_controller: str | None = None
    privacy_contact: str | None = None
    # The law the notice cites: "lgpdppso" for public institutions (IMSS, ISSSTE, state health
    # services: the General Law for obligated subjects), "lfpdppp" for private ones.
    privacy_law: str = "lgpdppso"
    # The coordinators' service targets: hours from submission after which a case of each
    # urgency is flagged overdue in the queue and counted overdue on the dashboard.
    target_urgent_hours: int = 48
    target_priority_hours: int = 7 * 24
    target_routine_hours: int = 14 * 24

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `JUNTA_*` variables; raises `SettingsError` naming a bad variable."""
        env = _Env(os.environ if environ is None else environ)
        default = cls(secret_key=b"")
        settings = cls(
            secret_key=env.secret("JUNTA_SECRET_KEY"),
            host=env.text("JUNTA_HOST", default.host),
            port=env.integer("JUNTA_PORT", default.port, low=1, high=65535),
            database_url=env.database_url("JUNTA_DATABASE_URL", default.database_url),
            redis_url=env.optional("JUNTA_REDIS_URL"),
            redis_prefix=env.text("JUNTA_REDIS_PREFIX", default.redis_prefix),
            log_format=log_format_from_env(environ),
            recordings_dir=Path(env.text("JUNTA_RECORDINGS_DIR", str(default.recordings_dir))),
            recording_retention_days=env.integer(
                "JUNTA_RECORDING_RETENTION_DAYS",
                default.recording_retention_days,
                low=1,
                high=36500,
            ),
            storage_dir=Path(env.text("JUNTA_STORAGE_DIR", str(default.storage_dir))),
            max_attachment_mb=env.integer(
                "JUNTA_MAX_ATTACHMENT_MB", default.max_attachment_mb, low=1, high=4096
            ),
            stun_urls=env.urls("JUNTA_STUN_URLS", ("stun:", "stuns:")),
            media_url=env.optional("JUNTA_MEDIA_URL"),
            media_secret=env.optional("JUNTA_MEDIA_SECRET"),
            media_fleet=env.boolean("JUNTA_MEDIA_FLEET", default.media_fleet),
            turn_urls=env.urls("JUNTA_TURN_URLS", ("turn:", "turns:")),
            turn_secret=env.optional("JUNTA_TURN_SECRET"),
            turn_ttl=env.integer("JUNTA_TURN_TTL", default.turn_ttl, low=60, high=7 * 86400),
            reconnect_grace=env.number("JUNTA_RECONNECT_GRACE", default.reconnect_grace),
            session_idle_minutes=env.integer(
                "JUNTA_SESSION_IDLE_MINUTES", default.session_idle_minutes, low=1, high=7 * 1440
            ),
            cookie_secure=env.boolean("JUNTA_COOKIE_SECURE", default.cookie_secure),
            default_locale=env.choice("JUNTA_DEFAULT_LOCALE", default.default_locale, LOCALES),
            login_max_failures_per_account=env.integer(
                "JUNTA_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                default.login_max_failures_per_account,
                low=1,
                high=1000,
            ),
            login_max_failures_per_address=env.integer(
                "JUNTA_LOGIN_MAX_FAILURES_PER_ADDRESS",
                default.login_max_failures_per_address,
                low=1,
                high=100000,
            ),
            login_window_seconds=env.integer(
                "JUNTA_LOGIN_WINDOW_SECONDS", default.login_window_seconds, low=1, high=86400
            ),
            trusted_proxies=env.networks("JUNTA_TRUSTED_PROXIES"),
            lockout_threshold=env.integer(
                "JUNTA_LOCKOUT_THRESHOLD", default.lockout_threshold, low=1, high=1000
            ),
            lockout_address_threshold=env.integer(
                "JUNTA_LOCKOUT_ADDRESS_THRESHOLD",
                default.lockout_address_threshold,
                low=1,
                high=100000,
            ),
            lockout_minutes=env.integer(
                "JUNTA_LOCKOUT_MINUTES", default.lockout_minutes, low=1, high=7 * 1440
            ),
            invite_hours=env.integer("JUNTA_INVITE_HOURS", default.invite_hours, low=1, high=720),
            retention_years=env.integer(
                "JUNTA_RETENTION_YEARS", default.retention_years, low=5, high=100
            ),
            argon2_time_cost=env.integer(
                "JUNTA_ARGON2_TIME_COST", default.argon2_time_cost, low=1, high=100
            ),
            argon2_memory_kib=env.integer(
                "JUNTA_ARGON2_MEMORY_KIB", default.argon2_memory_kib, low=8, high=4 * 1024 * 1024
            ),
            argon2_parallelism=env.integer(
                "JUNTA_ARGON2_PARALLELISM", default.argon2_parallelism, low=1, high=64
            ),
            node_modules_dir=Path(
                env.text("JUNTA_NODE_MODULES_DIR", str(default.node_modules_dir))
            ),
            privacy_controller=env.optional("JUNTA_PRIVACY_CONTROLLER"),
            privacy_contact=env.optional("JUNTA_PRIVACY_CONTACT"),
            privacy_law=env.choice("JUNTA_PRIVACY_LAW", default.privacy_law, PRIVACY_LAWS),
            smtp_host=env.optional("JUNTA_SMTP_HOST"),
            smtp_port=env.integer("JUNTA_SMTP_PORT", default.smtp_port, low=1, high=65535),
            smtp_starttls=env.boolean("JUNTA_SMTP_STARTTLS", default.smtp_starttls),
            # Port 465 is TLS from the first byte (RFC 8314); elsewhere STARTTLS upgrades.
            smtp_implicit_tls=env.boolean(
                "JUNTA_SMTP_IMPLICIT_TLS",
                env.integer("JUNTA_SMTP_PORT", default.smtp_port, low=1, high=65535) == 465,
            ),
            smtp_username=env.optional("JUNTA_SMTP_USERNAME"),
            smtp_password=env.optional("JUNTA_SMTP_PASSWORD"),
            mail_from=env.optional("JUNTA_MAIL_FROM"),
            public_url=env.optional("JUNTA_PUBLIC_URL"),
            outbox_interval=env.number("JUNTA_OUTBOX_INTERVAL", default.outbox_interval),
            target_urgent_hours=env.integer(
                "JUNTA_TARGET_URGENT_HOURS", default.target_urgent_hours, low=1, high=24 * 365
            ),
            target_priority_hours=env.integer(
                "JUNTA_TARGET_PRIORITY_HOURS", default.target_priority_hours, low=1, high=24 * 365
            ),
            target_routine_hours=env.integer(
                "JUNTA_TARGET_ROUTINE_HOURS", default.target_routine_hours, low=1, high=24 * 365
            ),
        )
        if settings.turn_urls and not settings.turn_secret:
            raise SettingsError("JUNTA_TURN_URLS is set but JUNTA_TURN_SECRET is not")
        _check_mail(settings)
        _check_media(settings)
        return settings


def _check_media(settings: Settings) -> None:
    if settings.media_fleet:
        if settings.media_url is not None:
            raise SettingsError("JUNTA_MEDIA_FLEET and JUNTA_MEDIA_URL exclude each other")
        if settings.redis_url is None:
            raise SettingsError("JUNTA_MEDIA_FLEET needs JUNTA_REDIS_URL (nodes register there)")
        if settings.media_secret is None:
            raise SettingsError("JUNTA_MEDIA_FLEET is set but JUNTA_MEDIA_SECRET is not")
        try:
            check_secret(settings.media_secret)
        except MediaSettingsError as error:
            raise SettingsError(str(error)) from None
        return
    if settings.media_url is None:
        return
    if not settings.media_url.startswith(("http://", "https://")):
        raise SettingsError("JUNTA_MEDIA_URL must start with http:// or https://")
    if settings.media_secret is None:
        raise SettingsError("JUNTA_MEDIA_URL is set but JUNTA_MEDIA_SECRET is not")
    try:
        check_secret(settings.media_secret)
    except MediaSettingsError as error:
        raise SettingsError(str(error)) from None


def _check_mail(settings: Settings) -> None:
    if (settings.smtp_username is None) != (settings.smtp_password is None):
        raise SettingsError("set both JUNTA_SMTP_USERNAME and JUNTA_SMTP_PASSWORD, or neither")
    if settings.outbox_interval <= 0:
        raise SettingsError("JUNTA_OUTBOX_INTERVAL must be more than 0 seconds")
    if settings.mail_from is not None and "@" not in settings.mail_from:
        raise SettingsError(
            f"JUNTA_MAIL_FROM must be an e-mail address, got {settings.mail_from!r}"
        )
    if settings.public_url is not None and not settings.public_url.startswith(
        ("http://", "https://")
    ):
        raise SettingsError("JUNTA_PUBLIC_URL must start with http:// or https://")
    if settings.smtp_host is not None:
        if settings.mail_from is None:
            raise SettingsError("JUNTA_SMTP_HOST is set but JUNTA_MAIL_FROM is not")
        if settings.public_url is None:
            raise SettingsError(
                "JUNTA_SMTP_HOST is set but JUNTA_PUBLIC_URL (for links in mail) is not"
            )


class _Env:
    """Typed reads of environment variables with errors that name the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def optional(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.optional(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
        if not 0 <= value <= 3600:
            raise SettingsError(f"{name} must be between 0 and 3600 seconds, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.optional(name)
        if raw is None:
            return default
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return value

    def urls(self, name: str, schemes: tuple[str, ...]) -> tuple[str, ...]:
        raw = self.optional(name)
        if raw is None:
            return ()
        urls = tuple(part.strip() for part in raw.split(",") if part.strip())
        for url in urls:
            if not url.startswith(schemes):
                expected = " or ".join(schemes)
                raise SettingsError(f"{name}: {url!r} does not start with {expected}")
        return urls

    def networks(self, name: str) -> tuple[Network, ...]:
        try:
            return parse_proxies(self._environ.get(name, ""))
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None

    def database_url(self, name: str, default: str) -> str:
        value = self.text(name, default)
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                f"{name} must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
                f"got {value.split('://')[0]!r}"
            )
        return value

    def secret(self, name: str) -> bytes:
        raw = self.optional(name)
        if raw is not None:
            if len(raw) < 32:
                raise SettingsError(f"{name} must be at least 32 characters long")
            return raw.encode()
        return stored_secret(Path("var/secret_key"))


def log_format_from_env(environ: Mapping[str, str] | None = None) -> str:
    """`JUNTA_LOG_FORMAT` (text or json); read on its own too, by commands without Settings."""
    env = _Env(os.environ if environ is None else environ)
    return env.choice("JUNTA_LOG_FORMAT", "text", ("text", "json"))


def stored_secret(path: Path) -> bytes:
    """The secret kept in `path`, generated (mode 0600) on first use so restarts keep sessions.

    Processes starting together agree: the secret is written whole to a private temporary file
    that is then linked to `path`, which fails if another process got there first (then its
    secret is read). So `path` never exists half-written, and an empty one is refused.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.link(temporary, path)  # atomic, and like O_EXCL it never replaces a file
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    value = path.read_text().strip()
    if len(value) < 32:
        raise SettingsError(
            f"{path} holds no usable secret (at least 32 characters): delete it to have a new "
            "one generated, or set JUNTA_SECRET_KEY"
        )
    return value.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value.encode()
