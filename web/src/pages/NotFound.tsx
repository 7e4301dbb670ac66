import { Link } from "react-router";
import { useI18n } from "../i18n";

export function NotFound() {
  const { t } = useI18n();
  return (
    <div className="narrow center">
      <h1>{t("notfound.title")}</h1>
      <p className="muted">{t("notfound.text")}</p>
      <Link className="button" to="/">
        {t("notfound.home")}
      </Link>
    </div>
  );
}
