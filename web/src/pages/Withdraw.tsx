import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { Account } from "../accounts";
import { api, ApiError, newIdempotencyKey, unwrap, type Schemas } from "../api/client";
import { Field, Select, useErrorMessage } from "../components/ui";
import { useI18n, type MessageKey } from "../i18n";
import { formatMoney, toMinorUnits } from "../money";

type Step = "form" | "review" | "step_up" | "done";

/** What each chain's addresses look like (the server checks again: EIP-55 checksum, 32-byte key). */
const ADDRESS: Record<string, { pattern: RegExp; placeholder: string }> = {
  ethereum: { pattern: /^0x[0-9a-fA-F]{40}$/, placeholder: "0x…" },
  solana: { pattern: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/, placeholder: "base58…" },
};

/** Withdraw a coin or token to an outside address: form → review (fee shown) → step-up code if asked → queued. */
export function Withdraw({
  accounts,
  fee,
  onDone,
}: {
  accounts: Account[];
  fee: Schemas["WithdrawalFee"];
  onDone: () => void;
}) {
  const { t, lang } = useI18n();
  const errorMessage = useErrorMessage();
  const sources = accounts.filter((a) => a.asset === fee.asset && a.status === "open");
  // Accounts may arrive after the first render: default to the first one of the asset then.
  const [chosen, setFrom] = useState("");
  const from = chosen || sources[0]?.id || "";
  const [to, setTo] = useState("");
  const [amount, setAmount] = useState("");
  const [code, setCode] = useState("");
  const [step, setStep] = useState<Step>("form");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const key = useRef<string | null>(null);
  const source = sources.find((a) => a.id === from);
  const units = source ? toMinorUnits(amount, source.scale) : null;
  const money = (u: string) => formatMoney(u, source?.scale ?? 18, fee.asset, lang);

  if (sources.length === 0) return <p className="muted">{t("withdraw.no_account", { asset: fee.asset })}</p>;

  function review(e: FormEvent) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!ADDRESS[fee.chain]?.pattern.test(to.trim())) errs.to = t(`withdraw.address_invalid_${fee.chain}` as MessageKey);
    if (!units) errs.amount = t("send.amount_invalid", { scale: source?.scale ?? 18 });
    else if (source && BigInt(units) + BigInt(fee.amount) > BigInt(source.balance.available))
      errs.amount = t("error.insufficient_funds");
    setErrors(errs);
    if (Object.keys(errs).length) return;
    key.current = newIdempotencyKey();
    setError(null);
    setStep("review");
  }

  async function confirm() {
    if (!units || !key.current) return;
    setBusy(true);
    setError(null);
    try {
      const body = { account_id: from, chain: fee.chain, to_address: to.trim(), amount: units };
      unwrap(await api.POST("/v1/withdrawals", { body, params: { header: { "Idempotency-Key": key.current } } }));
      setStep("done");
      onDone();
    } catch (e) {
      if (e instanceof ApiError && e.code === "mfa_required") setStep("step_up");
      else {
        setError(e);
        if (e instanceof ApiError && e.status < 500) key.current = null;
      }
    } finally {
      setBusy(false);
    }
  }

  async function stepUp(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.POST("/v1/auth/step-up", { body: { code: code.trim() } }));
      setCode("");
      setStep("review");
      setBusy(false);
      await confirm();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  if (step === "done")
    return (
      <div>
        <p className="banner banner-ok" role="status">
          {t("withdraw.queued")}
        </p>
        <button type="button" onClick={() => { setStep("form"); setAmount(""); setTo(""); }}>
          {t("withdraw.another")}
        </button>
      </div>
    );

  if (step === "step_up")
    return (
      <form onSubmit={stepUp}>
        <p>{t("withdraw.step_up")}</p>
        {error ? (
          <div className="banner banner-error" role="alert">
            {errorMessage(error)}
          </div>
        ) : null}
        <Field label={t("login.code")} value={code} onChange={(e) => setCode(e.target.value)} inputMode="numeric" autoComplete="one-time-code" />
        <p className="muted small">
          {t("withdraw.no_mfa")} <Link to="/security">{t("nav.security")}</Link>
        </p>
        <button type="submit" className="primary" disabled={busy}>
          {t("login.verify")}
        </button>
      </form>
    );

  if (step === "review" && units)
    return (
      <div>
        {error ? (
          <div className="banner banner-error" role="alert">
            {errorMessage(error)}
          </div>
        ) : null}
        <dl className="summary">
          <dt>{t("withdraw.to")}</dt>
          <dd>
            <code>{to.trim()}</code>
          </dd>
          <dt>{t("send.amount")}</dt>
          <dd>{money(units)}</dd>
          <dt>{t("withdraw.fee")}</dt>
          <dd>{money(fee.amount)}</dd>
          <dt>{t("withdraw.total")}</dt>
          <dd className="big">{money((BigInt(units) + BigInt(fee.amount)).toString())}</dd>
        </dl>
        <div className="actions">
          <button type="button" onClick={() => setStep("form")} disabled={busy}>
            {t("send.back")}
          </button>
          {key.current ? (
            <button type="button" className="primary" onClick={confirm} disabled={busy}>
              {busy ? t("common.working") : t("withdraw.confirm")}
            </button>
          ) : null}
        </div>
      </div>
    );

  return (
    <form onSubmit={review} noValidate>
      <Select label={t("send.from")} value={from} onChange={(e) => setFrom(e.target.value)}>
        {sources.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name} — {formatMoney(a.balance.available, a.scale, a.asset, lang)}
          </option>
        ))}
      </Select>
      <Field label={t("withdraw.to")} value={to} onChange={(e) => setTo(e.target.value)} error={errors.to} autoComplete="off" placeholder={ADDRESS[fee.chain]?.placeholder} />
      <Field
        label={t("send.amount_in", { asset: fee.asset })}
        value={amount}
        onChange={(e) => setAmount(e.target.value)}
        error={errors.amount}
        inputMode="decimal"
        hint={
          fee.daily_limit
            ? `${t("withdraw.fee_hint", { fee: money(fee.amount) })} ${t("withdraw.limit_hint", { limit: money(fee.daily_limit) })}`
            : t("withdraw.fee_hint", { fee: money(fee.amount) })
        }
      />
      <button type="submit" className="primary">
        {t("send.review")}
      </button>
    </form>
  );
}

export function WithdrawalList({ items, scale }: { items: Schemas["WithdrawalView"][]; scale: number }) {
  const { t, lang } = useI18n();
  if (items.length === 0) return null;
  return (
    <ul className="list" data-testid="withdrawals">
      {items.map((w) => (
        <li key={w.id} className="row">
          <span>
            <span>{formatMoney(w.amount, scale, w.asset, lang)}</span>
            <span className="muted small">
              <code>{w.to_address.slice(0, 10)}…</code>
              {w.tx_hash ? (
                <>
                  {" "}
                  · <code>{w.tx_hash.slice(0, 10)}…</code>
                </>
              ) : null}
            </span>
          </span>
          <span className="pill">{t(`withdrawal.${w.status}` as MessageKey)}</span>
        </li>
      ))}
    </ul>
  );
}
