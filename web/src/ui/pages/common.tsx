import { useT } from "../../i18n/hook";
import { linkHandler } from "../router";
import { rest, session, useSession } from "../session";

export function Brand() {
  const t = useT();
  return (
    <a class="brand" href="/" onClick={linkHandler("/")} aria-label={t("brand.home")}>
      <span class="brand-mark" aria-hidden="true" />
      {/* i18n-ignore: the product's name */}
      Convene
    </a>
  );
}

export function Spinner({ label }: { label: string }) {
  return (
    <div class="spinner-wrap" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

type Section = "home" | "calendar" | "settings";

const SECTIONS: { id: Section; path: string; label: string }[] = [
  { id: "home", path: "/", label: "nav.meetings" },
  { id: "calendar", path: "/calendar", label: "nav.calendar" },
  { id: "settings", path: "/settings", label: "nav.settings" },
];

/** The bar on top of every page but the meeting: brand, sections (signed in), the user. */
export function TopBar({ current }: { current?: Section }) {
  const info = useSession();
  const t = useT();
  return (
    <header class="topbar">
      <Brand />
      {info && (
        <nav class="topnav" aria-label={t("nav.main")}>
          {SECTIONS.map((s) => (
            <a key={s.id} href={s.path} onClick={linkHandler(s.path)} data-testid={`nav-${s.id}`}
              aria-current={current === s.id ? "page" : undefined}>
              {t(s.label)}
            </a>
          ))}
        </nav>
      )}
      {info && (
        <div class="topbar-user">
          <bdi class="muted topbar-name" data-testid="signed-in-name">{info.user.display_name}</bdi>
          <button
            class="btn ghost"
            type="button"
            data-testid="signout-button"
            onClick={async () => {
              await rest.signOut().catch(() => undefined);
              session.set(null);
            }}
          >
            {t("auth.signOut")}
          </button>
        </div>
      )}
    </header>
  );
}
