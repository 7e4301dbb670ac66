// Customer journeys in a real browser against the real binary (issue 6, "Done when").
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DESKTOP, PASSWORD, apiPerson, launch, screenshots, startAnvil, startServer, startSolana, totp } from "./support.mjs";

let server;
let browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: DESKTOP, locale: "en-US" });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return page;
}

const url = (path) => server.base + path;

async function signUpAndVerify(page, email, name) {
  await page.goto(url("/signup"));
  await page.getByLabel("Full name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByText("Use at least 12 characters.").waitFor();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
  await page.getByRole("link", { name: "Open the development outbox" }).click();
  await page.getByRole("heading", { name: "Development outbox" }).waitFor();
  const card = page.locator(".card", { hasText: email });
  await card.getByRole("link").first().click();
  await page.getByText("Your email address is verified").waitFor();
}

async function signIn(page, email, password = PASSWORD) {
  await page.goto(url("/login"));
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

async function openAccount(page, name) {
  await page.goto(url("/accounts/new"));
  await page.getByLabel("Account name").fill(name);
  await page.getByRole("button", { name: "Open account" }).click();
  await page.getByRole("heading", { name }).waitFor();
  return page.url().split("/accounts/")[1];
}

test("a signed-out visit to a private page goes to sign-in and back", async () => {
  const page = await newPage();
  await page.goto(url("/security"));
  await page.waitForURL(/\/login\?next=%2Fsecurity/);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await screenshots(page, "login");
  await page.goto(url("/no/such/page"));
  await page.getByRole("heading", { name: "Page not found" }).waitFor();
  await page.context().close();
});

test("sign up, verify, sign in, open accounts, fund, send with review, decline, statement", async () => {
  const page = await newPage();
  await signUpAndVerify(page, "ada@example.com", "Ada Lovelace");
  await signIn(page, "ada@example.com", "wrong-password-123");
  await page.getByRole("alert").filter({ hasText: "That email and password do not match." }).waitFor();
  await signIn(page, "ada@example.com");
  await page.getByRole("heading", { name: "Hello, Ada Lovelace" }).waitFor();
  await page.getByText("You have no accounts yet.").waitFor();
  await screenshots(page, "dashboard-empty");

  const main = await openAccount(page, "Everyday");
  await page.getByLabel("Amount (USD)").fill("250.00");
  await page.getByRole("button", { name: "Add funds" }).click();
  await page.getByTestId("available").filter({ hasText: "250.00 USD" }).waitFor();
  // A sub-account under the main one.
  await page.goto(url("/accounts/new"));
  await page.getByLabel("Account name").fill("Holiday pot");
  await page.getByLabel("Part of").selectOption({ label: "Everyday" });
  await page.getByRole("button", { name: "Open account" }).click();
  await page.getByRole("heading", { name: "Holiday pot" }).waitFor();
  await page.goto(url("/"));
  await page.locator("li.sub").getByText("Holiday pot").waitFor();

  await apiPerson(server.base, "bob@example.com");
  const bobToken = await apiPerson(server.base, "bob2@example.com");
  const bobAccount = await (
    await fetch(url("/v1/accounts"), {
      method: "POST",
      headers: { authorization: `Bearer ${bobToken}`, "idempotency-key": "bob-open", "content-type": "application/json" },
      body: JSON.stringify({ asset: "USD", name: "Main" }),
    })
  ).json();

  await page.goto(url("/send"));
  await page.getByLabel("From").selectOption({ index: 0 });
  await page.getByLabel("To", { exact: true }).fill("bob2@example.com");
  await page.getByLabel("Amount (USD)").fill("40.5");
  await page.getByLabel("Note (optional)").fill("Dinner");
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Check and confirm" }).waitFor();
  await page.getByText("40.50 USD").waitFor();
  await screenshots(page, "send-review");
  await page.getByRole("button", { name: "Confirm and send" }).click();
  await page.getByRole("heading", { name: "Money sent" }).waitFor();

  // Declined by the bank: the balance is spent elsewhere between review and confirmation.
  await page.goto(url("/send"));
  await page.getByLabel("To", { exact: true }).fill(bobAccount.id);
  await page.getByLabel("Amount (USD)").fill("200");
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Check and confirm" }).waitFor();
  const spent = await page.evaluate(
    async ({ from, to }) => {
      const csrf = document.cookie.split("; ").find((c) => c.startsWith("pb_csrf="))?.slice(8) ?? "";
      const r = await fetch("/v1/transfers", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": csrf, "idempotency-key": crypto.randomUUID() },
        body: JSON.stringify({ from_account: from, to: { account_id: to }, amount: "10000" }),
      });
      return r.status;
    },
    { from: main, to: bobAccount.id },
  );
  assert.equal(spent, 201);
  await page.getByRole("button", { name: "Confirm and send" }).click();
  await page.getByRole("alert").filter({ hasText: "There is not enough money in this account." }).waitFor();

  // Account page: history with balances, statement download.
  await page.goto(url(`/accounts/${main}`));
  await page.getByTestId("history").getByText("Dinner").waitFor();
  await screenshots(page, "account");
  const href = await page.getByRole("link", { name: "Download CSV" }).getAttribute("href");
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  assert.match(csv, /^date,transfer_id,code,description/);
  assert.match(csv, /Dinner,acct_\w+,-40\.50,209\.50,USD/);

  // Dashboard totals per asset.
  await page.goto(url("/"));
  await page.getByTestId("total-USD").getByText("109.50 USD").waitFor();
  await screenshots(page, "dashboard");

  // Chinese.
  await page.getByLabel("Language").selectOption("zh");
  await page.getByRole("heading", { name: "按币种合计" }).waitFor();
  await screenshots(page, "dashboard-zh");
  await page.goto(url("/send"));
  await screenshots(page, "send-zh");
  await page.getByLabel("语言").selectOption("en");
  await page.context().close();
});

test("a hold shows as pending and can be released", async () => {
  const page = await newPage();
  await signUpAndVerify(page, "hana@example.com", "Hana");
  await signIn(page, "hana@example.com");
  await page.getByRole("heading", { name: "Hello, Hana" }).waitFor();
  const acct = await openAccount(page, "Main");
  await page.getByLabel("Amount (USD)").fill("100");
  await page.getByRole("button", { name: "Add funds" }).click();
  await page.getByTestId("available").filter({ hasText: "100.00 USD" }).waitFor();
  await apiPerson(server.base, "shop@example.com");
  const shopToken = await apiPerson(server.base, "shop2@example.com");
  await fetch(url("/v1/accounts"), {
    method: "POST",
    headers: { authorization: `Bearer ${shopToken}`, "idempotency-key": "shop-open", "content-type": "application/json" },
    body: JSON.stringify({ asset: "USD", name: "Till" }),
  });
  await page.goto(url("/send"));
  await page.getByLabel("To", { exact: true }).fill("shop2@example.com");
  await page.getByLabel("Amount (USD)").fill("30");
  await page.getByLabel(/Hold the money/).check();
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("button", { name: "Confirm and send" }).click();
  await page.getByRole("heading", { name: "Money held" }).waitFor();
  await page.goto(url(`/accounts/${acct}`));
  await page.getByRole("heading", { name: "Pending holds" }).waitFor();
  await page.getByTestId("available").filter({ hasText: "70.00 USD" }).waitFor();
  await page.getByRole("button", { name: "Release" }).click();
  await page.getByTestId("available").filter({ hasText: "100.00 USD" }).waitFor();
  await page.context().close();
});

test("sessions: end another device's session; TOTP enrolment with QR and recovery codes; MFA at sign-in", async () => {
  const page = await newPage();
  await signUpAndVerify(page, "mira@example.com", "Mira");
  await signIn(page, "mira@example.com");
  await page.getByRole("heading", { name: "Hello, Mira" }).waitFor();
  // Another device signs in; the person ends that session from here, and its token stops working.
  const device = await (
    await fetch(url("/v1/auth/login"), {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "OtherDevice/1.0" },
      body: JSON.stringify({ email: "mira@example.com", password: PASSWORD }),
    })
  ).json();
  const asDevice = () => fetch(url("/v1/me"), { headers: { authorization: `Bearer ${device.session.token}` } });
  assert.equal((await asDevice()).status, 200);
  await page.goto(url("/security"));
  const row = page.getByTestId("sessions").locator("li", { hasText: "OtherDevice/1.0" });
  await row.getByRole("button", { name: "End session" }).click();
  await row.waitFor({ state: "detached" });
  assert.equal((await asDevice()).status, 401);

  await page.getByRole("button", { name: "Set up authenticator" }).click();
  await page.getByRole("img", { name: "QR code for your authenticator app" }).waitFor();
  const secret = (await page.getByTestId("totp-secret").textContent()).trim();
  await screenshots(page, "security-enrol");
  await page.getByLabel("Code from the app").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByTestId("recovery-codes").locator("li");
  await codes.first().waitFor();
  assert.equal(await codes.count(), 10);
  await page.getByRole("button", { name: "I have saved them" }).click();
  await page.getByText("Two-step verification is on.").waitFor();

  // With MFA on, a password alone no longer signs in.
  const other = await fetch(url("/v1/auth/login"), {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": "OtherDevice/1.0" },
    body: JSON.stringify({ email: "mira@example.com", password: PASSWORD }),
  });
  assert.equal((await other.json()).mfa_required, true);

  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, "mira@example.com");
  await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
  await page.getByLabel("Authentication code").fill("000000");
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("alert").waitFor();
  await page.getByLabel("Authentication code").fill(totp(secret, 1));
  await page.getByRole("button", { name: "Verify" }).click();
  await page.getByRole("heading", { name: "Hello, Mira" }).waitFor();

  await page.goto(url("/security"));
  const sessions = page.getByTestId("sessions").locator("li");
  await sessions.first().waitFor();
  assert.ok((await sessions.count()) >= 1);
  await page.getByText("This device").waitFor();
  await screenshots(page, "security");
  await page.context().close();
});

test("a business creates an API key, shown once; crypto says custody is disabled", async () => {
  const page = await newPage();
  await page.goto(url("/signup"));
  await page.getByLabel("Full name").fill("Grace Hopper");
  await page.getByLabel("Email").fill("grace@acme.example");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("Account type").selectOption("business");
  await page.getByLabel("Business name").fill("Acme Ltd");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Check your email" }).waitFor();
  await signIn(page, "grace@acme.example");
  await page.getByRole("heading", { name: "Hello, Grace Hopper" }).waitFor();
  await page.getByText("Verify your email address to send and receive money.").waitFor();
  await page.getByRole("link", { name: "API keys" }).click();
  await page.getByLabel("Name").fill("Accounting export");
  await page.getByRole("button", { name: "Create key" }).click();
  const key = (await page.getByTestId("new-key").textContent()).trim();
  assert.match(key, /^pb_(test|live)_/);
  await page.getByText("Accounting export").waitFor();
  await screenshots(page, "api-keys");
  await page.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("Revoked", { exact: true }).waitFor();
  await page.getByRole("link", { name: "Crypto" }).click();
  await page.getByTestId("custody-disabled").waitFor();
  await screenshots(page, "crypto");
  await page.context().close();
});

test("with custody on: deposit addresses with QR codes, ETH and SOL deposits confirming then credited, withdrawals with fee and step-up", async () => {
  const chain = await startAnvil();
  const solana = await startSolana();
  const custody = await startServer({
    SOLANA_RPC_URL: solana.url,
    SOLANA_CONFIRMATIONS: "5",
    WITHDRAWAL_DAILY_LIMITS: "SOL=1000000000",
    ETHEREUM_RPC_URL: chain.url,
    ETHEREUM_CHAIN_ID: "31337",
    ETHEREUM_CONFIRMATIONS: "3",
    CUSTODY_POLL_MILLIS: "200",
    CUSTODY_MNEMONIC: "test test test test test test test test test test test junk",
  });
  try {
    const context = await browser.newContext({ viewport: DESKTOP, locale: "en-US" });
    const page = await context.newPage();
    const base = custody.base;
    await page.goto(base + "/signup");
    await page.getByLabel("Full name").fill("Satoshi");
    await page.getByLabel("Email").fill("satoshi@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("link", { name: "Open the development outbox" }).click();
    await page.locator(".card", { hasText: "satoshi@example.com" }).getByRole("link").first().click();
    await page.getByText("Your email address is verified").waitFor();
    await page.goto(base + "/login");
    await page.getByLabel("Email").fill("satoshi@example.com");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Hello, Satoshi" }).waitFor();
    await page.getByRole("link", { name: "Crypto" }).click();
    // The first customer gets derivation index 1 on each chain (chains.md vectors).
    const eth = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const sol = "AqynRZwvVqUPRwRJXvm6odUb3t93fDjnWe3p6BeuUFxD";
    await page.getByTestId("deposit-ethereum").filter({ hasText: eth }).waitFor();
    await page.getByTestId("deposit-solana").filter({ hasText: sol }).waitFor();
    assert.equal(await page.getByRole("img", { name: "QR code of your deposit address" }).count(), 2);
    await page.getByText("No deposits yet.").waitFor();

    // 0.25 ETH from anvil's (unlocked) account 9 to the deposit address.
    await new Promise((r) => setTimeout(r, 500));
    await chain.rpc("eth_sendTransaction", [
      { from: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720", to: eth, value: "0x3782dace9d90000" },
    ]);
    const deposits = page.getByTestId("deposits");
    await deposits.getByText("Confirming").waitFor({ timeout: 15000 });
    await deposits.getByText("0.25 ETH").waitFor();
    await screenshots(page, "crypto-deposit-confirming");
    await chain.rpc("anvil_mine", [3]);
    await deposits.getByText("Credited").waitFor({ timeout: 15000 });
    await screenshots(page, "crypto-deposit");
    // 2 SOL from the node's faucet straight to the Solana deposit address; slots pass on their own.
    await solana.rpc("requestAirdrop", [sol, 2_000_000_000]);
    await deposits.getByText("2.00 SOL").waitFor({ timeout: 15000 });
    await deposits.locator("li", { hasText: "2.00 SOL" }).getByText("Credited").waitFor({ timeout: 15000 });
    await page.goto(base + "/");
    await page.getByTestId("total-ETH").getByText("0.25 ETH").waitFor();
    await page.getByTestId("total-SOL").getByText("2.00 SOL").waitFor();

    // Withdraw: needs an authenticator, a review with the fee, and a fresh code.
    await page.goto(base + "/security");
    await page.getByRole("button", { name: "Set up authenticator" }).click();
    const secret = (await page.getByTestId("totp-secret").textContent()).trim();
    await page.getByLabel("Code from the app").fill(totp(secret));
    await page.getByRole("button", { name: "Turn on" }).click();
    await page.getByRole("button", { name: "I have saved them" }).click();
    await page.getByRole("link", { name: "Crypto" }).click();
    const ethCard = page.locator(".card", { hasText: "Withdraw ETH" });
    await ethCard.getByLabel("To address").fill("0x000000000000000000000000000000000000dEaD");
    await ethCard.getByLabel("Amount (ETH)").fill("0.1");
    await ethCard.getByRole("button", { name: "Review" }).click();
    await ethCard.getByText("0.0005 ETH").waitFor();
    await ethCard.getByText("0.1005 ETH").waitFor();
    await screenshots(page, "crypto-withdraw-review");
    await ethCard.getByRole("button", { name: "Confirm withdrawal" }).click();
    const stepUp = page.getByText("For your security, enter the current code");
    const accepted = page.getByText("Withdrawal accepted.");
    await Promise.race([stepUp.waitFor(), accepted.waitFor()]);
    if (await stepUp.isVisible()) {
      await page.getByLabel("Authentication code").fill(totp(secret, 1));
      await page.getByRole("button", { name: "Verify" }).click();
    }
    await accepted.waitFor();
    const withdrawals = ethCard.getByTestId("withdrawals");
    for (let i = 0; i < 60 && !(await withdrawals.getByText("Confirmed").isVisible()); i++) {
      await chain.rpc("anvil_mine", [1]);
      await new Promise((r) => setTimeout(r, 250));
    }
    await withdrawals.getByText("Confirmed").waitFor();

    // SOL out, paid from the hot wallet the deposit was swept into. A mistyped address is caught first.
    const solCard = page.locator(".card", { hasText: "Withdraw SOL" });
    const outside = "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM";
    await solCard.getByText("You can withdraw up to 1.00 SOL in any 24 hours.").waitFor();
    await solCard.getByLabel("To address").fill("0x000000000000000000000000000000000000dEaD");
    await solCard.getByLabel("Amount (SOL)").fill("0.5");
    await solCard.getByRole("button", { name: "Review" }).click();
    await solCard.getByText("Enter a Solana address").waitFor();
    await solCard.getByLabel("To address").fill(outside);
    await solCard.getByRole("button", { name: "Review" }).click();
    await solCard.getByText("0.50001 SOL").waitFor();
    await solCard.getByRole("button", { name: "Confirm withdrawal" }).click();
    await solCard.getByText("Withdrawal accepted.").waitFor();
    await solCard.getByTestId("withdrawals").getByText("Confirmed").waitFor({ timeout: 20000 });
    assert.equal(await solana.rpc("getBalance", [outside]).then((b) => b.value), 500_000_000);
    await screenshots(page, "crypto-withdrawn");
    await context.close();
  } finally {
    await custody.stop();
    chain.stop();
    solana.stop();
  }
});
