/**
 * The host's registration box on an event's page before entering (`/j/<link>`, host view): the
 * registration policy (off, open, approval), the registrants with Approve / Deny, the link of
 * the registration page to share, the registrants' download, and the attendance of each
 * session (./attendance.tsx). The list is the REST API's, read a page at a time.
 */
import { useEffect, useState } from "preact/hooks";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { Registration, RegistrationPage, RegistrationPolicy } from "../../protocol/registrations";
import type { Meeting } from "../../protocol/rest";
import { useAction } from "../hooks";
import { rest } from "../session";
import { Attendance } from "./attendance";
import "./register.css";

const POLICIES: readonly RegistrationPolicy[] = ["off", "open", "approval"];
const PAGE = 100;

function isPolicy(value: string): value is RegistrationPolicy {
  return (POLICIES as readonly string[]).includes(value);
}

export function Registrants({ meeting }: { meeting: Meeting }) {
  const t = useT();
  const [policy, setPolicy] = useState<RegistrationPolicy>(meeting.registration ?? "off");
  const [page, setPage] = useState<RegistrationPage | null>(null);
  const [more, setMore] = useState<Registration[]>([]);
  const [loads, setLoads] = useState(0);
  const { busy, error, run } = useAction();

  useEffect(() => {
    if (policy === "off") return;
    let current = true;
    rest.registrations(meeting.id, { limit: PAGE }).then(
      (found) => {
        if (!current) return;
        setPage(found);
        setMore([]);
      },
      () => current && setPage(null),
    );
    return () => {
      current = false;
    };
  }, [meeting.id, policy, loads]);

  const choose = (value: RegistrationPolicy) =>
    run(async () => {
      const updated = await rest.updateMeeting(meeting.id, { registration: value });
      setPolicy(updated.registration ?? value);
    });

  const decide = (r: Registration, decision: "approve" | "deny") =>
    run(async () => {
      await rest.decideRegistration(meeting.id, r.id, decision);
      setLoads((n) => n + 1);
    });

  const next = (after: string) =>
    run(async () => {
      const found = await rest.registrations(meeting.id, { limit: PAGE, after });
      setMore((m) => [...m, ...found.registrations]);
      setPage((p) => (p ? { ...p, next: found.next } : found));
    });

  const shown = page ? [...page.registrations, ...more] : [];
  const pageLink = `${location.origin}/events/${meeting.link_token}/register`;
  return (
    <section class="card registrants" data-testid="registrants" aria-labelledby="registrants-title">
      <h2 id="registrants-title">{t("registrants.title")}</h2>
      <label>
        {t("registrants.policy")}
        <select value={policy} data-testid="registrants-policy" disabled={busy}
          onChange={(e) => isPolicy(e.currentTarget.value) && void choose(e.currentTarget.value)}>
          {POLICIES.map((p) => <option key={p} value={p}>{t(`registrants.policy.${p}`)}</option>)}
        </select>
      </label>
      {policy !== "off" && (
        <>
          <p class="small">
            {t("registrants.share")}{" "}
            <bdi dir="ltr" class="registrants-link" data-testid="registrants-page-link">{pageLink}</bdi>
          </p>
          {page && (
            <p class="muted small" data-testid="registrants-counts">
              {t("registrants.counts", {
                registered: page.counts.registered,
                pending: page.counts.pending,
                unconfirmed: page.counts.unconfirmed,
                denied: page.counts.denied,
              })}
            </p>
          )}
          {shown.length > 0 && (
            <ul class="registrants-list">
              {shown.map((r) => (
                <li key={r.id} data-testid="registrant" data-state={r.state}>
                  <span><bdi>{r.name}</bdi> <span class="muted small">{isolate(r.email)}</span></span>
                  <span class="muted small">{t(`registrants.state.${r.state}`)}</span>
                  <span class="row">
                    {r.state !== "registered" && r.state !== "unconfirmed" && (
                      <button type="button" class="btn small" disabled={busy} data-testid="registrant-approve"
                        onClick={() => void decide(r, "approve")}>{t("registrants.approve")}</button>
                    )}
                    {r.state !== "denied" && (
                      <button type="button" class="btn small ghost" disabled={busy} data-testid="registrant-deny"
                        onClick={() => void decide(r, "deny")}>{t("registrants.deny")}</button>
                    )}
                  </span>
                </li>
              ))}
            </ul>
          )}
          {page?.next && (
            <button type="button" class="btn small" disabled={busy} onClick={() => void next(page.next ?? "")}>
              {t("registrants.more")}
            </button>
          )}
          <p class="row small">
            <a href={rest.registrationsCsvUrl(meeting.id)} download data-testid="registrants-csv">{t("registrants.csv")}</a>
            <button type="button" class="btn small ghost" onClick={() => setLoads((n) => n + 1)}>{t("registrants.refresh")}</button>
          </p>
        </>
      )}
      <Attendance meetingId={meeting.id} />
      {error && <p class="error" role="alert">{error}</p>}
    </section>
  );
}
