"""Alerts pushed by other tools in their own payloads: Alertmanager (and Grafana), PagerDuty Events API v2.

Each module reads its sender's payload into calls of ``alerts.services``
(``raise_alert``, ``acknowledge``, ``resolve``); nothing here writes a model
directly. Fields the sender adds that are not read are ignored rather than
refused: these bodies are written by another program, whose newer versions
add fields (Grafana's ``values``, ``orgId``), not typed by a person.
"""
