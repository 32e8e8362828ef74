"""The operator's tool for roles: who is admin, and changing it.

Usage: python -m infra.users list [EMAIL]         every account (or one): email, role, uid,
                                                   state, display name; tab-separated
       python -m infra.users grant-admin EMAIL    make the account an admin
       python -m infra.users revoke-admin EMAIL   make the account a member again

A role change also revokes the account's sessions, so it takes effect at once: tokens and
session cookies issued before are refused wherever they are checked with check_revoked,
and the next sign-in carries the new role.

Whose accounts: FIREBASE_PROJECT_ID (or --project). In the cloud it runs with Application
Default Credentials (`gcloud auth application-default login`; the caller needs
roles/firebaseauth.admin); locally, with FIREBASE_AUTH_EMULATOR_HOST set, against the Auth
emulator of `make run` (project demo-movie-reviews).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from shared.errors import ApiError
from shared.identity import accounts
from shared.identity.accounts import Account
from shared.identity.roles import ADMIN, MEMBER, Role
from shared.settings import SettingsError


def _line(account: Account) -> str:
    state = "disabled" if account.disabled else "active"
    fields = (account.email or "-", account.role, account.uid, state, account.display_name or "")
    return "\t".join(fields)


def _list(email: str | None) -> None:
    found = [accounts.find_by_email(email)] if email else accounts.list_accounts()
    for account in found:
        print(_line(account))


def _set_role(email: str, role: Role) -> None:
    account = accounts.find_by_email(email)
    changed = accounts.set_role(account.uid, role)
    print(_line(changed))
    print(f"{email} is now {changed.role}; its sessions were revoked (it signs in again).")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.users", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--project", help="the Firebase project id (default FIREBASE_PROJECT_ID)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list accounts")
    listing.add_argument("email", nargs="?")
    for command in ("grant-admin", "revoke-admin"):
        commands.add_parser(command, help=f"{command.replace('-', ' ')} role").add_argument("email")
    args = parser.parse_args(argv)
    if args.project:
        os.environ["FIREBASE_PROJECT_ID"] = args.project
    try:
        if args.command == "list":
            _list(args.email)
        else:
            _set_role(args.email, ADMIN if args.command == "grant-admin" else MEMBER)
    except (ApiError, SettingsError) as error:
        detail = error.detail if isinstance(error, ApiError) else str(error)
        subject = f"{args.email}: " if getattr(args, "email", None) else ""
        print(f"error: {subject}{detail}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
