import { linkHandler } from "../router";
import { rest, session, useSession } from "../session";

export function Brand() {
  return (
    <a class="brand" href="/" onClick={linkHandler("/")} aria-label="Convene home">
      <span class="brand-mark" aria-hidden="true" />
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
  { id: "home", path: "/", label: "Meetings" },
  { id: "calendar", path: "/calendar", label: "Calendar" },
  { id: "settings", path: "/settings", label: "Settings" },
];

/** The bar on top of every page but the meeting: brand, sections (signed in), the user. */
export function TopBar({ current }: { current?: Section }) {
  const info = useSession();
  return (
    <header class="topbar">
      <Brand />
      {info && (
        <nav class="topnav" aria-label="Main">
          {SECTIONS.map((s) => (
            <a key={s.id} href={s.path} onClick={linkHandler(s.path)} data-testid={`nav-${s.id}`}
              aria-current={current === s.id ? "page" : undefined}>
              {s.label}
            </a>
          ))}
        </nav>
      )}
      {info && (
        <div class="topbar-user">
          <span class="muted topbar-name" data-testid="signed-in-name">{info.user.display_name}</span>
          <button
            class="btn ghost"
            type="button"
            data-testid="signout-button"
            onClick={async () => {
              await rest.signOut().catch(() => undefined);
              session.set(null);
            }}
          >
            Sign out
          </button>
        </div>
      )}
    </header>
  );
}
