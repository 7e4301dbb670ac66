import { useCallback, useEffect, useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { Card, Empty, ErrorBanner, Field, Loading } from "../components/ui";
import { useI18n, type MessageKey } from "../i18n";
import { useUser } from "../session";

export function ApiKeys() {
  const { t, lang } = useI18n();
  const user = useUser();
  const [keys, setKeys] = useState<Schemas["ApiKeyView"][] | null>(null);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api.GET("/v1/api-keys").then(unwrap).then((l) => setKeys(l.data)).catch(setError);
  }, []);
  useEffect(load, [load]);

  if ((user?.businesses.length ?? 0) === 0)
    return (
      <div className="narrow">
        <h1>{t("keys.title")}</h1>
        <Empty>{t("keys.business_only")}</Empty>
      </div>
    );

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const k = unwrap(await api.POST("/v1/api-keys", { body: { name: name.trim(), scopes, business_id: null } }));
      setCreated(k.key ?? null);
      setName("");
      load();
    } catch (err) {
      setError(err);
    }
  }
  async function revoke(id: string) {
    try {
      unwrap(await api.DELETE("/v1/api-keys/{id}", { params: { path: { id } } }));
      load();
    } catch (err) {
      setError(err);
    }
  }
  const toggle = (s: string) => setScopes(scopes.includes(s) ? scopes.filter((x) => x !== s) : [...scopes, s]);

  return (
    <div>
      <h1>{t("keys.title")}</h1>
      <ErrorBanner error={error} />
      {created ? (
        <div className="banner banner-warn" role="status">
          <p>{t("keys.shown_once")}</p>
          <code className="secret" data-testid="new-key">
            {created}
          </code>
        </div>
      ) : null}
      <Card title={t("keys.create")}>
        <form onSubmit={create} className="inline-form">
          <Field label={t("keys.name")} value={name} onChange={(e) => setName(e.target.value)} required />
          <fieldset className="checks">
            <legend>{t("keys.scopes")}</legend>
            {["read", "payments"].map((s) => (
              <label key={s} className="check">
                <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} /> {t(`keys.scope_${s}` as MessageKey)}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary">
            {t("keys.create")}
          </button>
        </form>
      </Card>
      <Card title={t("keys.list")}>
        {!keys ? <Loading /> : null}
        {keys && keys.length === 0 ? <Empty>{t("keys.empty")}</Empty> : null}
        <ul className="list">
          {keys?.map((k) => (
            <li key={k.id} className="row">
              <span>
                <span>
                  {k.name} <code>{k.prefix}…</code>
                </span>
                <span className="muted small">
                  {k.scopes.join(", ")} ·{" "}
                  {k.last_used
                    ? t("keys.last_used", { when: new Date(k.last_used).toLocaleString(lang) })
                    : t("keys.never_used")}
                </span>
              </span>
              {k.revoked ? (
                <span className="pill">{t("keys.revoked")}</span>
              ) : (
                <button type="button" onClick={() => revoke(k.id)}>
                  {t("keys.revoke")}
                </button>
              )}
            </li>
          ))}
        </ul>
      </Card>
    </div>
  );
}
