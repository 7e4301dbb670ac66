import { useCallback, useEffect, useState } from "react";
import { Link, useParams } from "react-router";
import { api, newIdempotencyKey, unwrap, type Schemas } from "../api/client";
import { Card, Empty, ErrorBanner, Field, Loading } from "../components/ui";
import { useI18n, type MessageKey } from "../i18n";
import { formatMoney, toMinorUnits } from "../money";

type Transfer = Schemas["TransferView"];
const KNOWN_CODES = ["p2p", "sandbox_deposit", "capture", "void", "expiry", "adjustment"];

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function AccountDetail() {
  const { id = "" } = useParams();
  const { t, lang } = useI18n();
  const [account, setAccount] = useState<Schemas["AccountView"] | null>(null);
  const [items, setItems] = useState<Transfer[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [from, setFrom] = useState(isoDay(new Date(Date.now() - 30 * 86_400_000)));
  const [to, setTo] = useState(isoDay(new Date()));
  const [deposit, setDeposit] = useState("");
  const [sandbox, setSandbox] = useState(true);

  const load = useCallback(async () => {
    try {
      setAccount(unwrap(await api.GET("/v1/accounts/{id}", { params: { path: { id } } })));
      const page = unwrap(
        await api.GET("/v1/accounts/{id}/transfers", { params: { path: { id }, query: { limit: 20 } } }),
      );
      setItems(page.data);
      setMore(page.has_more);
    } catch (e) {
      setError(e);
    }
  }, [id]);
  useEffect(() => {
    void load();
  }, [load]);

  async function loadMore() {
    const last = items[items.length - 1]?.id;
    const page = unwrap(
      await api.GET("/v1/accounts/{id}/transfers", {
        params: { path: { id }, query: { limit: 20, starting_after: last } },
      }),
    );
    setItems([...items, ...page.data]);
    setMore(page.has_more);
  }

  async function resolve(hold: string, how: "capture" | "void") {
    setActionError(null);
    try {
      const headers = { "Idempotency-Key": newIdempotencyKey() };
      if (how === "capture")
        unwrap(await api.POST("/v1/transfers/{id}/capture", { params: { path: { id: hold }, header: headers }, body: {} }));
      else unwrap(await api.POST("/v1/transfers/{id}/void", { params: { path: { id: hold }, header: headers } }));
      await load();
    } catch (e) {
      setActionError(e);
    }
  }

  async function addSandboxFunds() {
    setActionError(null);
    const amount = account ? toMinorUnits(deposit, account.scale) : null;
    if (!amount) {
      setActionError(new Error("amount"));
      return;
    }
    const r = await api.POST("/v1/sandbox/deposits", {
      body: { account_id: id, amount },
      params: { header: { "Idempotency-Key": newIdempotencyKey() } },
    });
    if (r.response.status === 403) setSandbox(false);
    else {
      try {
        unwrap(r);
        setDeposit("");
        await load();
      } catch (e) {
        setActionError(e);
      }
    }
  }

  if (error) return <ErrorBanner error={error} />;
  if (!account) return <Loading />;
  const money = (units: string) => formatMoney(units, account.scale, account.asset, lang);
  const holds = items.filter((x) => x.type === "hold" && x.status === "pending");
  const statementUrl = (format: "csv") =>
    `/v1/accounts/${id}/statement?format=${format}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;

  return (
    <div>
      <p>
        <Link to="/">← {t("nav.dashboard")}</Link>
      </p>
      <div className="page-head">
        <h1>{account.name}</h1>
        <span className="pill">{account.status === "open" ? account.asset : t("account.closed")}</span>
      </div>
      <div className="balances">
        <div>
          <span className="muted small">{t("account.available")}</span>
          <strong className="big" data-testid="available">
            {money(account.balance.available)}
          </strong>
        </div>
        <div>
          <span className="muted small">{t("account.posted")}</span>
          <strong>{money(account.balance.posted)}</strong>
        </div>
        <div>
          <span className="muted small">{t("account.pending_out")}</span>
          <strong>{money(account.balance.pending_outgoing)}</strong>
        </div>
        <div>
          <span className="muted small">{t("account.pending_in")}</span>
          <strong>{money(account.balance.pending_incoming)}</strong>
        </div>
      </div>
      <ErrorBanner error={actionError} />
      {holds.length > 0 ? (
        <Card title={t("account.holds")}>
          <ul className="list">
            {holds.map((h) => (
              <li key={h.id} className="row">
                <span>
                  {money(h.amount)}
                  <span className="muted small">
                    {" "}
                    · {h.from_account === id ? t("account.hold_out") : t("account.hold_in")}
                    {h.expires_at ? ` · ${t("account.expires", { when: new Date(h.expires_at).toLocaleString(lang) })}` : ""}
                  </span>
                </span>
                <span className="actions">
                  {h.to_account === id ? (
                    <button type="button" onClick={() => resolve(h.id, "capture")}>
                      {t("account.capture")}
                    </button>
                  ) : null}
                  <button type="button" onClick={() => resolve(h.id, "void")}>
                    {t("account.void")}
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      <Card title={t("account.history")}>
        {items.length === 0 ? <Empty>{t("account.no_history")}</Empty> : null}
        <ul className="list" data-testid="history">
          {items.map((x) => {
            const incoming = x.to_account === id;
            return (
              <li key={x.id} className="row">
                <span>
                  <span>{x.description || (KNOWN_CODES.includes(x.code) ? t(`code.${x.code}` as MessageKey) : x.code)}</span>
                  <span className="muted small">
                    {new Date(x.created).toLocaleString(lang)} · {t(`status.${x.status}` as MessageKey)}
                  </span>
                </span>
                <span className="right">
                  <span className={incoming ? "amount in" : "amount out"}>
                    {incoming ? "+" : "−"}
                    {money(x.amount)}
                  </span>
                  {x.balance_after ? <span className="muted small">{money(x.balance_after)}</span> : null}
                </span>
              </li>
            );
          })}
        </ul>
        {more ? (
          <button type="button" onClick={loadMore}>
            {t("account.load_more")}
          </button>
        ) : null}
      </Card>
      <Card title={t("account.statement")}>
        <div className="inline-form">
          <Field label={t("account.from")} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
          <Field label={t("account.to")} type="date" value={to} onChange={(e) => setTo(e.target.value)} />
          <a className="button" href={statementUrl("csv")} download>
            {t("account.download_csv")}
          </a>
        </div>
      </Card>
      {sandbox && account.status === "open" ? (
        <Card title={t("account.sandbox_title")}>
          <p className="muted small">{t("account.sandbox_note")}</p>
          <div className="inline-form">
            <Field
              label={t("account.sandbox_amount", { asset: account.asset })}
              value={deposit}
              onChange={(e) => setDeposit(e.target.value)}
              inputMode="decimal"
            />
            <button type="button" onClick={addSandboxFunds}>
              {t("account.sandbox_add")}
            </button>
          </div>
        </Card>
      ) : null}
    </div>
  );
}
