#!/usr/bin/env python3
"""Drill 2: read-only queries (history, statements) are served by the streaming replica, and
writes by the primary. Counts transactions on each server while the API answers reads."""
import time
import uuid

import common


def commits(port):
    # Backends flush their statistics when idle, at most every ~10 s (PostgreSQL 15): wait.
    time.sleep(11)
    return int(common.psql(port, "SELECT xact_commit FROM pg_stat_database WHERE datname = 'protocol_bank'"))


def main():
    people = common.seed(n=2)
    a, b = people
    for _ in range(20):
        common.ok(common.call("POST", "/v1/transfers", {"from_account": a["account"], "to": {"account_id": b["account"]},
                                                         "amount": "7"}, a["token"], key=uuid.uuid4().hex), "transfer")
    lag = common.psql(25433, "SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::int")
    print(f"replica in recovery: {common.psql(25433, 'SELECT pg_is_in_recovery()')}, replay lag ≈ {lag}s")
    replica_before, primary_before = commits(25433), commits(25432)
    reads = 200
    for i in range(reads):
        path = f"/v1/accounts/{a['account']}/transfers" if i % 2 else f"/v1/accounts/{a['account']}/statement"
        common.ok(common.call("GET", path, token=a["token"]), path)
    replica_delta, primary_delta = commits(25433) - replica_before, commits(25432) - primary_before
    history = common.call("GET", f"/v1/accounts/{a['account']}/transfers?limit=100", token=a["token"])[1]["data"]
    print(f"{reads} history/statement reads: replica +{replica_delta} transactions, primary +{primary_delta}")
    print(f"history read from the replica shows the {len([t for t in history if t['code'] == 'p2p'])} transfers "
          f"written to the primary")
    ok = replica_delta >= reads and len([t for t in history if t["code"] == "p2p"]) == 20
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
