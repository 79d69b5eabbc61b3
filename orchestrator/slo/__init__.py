"""SLOs as code: the catalog's SLIs become Prometheus recording and burn-rate / fairness-gap
alerting rules, a Sloth spec or OpenSLO documents (docs/slo.md)."""
