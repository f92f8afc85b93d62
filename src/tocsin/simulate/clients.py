"""Applications, user agents and devices of September 2020, as Entra ID sign-in logs name them.

Application ids are Microsoft's first-party client ids; user agents and browser versions are
the ones current in September 2020 (Chrome 85, Edge 85, Firefox 80, Safari 13.1, iOS 13.6,
Android 10, Outlook 16.0.13127). Simulating another year keeps these versions.
"""

from __future__ import annotations

import random
import uuid
from typing import Final

from tocsin.simulate.render import Agent, App, Client, Device

_EXO = ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000")
_SPO = ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000")
_GRAPH = ("Microsoft Graph", "00000003-0000-0000-c000-000000000000")
_TEAMS_SVC = ("Microsoft Teams Services", "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe")

EXCHANGE: Final = App(*_EXO, *_EXO)
SHAREPOINT: Final = App(*_SPO, *_SPO)
OFFICE_HOME: Final = App("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca", *_EXO)
OFFICE_DESKTOP: Final = App("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", *_EXO)
TEAMS: Final = App("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", *_TEAMS_SVC)
OUTLOOK_MOBILE: Final = App("Outlook Mobile", "27922004-5251-4030-b22d-91ecd9a37ea4", *_EXO)
BROKER: Final = App("Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e",
                    *_GRAPH)  # fmt: skip
AUTHENTICATOR: Final = App("Microsoft Authenticator App", "4813382a-8fa7-425e-ab75-3b753aab3abb",
                           *_GRAPH)  # fmt: skip

BROWSER, RICH = "Browser", "Mobile Apps and Desktop clients"
_WIN = "Windows NT 10.0; Win64; x64"
_MAC = "Macintosh; Intel Mac OS X 10_15_6"
_IOS = "iPhone; CPU iPhone OS 13_6_1 like Mac OS X"
_AND = "Linux; Android 10; SM-G973U"

CHROME_WIN: Final = Agent(
    f"Mozilla/5.0 ({_WIN}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/85.0.4183.83 Safari/537.36",
    "Chrome 85.0.4183",
    BROWSER,
)
EDGE_WIN: Final = Agent(
    f"Mozilla/5.0 ({_WIN}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/85.0.4183.83 Safari/537.36 Edg/85.0.564.44",
    "Edge 85.0.564",
    BROWSER,
)
FIREFOX_WIN: Final = Agent(
    f"Mozilla/5.0 ({_WIN}; rv:80.0) Gecko/20100101 Firefox/80.0", "Firefox 80.0", BROWSER
)
SAFARI_MAC: Final = Agent(
    f"Mozilla/5.0 ({_MAC}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.2 Safari/605.1.15",
    "Safari 13.1.2",
    BROWSER,
)
CHROME_MAC: Final = Agent(
    f"Mozilla/5.0 ({_MAC}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/85.0.4183.83 Safari/537.36",
    "Chrome 85.0.4183",
    BROWSER,
)
OUTLOOK_WIN: Final = Agent(
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.13127; Pro)",
    "Rich Client 4.61.0.0",
    RICH,
)
OUTLOOK_MAC: Final = Agent(
    "Microsoft Office/16.0 (Macintosh; Mac OS X 10.15.6; Microsoft Outlook 16.40.20081000)",
    "Rich Client 1.0.0",
    RICH,
)
TEAMS_WIN: Final = Agent(
    f"Mozilla/5.0 ({_WIN}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Teams/1.3.00.21759 Chrome/69.0.3497.128 Electron/4.2.12 "
    "Safari/537.36",
    "Chrome 69.0.3497",
    RICH,
)
TEAMS_MAC: Final = Agent(
    f"Mozilla/5.0 ({_MAC}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Teams/1.3.00.21759 Chrome/69.0.3497.128 Electron/4.2.12 "
    "Safari/537.36",
    "Chrome 69.0.3497",
    RICH,
)
SAFARI_IOS: Final = Agent(
    f"Mozilla/5.0 ({_IOS}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.2 Mobile/15E148 Safari/604.1",
    "Mobile Safari 13.1.2",
    BROWSER,
)
OUTLOOK_IOS: Final = Agent("Outlook-iOS/709.2226530.prod.iphone (4.2035.0)", "Mobile Safari", RICH)
TEAMS_IOS: Final = Agent(
    f"Mozilla/5.0 ({_IOS}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Teams/2.0.21",
    "Mobile Safari",
    RICH,
)
AUTHENTICATOR_IOS: Final = Agent(
    f"Mozilla/5.0 ({_IOS}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 PKeyAuth/1.0",
    "Mobile Safari",
    RICH,
)
CHROME_ANDROID: Final = Agent(
    f"Mozilla/5.0 ({_AND}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/85.0.4183.81 Mobile Safari/537.36",
    "Chrome Mobile 85.0",
    BROWSER,
)
DALVIK: Final = Agent(
    "Dalvik/2.1.0 (Linux; U; Android 10; SM-G973U Build/QP1A.190711.020)", "Mobile Safari", RICH
)
OUTLOOK_ANDROID: Final = Agent("Outlook-Android/2.2.0", "Mobile Safari", RICH)
# Legacy (basic authentication) protocols: no user agent to speak of.
SMTP: Final = Agent("", "", "Authenticated SMTP")
IMAP: Final = Agent("", "", "IMAP4")
EAS_OLD_IPHONE: Final = Agent("Apple-iPhone9C1/1602.92", "", "Exchange ActiveSync")


def device_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


class Kit:
    """What one person signs in with: a work laptop, usually a phone, sometimes a home PC."""

    __slots__ = ("laptop_apps", "laptop_browser", "personal", "phone_apps", "phone_browser")

    def __init__(self, rng: random.Random, person_tag: str) -> None:
        windows = rng.random() < 0.7
        if windows:
            joined = "Hybrid Azure AD joined" if rng.random() < 0.3 else "Azure AD joined"
            laptop = Device("Windows 10", device_id(rng), f"LT-{person_tag}", joined, True)
            browser = rng.choices((CHROME_WIN, EDGE_WIN, FIREFOX_WIN), (55, 35, 10))[0]
            rich = (Client(OFFICE_DESKTOP, OUTLOOK_WIN, laptop), Client(TEAMS, TEAMS_WIN, laptop))
        else:
            laptop = Device("MacOs", device_id(rng), f"MBP-{person_tag}", "Azure AD registered")
            browser = SAFARI_MAC if rng.random() < 0.6 else CHROME_MAC
            rich = (Client(OFFICE_DESKTOP, OUTLOOK_MAC, laptop), Client(TEAMS, TEAMS_MAC, laptop))
        self.laptop_apps = rich
        self.laptop_browser = tuple(Client(a, browser, laptop) for a in
                                    (OFFICE_HOME, EXCHANGE, SHAREPOINT))  # fmt: skip
        self.phone_apps: tuple[Client, ...] = ()
        self.phone_browser: Client | None = None
        if rng.random() < 0.9:
            if rng.random() < 0.6:
                phone = Device("Ios", device_id(rng), "iPhone", "Azure AD registered")
                apps = [Client(OUTLOOK_MOBILE, OUTLOOK_IOS, phone),
                        Client(AUTHENTICATOR, AUTHENTICATOR_IOS, phone)]  # fmt: skip
                if rng.random() < 0.7:
                    apps.append(Client(TEAMS, TEAMS_IOS, phone))
                self.phone_browser = Client(EXCHANGE, SAFARI_IOS, phone)
            else:
                phone = Device("Android", device_id(rng), "SM-G973U", "Azure AD registered")
                apps = [Client(OUTLOOK_MOBILE, OUTLOOK_ANDROID, phone),
                        Client(BROKER, DALVIK, phone)]  # fmt: skip
                if rng.random() < 0.7:
                    apps.append(Client(TEAMS, DALVIK, phone))
                self.phone_browser = Client(EXCHANGE, CHROME_ANDROID, phone)
            self.phone_apps = tuple(apps)
        self.personal: Client | None = None
        if rng.random() < 0.25:
            home = Device("Windows 10") if rng.random() < 0.6 else Device("MacOs")
            agent = CHROME_WIN if home.os == "Windows 10" else SAFARI_MAC
            self.personal = Client(rng.choice((OFFICE_HOME, EXCHANGE)), agent, home)


# Modern clients an intruder uses once it holds a password (it blends in).
INTRUDER_BROWSER: Final = Device("Windows 10")
INTRUDER_CLIENTS: Final = (
    Client(OFFICE_HOME, CHROME_WIN, INTRUDER_BROWSER),
    Client(EXCHANGE, CHROME_WIN, INTRUDER_BROWSER),
)
