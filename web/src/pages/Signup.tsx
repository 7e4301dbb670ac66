import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError, unwrap } from "../api/client";
import { Card, ErrorBanner, Field, Select } from "../components/ui";
import { useI18n } from "../i18n";

export function Signup() {
  const { t } = useI18n();
  const [form, setForm] = useState({ name: "", email: "", password: "", kind: "individual", business_name: "" });
  const [error, setError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  function validate(): Record<string, string> {
    const errs: Record<string, string> = {};
    if (!form.name.trim()) errs.name = t("signup.name_required");
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(form.email)) errs.email = t("signup.email_invalid");
    if (form.password.length < 12) errs.password = t("signup.password_short");
    return errs;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    const errs = validate();
    setFieldErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: form.name.trim(),
        email: form.email.trim(),
        password: form.password,
        kind: form.kind,
        business_name: form.kind === "business" ? form.business_name.trim() || null : null,
      };
      unwrap(await api.POST("/v1/auth/register", { body }));
      setSentTo(body.email);
    } catch (err) {
      if (err instanceof ApiError && err.code === "weak_password") setFieldErrors({ password: t("error.weak_password") });
      else if (err instanceof ApiError && err.code === "email_taken") setFieldErrors({ email: t("error.email_taken") });
      else setError(err);
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <div className="narrow">
        <h1>{t("signup.check_email_title")}</h1>
        <Card>
          <p>{t("signup.check_email", { email: sentTo })}</p>
          <p className="muted">
            {t("signup.sandbox_hint")} <Link to="/dev/outbox">{t("signup.open_outbox")}</Link>
          </p>
          <Link className="button primary" to="/login">
            {t("signup.go_sign_in")}
          </Link>
        </Card>
      </div>
    );
  }

  return (
    <div className="narrow">
      <h1>{t("signup.title")}</h1>
      <Card>
        <form onSubmit={submit} noValidate>
          <ErrorBanner error={error} />
          <Field label={t("signup.name")} value={form.name} onChange={set("name")} error={fieldErrors.name} autoComplete="name" />
          <Field
            label={t("common.email")}
            type="email"
            value={form.email}
            onChange={set("email")}
            error={fieldErrors.email}
            autoComplete="email"
          />
          <Field
            label={t("common.password")}
            type="password"
            value={form.password}
            onChange={set("password")}
            error={fieldErrors.password}
            hint={t("signup.password_hint")}
            autoComplete="new-password"
          />
          <Select label={t("signup.kind")} value={form.kind} onChange={set("kind")}>
            <option value="individual">{t("signup.kind_individual")}</option>
            <option value="business">{t("signup.kind_business")}</option>
          </Select>
          {form.kind === "business" ? (
            <Field label={t("signup.business_name")} value={form.business_name} onChange={set("business_name")} />
          ) : null}
          <button type="submit" className="primary" disabled={busy}>
            {busy ? t("common.working") : t("signup.submit")}
          </button>
        </form>
      </Card>
      <p className="muted center">
        {t("signup.have_account")} <Link to="/login">{t("signup.sign_in_link")}</Link>
      </p>
    </div>
  );
}
