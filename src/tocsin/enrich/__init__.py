"""Offline enrichment: which source addresses are Tor exits, commercial VPNs or hosting."""
