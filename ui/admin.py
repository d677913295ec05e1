"""Labels for the admin console's own values (sign-up modes, placements, sections); roles and
job states are in `ui.labels`."""

from __future__ import annotations

SIGNUP_MODE_LABELS = {
    "open": "Open: anyone can sign up",
    "invite": "Invitation: sign-up only with an invitation link",
    "closed": "Closed: no new accounts",
    "sso": "Single sign-on only",
}
PLACEMENT_LABELS = {"embedded": "embedded", "external": "external", "none": "not used"}
SECTIONS = ("Users", "Sign-up", "Model usage", "Background work", "Health", "Audit log")


def size_label(n: int) -> str:
    """Bytes as B, KB, MB, GB."""
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
