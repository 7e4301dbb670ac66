import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { allAccounts, type Account } from "../accounts";
import { api, ApiError, newIdempotencyKey, unwrap, type Schemas } from "../api/client";
import { Card, ErrorBanner, Field, Loading, Select, useErrorMessage } from "../components/ui";
import { useI18n } from "../i18n";
import { formatMoney, toMinorUnits } from "../money";

type Step = "form" | "review" | "done";

export function Send() {
  const { t, lang } = useI18n();
  const errorMessage = useErrorMessage();
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [amount, setAmount] = useState("");
  const [description, setDescription] = useState("");
  const [hold, setHold] = useState(false);
  const [step, setStep] = useState<Step>("form");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Schemas["TransferView"] | null>(null);
  // The key is made when the person reaches the review step and kept for every retry of that
  // confirmation: a lost response or a double click can never pay twice.
  const key = useRef<string | null>(null);

  useEffect(() => {
    allAccounts()
      .then((a) => {
        const open = a.filter((x) => x.status === "open");
        setAccounts(open);
        if (open[0]) setFrom(open[0].id);
      })
      .catch(setError);
  }, []);

  const source = accounts?.find((a) => a.id === from);
  const units = source ? toMinorUnits(amount, source.scale) : null;
  const recipient = to.trim();
  const toBody = recipient.startsWith("acct_") ? { account_id: recipient } : { email: recipient };

  function review(e: FormEvent) {
    e.preventDefault();
    const errs: Record<string, string> = {};
    if (!source) errs.from = t("send.from_required");
    if (!recipient) errs.to = t("send.to_required");
    else if (!recipient.startsWith("acct_") && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(recipient)) errs.to = t("send.to_invalid");
    if (!units) errs.amount = t("send.amount_invalid", { scale: source?.scale ?? 0 });
    else if (source && BigInt(units) > BigInt(source.balance.available)) errs.amount = t("error.insufficient_funds");
    setErrors(errs);
    if (Object.keys(errs).length) return;
    key.current = newIdempotencyKey();
    setError(null);
    setStep("review");
  }

  async function confirm() {
    if (!source || !units || !key.current) return;
    setBusy(true);
    setError(null);
    try {
      const body = {
        from_account: source.id,
        to: toBody,
        amount: units,
        description: description.trim() || null,
        metadata: {},
        hold: hold ? { timeout_seconds: 7 * 86_400 } : null,
      };
      const r = unwrap(
        await api.POST("/v1/transfers", { body, params: { header: { "Idempotency-Key": key.current } } }),
      );
      setResult(r);
      setStep("done");
    } catch (e) {
      // A business refusal is final for this key; editing starts a new attempt.
      setError(e);
      if (e instanceof ApiError && e.status < 500) key.current = null;
    } finally {
      setBusy(false);
    }
  }

  if (!accounts && !error) return <Loading />;
  if (accounts && accounts.length === 0)
    return (
      <div className="narrow">
        <h1>{t("send.title")}</h1>
        <Card>
          <p>{t("send.no_accounts")}</p>
          <Link className="button primary" to="/accounts/new">
            {t("dashboard.open_first")}
          </Link>
        </Card>
      </div>
    );

  if (step === "done" && result && source)
    return (
      <div className="narrow">
        <h1>{result.status === "pending" ? t("send.held_title") : t("send.sent_title")}</h1>
        <Card>
          <p className="banner banner-ok" role="status">
            {t("send.sent", { amount: formatMoney(result.amount, source.scale, source.asset, lang), to: recipient })}
          </p>
          <p className="muted small">
            {t("send.reference")}: <code>{result.id}</code>
          </p>
          <div className="actions">
            <Link className="button" to={`/accounts/${source.id}`}>
              {t("send.view_account")}
            </Link>
            <button
              type="button"
              onClick={() => {
                setStep("form");
                setAmount("");
                setDescription("");
                setResult(null);
              }}
            >
              {t("send.another")}
            </button>
          </div>
        </Card>
      </div>
    );

  if (step === "review" && source && units)
    return (
      <div className="narrow">
        <h1>{t("send.review_title")}</h1>
        <Card>
          {error ? (
            <div className="banner banner-error" role="alert">
              {errorMessage(error)}
            </div>
          ) : null}
          <dl className="summary">
            <dt>{t("send.from")}</dt>
            <dd>{source.name}</dd>
            <dt>{t("send.to")}</dt>
            <dd>{recipient}</dd>
            <dt>{t("send.amount")}</dt>
            <dd className="big">{formatMoney(units, source.scale, source.asset, lang)}</dd>
            {description ? (
              <>
                <dt>{t("send.description")}</dt>
                <dd>{description}</dd>
              </>
            ) : null}
            {hold ? (
              <>
                <dt>{t("send.hold")}</dt>
                <dd>{t("send.hold_note")}</dd>
              </>
            ) : null}
          </dl>
          <div className="actions">
            <button type="button" onClick={() => setStep("form")} disabled={busy}>
              {t("send.back")}
            </button>
            {key.current ? (
              <button type="button" className="primary" onClick={confirm} disabled={busy}>
                {busy ? t("common.working") : t("send.confirm")}
              </button>
            ) : null}
          </div>
        </Card>
      </div>
    );

  return (
    <div className="narrow">
      <h1>{t("send.title")}</h1>
      <Card>
        <form onSubmit={review} noValidate>
          <ErrorBanner error={error} />
          <Select label={t("send.from")} value={from} onChange={(e) => setFrom(e.target.value)} error={errors.from}>
            {accounts?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} — {formatMoney(a.balance.available, a.scale, a.asset, lang)}
              </option>
            ))}
          </Select>
          <Field
            label={t("send.to")}
            hint={t("send.to_hint")}
            value={to}
            onChange={(e) => setTo(e.target.value)}
            error={errors.to}
            autoComplete="off"
          />
          <Field
            label={t("send.amount_in", { asset: source?.asset ?? "" })}
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            error={errors.amount}
            inputMode="decimal"
            placeholder="0.00"
          />
          <Field
            label={t("send.description")}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            maxLength={500}
          />
          <label className="check">
            <input type="checkbox" checked={hold} onChange={(e) => setHold(e.target.checked)} /> {t("send.hold_option")}
          </label>
          <button type="submit" className="primary">
            {t("send.review")}
          </button>
        </form>
      </Card>
    </div>
  );
}
