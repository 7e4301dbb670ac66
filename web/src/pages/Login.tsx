import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Card, ErrorBanner, Field } from "../components/ui";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export function Login() {
  const { t } = useI18n();
  const { refresh } = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const next = params.get("next")?.startsWith("/") ? (params.get("next") as string) : "/";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function done() {
    await refresh();
    navigate(next, { replace: true });
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (challenge) {
        unwrap(await api.POST("/v1/auth/mfa/verify", { body: { challenge_id: challenge, code: code.trim() } }));
        await done();
      } else {
        const r = unwrap(await api.POST("/v1/auth/login", { body: { email, password } }));
        const mfa = r as unknown as { mfa_required?: boolean; challenge_id?: string };
        if (mfa.mfa_required && mfa.challenge_id) setChallenge(mfa.challenge_id);
        else await done();
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="narrow">
      <h1>{challenge ? t("login.mfa_title") : t("login.title")}</h1>
      <Card>
        <form onSubmit={submit} noValidate>
          <ErrorBanner error={error} />
          {challenge ? (
            <Field
              label={t("login.code")}
              hint={t("login.code_hint")}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              inputMode="numeric"
              autoComplete="one-time-code"
              autoFocus
              required
            />
          ) : (
            <>
              <Field
                label={t("common.email")}
                type="email"
                autoComplete="email"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                required
              />
              <Field
                label={t("common.password")}
                type="password"
                autoComplete="current-password"
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
            </>
          )}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("common.working") : challenge ? t("login.verify") : t("login.submit")}
          </button>
        </form>
      </Card>
      <p className="muted center">
        {t("login.no_account")} <Link to="/signup">{t("login.signup_link")}</Link>
      </p>
    </div>
  );
}
