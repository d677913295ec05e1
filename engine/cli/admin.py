"""Admin commands: apply migrations, create a learner account."""

from __future__ import annotations

import argparse
import getpass
import os

from engine.runtime import get_runtime


def _migrate(args: argparse.Namespace) -> int:
    get_runtime()  # applies `alembic upgrade head` on start
    print("database is at the latest schema")
    return 0


def _create_user(args: argparse.Namespace) -> int:
    from engine.accounts import register_user

    password = args.password or os.environ.get("GROUNDWORK_NEW_USER_PASSWORD") or getpass.getpass()
    rt = get_runtime()
    info = register_user(rt.session_factory, email=args.email, password=password,
                         display_name=args.name or args.email.split("@")[0],
                         settings=rt.settings)
    print(f"created learner {info.email} (id {info.user_id})")
    return 0


def _status(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    from engine.db.session import pool_stats, safe_url

    rt = get_runtime()
    with rt.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    stats = pool_stats(rt.engine)
    print(f"database   {safe_url(str(rt.engine.url.render_as_string(hide_password=False)))}")
    print(f"postgres   {version}, schema revision {revision}")
    print(f"pool       size={stats.size} checked_out={stats.checked_out} "
          f"checked_in={stats.checked_in} overflow={stats.overflow}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.set_defaults(func=_migrate)
    p = subparsers.add_parser("status", help="database, schema revision and pool statistics")
    p.set_defaults(func=_status)
    p = subparsers.add_parser("create-user", help="create a learner account")
    p.add_argument("email")
    p.add_argument("--name", help="display name (default: the part of the email before @)")
    p.add_argument("--password", help="password (default: GROUNDWORK_NEW_USER_PASSWORD or a prompt)")
    p.set_defaults(func=_create_user)
