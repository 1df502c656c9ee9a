"""Reproducible test traffic for Sluice: scapy frames and hand-built TLS ClientHellos."""
