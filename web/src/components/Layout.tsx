import { NavLink, Outlet, useNavigate } from "react-router";
import { useI18n } from "../i18n";
import { useSession, useUser } from "../session";
import { useTheme } from "../theme";

export function Layout() {
  const { t, lang, setLang } = useI18n();
  const user = useUser();
  const { signOut } = useSession();
  const [theme, setTheme] = useTheme();
  const navigate = useNavigate();
  const isBusiness = (user?.businesses.length ?? 0) > 0;
  return (
    <div className="app">
      <a className="skip" href="#main">
        {t("nav.skip")}
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label={t("brand")}>
          <span className="logo" aria-hidden="true">
            P
          </span>
          <span>{t("brand")}</span>
        </NavLink>
        {user ? (
          <nav aria-label={t("nav.label")} className="nav">
            <NavLink to="/" end>
              {t("nav.dashboard")}
            </NavLink>
            <NavLink to="/send">{t("nav.send")}</NavLink>
            <NavLink to="/crypto">{t("nav.crypto")}</NavLink>
            <NavLink to="/security">{t("nav.security")}</NavLink>
            {isBusiness ? <NavLink to="/api-keys">{t("nav.api_keys")}</NavLink> : null}
          </nav>
        ) : null}
        <div className="toolbar">
          <label className="sr-only" htmlFor="lang">
            {t("nav.language")}
          </label>
          <select id="lang" value={lang} onChange={(e) => setLang(e.target.value as "en" | "zh")}>
            <option value="en">English</option>
            <option value="zh">中文</option>
          </select>
          <button
            type="button"
            className="ghost"
            onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
            aria-label={theme === "dark" ? t("nav.theme_light") : t("nav.theme_dark")}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
          {user ? (
            <button
              type="button"
              className="ghost"
              onClick={async () => {
                await signOut();
                navigate("/login");
              }}
            >
              {t("nav.sign_out")}
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
