"""What tocsin knows about the mail ecosystem: trackers, shorteners, free mail, brands, hosting.

Every table here is public knowledge about services (who runs open tracking, which domains a
brand sends from), never a list of indicators: indicators come from the intel store. Domains are
registrable domains (``example.co.uk``), matched against a message's hosts by suffix.
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Bulk e-mail platforms (ESPs) whose open-tracking pixels and click redirects every marketing
# newsletter carries. A pixel here tracks a mailing list, not a person chosen for attack.
ESP_TRACKERS: Final[dict[str, str]] = {
    "sendgrid.net": "SendGrid",
    "sendgrid.com": "SendGrid",
    "list-manage.com": "Mailchimp",
    "mailchimp.com": "Mailchimp",
    "mcusercontent.com": "Mailchimp",
    "mailchimpapp.net": "Mailchimp",
    "mandrillapp.com": "Mailchimp Transactional",
    "mailgun.org": "Mailgun",
    "mailgun.net": "Mailgun",
    "awstrack.me": "Amazon SES",
    "amazonses.com": "Amazon SES",
    "hubspot.com": "HubSpot",
    "hubspotemail.net": "HubSpot",
    "hubspotlinks.com": "HubSpot",
    "hs-analytics.net": "HubSpot",
    "exacttarget.com": "Salesforce Marketing Cloud",
    "exct.net": "Salesforce Marketing Cloud",
    "sfmc-content.com": "Salesforce Marketing Cloud",
    "pardot.com": "Salesforce Pardot",
    "mktoresp.com": "Adobe Marketo",
    "mktdns.com": "Adobe Marketo",
    "marketo.com": "Adobe Marketo",
    "rs6.net": "Constant Contact",
    "constantcontact.com": "Constant Contact",
    "createsend.com": "Campaign Monitor",
    "createsend1.com": "Campaign Monitor",
    "cmail19.com": "Campaign Monitor",
    "cmail20.com": "Campaign Monitor",
    "klaviyomail.com": "Klaviyo",
    "klaviyo.com": "Klaviyo",
    "klclick.com": "Klaviyo",
    "mjt.lu": "Mailjet",
    "mailjet.com": "Mailjet",
    "sendibt2.com": "Brevo",
    "sendibt3.com": "Brevo",
    "sendibm1.com": "Brevo",
    "brevo.com": "Brevo",
    "pstmrk.it": "Postmark",
    "postmarkapp.com": "Postmark",
    "customeriomail.com": "Customer.io",
    "iterable.com": "Iterable",
    "braze.com": "Braze",
    "mlsend.com": "MailerLite",
    "mailerlite.com": "MailerLite",
    "aweber.com": "AWeber",
    "getresponse.com": "GetResponse",
    "gr-cdn.com": "GetResponse",
    "zcsend.net": "Zoho Campaigns",
    "sparkpostmail.com": "SparkPost",
    "emlnk.com": "Emarsys",
    "emarsys.net": "Emarsys",
    "acemlna.com": "ActiveCampaign",
    "activehosted.com": "ActiveCampaign",
    "substack.com": "Substack",
    "beehiiv.com": "beehiiv",
    "convertkit-mail.com": "Kit (ConvertKit)",
    "ck.page": "Kit (ConvertKit)",
    "omnisend.com": "Omnisend",
    "sailthru.com": "Sailthru",
    "responsys.net": "Oracle Responsys",
    "eloqua.com": "Oracle Eloqua",
    "en25.com": "Oracle Eloqua",
    "mailstat.us": "Mailbutler",
}
# Trackers one person puts on the mail they send to another ("read receipts" for sales and
# outreach). Legitimate, but they tell the sender exactly when *you* opened *their* message.
PERSONAL_TRACKERS: Final[dict[str, str]] = {
    "mailtrack.io": "Mailtrack",
    "yesware.com": "Yesware",
    "mailfoogae.appspot.com": "Streak",
    "superhuman.com": "Superhuman",
    "mixmax.com": "Mixmax",
    "bananatag.com": "Bananatag",
    "getnotify.com": "GetNotify",
    "polymail.io": "Polymail",
    "outreach.io": "Outreach",
    "salesloft.com": "Salesloft",
    "mailsuite.com": "Mailsuite",
    "saleshandy.com": "SalesHandy",
    "gmass.co": "GMass",
    "hunter.io": "Hunter",
    "lemlist.com": "lemlist",
    "woodpecker.co": "Woodpecker",
    "replyio.com": "Reply.io",
}

URL_SHORTENERS: Final = _words(
    """bit.ly bitly.com t.co tinyurl.com goo.gl ow.ly is.gd buff.ly rebrand.ly cutt.ly
    shorturl.at t.ly rb.gy tiny.cc s.id v.gd qr.ae lnkd.in adf.ly bl.ink short.io
    shorte.st clck.ru u.to x.co t2m.io urlz.fr chilp.it 2no.co gg.gg link.ly lnk.bio
    soo.gd tr.im po.st mcaf.ee db.tt smarturl.it linktr.ee qrco.de tiny.one surl.li
    shrtco.de 1url.com bit.do tinu.be"""
)

# Domains that offer anyone free web hosting, forms or file sharing: legitimate services that
# credential phishing uses because a page there costs nothing and borrows the host's reputation.
FREE_HOSTING: Final = _words(
    """firebaseapp.com web.app firebasestorage.googleapis.com storage.googleapis.com
    appspot.com ipfs.io dweb.link cloudflare-ipfs.com ipfs.w3s.link nftstorage.link
    pages.dev workers.dev r2.dev trycloudflare.com glitch.me netlify.app vercel.app
    herokuapp.com azurewebsites.net blob.core.windows.net web.core.windows.net
    000webhostapp.com weebly.com weeblysite.com wixsite.com godaddysites.com square.site
    mystrikingly.com webflow.io github.io gitbook.io notion.site sites.google.com
    forms.gle typeform.com jotform.com formspree.io ngrok.io ngrok-free.app ngrok.app
    surge.sh repl.co replit.app replit.dev duckdns.org ddns.net hopto.org zapto.org
    mybluehost.me translate.goog blogspot.com wordpress.com yolasite.com site123.me
    wix.com carrd.co framer.app onrender.com fly.dev deno.dev codesandbox.io
    firebaseio.com amplifyapp.com s3.amazonaws.com cprapid.com webwave.dev
    tiiny.site ukit.me"""
)

# Public mailbox providers: anyone can get an address here, so a brand or an organisation
# writing from one is not who it says, and a recipient here is a *personal* account.
FREEMAIL: Final = _words(
    """gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com
    aol.com icloud.com me.com mac.com proton.me protonmail.com pm.me gmx.com gmx.de gmx.net
    gmx.at web.de mail.com mail.ru bk.ru list.ru inbox.ru yandex.ru yandex.com zoho.com
    tutanota.com tuta.io fastmail.com hushmail.com qq.com 163.com 126.com sina.com
    naver.com daum.net hanmail.net rediffmail.com libero.it virgilio.it orange.fr
    laposte.net free.fr sfr.fr t-online.de freenet.de seznam.cz wp.pl o2.pl interia.pl
    onet.pl terra.com.br uol.com.br bol.com.br hotmail.co.uk hotmail.fr hotmail.de
    hotmail.it hotmail.es outlook.fr outlook.de yahoo.co.uk yahoo.fr yahoo.de yahoo.es
    yahoo.it yahoo.co.jp yahoo.com.br outlook.com.br live.co.uk live.fr rocketmail.com
    btinternet.com comcast.net verizon.net att.net sbcglobal.net cox.net earthlink.net
    mail.ee inbox.lv abv.bg ukr.net"""
)

# Brands phishing impersonates most (from public phishing reports), the registrable domains
# they really send from, and the names that identify them in a display name or text. Names
# that are also common words or first names ("apple", "chase", "target") need a qualifier.
BRANDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    # brand: (names as whole words, legitimate registrable domains)
    "Microsoft": (
        (
            "microsoft",
            "office 365",
            "office365",
            "microsoft 365",
            "outlook",
            "onedrive",
            "sharepoint",
            "microsoft teams",
            "hotmail",
            "windows live",
            "msn",
        ),
        (
            "microsoft.com",
            "office.com",
            "office365.com",
            "outlook.com",
            "live.com",
            "hotmail.com",
            "microsoftonline.com",
            "sharepoint.com",
            "onedrive.com",
            "msn.com",
            "microsoftstore.com",
            "skype.com",
            "xbox.com",
            "windows.com",
            "bing.com",
            "azure.com",
            "linkedin.com",
            "1drv.ms",
            "sway.office.com",
            "microsoft365.com",
            "windowsazure.com",
            "msft.net",
            "cloud.microsoft",
        ),
    ),
    "Google": (
        ("google", "gmail", "google drive", "google docs", "youtube", "google workspace"),
        (
            "google.com",
            "gmail.com",
            "googlemail.com",
            "youtube.com",
            "googleusercontent.com",
            "googleapis.com",
            "goo.gl",
            "google.co.uk",
            "google.de",
            "google.fr",
            "g.co",
            "googlegroups.com",
            "withgoogle.com",
            "android.com",
            "blogger.com",
        ),
    ),
    "Apple": (
        (
            "apple id",
            "apple support",
            "apple store",
            "icloud",
            "itunes",
            "app store",
            "apple pay",
            "apple inc",
        ),
        ("apple.com", "icloud.com", "me.com", "mac.com", "itunes.com"),
    ),
    "Amazon": (
        ("amazon", "aws", "prime video", "amazon prime"),
        (
            "amazon.com",
            "amazon.co.uk",
            "amazon.de",
            "amazon.fr",
            "amazon.es",
            "amazon.it",
            "amazon.ca",
            "amazon.com.br",
            "amazon.co.jp",
            "amazonses.com",
            "aws.amazon.com",
            "amazonaws.com",
            "primevideo.com",
            "a2z.com",
        ),
    ),
    "PayPal": (("paypal",), ("paypal.com", "paypal.me", "paypal.de", "paypal.co.uk")),
    "Netflix": (("netflix",), ("netflix.com", "netflix.net")),
    "Meta": (
        ("facebook", "instagram", "whatsapp", "meta business", "messenger"),
        (
            "facebook.com",
            "facebookmail.com",
            "instagram.com",
            "whatsapp.com",
            "meta.com",
            "fb.com",
            "messenger.com",
        ),
    ),
    "LinkedIn": (("linkedin",), ("linkedin.com", "licdn.com")),
    "DocuSign": (("docusign",), ("docusign.com", "docusign.net")),
    "Dropbox": (("dropbox",), ("dropbox.com", "dropboxmail.com")),
    "Adobe": (("adobe", "adobe sign", "acrobat"), ("adobe.com", "adobesign.com", "echosign.com")),
    "DHL": (("dhl", "dhl express"), ("dhl.com", "dhl.de", "dhl.co.uk", "dpdhl.com")),
    "FedEx": (("fedex",), ("fedex.com",)),
    "UPS": (("ups delivery", "ups express", "ups shipment"), ("ups.com",)),
    "USPS": (("usps", "postal service"), ("usps.com", "usps.gov")),
    "Okta": (("okta",), ("okta.com", "okta-emea.com", "oktapreview.com")),
    "Zoom": (("zoom meeting", "zoom video"), ("zoom.us", "zoom.com")),
    "Yahoo": (
        ("yahoo",),
        ("yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoogroups.com", "yahoo-inc.com", "ymail.com"),
    ),
    "Proton": (
        ("proton mail", "protonmail", "proton.me", "proton account"),
        ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
    ),
    "WeTransfer": (("wetransfer",), ("wetransfer.com", "we.tl")),
    "Coinbase": (("coinbase",), ("coinbase.com",)),
    "Binance": (("binance",), ("binance.com",)),
    "MetaMask": (("metamask",), ("metamask.io", "consensys.io", "consensys.net")),
    "Trust Wallet": (("trust wallet", "trustwallet"), ("trustwallet.com",)),
    "Ledger": (("ledger live", "ledger wallet"), ("ledger.com",)),
    "Bank of America": (("bank of america",), ("bankofamerica.com", "bofa.com")),
    "Wells Fargo": (("wells fargo",), ("wellsfargo.com", "wf.com")),
    "Chase": (("chase bank", "jpmorgan chase", "chase online"), ("chase.com", "jpmorgan.com")),
    "Citibank": (("citibank",), ("citi.com", "citibank.com")),
    "HSBC": (("hsbc",), ("hsbc.com", "hsbc.co.uk")),
    "American Express": (("american express", "amex"), ("americanexpress.com", "aexp.com")),
    "Norton": (("norton", "norton 360", "norton antivirus"), ("norton.com", "nortonlifelock.com")),
    "McAfee": (("mcafee",), ("mcafee.com",)),
    "TotalAV": (("totalav", "total av"), ("totalav.com",)),
    "AT&T": (("at&t",), ("att.com", "att.net")),
    "Verizon": (("verizon",), ("verizon.com", "verizonwireless.com", "verizon.net")),
    "T-Mobile": (("t-mobile",), ("t-mobile.com", "t-mobile.de", "telekom.de")),
    "Walmart": (("walmart",), ("walmart.com",)),
    "Costco": (("costco",), ("costco.com",)),
    "IRS": (("internal revenue service", "irs refund", "irs notice"), ("irs.gov",)),
    "FBI": (("federal bureau of investigation",), ("fbi.gov", "ic3.gov")),
    "Steam": (("steam support", "steam community"), ("steampowered.com", "steamcommunity.com")),
    "Santander": (("santander",), ("santander.com", "santander.co.uk", "santander.com.br")),
    "Bradesco": (("bradesco",), ("bradesco.com.br",)),
    "Itaú": (("itau", "itaú"), ("itau.com.br",)),
    "Caixa": (("caixa economica", "caixa econômica"), ("caixa.gov.br",)),
    "Banco do Brasil": (("banco do brasil",), ("bb.com.br",)),
    "Sparkasse": (("sparkasse",), ("sparkasse.de",)),
    "Deutsche Post": (("deutsche post",), ("deutschepost.de", "dhl.de")),
    "Correios": (("correios",), ("correios.com.br",)),
    "Amazon Web Services": (("amazon web services",), ("aws.amazon.com", "amazonaws.com")),
    "Booking.com": (("booking.com",), ("booking.com",)),
    "Airbnb": (("airbnb",), ("airbnb.com",)),
    "Spotify": (("spotify",), ("spotify.com",)),
    "Roblox": (("roblox",), ("roblox.com",)),
    "Temu": (("temu",), ("temu.com",)),
    "AARP": (("aarp",), ("aarp.org",)),
    "Hulu": (("hulu",), ("hulu.com",)),
    "Disney+": (("disney+", "disney plus"), ("disneyplus.com", "disney.com")),
    "State Farm": (("state farm",), ("statefarm.com",)),
    "Cash App": (("cash app", "cashapp"), ("cash.app", "square.com", "squareup.com")),
    "Venmo": (("venmo",), ("venmo.com",)),
    "Zelle": (("zelle",), ("zellepay.com",)),
    # Cryptocurrency wallets and exchanges: the most impersonated brands of "wallet drainer"
    # phishing (seed-phrase and fake-update lures), as listed in public crypto-phishing reports.
    "Trezor": (("trezor",), ("trezor.io",)),
    "Electrum": (("electrum", "electrum wallet"), ("electrum.org",)),
    "Aave": (("aave",), ("aave.com",)),
    "FTX": (("ftx",), ("ftx.com", "ftx.us")),
    "Crypto.com": (("crypto.com",), ("crypto.com",)),
    "Blockchain.com": (("blockchain.com",), ("blockchain.com",)),
    "Uniswap": (("uniswap",), ("uniswap.org",)),
    "OpenSea": (("opensea",), ("opensea.io",)),
    "Unstoppable Domains": (("unstoppable domains",), ("unstoppabledomains.com",)),
    # Consumer brands of bulk impersonation (insurance, subscriptions).
    "GEICO": (("geico",), ("geico.com",)),
    "SiriusXM": (("sirius xm", "siriusxm"), ("siriusxm.com",)),
    "Webmail": (
        (
            "webmail",
            "email administrator",
            "mail administrator",
            "mailbox administrator",
            "it helpdesk",
            "it help desk",
            "helpdesk support",
            "email support",
            "mail delivery system",
            "postmaster",
        ),
        (),
    ),
}

# Brands whose name is an everyday word ("ledger", "ripple"), recognised only when the display
# name is the brand and nothing else but role words ("Ledger", "Ledger Support", "Claims ·
# Celsius"): a person called Ripple or a newsletter about ledgers names more than that.
EXACT_BRANDS: Final[dict[str, tuple[str, tuple[str, ...]]]] = {
    "ledger": ("Ledger", ("ledger.com",)),
    "tether": ("Tether", ("tether.to", "tether.io")),
    "ripple": ("Ripple", ("ripple.com",)),
    "kraken": ("Kraken", ("kraken.com",)),
    "celsius": ("Celsius", ("celsius.network",)),
    "exodus": ("Exodus", ("exodus.com", "exodus.io")),
    "phantom": ("Phantom", ("phantom.app", "phantom.com")),
    "apple": ("Apple", ("apple.com", "icloud.com")),
    "ups": ("UPS", ("ups.com",)),
    "zoom": ("Zoom", ("zoom.us", "zoom.com")),
}
ROLE_WORDS: Final = _words(
    """support team security service services wallet notification notifications alert alerts
    customer customers care help desk helpdesk no reply noreply donotreply official account
    accounts billing info update updates finance app claims protocol center centre inc
    live online id verification admin mail"""
)

# Legitimate login hosts of common providers, the reference list for lookalike domains when no
# organisation is configured (and in addition to the configured organisations' own domains).
PROVIDER_DOMAINS: Final = tuple(
    """microsoft.com microsoftonline.com office.com office365.com outlook.com live.com
    hotmail.com sharepoint.com onedrive.com google.com gmail.com googlemail.com okta.com
    docusign.com docusign.net paypal.com apple.com icloud.com amazon.com yahoo.com
    dropbox.com linkedin.com facebook.com instagram.com netflix.com adobe.com zoom.us
    protonmail.com proton.me wetransfer.com coinbase.com binance.com metamask.io
    whatsapp.com duosecurity.com onelogin.com auth0.com salesforce.com slack.com
    github.com""".split()  # noqa: SIM905
)

# Domain endings with the highest shares of abuse in public registry abuse reports (cheap or
# free registrations; CentralNic "second-level" names like sa.com). Plenty of honest use too:
# a small weight, for the sender's domain only.
ABUSED_SUFFIXES: Final = _words(
    """top xyz shop click beauty cfd sbs quest bond icu rest monster buzz cyou lol hair skin
    makeup autos boats mom gq tk ml ga cf sa.com za.com ru.com cn.com us.com gb.net
    uk.com br.com de.com jpn.com eu.org live work support"""
)

# File types that run code when opened (or mount something that does).
DANGEROUS_EXTENSIONS: Final = _words(
    """exe scr com pif bat cmd js jse vbs vbe wsf wsh hta lnk iso img vhd vhdx one
    ps1 psm1 jar msi msp cab cpl dll xll reg chm scf url library-ms appx msix
    docm xlsm pptm dotm xlam ppam sldm"""
)
HTML_EXTENSIONS: Final = _words("htm html shtml xhtml svg mht mhtml xht")
ARCHIVE_EXTENSIONS: Final = _words("zip 7z rar gz tgz tar bz2 xz z ace arj lzh cab zipx")


def registrable_in(domain: str, table: frozenset[str] | dict[str, str]) -> str | None:
    """The entry of ``table`` that is ``domain`` or one of its parent domains."""
    labels = domain.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in table:
            return candidate
    return None
