import { useCallback, useEffect, useState, type FormEvent } from "react";
import { describeAgent } from "../agent";
import { api, unwrap, type Schemas } from "../api/client";
import { QrCode } from "../components/QrCode";
import { Card, ErrorBanner, Field, Loading } from "../components/ui";
import { useI18n } from "../i18n";
import { useSession, useUser } from "../session";

function Sessions() {
  const { t, lang } = useI18n();
  const [sessions, setSessions] = useState<Schemas["SessionInfo"][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api.GET("/v1/me/sessions").then(unwrap).then((l) => setSessions(l.data)).catch(setError);
  }, []);
  useEffect(load, [load]);
  async function revoke(id: string) {
    try {
      unwrap(await api.DELETE("/v1/me/sessions/{id}", { params: { path: { id } } }));
      load();
    } catch (e) {
      setError(e);
    }
  }
  return (
    <Card title={t("security.sessions")}>
      <ErrorBanner error={error} />
      {!sessions && !error ? <Loading /> : null}
      <ul className="list" data-testid="sessions">
        {sessions?.map((s) => (
          <li key={s.id} className="row">
            <span>
              <span>{describeAgent(s.user_agent) ?? t("security.unknown_device")}</span>
              <span className="muted small">
                {s.ip ?? "—"} · {t("security.last_seen", { when: new Date(s.last_seen).toLocaleString(lang) })}
              </span>
            </span>
            {s.current ? (
              <span className="pill">{t("security.this_device")}</span>
            ) : (
              <button type="button" onClick={() => revoke(s.id)}>
                {t("security.revoke")}
              </button>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Mfa() {
  const { t } = useI18n();
  const user = useUser();
  const { refresh } = useSession();
  const [setup, setSetup] = useState<Schemas["TotpSetup"] | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function begin() {
    setError(null);
    try {
      setSetup(unwrap(await api.POST("/v1/me/mfa/totp")));
    } catch (e) {
      setError(e);
    }
  }
  async function confirm(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = unwrap(await api.POST("/v1/me/mfa/totp/confirm", { body: { code: code.trim() } }));
      setCodes(r.recovery_codes);
      setSetup(null);
      setCode("");
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  async function disable(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      unwrap(await api.POST("/v1/me/mfa/totp/disable", { body: { code: code.trim() } }));
      setCode("");
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (codes)
    return (
      <Card title={t("mfa.codes_title")}>
        <p>{t("mfa.codes_note")}</p>
        <ul className="codes" data-testid="recovery-codes">
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <button
          type="button"
          className="primary"
          onClick={async () => {
            setCodes(null);
            await refresh();
          }}
        >
          {t("mfa.codes_saved")}
        </button>
      </Card>
    );

  return (
    <Card title={t("mfa.title")}>
      <ErrorBanner error={error} />
      {user?.mfa_enabled ? (
        <form onSubmit={disable}>
          <p className="banner banner-ok" role="status">
            {t("mfa.enabled")}
          </p>
          <Field
            label={t("mfa.code_to_disable")}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            inputMode="numeric"
            autoComplete="one-time-code"
          />
          <button type="submit" disabled={busy}>
            {t("mfa.disable")}
          </button>
        </form>
      ) : setup ? (
        <form onSubmit={confirm}>
          <p>{t("mfa.scan")}</p>
          <QrCode text={setup.otpauth_uri} label={t("mfa.qr_label")} />
          <p className="muted small">
            {t("mfa.manual")} <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <Field
            label={t("mfa.code")}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            inputMode="numeric"
            autoComplete="one-time-code"
          />
          <button type="submit" className="primary" disabled={busy}>
            {t("mfa.confirm")}
          </button>
        </form>
      ) : (
        <>
          <p>{t("mfa.intro")}</p>
          <button type="button" className="primary" onClick={begin}>
            {t("mfa.begin")}
          </button>
        </>
      )}
    </Card>
  );
}

export function Security() {
  const { t } = useI18n();
  return (
    <div>
      <h1>{t("security.title")}</h1>
      <Mfa />
      <Sessions />
    </div>
  );
}
