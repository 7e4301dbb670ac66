#!/usr/bin/env python3
"""Drill 3: base backup + logical dump of the primary, more transfers after the backup (so the
restore must replay archived WAL), restore into a fresh cluster on :25434, then `ledger verify`
on the restored database and a balance-by-balance comparison with the primary."""
import os
import shutil
import subprocess
import time
import uuid

import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(common.HERE)))
BACKUPS = os.path.join(common.RUN, "backups")
RESTORED = os.path.join(common.RUN, "pg-restore")
PGBIN = sorted(d for d in (f"/usr/lib/postgresql/{v}/bin" for v in os.listdir("/usr/lib/postgresql")))[-1]


def as_postgres(args, extra_env):
    env = {**os.environ, **extra_env}
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", "env", *[f"{k}={v}" for k, v in extra_env.items()], *args]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout.strip()


def transfers(a, b, n):
    for _ in range(n):
        common.ok(common.call("POST", "/v1/transfers", {"from_account": a["account"], "to": {"account_id": b["account"]},
                                                         "amount": "3"}, a["token"], key=uuid.uuid4().hex), "transfer")


def snapshot(port):
    accounts = common.psql(port, "SELECT id || ':' || (credits_posted - debits_posted) || ':' || debits_pending "
                                 "FROM ledger_accounts ORDER BY id")
    return accounts, common.psql(port, "SELECT count(*) || ' ' || max(seq) FROM ledger_transfers")


def main():
    a, b = common.seed(n=2)
    transfers(a, b, 10)
    os.makedirs(BACKUPS, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(BACKUPS, "postgres", "postgres")
    pg = {"PGHOST": "127.0.0.1", "PGPORT": "25432", "PGUSER": "postgres", "BACKUP_DIR": BACKUPS}
    print(as_postgres([os.path.join(ROOT, "deploy/backup/base-backup")], pg).splitlines()[-1])
    print(as_postgres([os.path.join(ROOT, "deploy/backup/logical-dump")], {**pg, "PGDATABASE": "protocol_bank"}).splitlines()[-1])

    transfers(a, b, 10)  # after the base backup: only the WAL archive has these
    segment = common.psql(25432, "SELECT pg_walfile_name(pg_switch_wal())")
    for _ in range(100):
        if common.psql(25432, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment:
            break
        time.sleep(0.2)
    expected = snapshot(25432)

    if os.path.exists(RESTORED):
        subprocess.run(["runuser", "-u", "postgres", "--", f"{PGBIN}/pg_ctl", "-D", RESTORED, "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(RESTORED)
    started = time.time()
    print(as_postgres([os.path.join(ROOT, "deploy/backup/restore")],
                      {"BACKUP_DIR": BACKUPS, "WAL_ARCHIVE": os.path.join(common.RUN, "wal-archive"),
                       "TARGET_DIR": RESTORED, "PORT": "25434", "PGUSER": "postgres"}).splitlines()[-1])
    print(f"restore took {time.time() - started:.1f}s")
    try:
        verified, report = common.ledger_verify(database_port=25434)
        restored = snapshot(25434)
        same = restored == expected
        print(f"ledger verify on the restored cluster: {'ok' if verified else 'FAILED'} — {report.splitlines()[0] if report else ''}")
        print(f"journal rows (count, last seq): primary {expected[1]}, restored {restored[1]}")
        print(f"balances of {len(expected[0].splitlines())} accounts match the primary: {same}")
    finally:
        as_postgres([f"{PGBIN}/pg_ctl", "-D", RESTORED, "-m", "fast", "-w", "stop"], {})
    raise SystemExit(0 if verified and same else 1)


if __name__ == "__main__":
    main()
