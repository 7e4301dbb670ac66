import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { allAccounts, assets as loadAssets, type Account, type Asset } from "../accounts";
import { api, newIdempotencyKey, unwrap } from "../api/client";
import { Card, ErrorBanner, Field, Loading, Select } from "../components/ui";
import { useI18n } from "../i18n";

export function OpenAccount() {
  const { t } = useI18n();
  const navigate = useNavigate();
  const [assets, setAssets] = useState<Asset[] | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [asset, setAsset] = useState("USD");
  const [name, setName] = useState("");
  const [parent, setParent] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // One key per attempt: a double click or a retry after a timeout opens one account.
  const key = useRef(newIdempotencyKey());
  useEffect(() => {
    Promise.all([loadAssets(), allAccounts()])
      .then(([s, a]) => {
        setAssets(s);
        setAccounts(a);
      })
      .catch(setError);
  }, []);
  const parents = accounts.filter((a) => a.asset === asset && !a.parent_id && a.status === "open");

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { asset, name: name.trim(), parent_id: parent || null };
      const a = unwrap(await api.POST("/v1/accounts", { body, params: { header: { "Idempotency-Key": key.current } } }));
      navigate(`/accounts/${a.id}`);
    } catch (err) {
      setError(err);
      key.current = newIdempotencyKey();
    } finally {
      setBusy(false);
    }
  }

  if (!assets && !error) return <Loading />;
  return (
    <div className="narrow">
      <h1>{t("open.title")}</h1>
      <Card>
        <form onSubmit={submit}>
          <ErrorBanner error={error} />
          <Select
            label={t("open.asset")}
            value={asset}
            onChange={(e) => {
              setAsset(e.target.value);
              setParent("");
            }}
          >
            {assets?.map((a) => (
              <option key={a.code} value={a.code}>
                {a.code} — {a.name}
              </option>
            ))}
          </Select>
          <Field label={t("open.name")} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
          <Select label={t("open.parent")} value={parent} onChange={(e) => setParent(e.target.value)}>
            <option value="">{t("open.no_parent")}</option>
            {parents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </Select>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("common.working") : t("open.submit")}
          </button>
        </form>
      </Card>
    </div>
  );
}
