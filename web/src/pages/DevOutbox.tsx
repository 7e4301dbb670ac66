import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import { Card, Empty, ErrorBanner, Loading } from "../components/ui";
import { useI18n } from "../i18n";

/** Links in sandbox emails point at PUBLIC_URL; open them in this app, wherever it runs. */
function localPath(url: string): string | null {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return null;
  }
}

function Body({ text }: { text: string }) {
  const parts = text.split(/(https?:\/\/\S+)/g);
  return (
    <p className="mail-body">
      {parts.map((p, i) => {
        const path = /^https?:\/\//.test(p) ? localPath(p) : null;
        return path ? (
          <Link key={i} to={path}>
            {p}
          </Link>
        ) : (
          <span key={i}>{p}</span>
        );
      })}
    </p>
  );
}

export function DevOutbox() {
  const { t } = useI18n();
  const [messages, setMessages] = useState<Schemas["OutboxMessage"][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api
      .GET("/v1/dev/outbox", { params: { query: { limit: 50 } } })
      .then(unwrap)
      .then((l) => setMessages(l.data))
      .catch(setError);
  }, []);
  return (
    <div>
      <h1>{t("outbox.title")}</h1>
      <p className="muted">{t("outbox.intro")}</p>
      <ErrorBanner error={error} />
      {!messages && !error ? <Loading /> : null}
      {messages && messages.length === 0 ? <Empty>{t("outbox.empty")}</Empty> : null}
      {messages?.map((m) => (
        <Card key={m.id} title={m.subject}>
          <p className="muted">
            {t("outbox.to")}: {m.to}
          </p>
          <Body text={m.body} />
        </Card>
      ))}
    </div>
  );
}
