/**
 * `/events/<link>/register`: an event's registration page, signed in or not. It shows the event
 * and a form (name, email); after sending it says to check the mail (the server answers the
 * same for every address). The mail's link comes back here with `?confirm=<id>.<token>`: the
 * page confirms at once and shows the result: registered (with the personal join link) or
 * waiting for a host's approval.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { isolate, language } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError, RestError } from "../../protocol/errors";
import type { Confirmed, EventPage } from "../../protocol/registrations";
import { browserZone, formatRange } from "../../scheduling/time";
import { useAction } from "../hooks";
import { LanguageMenu } from "../../i18n/menu";
import { linkHandler, localPath, openUrl } from "../router";
import { rest } from "../session";
import { Brand, Spinner } from "./common";
import "./register.css";

type Confirming = { step: "confirming" } | { step: "done"; result: Confirmed } | { step: "failed"; invalid: boolean };

export function RegisterPage({ link, confirm }: { link: string; confirm: string | null }) {
  const t = useT();
  return (
    <div class="page narrow register-page">
      <header class="topbar">
        <Brand />
        <LanguageMenu testid="register-language" onChange={(chosen) => chosen && language.choose(chosen)} />
      </header>
      <main class="card form" aria-labelledby="register-title" data-testid="register-page">
        {confirm ? <Confirm credential={confirm} /> : <Form link={link} />}
      </main>
      <p class="muted small register-home">
        <a href="/" onClick={linkHandler("/")}>{t("register.home")}</a>
      </p>
    </div>
  );
}

function JoinButton({ url }: { url: string }) {
  const t = useT();
  const path = localPath(url);
  return (
    <a class="btn primary" href={url} data-testid="register-join"
      onClick={path ? linkHandler(path) : (ev: Event) => { ev.preventDefault(); openUrl(url); }}>
      {t("register.join")}
    </a>
  );
}

function Confirm({ credential }: { credential: string }) {
  const t = useT();
  const [state, setState] = useState<Confirming>({ step: "confirming" });
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    rest.confirmRegistration(credential).then(
      (result) => setState({ step: "done", result }),
      (err: unknown) => setState({ step: "failed", invalid: err instanceof RestError && err.status === 404 }),
    );
  }, [credential]);

  if (state.step === "confirming") return <Spinner label={t("register.confirming")} />;
  if (state.step === "failed") {
    return (
      <>
        <h1 id="register-title">{t("register.heading")}</h1>
        <p class="error" role="alert" data-testid="register-confirm-failed">
          {state.invalid ? t("register.badLink") : t("register.failed")}
        </p>
      </>
    );
  }
  const { result } = state;
  return (
    <>
      <h1 id="register-title" data-testid="register-event-title">{result.title}</h1>
      {result.state === "registered" && result.join_url ? (
        <>
          <p role="status" data-testid="register-registered">{t("register.registered")}</p>
          <p><JoinButton url={result.join_url} /></p>
        </>
      ) : result.state === "pending" ? (
        <p role="status" data-testid="register-pending">{t("register.pending")}</p>
      ) : (
        <p role="status" data-testid="register-closed">{t("register.closed")}</p>
      )}
    </>
  );
}

function Form({ link }: { link: string }) {
  const t = useT();
  const [event, setEvent] = useState<EventPage | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { busy, error, setError, run } = useAction();

  useEffect(() => {
    rest.getEvent(link).then(setEvent, (err: unknown) => setLoadError(
      err instanceof RestError && err.code === "meeting_not_found" ? t("register.notFound") : describeError(err)));
  }, [link]);

  if (loadError) {
    return (
      <>
        <h1 id="register-title">{t("register.heading")}</h1>
        <p class="error" role="alert" data-testid="register-error">{loadError}</p>
      </>
    );
  }
  if (!event) return <Spinner label={t("register.loading")} />;

  const zone = browserZone();
  const when = event.starts_at && event.ends_at
    ? formatRange(Date.parse(event.starts_at), Date.parse(event.ends_at), zone)
    : null;
  const header = (
    <>
      <h1 id="register-title" data-testid="register-event-title">{event.title}</h1>
      {when && <p data-testid="register-when"><strong>{when}</strong> <span class="muted small">({isolate(zone.replace(/_/g, " "))})</span></p>}
      <p class="muted small">{t("register.hostedBy", { name: isolate(event.host_name) })}</p>
    </>
  );
  if (event.status === "ended") return <>{header}<p role="status" data-testid="register-ended">{t("register.ended")}</p></>;
  if (event.registration === "off") {
    return (
      <>
        {header}
        <p role="status" data-testid="register-not-needed">{t("register.notNeeded")}</p>
        <p><JoinButton url={`/j/${link}`} /></p>
      </>
    );
  }
  if (sentTo) {
    return (
      <>
        {header}
        <p role="status" data-testid="register-check-mail">{t("register.checkMail", { email: isolate(sentTo) })}</p>
        <p class="muted small">{t("register.checkMailNote")}</p>
      </>
    );
  }

  const submit = async (ev: Event) => {
    ev.preventDefault();
    const cleanName = name.trim();
    const cleanEmail = email.trim();
    if (!cleanName || !cleanEmail) {
      setError(t("register.missing"));
      return;
    }
    await run(async () => {
      await rest.register(link, { name: cleanName, email: cleanEmail, language: language.value });
      setSentTo(cleanEmail);
    });
  };

  return (
    <>
      {header}
      <h2 class="register-subtitle">{t("register.heading")}</h2>
      {event.registration === "approval" && <p class="muted small" data-testid="register-approval">{t("register.approvalNote")}</p>}
      <form onSubmit={(ev) => void submit(ev)} noValidate>
        <label>
          {t("register.name")}
          <input type="text" autoComplete="name" maxLength={64} value={name} data-testid="register-name" required
            onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t("register.email")}
          <input type="email" dir="ltr" autoComplete="email" maxLength={254} value={email} data-testid="register-email" required
            onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        {error && <p class="error" role="alert" data-testid="register-form-error">{error}</p>}
        <button type="submit" class="btn primary" disabled={busy} data-testid="register-submit">{t("register.submit")}</button>
      </form>
    </>
  );
}
