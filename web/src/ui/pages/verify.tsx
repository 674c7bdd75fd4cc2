/**
 * The confirmation link mailed at sign-up (`/verify?token=...`): spends the token once, then
 * says whether the address is confirmed. Works signed out (the link may open in another browser).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { RestError } from "../../protocol/errors";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { useAction } from "../hooks";
import { linkHandler } from "../router";
import { rest, session, useSession } from "../session";
import { Brand, Spinner } from "./common";

type State = { step: "checking" } | { step: "done"; email: string } | { step: "failed"; invalid: boolean };

export function VerifyPage({ token }: { token: string | null }) {
  const t = useT();
  const [state, setState] = useState<State>(token ? { step: "checking" } : { step: "failed", invalid: true });
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    rest.verifyEmail(token).then(
      (user) => {
        setState({ step: "done", email: user.email });
        // The signed-in user (if it is them) is now verified: refresh what the pages show.
        void session.load();
      },
      (err: unknown) => setState({ step: "failed", invalid: err instanceof RestError && err.status === 400 }),
    );
  }, [token]);

  return (
    <div class="page narrow">
      <Brand />
      <main class="card form" aria-labelledby="verify-title" data-testid="verify-page">
        <h1 id="verify-title">{t("verify.title")}</h1>
        {state.step === "checking" && <Spinner label={t("verify.checking")} />}
        {state.step === "done" && (
          <p role="status" data-testid="verify-done">
            {t("verify.done", { email: isolate(state.email) })}
          </p>
        )}
        {state.step === "failed" && (
          <>
            <p class="error" role="alert" data-testid="verify-failed">
              {state.invalid ? t("verify.invalid") : t("verify.failed")}
            </p>
            <ResendLink />
          </>
        )}
        <p>
          <a href="/" onClick={linkHandler("/")} data-testid="verify-home">{t("verify.continue")}</a>
        </p>
      </main>
    </div>
  );
}

/** "Check your email" with a resend button, for a signed-in user whose address is unconfirmed. */
export function ResendLink() {
  const info = useSession();
  const t = useT();
  const { busy, error, run } = useAction();
  const [sent, setSent] = useState(false);
  if (!info || info.user.email_verified) return null;
  const resend = () =>
    run(async () => {
      await rest.resendVerification();
      setSent(true);
    });
  return (
    <div class="notice" role="status" data-testid="verify-notice">
      <p>{t("verify.pending", { email: isolate(info.user.email) })}</p>
      {error && <p class="error" role="alert">{error}</p>}
      {sent ? (
        <p data-testid="verify-sent">{t("verify.sent")}</p>
      ) : (
        <button class="btn" type="button" disabled={busy} onClick={resend} data-testid="verify-resend">
          {t("verify.resend")}
        </button>
      )}
    </div>
  );
}
