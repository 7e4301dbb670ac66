"""Shared by the drills: an HTTPS client for the local stack (self-signed certificate), TOTP,
verification links from the SMTP sink, and seeding funded customers the way production allows
(sign-up + email verification; funding by a maker-checker adjustment). Standard library only."""
import base64
import email
import glob
import hashlib
import hmac
import json
import os
import ssl
import struct
import subprocess
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
RUN = os.path.join(os.path.dirname(HERE), "run")
BASE = os.environ.get("PB_LOCAL_URL", "https://127.0.0.1:28443")
PASSWORD = "drill-violet-tractor-91"
CTX = ssl.create_default_context()
CTX.load_verify_locations(os.path.join(RUN, "tls", "server.crt"))
CTX.check_hostname = False  # the certificate names localhost; we dial 127.0.0.1


def binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/protocol-bank/target"))
    return os.environ.get("PB_BINARY", os.path.join(target, "release", "protocol-bank"))


def env(database_port=25432):
    return {
        "PATH": os.environ["PATH"],
        "PROTOCOL_BANK_ENV": "production",
        "SECRET_KEY_FILE": os.path.join(RUN, "secret_key"),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{database_port}/protocol_bank",
        "REDIS_URL": "redis://127.0.0.1:26379/0",
        "SMTP_URL": "smtp://127.0.0.1:22525",
        "PUBLIC_URL": "https://127.0.0.1:28443",
        "LOG_LEVEL": "warn",
    }


def call(method, path, body=None, token=None, key=None, ip=None, timeout=10):
    """(status, json) — never raises for HTTP errors; status 0 for a connection failure. Sign-in
    routes are rate limited by nginx (10/min per address): back off and retry, like a client."""
    for _ in range(20):
        status, data = _call(method, path, body, token, key, ip, timeout)
        if status != 429 or not path.startswith("/v1/auth/"):
            return status, data
        time.sleep(6)
    return status, data


def _call(method, path, body, token, key, ip, timeout):
    req = urllib.request.Request(BASE + path, method=method)
    if body is not None:
        req.data = json.dumps(body).encode()
        req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", f"Bearer {token}")
    if key:
        req.add_header("idempotency-key", key)
    if ip:
        req.add_header("x-forwarded-for", ip)
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw or b"null")
        except ValueError:
            return e.code, {"raw": raw.decode("utf-8", "replace")[:200]}
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 0, {"error": str(e)}


def ok(status_body, what):
    status, body = status_body
    if not 200 <= status < 300:
        raise SystemExit(f"{what}: {status} {body}")
    return body


def totp(secret, offset=0):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int(time.time() // 30) + offset
    h = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    o = h[-1] & 15
    return f"{(struct.unpack('>I', h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def emailed_token(address, tries=100):
    for _ in range(tries):
        for path in sorted(glob.glob(os.path.join(RUN, "mail", "*.eml")), reverse=True):
            msg = email.message_from_file(open(path, encoding="utf-8"))
            if address in msg.get("To", ""):
                for part in msg.walk():
                    if part.get_content_type() == "text/plain":
                        text = part.get_payload(decode=True).decode("utf-8", "replace")
                        if "token=" in text:
                            return text.split("token=", 1)[1].split()[0]
        time.sleep(0.2)
    raise SystemExit(f"no email for {address}")


def staff(role):
    address = f"{role}-{uuid.uuid4().hex[:8]}@drill.invalid"
    out = subprocess.run([binary(), "admin", "create-staff", "--email", address, "--role", role],
                         env=env(), capture_output=True, text=True, check=True).stdout
    password = [line for line in out.splitlines() if line.strip()][-1].strip()
    token = ok(call("POST", "/v1/auth/login", {"email": address, "password": password}), "staff login")["session"]["token"]
    secret = ok(call("POST", "/v1/me/mfa/totp", {}, token), "totp")["secret"]
    ok(call("POST", "/v1/me/mfa/totp/confirm", {"code": totp(secret)}, token), "totp confirm")
    ok(call("POST", "/v1/auth/step-up", {"code": totp(secret, 1)}, token), "step-up")
    return token


def customer(name, ip):
    address = f"{name}-{uuid.uuid4().hex[:8]}@drill.invalid"
    ok(call("POST", "/v1/auth/register",
            {"email": address, "password": PASSWORD, "name": name, "kind": "individual"}, ip=ip), "register")
    ok(call("POST", "/v1/auth/verify-email", {"token": emailed_token(address)}, ip=ip), "verify")
    token = ok(call("POST", "/v1/auth/login", {"email": address, "password": PASSWORD}, ip=ip), "login")["session"]["token"]
    account = ok(call("POST", "/v1/accounts", {"asset": "USD", "name": "Main"}, token, key=uuid.uuid4().hex), "open")["id"]
    return {"email": address, "token": token, "account": account}


def fund(maker, checker, account, amount):
    adj = ok(call("POST", "/v1/admin/adjustments", {"account_id": account, "direction": "credit", "amount": amount,
                                                     "reason": "Drill funding, four-eyes approved"}, maker), "propose")
    done = ok(call("POST", f"/v1/admin/adjustments/{adj['id']}/approve", {}, checker), "approve")
    assert done["status"] == "posted", done


def seed(n=4, amount="100000000"):
    maker, checker = staff("compliance_officer"), staff("admin")
    people = [customer(f"drill{i}", f"10.9.0.{i + 1}") for i in range(n)]
    for p in people:
        fund(maker, checker, p["account"], amount)
    return people


def psql(port, sql):
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "protocol_bank",
                           "-tAc", sql], capture_output=True, text=True, check=True).stdout.strip()


def ledger_verify(database_port=25432):
    r = subprocess.run([binary(), "ledger", "verify"], env=env(database_port), capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()
