"""Admin console: users, sign-up, model usage, background work, health and the audit log.

In the navigation for admins only; every section asks an engine service that refuses anyone
else, so a learner who opens /admin sees the refusal and no data.
"""

from __future__ import annotations

import streamlit as st

from engine.admin import access, health, jobs as admin_jobs, model_usage, signup, users
from engine.domain.vocabulary import JobState
from engine.errors import EngineError
from engine.mail import app_link, links_by_email
from engine.server_settings import SIGNUP_MODES, USAGE_LIMITS
from ui.admin import (
    PLACEMENT_LABELS,
    SECTIONS,
    SIGNUP_MODE_LABELS,
    size_label,
)
from ui.auth import require_account
from ui.labels import JOB_KIND_LABELS, JOB_STATE_LABELS, ROLE_LABELS, label
from ui.runtime import get_runtime
from ui.text import escape_markdown

account = require_account()
rt = get_runtime()
me = account.user_id

st.title("Admin console")
try:
    access.check_admin(rt, actor_id=me)
except EngineError as e:
    st.error(e.user_message, icon=":material/block:")
    st.stop()

section = (
    st.segmented_control(
        "Section", SECTIONS, default=SECTIONS[0], key="admin_section", label_visibility="collapsed"
    )
    or SECTIONS[0]
)


def _done(message: str) -> None:
    """Show `message` after the rerun that refreshes the data."""
    st.session_state["admin_notice"] = message
    st.rerun()


if notice := st.session_state.pop("admin_notice", None):
    st.success(notice)


def users_section() -> None:
    c1, c2 = st.columns([3, 1])
    query = c1.text_input("Search by email or name", key="admin_user_query", max_chars=200)
    role = c2.selectbox(
        "Role",
        [None, *ROLE_LABELS],
        key="admin_user_role",
        format_func=lambda r: "Any role" if r is None else ROLE_LABELS[r],
    )
    found, total = users.search_users(rt, actor_id=me, query=query, role=role, limit=200)
    st.caption(
        f"{total} account{'s' if total != 1 else ''}"
        + (f"; the first {len(found)} are listed" if total > len(found) else "")
    )
    st.dataframe(
        [
            {
                "Email": u.email,
                "Name": u.display_name,
                "Role": ROLE_LABELS[u.role],
                "Status": "being deleted" if u.deleting else "disabled" if u.disabled else "active",
                "Signed-in sessions": u.live_sessions,
                "Last login": u.last_login_at,
                "Created": u.created_at,
            }
            for u in found
        ],
        hide_index=True,
        key="admin_users_table",
    )
    if not found:
        return
    by_id = {u.id: u for u in found}
    picked = st.selectbox(
        "Account",
        list(by_id),
        key="admin_user_pick",
        format_func=lambda i: f"{by_id[i].email} ({by_id[i].display_name})",
    )
    user = by_id[picked]
    st.subheader(escape_markdown(user.email))
    left, right = st.columns(2)
    with left.form("admin_role_form"):
        new_role = st.selectbox(
            "Role",
            list(ROLE_LABELS),
            index=list(ROLE_LABELS).index(user.role),
            format_func=ROLE_LABELS.get,
            key=f"admin_new_role_{user.id}",
        )
        sure = st.checkbox("I want to change this account's role", key=f"admin_role_sure_{user.id}")
        if st.form_submit_button("Change role"):
            if not sure:
                st.warning("Tick the box to confirm the change.")
            elif users.set_role(rt, actor_id=me, user_id=user.id, role=new_role):
                _done(f"{escape_markdown(user.email)} is now {ROLE_LABELS[new_role].lower()}.")
    with right:
        if user.disabled:
            if st.button("Enable account", key="admin_enable", icon=":material/lock_open:"):
                users.set_disabled(rt, actor_id=me, user_id=user.id, disabled=False)
                _done(f"{escape_markdown(user.email)} can sign in again.")
        else:
            sure = st.checkbox(
                "Disable: sign-in refused, every session ends now",
                key=f"admin_disable_sure_{user.id}",
            )
            if st.button(
                "Disable account", key="admin_disable", icon=":material/block:", disabled=not sure
            ):
                users.set_disabled(rt, actor_id=me, user_id=user.id, disabled=True)
                _done(f"{escape_markdown(user.email)} is disabled and was signed out.")
        if st.button("Sign out everywhere", key="admin_sign_out", icon=":material/logout:"):
            ended = users.sign_out_everywhere(rt, actor_id=me, user_id=user.id)
            _done(f"{ended} session{'s' if ended != 1 else ''} ended.")
        if st.button(
            "Set a temporary password", key="admin_temp_password", icon=":material/password:"
        ):
            password = users.set_temporary_password(rt, actor_id=me, user_id=user.id)
            st.session_state["admin_temp"] = (user.id, password)
        temp = st.session_state.pop("admin_temp", None)  # shown once
        if temp and temp[0] == user.id:
            st.info(
                "Give this password to the learner (shown once); they should change it "
                "on their Profile page. All of their sessions were ended."
            )
            st.code(temp[1], language=None)
        reset_link_controls(user)
    with st.expander("Learner's own usage limits"):
        own = model_usage.learner_limits(rt, actor_id=me, user_id=user.id)
        server = model_usage.global_limits(rt, actor_id=me)
        with st.form("admin_learner_limits"):
            values = {
                name: st.number_input(
                    f"{model_usage.LIMIT_LABELS[name]} (server: {server[name]})",
                    min_value=0,
                    max_value=model_usage.MAX_LIMIT,
                    value=own.get(name, 0),
                    key=f"admin_ll_{user.id}_{name}",
                    help="0: follow the server's limit",
                )
                for name in USAGE_LIMITS
            }
            if st.form_submit_button("Save limits"):
                for name, value in values.items():
                    wanted = int(value) or None
                    if wanted != own.get(name):
                        model_usage.set_learner_limit(
                            rt, actor_id=me, user_id=user.id, name=name, value=wanted
                        )
                _done("Limits saved; they apply to the learner's next request.")
    with st.expander("Delete account"):
        st.write(
            "Deletes the account with all of its materials, questions, history and "
            "files, by a background job. This cannot be undone."
        )
        typed = st.text_input(
            "Type the account's email to confirm", key=f"admin_delete_email_{user.id}"
        )
        if st.button(
            "Delete account", key="admin_delete", type="primary", icon=":material/delete_forever:"
        ):
            users.delete_user(rt, actor_id=me, user_id=user.id, confirm_email=typed)
            _done(f"{escape_markdown(user.email)} is being deleted.")


def signup_section() -> None:
    mode = signup.signup_mode(rt, actor_id=me)
    with st.form("admin_signup_mode"):
        chosen = st.radio(
            "Who may create accounts",
            SIGNUP_MODES,
            index=SIGNUP_MODES.index(mode),
            format_func=SIGNUP_MODE_LABELS.get,
            key="admin_mode",
        )
        st.caption(
            "Applies at once on every server process; GROUNDWORK_SIGNUP_MODE is the "
            "default until an admin changes it here."
        )
        if st.form_submit_button("Save sign-up mode") and chosen != mode:
            signup.set_signup_mode(rt, actor_id=me, mode=chosen)
            _done(f"Sign-up mode: {SIGNUP_MODE_LABELS[chosen]}.")
    with st.form("admin_sso_domains"):
        domains = st.text_input(
            "Single sign-on creates accounts only for these email domains",
            value=", ".join(signup.sso_domains(rt, actor_id=me)),
            key="admin_sso_domains",
            placeholder="any domain",
            help="Comma-separated, e.g. school.example; empty: any.",
        )
        if st.form_submit_button("Save domains"):
            kept = signup.set_sso_domains(rt, actor_id=me, domains=domains)
            _done(
                "Single sign-on: "
                + (escape_markdown(", ".join(kept)) if kept else "any domain")
                + "."
            )
    st.subheader("Invitations")
    if mode != "invite":
        st.caption("Invitation links work while the sign-up mode is 'Invitation'.")
    invitation_form()
    listed = signup.list_invitations(rt, actor_id=me)
    if not listed:
        st.caption("No invitations yet.")
    for inv in listed:
        c1, c2 = st.columns([5, 1])
        state = inv.problem or "usable"
        c1.write(
            f"**{escape_markdown(inv.note or f'Invitation {inv.id}')}**: "
            f"{inv.uses}/{inv.max_uses} used, expires {inv.expires_at:%Y-%m-%d %H:%M} "
            f"UTC. {escape_markdown(state)}"
        )
        if not inv.revoked and c2.button("Revoke", key=f"admin_revoke_{inv.id}"):
            signup.revoke_invitation(rt, actor_id=me, invitation_id=inv.id)
            _done("Invitation revoked.")


def _console_base() -> str:
    """The console's own address up to the app's root (links to copy when no
    GROUNDWORK_PUBLIC_URL is set)."""
    return (st.context.url or "").split("?")[0].rsplit("/", 1)[0]


def invitation_form() -> None:
    by_email = links_by_email(rt.settings)
    with st.form("admin_invite"):
        c1, c2, c3 = st.columns([1, 1, 2])
        days = c1.number_input(
            "Valid for (days)",
            min_value=1,
            max_value=signup.MAX_INVITATION_DAYS,
            value=7,
            key="admin_inv_days",
        )
        uses = c2.number_input(
            "Maximum sign-ups",
            min_value=1,
            max_value=signup.MAX_INVITATION_USES,
            value=30,
            key="admin_inv_uses",
        )
        note = c3.text_input("Note (e.g. the class)", max_chars=200, key="admin_inv_note")
        email = (
            st.text_input(
                "Send it to (optional)",
                key="admin_inv_email",
                max_chars=320,
                placeholder="name@school.example",
                help="The link is emailed to this address; leave empty to copy the link.",
            )
            if by_email
            else ""
        )
        if st.form_submit_button("Create invitation link"):
            inv = signup.create_invitation(
                rt, actor_id=me, days=int(days), max_uses=int(uses), note=note, email=email
            )
            st.session_state["admin_new_invite"] = None if inv.emailed_to else inv.token
            if inv.emailed_to:
                _done(f"Invitation sent to {escape_markdown(inv.emailed_to)}.")
            if inv.mail_error:
                st.session_state["admin_invite_mail_error"] = inv.mail_error
    if not by_email:
        st.caption("Email is not set up on this server: copy the link and send it yourself.")
    if error := st.session_state.pop("admin_invite_mail_error", None):
        st.error(escape_markdown(error) + " The invitation is valid: copy its link below.")
    if token := st.session_state.get("admin_new_invite"):
        st.info("Copy this link now; it is not shown again.")
        st.code(
            app_link(rt.settings.deployment.base_url or _console_base(), invite=token),
            language=None,
        )


def reset_link_controls(user: users.UserRow) -> None:
    """A one-time password reset link for the account: emailed when email is set up, else
    (or when sending fails) shown once to copy."""
    if st.button(
        "Send a password reset link"
        if links_by_email(rt.settings)
        else "Make a password reset link",
        key="admin_reset_link",
        icon=":material/lock_reset:",
    ):
        link = users.create_reset_link(rt, actor_id=me, user_id=user.id, base_url=_console_base())
        if link.emailed_to:
            _done(
                f"A password reset link was sent to {escape_markdown(link.emailed_to)}; it "
                f"works once, until {link.expires_at:%Y-%m-%d %H:%M} UTC."
            )
        st.session_state["admin_reset"] = (user.id, link)
    shown = st.session_state.pop("admin_reset", None)  # shown once
    if shown and shown[0] == user.id:
        link = shown[1]
        if link.mail_error:
            st.error(escape_markdown(link.mail_error) + " The link is valid: copy it below.")
        st.info(
            "Give this link to the account's owner (shown once); it works once, until "
            f"{link.expires_at:%Y-%m-%d %H:%M} UTC. Their sessions end when they use it."
        )
        st.code(link.url, language=None)


def usage_section() -> None:
    days = st.select_slider(
        "Period",
        options=[1, 7, 30, 90],
        value=30,
        key="admin_usage_days",
        format_func=lambda d: f"last {d} day{'s' if d > 1 else ''}",
    )
    report = model_usage.usage_report(rt, actor_id=me, days=days)

    def table(rows, key_name):
        return [
            {
                key_name: r.key,
                "Requests": r.requests,
                "Tokens in": r.tokens_in,
                "Tokens out": r.tokens_out,
                "Cost (USD)": float(r.cost_usd),
            }
            for r in rows
        ]

    st.subheader("Per learner")
    st.dataframe(table(report.by_learner, "Learner"), hide_index=True, key="admin_usage_user")
    c1, c2 = st.columns(2)
    c1.subheader("Per day")
    c1.dataframe(table(report.by_day, "Day (UTC)"), hide_index=True, key="admin_usage_day")
    c2.subheader("Per task")
    c2.dataframe(table(report.by_task, "Task"), hide_index=True, key="admin_usage_task")
    st.subheader("Server-wide limits")
    limits = model_usage.global_limits(rt, actor_id=me)
    with st.form("admin_global_limits"):
        values = {
            name: st.number_input(
                model_usage.LIMIT_LABELS[name],
                min_value=1,
                max_value=model_usage.MAX_LIMIT,
                value=limits[name],
                key=f"admin_gl_{name}",
            )
            for name in USAGE_LIMITS
        }
        if st.form_submit_button("Save limits"):
            for name, value in values.items():
                if int(value) != limits[name]:
                    model_usage.set_global_limit(rt, actor_id=me, name=name, value=int(value))
            _done("Limits saved; they apply to every learner's next request.")


def jobs_section() -> None:
    counts = admin_jobs.job_counts(rt, actor_id=me)
    kinds = sorted({k for k, _ in counts})
    st.dataframe(
        [
            {
                "Kind": label(JOB_KIND_LABELS, k),
                **{JOB_STATE_LABELS[o]: counts.get((k, o), 0) for o in admin_jobs.OUTCOMES},
            }
            for k in kinds
        ],
        hide_index=True,
        key="admin_job_counts",
    )
    c1, c2 = st.columns(2)
    outcome = c1.selectbox(
        "Show",
        admin_jobs.OUTCOMES,
        format_func=JOB_STATE_LABELS.get,
        index=2,
        key="admin_job_outcome",
    )
    kind = c2.selectbox(
        "Kind",
        [None, *JOB_KIND_LABELS],
        key="admin_job_kind",
        format_func=lambda k: "Every kind" if k is None else JOB_KIND_LABELS[k],
    )
    listed = admin_jobs.list_jobs(rt, actor_id=me, outcome=outcome, kind=kind)
    if not listed:
        st.caption("No such jobs.")
    for job in listed:
        with st.container(border=True):
            c1, c2 = st.columns([5, 1])
            c1.write(
                f"**{escape_markdown(label(JOB_KIND_LABELS, job.kind))}** · {escape_markdown(job.label)} · "
                f"{escape_markdown(job.owner or 'server')} · attempt {job.attempts}"
            )
            c1.caption(escape_markdown(job.message))
            if job.outcome is JobState.FAILED and c2.button("Retry", key=f"admin_retry_{job.id}"):
                admin_jobs.retry_job(rt, actor_id=me, job_id=job.id)
                _done("The job is waiting for a worker again.")
            if job.outcome is not JobState.FAILED and c2.button(
                "Cancel", key=f"admin_cancel_{job.id}"
            ):
                admin_jobs.cancel_job(rt, actor_id=me, job_id=job.id)
                _done("Cancelled (a running job stops at its next step).")


def health_section() -> None:
    report = health.health(rt, actor_id=me)
    for part in report.parts:
        icon = ":material/check_circle:" if part.ok else ":material/error:"
        st.write(
            f"{icon} **{escape_markdown(part.name)}** ({PLACEMENT_LABELS[part.placement]}): "
            f"{escape_markdown(part.detail)}"
        )
    st.subheader("Workers")
    if report.workers:
        st.dataframe(
            [{"Worker": i, "Last heartbeat (UTC)": at} for i, at in report.workers],
            hide_index=True,
            key="admin_workers",
        )
    else:
        st.caption("No worker has recorded a heartbeat.")
    st.subheader("Queue")
    st.dataframe(
        [{"Status": k, "Jobs": n} for k, n in sorted(report.queue.items())],
        hide_index=True,
        key="admin_queue",
    )
    st.subheader("Data folder")
    st.dataframe(
        [{"Folder": k, "Size": size_label(n)} for k, n in report.folders.items()],
        hide_index=True,
        key="admin_folders",
    )
    st.caption(f"Disk: {size_label(report.disk_free)} free of {size_label(report.disk_total)}.")


def audit_section() -> None:
    page_size = 100
    page = st.number_input("Page", min_value=1, value=1, key="admin_audit_page")
    rows, total = access.audit_log(
        rt, actor_id=me, limit=page_size, offset=(int(page) - 1) * page_size
    )
    st.caption(f"{total} entries, newest first. The log cannot be edited.")
    st.dataframe(
        [
            {
                "When (UTC)": r.at,
                "Who": r.actor,
                "Action": r.action,
                "Account": r.target,
                "Detail": r.detail,
            }
            for r in rows
        ],
        hide_index=True,
        key="admin_audit",
    )


SECTION_VIEWS = dict(
    zip(
        SECTIONS,
        (users_section, signup_section, usage_section, jobs_section, health_section, audit_section),
        strict=True,
    )
)
try:
    SECTION_VIEWS[section]()
except EngineError as e:
    st.error(e.user_message)
