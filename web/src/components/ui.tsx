// Small building blocks shared by every page: fields with labels and inline errors, buttons,
// error banners that show the API's message, loading and empty states.
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { ApiError } from "../api/client";
import { useI18n, type MessageKey } from "../i18n";

export function Field(
  props: InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string | null; hint?: string },
) {
  const { label, error, hint, ...input } = props;
  const id = useId();
  const described = error ? `${id}-error` : hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={described} {...input} />
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : hint ? (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function Select(
  props: SelectHTMLAttributes<HTMLSelectElement> & { label: string; error?: string | null; children: ReactNode },
) {
  const { label, error, children, ...select } = props;
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} aria-invalid={error ? true : undefined} {...select}>
        {children}
      </select>
      {error ? (
        <p className="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

const KNOWN_CODES = new Set<string>([
  "invalid_credentials",
  "rate_limited",
  "email_taken",
  "weak_password",
  "invalid_mfa_code",
  "insufficient_funds",
  "account_not_found",
  "recipient_not_found",
  "account_closed",
  "asset_mismatch",
  "same_account",
  "email_not_verified",
  "invalid_amount",
  "invalid_token",
  "validation_failed",
  "unauthenticated",
  "network_error",
  "account_not_empty",
  "hold_not_pending",
  "hold_expired",
  "invalid_address",
  "unsupported_asset",
  "withdrawal_limit_exceeded",
  "withdrawal_in_progress",
]);

/** A person-readable message for an error: translated for known codes. */
export function useErrorMessage(): (e: unknown) => string {
  const { t } = useI18n();
  return (e: unknown) => {
    if (e instanceof ApiError) {
      if (KNOWN_CODES.has(e.code)) return t(`error.${e.code}` as MessageKey);
      return t("error.generic", { code: e.code });
    }
    return t("error.network_error");
  };
}

export function ErrorBanner({ error }: { error: unknown }) {
  const message = useErrorMessage();
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert">
      {message(error)}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <p className="muted" aria-live="polite" aria-busy="true">
      {t("common.loading")}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Card({ title, children, actions }: { title?: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      {title || actions ? (
        <header className="card-header">
          {title ? <h2>{title}</h2> : <span />}
          {actions}
        </header>
      ) : null}
      {children}
    </section>
  );
}
