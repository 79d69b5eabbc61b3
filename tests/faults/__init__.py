"""The fault campaign (``make faults``): the worked example under worker kills, a Temporal
restart, an ingest outage and failing providers, checked from the providers' own write logs.

``python -m tests.faults --help`` says how to run it; docs/RELIABILITY.md has its last results.
"""
