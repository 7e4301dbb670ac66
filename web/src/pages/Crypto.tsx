import { useEffect, useState } from "react";
import { Card, Loading } from "../components/ui";
import { useI18n } from "../i18n";

/** Crypto deposits and withdrawals, once custody is configured on the server. */
export function Crypto() {
  const { t } = useI18n();
  const [enabled, setEnabled] = useState<boolean | null>(null);
  useEffect(() => {
    // Custody answers `custody_disabled` (or does not exist yet on this server).
    fetch("/v1/deposit-addresses?chain=ethereum", { credentials: "same-origin" })
      .then((r) => setEnabled(r.ok))
      .catch(() => setEnabled(false));
  }, []);
  return (
    <div className="narrow">
      <h1>{t("crypto.title")}</h1>
      {enabled === null ? <Loading /> : null}
      {enabled === false ? (
        <Card>
          <p className="banner banner-info" role="status" data-testid="custody-disabled">
            {t("crypto.disabled")}
          </p>
          <p className="muted">{t("crypto.disabled_note")}</p>
        </Card>
      ) : null}
      {enabled ? (
        <Card>
          <p>{t("crypto.enabled")}</p>
        </Card>
      ) : null}
    </div>
  );
}
