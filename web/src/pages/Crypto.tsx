import { useEffect, useState } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { QrCode } from "../components/QrCode";
import { Card, ErrorBanner, Loading } from "../components/ui";
import { useI18n, type MessageKey } from "../i18n";

/** Crypto deposits: the customer's deposit address per chain (with a QR code), once custody is on. */
export function Crypto() {
  const { t } = useI18n();
  const [status, setStatus] = useState<Schemas["CustodyStatus"] | null>(null);
  const [addresses, setAddresses] = useState<Schemas["DepositAddressView"][]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
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
    })().catch(setError);
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
          <p className="muted small">{t("crypto.deposit_note")}</p>
          <QrCode text={a.address} label={t("crypto.qr_label")} />
          <code className="secret" data-testid={`deposit-${a.chain}`}>
            {a.address}
          </code>
        </Card>
      ))}
    </div>
  );
}
