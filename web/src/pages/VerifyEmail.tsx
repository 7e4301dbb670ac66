import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap } from "../api/client";
import { Card, ErrorBanner, Loading } from "../components/ui";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export function VerifyEmail() {
  const { t } = useI18n();
  const { refresh } = useSession();
  const [params] = useSearchParams();
  const [state, setState] = useState<"working" | "done" | "failed">("working");
  const [error, setError] = useState<unknown>(null);
  const sent = useRef(false);
  useEffect(() => {
    // The token is single-use: redeem it once, even under StrictMode's double effects.
    if (sent.current) return;
    sent.current = true;
    const token = params.get("token") ?? "";
    api
      .POST("/v1/auth/verify-email", { body: { token } })
      .then(unwrap)
      .then(() => {
        setState("done");
        void refresh();
      })
      .catch((e) => {
        setError(e);
        setState("failed");
      });
  }, [params, refresh]);
  return (
    <div className="narrow">
      <h1>{t("verify.title")}</h1>
      <Card>
        {state === "working" ? <Loading /> : null}
        {state === "done" ? (
          <>
            <p className="banner banner-ok" role="status">
              {t("verify.done")}
            </p>
            <Link className="button primary" to="/">
              {t("verify.continue")}
            </Link>
          </>
        ) : null}
        {state === "failed" ? <ErrorBanner error={error} /> : null}
      </Card>
    </div>
  );
}
