"""Threat intelligence: import indicator feeds, keep them in the data directory, match values.

* :func:`import_files` reads STIX 2.1 bundles, MISP events, CSV lists and maltrail trails
  (recognised by content) into ``<data-dir>/intel/indicators.parquet``;
* :func:`match_ips`, :func:`match_domains`, :func:`match_urls` (or an :class:`IntelIndex`)
  match batches of values at a given time;
* :func:`lookup` tells everything known about one value;
* the lake's enrichment (:mod:`tocsin.enrich.tags`) tags sign-ins from indicator addresses
  ``ioc:<actor>`` with a SQL join over the same file.

See docs/intel.md.
"""

from __future__ import annotations

from tocsin.intel.collect import FileReport, Options, Problem
from tocsin.intel.importer import FORMATS, ImportResult, import_files, read_file, sniff
from tocsin.intel.lookup import Lookup, lookup
from tocsin.intel.match import IntelIndex, Match, match_domains, match_ips, match_urls
from tocsin.intel.model import Indicator
from tocsin.intel.store import IntelStore, StoreError, indicators_path
from tocsin.intel.values import BadValue

__all__ = [
    "FORMATS",
    "BadValue",
    "FileReport",
    "ImportResult",
    "Indicator",
    "IntelIndex",
    "IntelStore",
    "Lookup",
    "Match",
    "Options",
    "Problem",
    "StoreError",
    "import_files",
    "indicators_path",
    "lookup",
    "match_domains",
    "match_ips",
    "match_urls",
    "read_file",
    "sniff",
]
