#!/usr/bin/env python3
"""Writes protocol-bank.json, the Grafana dashboard (schema 39). Edit the panel list here and
rerun: python3 deploy/monitoring/dashboards/generate.py"""
import json
import pathlib

PANELS = [
    ("Traffic (requests/s by status)", 'sum by (status) (rate(http_requests_total[5m]))', "reqps"),
    ("Latency p50 / p99", [
        ('histogram_quantile(0.50, sum by (le) (rate(http_request_duration_seconds_bucket{route!~"/health|/ready"}[5m])))', "p50"),
        ('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{route!~"/health|/ready"}[5m])))', "p99"),
    ], "s"),
    ("5xx ratio", 'sum(rate(http_requests_total{status=~"5.."}[5m])) / clamp_min(sum(rate(http_requests_total[5m])), 1e-9)', "percentunit"),
    ("Slowest routes (p99)", 'topk(5, histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m]))))', "s"),
    ("DB pool in use", 'sum by (instance, pool) (db_pool_connections_in_use)', "short"),
    ("Dependencies up", 'min by (dependency) (dependency_up)', "short"),
    ("Replica lag", 'max(db_replica_lag_seconds)', "s"),
    ("Redis hit rate", 'rate(redis_keyspace_hits_total[5m]) / clamp_min(rate(redis_keyspace_hits_total[5m]) + rate(redis_keyspace_misses_total[5m]), 1e-9)', "percentunit"),
    ("Ledger throughput (transfers/s)", 'sum by (result) (rate(ledger_transfers_total[5m]))', "ops"),
    ("Ledger batch size (avg)", 'sum(rate(ledger_batch_size_sum[5m])) / clamp_min(sum(rate(ledger_batch_size_count[5m])), 1e-9)', "short"),
    ("Ledger verify / outbox backlog", [
        ("min(ledger_verify_ok)", "verify ok"),
        ("max(ledger_outbox_backlog)", "outbox backlog"),
    ], "short"),
    ("Chain confirmation time (p90)", 'histogram_quantile(0.90, sum by (le, chain) (rate(chain_deposit_confirmation_seconds_bucket[30m])))', "s"),
    ("Sign-ins by outcome", 'sum by (outcome) (rate(sign_ins_total[5m]))', "ops"),
    ("Instances ready", 'sum(instance_ready)', "short"),
]


def panel(i, title, queries, unit):
    if isinstance(queries, str):
        queries = [(queries, "")]
    return {
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {"refId": chr(65 + n), "expr": expr, "legendFormat": legend or "__auto"}
            for n, (expr, legend) in enumerate(queries)
        ],
    }


dashboard = {
    "uid": "protocol-bank",
    "title": "Protocol Bank",
    "tags": ["protocol-bank"],
    "timezone": "utc",
    "schemaVersion": 39,
    "version": 1,
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
    "panels": [panel(i, *p) for i, p in enumerate(PANELS)],
}
out = pathlib.Path(__file__).with_name("protocol-bank.json")
out.write_text(json.dumps(dashboard, indent=2) + "\n")
print(f"wrote {out}")
