"""Admin commands: apply migrations, create an account, set its role, reset its password."""

from __future__ import annotations

import argparse
import getpass
import os

from engine.accounts import (
    generate_password,
    prune_login_attempts,
    prune_password_resets,
    prune_sessions,
    prune_signup_attempts,
    register_user,
    reset_password,
)
from engine.admin.users import audit_operator, set_role_by_email
from engine.bootstrap import get_runtime
from engine.db.models.accounts import ROLES
from engine.db.session import pool_stats, safe_url
from engine.errors import InvalidInput

NEW_PASSWORD_ENV = "GROUNDWORK_NEW_USER_PASSWORD"


def _migrate(args: argparse.Namespace) -> int:
    get_runtime()  # applies `alembic upgrade head` on start
    print("database is at the latest schema")
    return 0


def _prompt_password() -> str:
    first = getpass.getpass("New password for the account: ")
    if getpass.getpass("Repeat it: ") != first:
        raise InvalidInput("The two passwords differ; nothing was changed.")
    return first


def new_password(args: argparse.Namespace) -> tuple[str, bool]:
    """The account password to set and whether it was generated: --generate-password, else
    --password, else GROUNDWORK_NEW_USER_PASSWORD, else a prompt."""
    if getattr(args, "generate_password", False):
        return generate_password(), True
    given = getattr(args, "password", None) or os.environ.get(NEW_PASSWORD_ENV)
    return (given or _prompt_password()), False


def report_generated(email: str, password: str, *, show: bool) -> None:
    """Print a generated password only when asked; otherwise say how to get in."""
    if show:
        print(f"generated password for {email}: {password}")
    else:
        print(
            "a random password was set and not shown (add --show-password to print it, or "
            f"set one with `python -m engine reset-password {email}`)"
        )


def _create_user(args: argparse.Namespace) -> int:
    password, generated = new_password(args)
    rt = get_runtime()
    info = register_user(
        rt,
        email=args.email,
        password=password,
        display_name=args.name or args.email.split("@")[0],
        by_admin=True,
        role=args.role,
    )
    audit_operator(rt, "create_user", user_id=info.user_id, detail=f"role {args.role}")
    print(f"created {args.role} {info.email} (id {info.user_id})")
    return _after_password_set(info.email, password, generated=generated, args=args)


def _reset_password(args: argparse.Namespace) -> int:
    rt = get_runtime()
    password, generated = new_password(args)
    user_id = reset_password(rt, email=args.email, new_password=password)

    audit_operator(rt, "reset_password", user_id=user_id)
    print(f"password of {args.email} replaced; all of its sessions were signed out")
    return _after_password_set(args.email, password, generated=generated, args=args)


def _set_role(args: argparse.Namespace) -> int:
    changed = set_role_by_email(get_runtime(), email=args.email, role=args.role)
    print(
        f"{args.email} is now {args.role}"
        if changed
        else f"{args.email} was already {args.role}; nothing changed"
    )
    return 0


def _after_password_set(
    email: str, password: str, *, generated: bool, args: argparse.Namespace
) -> int:
    if generated:
        report_generated(email, password, show=args.show_password)
    return 0


def _prune_auth(args: argparse.Namespace) -> int:
    import datetime as dt

    rt = get_runtime()
    now = dt.datetime.now(dt.UTC)
    older_than = dt.timedelta(days=args.days)
    attempts = prune_login_attempts(rt, older_than=older_than, now=now)
    signups = prune_signup_attempts(rt, older_than=older_than, now=now)
    sessions = prune_sessions(rt, older_than=older_than, now=now)
    resets = prune_password_resets(rt, older_than=older_than, now=now)
    print(
        f"removed {attempts} login attempts, {signups} sign-up attempts, {sessions} "
        f"ended sessions and {resets} password reset requests older than {args.days} days"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from sqlalchemy import text

    rt = get_runtime()
    with rt.engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    stats = pool_stats(rt.engine)
    print(f"database   {safe_url(str(rt.engine.url.render_as_string(hide_password=False)))}")
    print(f"postgres   {version}, schema revision {revision}")
    print(
        f"pool       size={stats.size} checked_out={stats.checked_out} "
        f"checked_in={stats.checked_in} overflow={stats.overflow}"
    )
    return 0


def add_generate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--generate-password",
        action="store_true",
        help="set a random account password (not printed unless --show-password)",
    )
    p.add_argument(
        "--show-password", action="store_true", help="print the generated account password"
    )


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.set_defaults(func=_migrate)
    p = subparsers.add_parser("status", help="database, schema revision and pool statistics")
    p.set_defaults(func=_status)

    p = subparsers.add_parser(
        "create-user", help="create an account (in every sign-up mode but 'closed')"
    )
    p.add_argument("email")
    p.add_argument("--name", help="display name (default: the part of the email before @)")
    p.add_argument(
        "--role",
        choices=ROLES,
        default="learner",
        help="learner (default), teacher or admin (admins run the admin console)",
    )
    p.add_argument(
        "--password",
        metavar="ACCOUNT_PASSWORD",
        help=f"the new account's login password (default: ${NEW_PASSWORD_ENV}, "
        "else asked for; a password given here shows in the shell history)",
    )
    add_generate_options(p)
    p.set_defaults(func=_create_user)

    p = subparsers.add_parser(
        "reset-password",
        help="replace a learner's login password and sign out all of their sessions",
    )
    p.add_argument("email")
    add_generate_options(p)
    p.set_defaults(func=_reset_password)

    p = subparsers.add_parser(
        "set-role",
        help="give an account a role (learner, teacher, admin); audited; the last "
        "admin keeps the role",
    )
    p.add_argument("email")
    p.add_argument("role", choices=ROLES)
    p.set_defaults(func=_set_role)

    p = subparsers.add_parser(
        "prune-auth", help="forget old login attempts and ended sessions (housekeeping)"
    )
    p.add_argument(
        "--days",
        type=_positive_int,
        default=90,
        help="keep the last DAYS days (default 90; at least 1)",
    )
    p.set_defaults(func=_prune_auth)
