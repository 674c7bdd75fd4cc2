import { useState } from "preact/hooks";
import { t as translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { browserZone } from "../../scheduling/time";
import { useAction } from "../hooks";
import { linkHandler, navigate } from "../router";
import { rest, session } from "../session";
import { Brand } from "./common";

export function SignInPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const { busy, error, run } = useAction();
  const t = useT();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    await run(async () => {
      session.set(await rest.signIn({ email: email.trim(), password }));
      navigate(next ?? "/", { replace: true });
    });
  };

  return (
    <main class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="signin-form" aria-labelledby="signin-title">
        <h1 id="signin-title">{t("auth.signIn")}</h1>
        <label>
          {t("auth.email")}
          <input type="email" autoComplete="email" required value={email} data-testid="signin-email"
            onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          {t("auth.password")}
          <input type="password" autoComplete="current-password" required value={password} data-testid="signin-password"
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        <a class="small form-link" href="/forgot" onClick={linkHandler("/forgot")} data-testid="forgot-link">{t("auth.forgot")}</a>
        {error && <p class="error" role="alert" data-testid="signin-error">{error}</p>}
        <button class="btn primary" type="submit" disabled={busy} data-testid="signin-submit">
          {busy ? t("auth.signingIn") : t("auth.signIn")}
        </button>
        <p class="muted">
          {t("auth.noAccount")}{" "}
          <a href={`/signup${next ? `?next=${encodeURIComponent(next)}` : ""}`} onClick={linkHandler(`/signup${next ? `?next=${encodeURIComponent(next)}` : ""}`)}>
            {t("auth.signUp")}
          </a>
        </p>
      </form>
    </main>
  );
}

export function SignUpPage({ next }: { next: string | null }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const { busy, error, setError, run } = useAction();
  const t = useT();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (password.length < 8) {
      setError(translate("auth.passwordTooShort"));
      return;
    }
    await run(async () => {
      session.set(await rest.signUp({ email: email.trim(), password, display_name: displayName.trim() }));
      // A new account starts in the browser's time zone (changeable in Settings); the server
      // alone cannot know it.
      await rest.updateCalendarSettings({ timezone: browserZone() }).catch(() => undefined);
      navigate(next ?? "/", { replace: true });
    });
  };

  return (
    <main class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="signup-form" aria-labelledby="signup-title">
        <h1 id="signup-title">{t("auth.createAccount")}</h1>
        <label>
          {t("join.yourName")}
          <input type="text" autoComplete="name" required maxLength={64} value={displayName} data-testid="signup-display-name"
            onInput={(e) => setDisplayName(e.currentTarget.value)} />
        </label>
        <label>
          {t("auth.email")}
          <input type="email" autoComplete="email" required value={email} data-testid="signup-email"
            onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          {t("auth.password")}
          <input type="password" autoComplete="new-password" required minLength={8} maxLength={256} value={password}
            data-testid="signup-password" aria-describedby="signup-password-hint"
            onInput={(e) => setPassword(e.currentTarget.value)} />
          <span class="hint" id="signup-password-hint">{t("auth.passwordHint")}</span>
        </label>
        {error && <p class="error" role="alert" data-testid="signup-error">{error}</p>}
        <button class="btn primary" type="submit" disabled={busy} data-testid="signup-submit">
          {busy ? t("auth.creating") : t("auth.signUp")}
        </button>
        <p class="muted">
          {t("auth.haveAccount")}{" "}
          <a href={`/signin${next ? `?next=${encodeURIComponent(next)}` : ""}`} onClick={linkHandler(`/signin${next ? `?next=${encodeURIComponent(next)}` : ""}`)}>
            {t("auth.signIn")}
          </a>
        </p>
      </form>
    </main>
  );
}
