// End-to-end support: the real protocol-bank binary on the embedded default (a fresh SQLite data
// directory per run), Debian's Chromium driven by playwright-core, screenshots, TOTP codes.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? "", ".cache/protocol-bank/target");
export const binary = process.env.PB_BINARY ?? join(target, "debug/protocol-bank");
export const artifacts = join(root, "web/artifacts/screenshots");

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => ok(port));
    });
  });
}

/** Starts the server; resolves when /ready answers 200. */
export async function startServer(extraEnv = {}) {
  const [port, admin] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "pb-e2e-"));
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(binary, ["serve"], {
    env: {
      PATH: process.env.PATH,
      LISTEN_ADDR: `127.0.0.1:${port}`,
      ADMIN_LISTEN_ADDR: `127.0.0.1:${admin}`,
      DATA_DIR: dataDir,
      PUBLIC_URL: base,
      LOG_LEVEL: "warn",
      SHUTDOWN_DELAY_SECONDS: "0",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/ready`)).ok) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A JSON-RPC 2.0 caller for a node at `url`. */
function jsonRpc(url) {
  return async (method, params = []) => {
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = await r.json();
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result;
  };
}

/** Spawns a node and waits until `probe` answers; `stop()` kills it. */
async function startNode(bin, args, port, probe) {
  const child = spawn(bin, args, { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const rpc = jsonRpc(url);
  for (let i = 0; i < 200; i++) {
    try {
      await rpc(probe);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, rpc, stop: () => child.kill() };
}

/** anvil from tools/chains (scripts/local-chains install), on a free port. */
export async function startAnvil() {
  const port = await freePort();
  const bin = join(root, "tools/chains/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
  return startNode(bin, ["--host", "127.0.0.1", "--port", String(port), "--silent", "--chain-id", "31337"], port, "eth_chainId");
}

/** The Solana node from tools/chains/bin (scripts/local-chains install), on free ports, a slot every 100 ms. */
export async function startSolana() {
  const [port, ws] = [await freePort(), await freePort()];
  const bin = join(root, "tools/chains/bin/pb-solana-node");
  return startNode(bin, ["--port", String(port), "--ws-port", String(ws), "--slot-ms", "100"], port, "getSlot");
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** Saves the page in each layout and theme: <name>-<desktop|phone>-<light|dark>.png. */
export async function screenshots(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const original = page.viewportSize();
  for (const [layout, size] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    for (const theme of ["light", "dark"]) {
      await page.setViewportSize(size);
      await page.evaluate((t) => {
        document.documentElement.dataset.theme = t;
      }, theme);
      await page.screenshot({ path: join(artifacts, `${name}-${layout}-${theme}.png`), fullPage: true });
    }
  }
  await page.evaluate(() => {
    document.documentElement.dataset.theme = localStorage.getItem("pb.theme") ?? "light";
  });
  if (original) await page.setViewportSize(original);
}

function base32(secret) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), `offset` steps from now. */
export function totp(secret, offset = 0) {
  const counter = Math.floor(Date.now() / 1000 / 30) + offset;
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const h = createHmac("sha1", base32(secret)).update(msg).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, "0");
}

export const PASSWORD = "violet-tractor-91-lamp";

/** Signs up through the API and verifies the email from the outbox (for people a journey needs). */
export async function apiPerson(base, email, kind = "individual") {
  const post = (path, body) =>
    fetch(base + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const r = await post("/v1/auth/register", { email, password: PASSWORD, name: "Bob Builder", kind });
  if (r.status !== 201) throw new Error(`register ${email}: ${r.status} ${await r.text()}`);
  const outbox = await (await fetch(`${base}/v1/dev/outbox?limit=100`)).json();
  const mail = outbox.data.find((m) => m.to === email);
  const token = /token=([\w-]+)/.exec(mail.body)[1];
  await post("/v1/auth/verify-email", { token });
  const login = await (await post("/v1/auth/login", { email, password: PASSWORD })).json();
  return login.session.token;
}
