/**
 * Password reset: `/forgot` asks for a link by email (the answer never says whether the address
 * has an account), and `/reset?token=...`, the mailed link, chooses the new password and signs
 * this browser in. Both work signed out.
 */
import { useState } from "preact/hooks";
import { RestError } from "../../protocol/errors";
import { t as translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { useAction } from "../hooks";
import { linkHandler, navigate } from "../router";
import { rest, session } from "../session";
import { Brand } from "./common";

export function ForgotPage() {
  const t = useT();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const { busy, error, run } = useAction();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    await run(async () => {
      await rest.forgotPassword(email.trim());
      setSent(true);
    });
  };

  return (
    <main class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="forgot-form" aria-labelledby="forgot-title">
        <h1 id="forgot-title">{t("reset.forgotTitle")}</h1>
        {sent ? (
          <p role="status" data-testid="forgot-sent">{t("reset.sent")}</p>
        ) : (
          <>
            <p class="muted" id="forgot-hint">{t("reset.forgotHint")}</p>
            <label>
              {t("auth.email")}
              <input type="email" autoComplete="email" required value={email} data-testid="forgot-email"
                aria-describedby="forgot-hint" onInput={(e) => setEmail(e.currentTarget.value)} />
            </label>
            {error && <p class="error" role="alert" data-testid="forgot-error">{error}</p>}
            <button class="btn primary" type="submit" disabled={busy} data-testid="forgot-submit">
              {busy ? t("reset.sending") : t("reset.send")}
            </button>
          </>
        )}
        <p class="muted">
          <a href="/signin" onClick={linkHandler("/signin")} data-testid="forgot-signin">{t("reset.backToSignIn")}</a>
        </p>
      </form>
    </main>
  );
}

export function ResetPage({ token }: { token: string | null }) {
  const t = useT();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [invalid, setInvalid] = useState(token === null);
  const { busy, error, setError, run } = useAction();

  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (!token) return;
    if (password.length < 8) {
      setError(translate("auth.passwordTooShort"));
      return;
    }
    if (password !== again) {
      setError(translate("reset.mismatch"));
      return;
    }
    await run(async () => {
      try {
        session.set(await rest.resetPassword(token, password));
      } catch (err) {
        if (err instanceof RestError && err.status === 400) {
          setInvalid(true);
          return;
        }
        throw err;
      }
      navigate("/", { replace: true });
    });
  };

  return (
    <main class="page narrow">
      <Brand />
      <form class="card form" onSubmit={submit} data-testid="reset-form" aria-labelledby="reset-title">
        <h1 id="reset-title">{t("reset.title")}</h1>
        {invalid ? (
          <>
            <p class="error" role="alert" data-testid="reset-invalid">{t("reset.invalid")}</p>
            <p>
              <a href="/forgot" onClick={linkHandler("/forgot")} data-testid="reset-ask-again">{t("reset.askAgain")}</a>
            </p>
          </>
        ) : (
          <>
            <p class="muted">{t("reset.hint")}</p>
            <label>
              {t("reset.newPassword")}
              <input type="password" autoComplete="new-password" required minLength={8} maxLength={256} value={password}
                data-testid="reset-password" aria-describedby="reset-password-hint"
                onInput={(e) => setPassword(e.currentTarget.value)} />
              <span class="hint" id="reset-password-hint">{t("auth.passwordHint")}</span>
            </label>
            <label>
              {t("reset.repeatPassword")}
              <input type="password" autoComplete="new-password" required maxLength={256} value={again}
                data-testid="reset-password-again" onInput={(e) => setAgain(e.currentTarget.value)} />
            </label>
            {error && <p class="error" role="alert" data-testid="reset-error">{error}</p>}
            <button class="btn primary" type="submit" disabled={busy} data-testid="reset-submit">
              {busy ? t("reset.saving") : t("reset.save")}
            </button>
          </>
        )}
      </form>
    </main>
  );
}
