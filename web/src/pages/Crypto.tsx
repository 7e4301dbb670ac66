import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { QrCode } from "../components/QrCode";
import { Card, ErrorBanner, Loading } from "../components/ui";
import { useI18n, type MessageKey } from "../i18n";
import { formatMoney } from "../money";
import { allAccounts, type Account } from "../accounts";
import { Withdraw, WithdrawalList } from "./Withdraw";

/** Crypto deposits: the customer's deposit address per chain (with a QR code), once custody is on. */
export function Crypto() {
  const { t, lang } = useI18n();
  const [status, setStatus] = useState<Schemas["CustodyStatus"] | null>(null);
  const [addresses, setAddresses] = useState<Schemas["DepositAddressView"][]>([]);
  const [deposits, setDeposits] = useState<Schemas["DepositView"][]>([]);
  const [scales, setScales] = useState<Record<string, number>>({});
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [withdrawals, setWithdrawals] = useState<Schemas["WithdrawalView"][]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let timer = 0;
    (async () => {
      const s = unwrap(await api.GET("/v1/custody"));
      setStatus(s);
      if (!s.enabled) return;
      const found: Schemas["DepositAddressView"][] = [];
      for (const chain of s.chains) {
        const l = unwrap(await api.GET("/v1/deposit-addresses", { params: { query: { chain } } }));
        found.push(...l.data);
      }
      setAddresses(found);
      const assets = unwrap(await api.GET("/v1/assets")).data;
      setScales(Object.fromEntries(assets.map((a) => [a.code, a.scale])));
      const refresh = async () => {
        setDeposits(unwrap(await api.GET("/v1/deposits")).data);
        setWithdrawals(unwrap(await api.GET("/v1/withdrawals")).data);
        setAccounts(await allAccounts());
      };
      await refresh();
      // Deposit status moves with the chain: look again every few seconds while the page is open.
      timer = window.setInterval(() => void refresh().catch(() => undefined), 3000);
    })().catch(setError);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <div className="narrow">
      <h1>{t("crypto.title")}</h1>
      <ErrorBanner error={error} />
      {!status && !error ? <Loading /> : null}
      {status && !status.enabled ? (
        <Card>
          <p className="banner banner-info" role="status" data-testid="custody-disabled">
            {t("crypto.disabled")}
          </p>
          <p className="muted">{t("crypto.disabled_note")}</p>
        </Card>
      ) : null}
      {addresses.map((a) => (
        <Card key={a.chain} title={t(`crypto.chain_${a.chain}` as MessageKey)}>
          <p className="muted small">{t(`crypto.deposit_note_${a.chain}` as MessageKey)}</p>
          <QrCode text={a.address} label={t("crypto.qr_label")} />
          <code className="secret" data-testid={`deposit-${a.chain}`}>
            {a.address}
          </code>
        </Card>
      ))}
      {status?.enabled
        ? status.withdrawal_fees.map((fee) => (
            <Card key={`${fee.chain}-${fee.asset}`} title={t("withdraw.title", { asset: fee.asset })}>
              <Withdraw
                accounts={accounts}
                fee={fee}
                onDone={() => void api.GET("/v1/withdrawals").then((r) => r.data && setWithdrawals(r.data.data))}
              />
              <WithdrawalList
                items={withdrawals.filter((w) => w.chain === fee.chain && w.asset === fee.asset)}
                scale={scales[fee.asset] ?? 18}
              />
            </Card>
          ))
        : null}
      {status?.enabled ? (
        <Card title={t("crypto.deposits")}>
          {deposits.length === 0 ? <p className="muted">{t("crypto.no_deposits")}</p> : null}
          <ul className="list" data-testid="deposits">
            {deposits.map((d) => (
              <li key={d.id} className="row">
                <span>
                  <span>{formatMoney(d.amount, scales[d.asset] ?? 0, d.asset, lang)}</span>
                  <span className="muted small">
                    <code>{d.tx_hash.slice(0, 10)}…</code> · {new Date(d.seen).toLocaleString(lang)}
                  </span>
                </span>
                <span className="pill">{t(`deposit.${d.status}` as MessageKey)}</span>
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
    </div>
  );
}
