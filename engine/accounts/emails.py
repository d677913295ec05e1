"""Email addresses as account keys: one key for every spelling that looks the same.

The key is NFKC-normalised (fullwidth and other compatibility forms become plain letters),
case-folded, stripped of combining marks and of the dotless i, so that `ａｄａ@example.com`,
`ADA@example.com` and `adı@example.com` are one account. Invisible format characters
(zero-width spaces and joiners, soft hyphens, direction marks) are refused at sign-up and
ignored when looking an address up.
"""

from __future__ import annotations

import re
import unicodedata

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is not our check.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 320
# Letters NFKC keeps apart from the ASCII letter they imitate.
_LOOK_ALIKES = str.maketrans({"ı": "i", "ȷ": "j"})
# Format, control, private-use, surrogate and unassigned characters: invisible or meaningless.
_INVISIBLE_CATEGORIES = {"Cf", "Cc", "Co", "Cs", "Cn"}


def _visible(text: str) -> str:
    return "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)


def normalise_email(email: str) -> str:
    """The account key of an address (see the module docstring)."""
    folded = unicodedata.normalize("NFKC", _visible(email)).strip().casefold()
    decomposed = unicodedata.normalize("NFD", folded.translate(_LOOK_ALIKES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def display_email(email: str) -> str:
    """The address as stored and shown: compatibility forms resolved, lower case."""
    return unicodedata.normalize("NFKC", email.strip()).lower()


def email_problem(email: str) -> str | None:
    """Why an address cannot be used for an account, or None."""
    if _visible(email) != email:
        return (
            "Remove the invisible characters from the email address (they may have come "
            "with a copy and paste)."
        )
    shown = display_email(email)
    if not _EMAIL.match(shown) or len(shown) > MAX_EMAIL_LENGTH:
        return "Enter a valid email address, like name@example.com."
    return None
