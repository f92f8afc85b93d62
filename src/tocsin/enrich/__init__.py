"""Offline enrichment: where source addresses are (country, city, AS) and whether they are Tor
exits, commercial VPNs, hosting or known indicators.

* :mod:`tocsin.enrich.geo` — place and AS of addresses the log does not give, from
  geoip2fast's bundled data or the user's .mmdb files;
* :mod:`tocsin.enrich.tags` — ``tor``, ``vpn``, ``hosting``, ``ioc:<actor>`` tags;
* :mod:`tocsin.enrich.tor` — refreshing the Tor exit list from files the user downloads.
"""
