#!/usr/bin/env python3
"""Drill 1: under steady traffic through nginx, kill one API instance (SIGKILL). The other
carries on; only requests in flight on the killed one may fail, and retrying those with the same
Idempotency-Key moves the money exactly once. Ends with `ledger verify` and restarts the stack."""
import os
import signal
import subprocess
import threading
import time
import uuid

import common

DURATION, KILL_AT, WORKERS = 20.0, 6.0, 8


def main():
    people = common.seed(n=4)
    total = {"requests": 0, "failed": 0, "retried_ok": 0, "after_kill_failed": 0, "transfers": 0}
    lock = threading.Lock()
    start = time.time()
    killed_at = [None]

    def worker(i):
        me, other = people[i % 4], people[(i + 1) % 4]
        while time.time() - start < DURATION:
            key = uuid.uuid4().hex
            body = {"from_account": me["account"], "to": {"account_id": other["account"]}, "amount": "1"}
            status, _ = common.call("POST", "/v1/transfers", body, me["token"], key=key)
            with lock:
                total["requests"] += 1
                total["transfers"] += 1
            if status != 201:
                with lock:
                    total["failed"] += 1
                    late = killed_at[0] is not None and time.time() - killed_at[0] > 2.0
                    if late:
                        total["after_kill_failed"] += 1
                # The client's retry, same key: either the first attempt committed (replayed) or not.
                for _ in range(10):
                    status, _ = common.call("POST", "/v1/transfers", body, me["token"], key=key)
                    if status == 201:
                        with lock:
                            total["retried_ok"] += 1
                        break
                    time.sleep(0.2)
            status, _ = common.call("GET", f"/v1/accounts/{me['account']}", token=me["token"])
            with lock:
                total["requests"] += 1
                if status != 200:
                    total["failed"] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    time.sleep(KILL_AT)
    pid = int(open(os.path.join(common.RUN, "api-1.pid")).read())
    os.kill(pid, signal.SIGKILL)
    killed_at[0] = time.time()
    print(f"killed api-1 (pid {pid}) at t={KILL_AT:.0f}s")
    for t in threads:
        t.join()

    balances = [int(common.call("GET", f"/v1/accounts/{p['account']}", token=p["token"])[1]["balance"]["posted"])
                for p in people]
    verified, report = common.ledger_verify()
    print(f"requests: {total['requests']} ({total['transfers']} transfers), failed: {total['failed']} "
          f"(in flight on the killed instance), "
          f"failed later than 2 s after the kill: {total['after_kill_failed']}, retried with the same key and "
          f"succeeded: {total['retried_ok']}")
    print(f"sum of the four balances: {sum(balances)} (funded 400000000; transfers only move money between them)")
    print(f"ledger verify: {'ok' if verified else 'FAILED'}")
    subprocess.run([os.path.join(os.path.dirname(common.HERE), "up")], check=True, capture_output=True)
    print("api-1 restarted by deploy/local/up")
    ok = total["after_kill_failed"] == 0 and sum(balances) == 400_000_000 and verified
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
