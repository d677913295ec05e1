"""Email settings: links go by email only when a server, a sender and the public address are
all set; the public address must be a web address; the SMTP password never shows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.config import Settings
from engine.errors import MailNotSent
from engine.mail import app_link, links_by_email, send_mail

FULL = {
    "smtp_host": "smtp.school.example",
    "smtp_from": "groundwork@school.example",
    "public_url": "https://gw.school.example/",
}


@pytest.fixture
def base(tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env or secrets file
    for name in ("GROUNDWORK_SMTP_HOST", "GROUNDWORK_SMTP_FROM", "GROUNDWORK_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None)


@pytest.mark.parametrize("missing", sorted(FULL))
def test_links_go_by_email_only_with_server_sender_and_public_address(base, missing):
    assert links_by_email(base.replace(**FULL))
    partial = base.replace(**{k: v for k, v in FULL.items() if k != missing})
    assert not links_by_email(partial)
    with pytest.raises(MailNotSent, match="Email is not set up"):
        send_mail(partial, to="ada@example.com", subject="s", body="b")


@pytest.mark.parametrize(
    "url", ["gw.school.example", "ftp://gw.example", "https://", "https://a b"]
)
def test_the_public_address_must_be_a_web_address(base, url):
    with pytest.raises(ValidationError, match="public_url"):
        base.replace(public_url=url)


def test_links_start_with_the_public_address_without_a_doubled_slash(base):
    s = base.replace(**FULL)
    assert s.deployment.base_url == "https://gw.school.example"
    assert app_link(s.deployment.base_url, reset="a/b+c") == (
        "https://gw.school.example/?reset=a%2Fb%2Bc"
    )


def test_the_smtp_password_does_not_show_in_the_settings(base):
    s = base.replace(smtp_password="smtp-Secret-9f3k", **FULL)
    assert "smtp-Secret-9f3k" not in repr(s) + str(s.mail)
    assert s.mail.password.get_secret_value() == "smtp-Secret-9f3k"
