"""`junta`: serve the application and manage its database from the command line.

    junta serve [--host H] [--port P] [--demo]   upgrade the schema (load the demo) and serve
    junta db upgrade                              bring the database schema up to date
    junta demo [--force]                          load the demo network (refused if users exist)
    junta users create --email E --name N --role R --center C [--password-stdin]
    junta recordings export ID [--layout speaker|grid] [--output FILE.mp4]
    junta recordings purge [--days N]           delete recordings past retention (audited)
    junta backup DEST [--no-recordings] [--key FILE] [--keep-days N]
    junta backup --verify SRC [--key FILE]       check a backup without restoring it
    junta backup --new-key FILE                  a new key file for encrypted backups
    junta restore SRC [--key FILE] [--replace]   restore into an empty database and storage

Errors print one line to stderr and exit with a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Sequence
from typing import cast

from casebook import accounts
from casebook.db import create_engine, session_factory
from casebook.errors import CasebookError
from casebook.models import Role
from casebook.passwords import PasswordPolicy, Passwords
from media import versions
from media.settings import MediaSettings, MediaSettingsError
from web.app import backup_cli, recordings_cli
from web.app.logging_setup import LogFormat
from web.app.logging_setup import configure as configure_logging
from web.app.settings import Settings, SettingsError, log_format_from_env
from web.http.errors import StartupError

log = logging.getLogger("junta.cli")


class CliError(Exception):
    """A command cannot do what was asked; the message says why."""


def build_parser() -> argparse.ArgumentParser:
    """The `junta` argument parser with all its commands."""
    parser = argparse.ArgumentParser(
        prog="junta",
        description="Junta: real-time telemedicine for networks of pediatric oncology hospitals. "
        "Settings come from JUNTA_* environment variables (see README.md).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser("serve", help="upgrade the schema and serve the application")
    serve.add_argument("--host", help="address to listen on (default JUNTA_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default JUNTA_PORT or 8080)")
    serve.add_argument("--demo", action="store_true", help="load the demo network first")

    media = commands.add_parser(
        "media", help="serve a media node (the SFU) behind its internal API"
    )
    media.add_argument(
        "--host", help="address to listen on (default JUNTA_MEDIA_HOST or 127.0.0.1)"
    )
    media.add_argument(
        "--port", type=int, help="port to listen on (default JUNTA_MEDIA_PORT or 8081)"
    )

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")

    demo = commands.add_parser("demo", help="load the demo network of centers, users and rooms")
    demo.add_argument(
        "--force", action="store_true",
        help="load it even into a database that has users (adds accounts with a known password)",
    )

    users = commands.add_parser("users", help="manage user accounts")
    users_commands = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = users_commands.add_parser("create", help="create a user (asks for the password)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True, help='display name, e.g. "Dra. Ana López"')
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--center", required=True, help="the center's CLUES code, name or id")
    create.add_argument("--locale", choices=["es_MX", "en"], help="preferred language")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    recordings_cli.add_commands(commands)
    backup_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    args = build_parser().parse_args(argv)
    # A server logs what it does; the admin commands print one line, and only warnings log.
    level = logging.INFO if args.command in ("serve", "media") else logging.WARNING
    try:
        configure_logging(cast(LogFormat, log_format_from_env()), level)
    except SettingsError as error:
        return _fail(str(error))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        if args.command in ("serve", "media"):
            require_pinned_media_versions()
        if args.command == "media":
            # A media node needs none of the web settings (and no database or secret key).
            serve_media(MediaSettings.from_env(host=args.host, port=args.port))
            return 0
        settings = Settings.from_env()
        if args.command == "serve":
            serve(settings, host=args.host, port=args.port, demo=args.demo)
        elif args.command == "db":
            asyncio.run(_upgrade(settings))
            print("database schema is up to date")
        elif args.command == "demo":
            asyncio.run(_load_demo(settings, force=args.force))
            print("demo network loaded (every demo user's password: junta-demo-2026)")
        elif args.command == "users":
            password = _read_password(args.password_stdin)
            email = asyncio.run(_create_user(settings, args, password))
            print(f"created user {email}")
        elif args.command == "recordings":
            recordings_cli.run(settings, args)
        elif args.command in ("backup", "restore"):
            backup_cli.run(settings, args)
    except KeyboardInterrupt:
        return 130
    except (CliError, SettingsError, MediaSettingsError, CasebookError, StartupError) as error:
        return _fail(str(error))
    except Exception as error:  # the user gets one line; details go to the log at debug level
        log.debug("command failed", exc_info=True)
        return _fail(f"{type(error).__name__}: {_first_line(error)}")
    return 0


def _fail(message: str) -> int:
    print(f"junta: error: {message}", file=sys.stderr)
    return 1


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "no details"


def require_pinned_media_versions() -> None:
    """Refuse to serve with other aiortc or pylibsrtp releases than media/ is written against."""
    wrong = versions.mismatches(versions.installed_versions())
    if wrong:
        raise CliError("; ".join(wrong) + " (install requirements/run.lock, see README.md)")


def serve(settings: Settings, *, host: str | None, port: int | None, demo: bool) -> None:
    """Serve until interrupted (the app upgrades the schema on startup)."""
    # The app, and aiortc and PyAV behind it, load only for the commands that need them: the
    # account and recording commands start without them.
    from aiohttp import web

    from web.app.factory import create_app
    from web.app.heap import settle_collector_on_startup

    app = create_app(settings, demo=demo)
    app.on_startup.append(settle_collector_on_startup)
    web.run_app(
        app,
        host=host or settings.host,
        port=port or settings.port,
        print=lambda text: log.info("serve.started %s", " ".join(text.split())),
        access_log=None,
    )


def serve_media(settings: MediaSettings) -> None:
    """Serve a media node's internal API until interrupted."""
    from media.api import run  # aiortc loads only for this command, like the app in `serve`

    run(settings)


async def _upgrade(settings: Settings, *, demo: bool = False) -> None:
    from web.app.factory import prepare_database  # the whole app, loaded only for this command

    await prepare_database(settings, demo=demo, passwords=_passwords(settings))


async def _load_demo(settings: Settings, *, force: bool) -> None:
    # Every demo account's password is published: loading them into a database that serves
    # real people opens it to anyone who read the README.
    await _upgrade(settings)
    if not force:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as db:
                users = await accounts.count_users(db)
        finally:
            await engine.dispose()
        if users:
            raise CliError(
                f"the database already has {users} users; the demo adds accounts whose password "
                "is published. Use `junta demo --force` to load it anyway"
            )
    await _upgrade(settings, demo=True)


def _passwords(settings: Settings) -> Passwords:
    return Passwords(
        PasswordPolicy(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise CliError("the passwords do not match")
    if not password:
        raise CliError("the password is empty")
    return password


async def _create_user(settings: Settings, args: argparse.Namespace, password: str) -> str:
    await _upgrade(settings)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as db:
            center = await accounts.find_center(db, args.center)
            if center is None:
                raise CliError(f"no center matches {args.center!r} (use its CLUES code or name)")
            user = await accounts.create_user(
                db,
                _passwords(settings),
                email=args.email,
                display_name=args.name,
                role=args.role,
                center=center,
                password=password,
                locale=args.locale,
            )
            await db.commit()
            return user.email
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
