"""Wiring the sync into a running server: build it from settings, its metrics, start and stop.

Called by the live pipeline (server/pipeline.py). The metrics are read at scrape time from the store (outbox
depth, lag, records per status), so every server process reports the same truth.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from server.crm import outbox
from server.crm.connection import ConnectionConfig, SalesforceConnection
from server.crm.deployment import deployment_id
from server.crm.mapping import load_mapping
from server.crm.plan import DrainReport
from server.crm.sender import Sender
from server.crm.worker import CrmSync, SyncConfig

log = logging.getLogger(__name__)
# Capture-to-Salesforce lag: the target is under a minute.
LAG_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 900, 3600)


class CrmMetrics:
    def __init__(self, registry: CollectorRegistry, engine: Engine) -> None:
        self.sent = Counter(
            "touchpoints_crm_records_sent", "Records written to Salesforce", ["sobject"], registry=registry
        )
        self.parked = Counter("touchpoints_crm_records_parked", "Records parked for an operator", registry=registry)
        self.retries = Counter(
            "touchpoints_crm_retries", "Attendees retried after a transient error", registry=registry
        )
        self.failures = Counter(
            "touchpoints_crm_call_failures", "Drains stopped by a failed call (queue paused)", registry=registry
        )
        self.lag = Histogram(
            "touchpoints_crm_sync_lag_seconds",
            "Change captured -> written to Salesforce",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.collector = _StoreCollector(engine)
        registry.register(self.collector)

    def observe(self, report: DrainReport) -> None:
        for sobject, n in report.sent_by_object.items():
            self.sent.labels(sobject).inc(n)
        self.parked.inc(report.parked)
        self.retries.inc(report.retrying)
        if report.failure:
            self.failures.inc()
        for lag in report.lags:
            self.lag.observe(lag)


class _StoreCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sync: CrmSync | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.engine.connect() as conn:
                stats = outbox.outbox_stats(conn, time.time())
                counts = outbox.state_counts(conn)
        except Exception:  # the tables may not exist before migrations: report nothing rather than fail a scrape
            return
        yield GaugeMetricFamily(
            "touchpoints_crm_outbox_rows", "Changes waiting for Salesforce", value=stats["outbox_rows"]
        )
        yield GaugeMetricFamily(
            "touchpoints_crm_outbox_lag_seconds", "Age of the oldest waiting change", value=stats["lag_s"]
        )
        states = GaugeMetricFamily("touchpoints_crm_records", "Salesforce records by sync status", labels=["status"])
        for status in ("pending", "synced", "failed", "parked"):
            states.add_metric([status], counts.get(status, 0))
        yield states
        if self.sync is not None:
            yield GaugeMetricFamily(
                "touchpoints_crm_paused",
                "1 while the queue is paused",
                value=1.0 if self.sync.paused_until > time.time() else 0.0,
            )
            if self.sync.sender is not None:
                yield GaugeMetricFamily(
                    "touchpoints_crm_api_usage_ratio",
                    "Daily API use (Sforce-Limit-Info)",
                    value=self.sync.sender.conn.usage_ratio,
                )


def build_sync(
    settings: Any,
    engine: Engine,
    metrics: CrmMetrics | None = None,
    *,
    connect: bool = True,
    now: Callable[[], float] = time.time,
) -> CrmSync:
    """The sync worker from settings; ``connect=False`` builds one without a connection (dry runs)."""
    config = SyncConfig.from_settings(settings)
    sender = None
    if connect:
        conn = SalesforceConnection(ConnectionConfig.from_settings(settings))
        sender = Sender(conn, config.batch_size, config.bulk_threshold)
    sync = CrmSync(
        engine,
        sender,
        replace(
            load_mapping(settings.salesforce_mapping_path),
            deployment=deployment_id(engine, settings.salesforce_deployment_id),
        ),
        config,
        on_report=metrics.observe if metrics is not None else None,
    )
    if metrics is not None:
        metrics.collector.sync = sync
    return sync


_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, CrmMetrics] = weakref.WeakKeyDictionary()


def crm_metrics(registry: CollectorRegistry, engine: Engine) -> CrmMetrics:
    """One set per registry (an app started twice in a test must not register its metrics twice)."""
    if registry not in _METRICS:
        _METRICS[registry] = CrmMetrics(registry, engine)
    return _METRICS[registry]


def start_crm(settings: Any, engine: Engine, registry: CollectorRegistry, now: Callable[[], float]) -> CrmSync | None:
    """Start the worker when enabled; metrics are registered either way (the outbox fills regardless).

    Called by the live pipeline (server/pipeline.py), which also feeds rescoring into the outbox."""
    metrics = crm_metrics(registry, engine)
    emulator = None
    if settings.salesforce_emulator:  # demo: a local org over HTTPS, the sync pointed at it
        from pydantic import SecretStr

        from server.crm.emulator.server import EmulatorServer

        emulator = EmulatorServer(Path(settings.var_dir) / "sf-emulator").start()
        emu = emulator.emulator
        settings = settings.model_copy(
            update={
                "salesforce_enabled": True,
                "salesforce_auth_flow": "password",
                "salesforce_login_url": emulator.url,
                "salesforce_ca_bundle": emulator.ca_path,
                "salesforce_username": emu.username,
                "salesforce_password": SecretStr(emu.password),
                "salesforce_security_token": SecretStr(emu.security_token),
                "salesforce_client_id": emu.client_id,
                "salesforce_client_secret": SecretStr(emu.client_secret),
            }
        )
        log.warning("Salesforce emulator at %s: the sync writes there (TOUCHPOINTS_SALESFORCE_EMULATOR)", emulator.url)
    if not settings.salesforce_enabled:
        return None
    sync = build_sync(settings, engine, metrics, now=now)
    if emulator is not None:
        sync.closers.append(emulator.stop)
    sync.start()
    log.info("Salesforce sync started (%s)", settings.salesforce_login_url)
    return sync
