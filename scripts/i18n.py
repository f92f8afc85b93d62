#!/usr/bin/env python3
"""Notification catalogues: extract strings, update translations, check them.

    scripts/i18n.py extract          # templates + code -> src/tocsin/notify/locale/tocsin.pot
    scripts/i18n.py update           # merge the .pot into every language's tocsin.po
    scripts/i18n.py init LANG        # start a new language
    scripts/i18n.py compile [--out DIR]   # check every .po (exit 1 on a problem); with --out,
                                          # also write compiled .mo files there (packagers)

tocsin compiles the .po files in memory when it first needs a language, so nothing compiled
is kept in the repository (see docs/notify.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from babel.messages.mofile import write_mo

from tocsin.notify import catalogues
from tocsin.notify.i18n import DOMAIN, available_languages, catalogue_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    sub.add_parser("extract")
    sub.add_parser("update")
    init = sub.add_parser("init")
    init.add_argument("language")
    comp = sub.add_parser("compile")
    comp.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.verb == "extract":
        print(f"wrote {catalogues.write_pot()}")
    elif args.verb == "update":
        for path in catalogues.update(available_languages()):
            print(f"updated {path}")
    elif args.verb == "init":
        print(f"created {catalogues.init(args.language)}")
    else:
        problems = catalogues.problems(available_languages())
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        if args.out is not None:
            for language in available_languages():
                catalog = catalogues.read_catalogue(catalogue_path(language), language)
                target = args.out / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as f:
                    write_mo(f, catalog)
                print(f"compiled {target}")
        print(f"{len(available_languages())} catalogue(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
