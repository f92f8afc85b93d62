"""Each mail detector on a minimal attack and a minimal benign message built with ``email``.

The messages are written here, not copied from the sample corpus: each shows the one thing
its detector looks at, so a failure says which rule changed.
"""

from __future__ import annotations

import io
import zipfile
from email.message import EmailMessage
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import REPO
from tocsin.config import load_config
from tocsin.mail import Report, analyze, build_context
from tocsin.mail.model import Context
from tocsin.mail.reader import RawMessage

AUTH_OK = "mx.example.net; spf=pass smtp.mailfrom=news.example.org; dkim=pass header.d=example.org; dmarc=pass header.from=example.org"  # noqa: E501


def build(
    *,
    sender: str = "Alice Example <alice@example.org>",
    to: str = "bob@example.net",
    subject: str = "Minutes of Tuesday's meeting",
    text: str | None = "Hello Bob,\n\nthe minutes are below.\n\nAlice\n",
    html: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    attachments: list[tuple[str, bytes, str]] | None = None,
    message_id: str | None = "<20261125.1234@mail.example.org>",
) -> bytes:
    """A message as a mail client would write it, with only what the test asks for."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers or []:
        msg[name] = value
    if text is not None:
        msg.set_content(text)
    if html is not None:
        if text is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for name, data, ctype in attachments or []:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


@cache
def default_context() -> Context:
    """No configuration: provider lookalikes, brands and trackers only (built once)."""
    return build_context(None, None)[0]


def judge(data: bytes, ctx: Context | None = None) -> Report:
    return analyze(RawMessage("test.eml", None, data, "eml"), ctx or default_context())


def codes(report: Report) -> set[str]:
    return {r.code for r in report.reasons if r.weight > 0}


@pytest.fixture(scope="module")
def campaign() -> Context:
    """The example organisation: harper2020.example, VIP Chloe Martin."""
    ctx, _ = build_context(load_config(REPO / "tocsin.example.toml"), None)
    return ctx


def test_an_ordinary_message_is_clean() -> None:
    report = judge(build(headers=[("Authentication-Results", AUTH_OK)]))
    assert report.verdict == "clean" and report.score == 0.0
    assert report.reasons == []


# --- authentication results --------------------------------------------------------------


def test_dmarc_and_spf_failures_are_scored_by_value() -> None:
    results = (
        "mx.example.net; spf=fail smtp.mailfrom=bank.example; dkim=none; "
        "dmarc=fail header.from=bank.example"
    )
    report = judge(
        build(sender="Bank <alerts@bank.example>", headers=[("Authentication-Results", results)])
    )
    assert {"dmarc_fail", "spf_fail"} <= codes(report)


def test_passing_results_and_absent_results_say_nothing() -> None:
    passing = judge(build(headers=[("Authentication-Results", AUTH_OK)]))
    absent = judge(build())  # an old export, or a server that records nothing
    assert not {c for c in codes(passing) | codes(absent) if c.startswith(("spf", "dmarc"))}
    assert "unauthenticated" not in codes(absent) and "from_unauthenticated" not in codes(absent)


def test_a_big_provider_sender_without_its_signature_is_forged() -> None:
    results = "mx.example.net; spf=pass smtp.mailfrom=relay.example; dkim=fail header.d=x.example"
    forged = judge(
        build(sender="Ann <ann@gmail.com>", headers=[("Authentication-Results", results)])
    )
    genuine = judge(
        build(
            sender="Ann <ann@gmail.com>",
            headers=[
                (
                    "Authentication-Results",
                    "mx.example.net; spf=pass smtp.mailfrom=gmail.com; dkim=pass "
                    "header.d=gmail.com; dmarc=pass header.from=gmail.com",
                )
            ],
        )
    )
    assert "provider_unsigned" in codes(forged)
    assert "provider_unsigned" not in codes(genuine)


def test_bulk_mail_not_signed_by_its_domain() -> None:
    results = "mx.example.net; spf=pass smtp.mailfrom=shop.example; dkim=none; dmarc=pass header.from=shop.example"  # noqa: E501
    html = '<p>Sale!</p><p><a href="https://shop.example/unsubscribe">Unsubscribe</a></p>'
    unsigned = judge(
        build(sender="Shop <news@shop.example>", html=html, text="Sale!",
              headers=[("Authentication-Results", results)])
    )  # fmt: skip
    passing = results.replace("dkim=none", "dkim=pass header.d=shop.example")
    signed = judge(
        build(sender="Shop <news@shop.example>", html=html, text="Sale!",
              headers=[("Authentication-Results", passing),
                       ("List-Unsubscribe", "<https://shop.example/u>")])
    )  # fmt: skip
    assert {"bulk_unsigned", "unlisted_bulk"} <= codes(unsigned)
    assert not {"bulk_unsigned", "unlisted_bulk"} & codes(signed)


# --- sender: people, brands, reply paths -------------------------------------------------


def test_vip_display_name_from_an_outside_address(campaign: Context) -> None:
    fake = judge(build(sender="Chloe Martin <chloe.martin.office@gmail.com>"), campaign)
    real = judge(build(sender="Chloe Martin <chloe@harper2020.example>"), campaign)
    personal = judge(build(sender="Chloe Martin <chloe.martin@mail.example>"), campaign)
    assert "vip_impersonation" in codes(fake) and fake.verdict != "clean"
    assert "vip_impersonation" not in codes(real) | codes(personal)


def test_own_domain_spoofed(campaign: Context) -> None:
    results = "mx.example.net; spf=fail smtp.mailfrom=harper2020.example; dmarc=fail header.from=harper2020.example"  # noqa: E501
    report = judge(
        build(sender="IT <it@harper2020.example>", headers=[("Authentication-Results", results)]),
        campaign,
    )
    assert "own_domain_spoofed" in codes(report) and report.verdict == "phish"


def test_brand_display_name_from_a_domain_the_brand_does_not_use() -> None:
    fake = judge(build(sender='"Microsoft account team" <no-reply@access-accsecurity.com>'))
    real = judge(
        build(
            sender='"Microsoft account team" '
            "<account-security-noreply@accountprotection.microsoft.com>"
        )
    )
    everyday = judge(build(sender="Ledger Consulting Partners <info@ledgercp.example>"))
    exact = judge(build(sender="Ledger Support <support@wallet-help.example>"))
    assert "brand_display_name" in codes(fake) and fake.verdict != "clean"
    assert "brand_display_name" not in codes(real)
    assert "brand_display_name" not in codes(everyday)  # "ledger" is an everyday word
    assert "brand_display_name" in codes(exact)


def test_reply_to_a_free_mail_address() -> None:
    odd = judge(build(headers=[("Reply-To", "claims.agent@gmail.com")]))
    same = judge(build(headers=[("Reply-To", "alice@example.org")]))
    assert "reply_to_freemail" in codes(odd)
    assert "reply_to_freemail" not in codes(same)


def test_return_path_elsewhere_is_shown_but_not_counted() -> None:
    report = judge(build(headers=[("Return-Path", "<bounces+123@sendgrid.net>")]))
    shown = [r for r in report.reasons if r.code == "return_path_mismatch"]
    assert shown and shown[0].weight == 0 and report.score == 0


def test_message_id_written_by_the_receiving_edge_host() -> None:
    received = (
        "from mail.spam.example (93.184.216.34) by EDGE01.mail.protection.outlook.com "
        "(10.0.0.1) with Microsoft SMTP Server; Tue, 25 Nov 2026 10:00:00 +0000"
    )
    results = (
        "spf=pass (sender IP is 93.184.216.34) smtp.mailfrom=spam.example; dkim=none; dmarc=none"
    )
    added = judge(
        build(
            message_id="<abc@EDGE01.eop-nam12.prod.protection.outlook.com>",
            headers=[("Received", received), ("Authentication-Results", results)],
        )
    )
    # Mail between two Microsoft 365 tenants: the sender's own server wrote an outlook.com id.
    tenant = judge(
        build(
            message_id="<abc@SN6PR04MB1234.namprd04.prod.outlook.com>",
            headers=[("Received", received), ("Authentication-Results", results)],
        )
    )
    assert "no_message_id" in codes(added)
    assert "no_message_id" not in codes(tenant)


def test_throwaway_tenant_signing_for_another_domain() -> None:
    def results(signer: str) -> str:
        return f"mx.example.net; spf=pass smtp.mailfrom=deck.promo.example; dkim=pass header.d={signer}; dmarc=pass header.from=promo.example"  # noqa: E501

    trial = judge(build(sender="Offers <x@deck.promo.example>",
                        headers=[("Authentication-Results", results("ste20995472.onmicrosoft.com"))]))  # fmt: skip  # noqa: E501
    own = judge(build(sender="Offers <x@deck.promo.example>",
                      headers=[("Authentication-Results", results("promo.onmicrosoft.com"))]))  # fmt: skip  # noqa: E501
    assert "throwaway_signer" in codes(trial)
    assert "throwaway_signer" not in codes(own)


def test_invalid_sender_domain() -> None:
    report = judge(build(sender="Correios <aviso@%correios.com.br>"))
    nowhere = judge(build(sender="Panel <panel@energie-onderzoek.fq>"))  # no such top-level domain
    assert "invalid_sender_domain" in codes(report) | codes(nowhere)
    assert "invalid_sender_domain" in codes(nowhere)


# --- links ---------------------------------------------------------------------------------


def test_link_text_showing_another_domain() -> None:
    html = '<p>Sign in at <a href="https://login.evil.example/x">https://www.paypal.com</a></p>'
    honest = '<p>Sign in at <a href="https://www.paypal.com/signin">https://www.paypal.com</a></p>'
    assert "text_mismatch" in codes(judge(build(html=html)))
    assert "text_mismatch" not in codes(judge(build(html=honest)))


def test_safe_links_are_unwrapped_before_comparing() -> None:
    wrapped = (
        "https://nam12.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.example.org%2F"
        "report&data=05%7C01&reserved=0"
    )
    html = f'<p>The report: <a href="{wrapped}">www.example.org/report</a></p>'
    report = judge(build(html=html))
    assert "text_mismatch" not in codes(report)
    assert report.view.links[0].url.host == "www.example.org"


def test_script_links_password_forms_and_bare_ips() -> None:
    html = (
        '<a href="javascript:alert(1)">open</a>'
        '<form action="https://collect.example/p"><input type="password" name="p"></form>'
        '<a href="http://198.51.100.23/login">Log in</a>'
    )
    found = codes(judge(build(html=html)))
    assert {"script_link", "password_form", "ip_link"} <= found


def test_calls_to_action_that_lead_somewhere_unrelated() -> None:
    lure = '<p>Your prize is waiting.</p><a href="https://prize-claim.example/c?id=1">Claim now</a>'
    shop = '<p>New arrivals.</p><a href="https://www.example.org/new">Shop now</a>'
    assert "unrelated_destination" in codes(judge(build(html=lure)))
    assert "unrelated_destination" not in codes(judge(build(html=shop)))


def test_shorteners_and_free_hosting() -> None:
    found = codes(
        judge(build(text="See https://bit.ly/3abcd and https://login-check.web.app/verify"))
    )
    assert {"shortener", "free_hosting"} <= found


def test_lookalike_of_the_organisation_domain(campaign: Context) -> None:
    typo = judge(build(html='<a href="https://harper2O20.example/login">Log in</a>'), campaign)
    sender = judge(build(sender="IT <it@harper-2020.example>"), campaign)
    own = judge(build(html='<a href="https://harper2020.example/news">News</a>'), campaign)
    assert "lookalike_link" in codes(typo)
    assert "lookalike_from" in codes(sender)
    assert not {"lookalike_link", "lookalike_from"} & codes(own)


def test_idn_homoglyph_of_a_provider() -> None:
    report = judge(build(html='<a href="https://xn--pypal-4ve.com/signin">PayPal</a>'))
    assert "lookalike_link" in codes(report)


# --- web beacons ------------------------------------------------------------------------------


def test_targeted_beacon_on_a_personal_address() -> None:
    pixel = '<img src="https://t.unknown-host.example/o/9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6" width="1" height="1">'  # noqa: E501
    report = judge(build(to="staffer@gmail.com", html=f"<p>Hello</p>{pixel}"))
    kinds = {b.kind for b in report.beacons}
    assert "targeted" in kinds and "beacon_targeted" in codes(report)
    assert report.verdict != "clean"
    assert "T1598.003" in report.techniques


def test_esp_open_tracking_is_named_and_not_counted() -> None:
    pixel = '<img src="https://u123.ct.sendgrid.net/wf/open?upn=abcdef0123456789abcdef" width="1" height="1">'  # noqa: E501
    report = judge(build(html=f"<p>Newsletter</p>{pixel}"))
    assert [b.service for b in report.beacons] == ["SendGrid"]
    assert report.beacons[0].kind == "esp" and report.score == 0


def test_an_ordinary_picture_is_no_beacon() -> None:
    report = judge(
        build(html='<img src="https://www.example.org/logo.png" width="200" height="80">')
    )
    assert report.beacons == []


# --- lures and evasion ----------------------------------------------------------------------


def test_lures_alone_never_flag() -> None:
    text = "URGENT: verify your account immediately or it will be suspended. Congratulations!"
    report = judge(build(text=text))
    assert "credential" in codes(report) and "urgency" in codes(report)
    assert report.verdict == "clean"  # words alone: a security team's warning reads the same


def test_institution_lure_from_free_mail() -> None:
    text = "I am a barrister. Your late client left an inheritance; reply to claim the funds."
    report = judge(build(sender="Barrister James <james.law.office@gmail.com>", text=text))
    assert "lure_from_freemail" in codes(report) and report.verdict != "clean"


def test_obfuscated_text() -> None:
    cyrillic = judge(build(subject="Your Аpple ID is lоcked"))  # Cyrillic А and о
    invisible = judge(build(text="ver\u200bify your acc\u200bount pass\u200bword now"))
    greek = judge(build(text="Καλημέρα, τα πρακτικά της συνάντησης είναι εδώ."))
    assert "obfuscated_text" in codes(cyrillic) and "obfuscated_text" in codes(invisible)
    assert "obfuscated_text" not in codes(greek)


def test_hidden_text_and_image_only() -> None:
    filler = "lorem ipsum " * 60
    hidden = judge(build(html=f'<p>Hi</p><div style="display:none">{filler}</div>'))
    image = judge(
        build(
            text=None, html='<a href="https://x.example/"><img src="https://x.example/a.png"></a>'
        )
    )
    assert "hidden_text" in codes(hidden)
    assert "image_only" in codes(image)


# --- attachments --------------------------------------------------------------------------------


def test_html_attachment_with_a_password_form_or_smuggling() -> None:
    form = b'<html><form action="https://x.example/p"><input type="password"></form></html>'
    smuggle = b"<html><script>var b=new Blob([atob('TVqQ')]);</script></html>"
    receipt = b"<html><p>Receipt 123</p></html>"
    assert "html_credential_form" in codes(
        judge(build(attachments=[("Invoice.html", form, "text/html")]))
    )
    assert "html_smuggling" in codes(judge(build(attachments=[("doc.htm", smuggle, "text/html")])))
    plain = codes(judge(build(attachments=[("receipt.html", receipt, "text/html")])))
    assert "html_attachment" in plain and "html_credential_form" not in plain


def test_encrypted_archive_and_dangerous_files() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("invoice.js", "WScript.Echo(1)")
    plain_zip = buffer.getvalue()
    # Mark the entry encrypted (bit 0 of the general-purpose flags) without real encryption.
    encrypted = bytearray(plain_zip)
    encrypted[6] |= 1
    central = encrypted.find(b"PK\x01\x02")
    encrypted[central + 8] |= 1
    found = codes(judge(build(attachments=[("docs.zip", bytes(encrypted), "application/zip")])))
    assert {"encrypted_archive", "dangerous_file"} <= found
    exe = codes(
        judge(build(attachments=[("setup.exe", b"MZ\x90\x00", "application/octet-stream")]))
    )
    pdf = codes(judge(build(attachments=[("report.pdf", b"%PDF-1.4\n%%EOF", "application/pdf")])))
    assert "dangerous_file" in exe and not pdf


# --- intel --------------------------------------------------------------------------------------


def test_indicator_from_the_intel_store(tmp_path: Path) -> None:
    from tocsin.intel.importer import import_files

    listing = tmp_path / "iocs.csv"
    listing.write_text(
        "IoC,IoC_Type,ConfidenceScore,ActivityGroupNames\n"
        "evil-login.example,domain,90,\n"
        "93.184.216.66,ipv4,80,\n"
    )
    data_dir = tmp_path / "data"
    import_files([listing], data_dir)
    ctx, note = build_context(None, data_dir)
    assert "indicators" in note
    hit = judge(build(html='<a href="https://evil-login.example/a">Review</a>'), ctx)
    sender = judge(
        build(
            headers=[
                (
                    "Received",
                    "from x (x [93.184.216.66]) by mx.example.net; Tue, 25 Nov 2026 10:00:00 +0000",
                )
            ]
        ),
        ctx,
    )
    clean = judge(build(html='<a href="https://www.example.org/a">Review</a>'), ctx)
    assert any(c.startswith("ioc_") for c in codes(hit)) and hit.verdict != "clean"
    assert any(c.startswith("ioc_") for c in codes(sender))
    assert not any(c.startswith("ioc_") for c in codes(clean))
