"""Incident response and remediation orchestrator for AI-powered customer-experience services."""

__version__ = "0.1.0"
