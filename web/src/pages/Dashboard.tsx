import { useEffect, useState } from "react";
import { Link } from "react-router";
import { allAccounts, assets as loadAssets, byAsset, type Account, type Asset } from "../accounts";
import { Card, Empty, ErrorBanner, Loading } from "../components/ui";
import { useI18n } from "../i18n";
import { formatMoney, sumUnits } from "../money";
import { useUser } from "../session";

export function Dashboard() {
  const { t, lang } = useI18n();
  const user = useUser();
  const [accounts, setAccounts] = useState<Account[] | null>(null);
  const [assets, setAssets] = useState<Asset[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    Promise.all([allAccounts(), loadAssets()])
      .then(([a, s]) => {
        setAccounts(a);
        setAssets(s);
      })
      .catch(setError);
  }, []);
  const scale = (code: string) => assets.find((a) => a.code === code)?.scale ?? 0;
  const groups = accounts ? [...byAsset(accounts.filter((a) => a.status === "open")).entries()] : [];

  return (
    <div>
      <div className="page-head">
        <h1>{t("dashboard.greeting", { name: user?.name ?? "" })}</h1>
        <div className="actions">
          <Link className="button" to="/accounts/new">
            {t("dashboard.open_account")}
          </Link>
          <Link className="button primary" to="/send">
            {t("dashboard.send")}
          </Link>
        </div>
      </div>
      {user && !user.email_verified ? (
        <div className="banner banner-warn" role="status">
          {t("dashboard.unverified")}
        </div>
      ) : null}
      <ErrorBanner error={error} />
      {!accounts && !error ? <Loading /> : null}
      {accounts && accounts.length === 0 ? (
        <Empty>
          <p>{t("dashboard.empty")}</p>
          <Link className="button primary" to="/accounts/new">
            {t("dashboard.open_first")}
          </Link>
        </Empty>
      ) : null}
      {groups.length > 0 ? (
        <section aria-labelledby="totals">
          <h2 id="totals" className="section-title">
            {t("dashboard.totals")}
          </h2>
          <p className="muted small">{t("dashboard.totals_note")}</p>
          <div className="totals">
            {groups.map(([asset, list]) => (
              <div className="total" key={asset} data-testid={`total-${asset}`}>
                <span className="total-asset">{asset}</span>
                <span className="total-amount">
                  {formatMoney(sumUnits(list.map((a) => a.balance.available)), scale(asset), asset, lang)}
                </span>
                <span className="muted small">{t("dashboard.accounts_count", { n: list.length })}</span>
              </div>
            ))}
          </div>
        </section>
      ) : null}
      {accounts && accounts.length > 0 ? (
        <Card title={t("dashboard.accounts")}>
          <ul className="account-list">
            {accounts
              .filter((a) => !a.parent_id)
              .flatMap((a) => [a, ...accounts.filter((s) => s.parent_id === a.id)])
              .map((a) => (
                <li key={a.id} className={a.parent_id ? "sub" : undefined}>
                  <Link to={`/accounts/${a.id}`} className="account-row">
                    <span>
                      <span className="account-name">{a.name}</span>
                      <span className="muted small">
                        {a.asset}
                        {a.status === "closed" ? ` · ${t("account.closed")}` : ""}
                        {a.parent_id ? ` · ${t("account.sub_account")}` : ""}
                      </span>
                    </span>
                    <span className="amount">{formatMoney(a.balance.available, a.scale, a.asset, lang)}</span>
                  </Link>
                </li>
              ))}
          </ul>
        </Card>
      ) : null}
    </div>
  );
}
