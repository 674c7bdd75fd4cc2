/**
 * /rsvp/<attendee_id>/<token>: the page an invitation's link opens, signed in or not. It shows
 * the meeting in the viewer's zone (their calendar setting when signed in, else the browser's) and
 * takes an answer for the whole series or one occurrence; the invitee's meetings that overlap
 * (the server checks them for Convene users) are shown as a warning.
 */
import { useEffect, useState } from "preact/hooks";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError } from "../../protocol/errors";
import type { Answer, Conflict, PartStat, RsvpView } from "../../protocol/scheduling";
import { parseRrule, recurrenceSummary } from "../../scheduling/recurrence";
import { formatLongDay, formatRange, fromLocal, parseIsoLocal } from "../../scheduling/time";
import { useAction } from "../hooks";
import { useUserZone } from "../prefs";
import { openUrl, type RsvpChoice } from "../router";
import { rest } from "../session";
import { ConflictWarning } from "../scheduling/conflicts";
import { AnswerButtons } from "../scheduling/details";
import { PARTSTAT_TEXT } from "../scheduling/labels";
import { Spinner, TopBar } from "./common";

/** The conflicts of the answer page, of one occurrence when one is chosen. */
export function rsvpConflicts(view: RsvpView, only: string | null): Conflict[] {
  const all = view.conflicts?.conflicts ?? [];
  if (only === null) return all;
  const at = Date.parse(only);
  return all.filter((c) => Date.parse(c.occurrence_recurrence_id) === at);
}

const SUGGESTED: Record<RsvpChoice, Answer> = { accepted: "ACCEPTED", tentative: "TENTATIVE", declined: "DECLINED" };
/** Catalogue keys of the answer buttons' labels, named in the "press … to confirm" line. */
const SUGGESTED_KEY: Record<RsvpChoice, string> = {
  accepted: "schedule.button.accept",
  tentative: "schedule.button.tentative",
  declined: "schedule.button.decline",
};

export function RsvpPage({ attendeeId, token, occurrence, suggested = null }: {
  attendeeId: string;
  token: string;
  occurrence: string | null;
  /** The button pressed in the invitation email: asked again here (mail scanners open links). */
  suggested?: RsvpChoice | null;
}) {
  const t = useT();
  const zone = useUserZone();
  const [view, setView] = useState<RsvpView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const [answered, setAnswered] = useState(false);
  const [scope, setScope] = useState<"all" | "one">(occurrence ? "one" : "all");
  const [which, setWhich] = useState<string>(occurrence ?? "");

  useEffect(() => {
    rest.getRsvp(attendeeId, token).then((v) => {
      setView(v);
      const known = occurrence && v.occurrences.find((o) => Date.parse(o.recurrence_id) === Date.parse(occurrence));
      if (known) setWhich(known.recurrence_id);
      else {
        setScope("all");
        if (v.occurrences[0]) setWhich(v.occurrences[0].recurrence_id);
      }
    }, (err: unknown) => setLoadError(describeError(err)));
  }, [attendeeId, token]);

  const respond = async (value: Answer) => {
    if (!view) return;
    await run(async () => {
      const recurring = !!view.schedule.rrule;
      setView(await rest.answerRsvp(attendeeId, token, {
        partstat: value,
        ...(recurring && scope === "one" && which ? { recurrence_id: which } : {}),
      }));
      setAnswered(true);
    });
  };

  if (loadError) {
    return (
      <div class="page">
        <TopBar />
        <main class="narrow-main">
          <section class="card" data-testid="rsvp-error">
            <h1>{t("rsvp.notFound")}</h1>
            <p class="muted">{loadError}</p>
          </section>
        </main>
      </div>
    );
  }
  if (!view) return <div class="page"><TopBar /><Spinner label={t("rsvp.loading")} /></div>;

  const s = view.schedule;
  const recurring = !!s.rrule;
  const chosen = view.occurrences.find((o) => o.recurrence_id === which) ?? null;
  const shown = scope === "one" && chosen ? chosen : view.occurrences[0] ?? null;
  const local = parseIsoLocal(s.start_local);
  const seriesStart = local ? fromLocal(local, s.timezone).getTime() : Date.now();
  const start = shown ? Date.parse(shown.start) : seriesStart;
  const end = shown ? Date.parse(shown.end) : seriesStart + s.duration_minutes * 60_000;
  const spec = s.rrule ? parseRrule(s.rrule, s.timezone) : null;
  const current: PartStat = scope === "one" && chosen ? chosen.partstat : view.attendee.partstat;
  const cancelled = s.status === "cancelled";
  const conflicts = rsvpConflicts(view, scope === "one" && chosen ? chosen.recurrence_id : null);

  return (
    <div class="page">
      <TopBar />
      <main class="narrow-main">
        <section class="card rsvp" data-testid="rsvp-page" aria-labelledby="rsvp-title">
          <h1 id="rsvp-title" data-testid="rsvp-title">{s.title}</h1>
          {cancelled && <p class="warn" role="alert" data-testid="rsvp-cancelled">{t("rsvp.cancelled")}</p>}
          <p data-testid="rsvp-when">
            {recurring && scope === "all" && <span class="muted">{t("rsvp.next")} </span>}
            <strong>{formatRange(start, end, zone)}</strong>
            <span class="muted small"> {t("rsvp.zone", { zone: isolate(zone.replace(/_/g, " ")) })}</span>
          </p>
          {s.timezone !== zone && (
            <p class="muted small">
              {t("rsvp.organiserTime", {
                range: isolate(formatRange(start, end, s.timezone)),
                zone: isolate(s.timezone.replace(/_/g, " ")),
              })}
            </p>
          )}
          {spec && local && <p class="muted small" data-testid="rsvp-recurrence">{recurrenceSummary(spec, local, undefined)}</p>}
          <p class="muted small">
            {t("rsvp.organisedBy", { name: isolate(s.organizer_name), email: isolate(view.attendee.email) })}
          </p>
          {s.agenda && <p class="agenda" data-testid="rsvp-agenda">{s.agenda}</p>}
          {!cancelled && (
            <>
              {recurring && view.occurrences.length > 0 && (
                <fieldset class="rsvp-scope">
                  <legend>{t("rsvp.answerFor")}</legend>
                  <label class="check">
                    <input type="radio" name="rsvp-scope" checked={scope === "all"} data-testid="rsvp-scope-all"
                      onChange={() => setScope("all")} />
                    {t("rsvp.scopeAll")}
                  </label>
                  <label class="check">
                    <input type="radio" name="rsvp-scope" checked={scope === "one"} data-testid="rsvp-scope-one"
                      onChange={() => setScope("one")} />
                    {t("rsvp.scopeOne")}
                  </label>
                  <select value={which} data-testid="rsvp-occurrence" disabled={scope !== "one"} aria-label={t("rsvp.whichMeeting")}
                    onChange={(e) => setWhich(e.currentTarget.value)}>
                    {view.occurrences.map((o) => (
                      <option key={o.recurrence_id} value={o.recurrence_id}>
                        {t(o.changed ? "rsvp.occurrenceChanged" : "rsvp.occurrence", {
                          day: formatLongDay(Date.parse(o.start), zone),
                          answer: PARTSTAT_TEXT[o.partstat],
                        })}
                      </option>
                    ))}
                  </select>
                </fieldset>
              )}
              {suggested && !answered && current !== SUGGESTED[suggested] && (
                <p class="small" data-testid="rsvp-suggested">{t("rsvp.suggested", { button: t(SUGGESTED_KEY[suggested]) })}</p>
              )}
              <AnswerButtons current={current} busy={busy} onAnswer={(a) => void respond(a)} testPrefix="rsvp"
                suggested={suggested && !answered ? SUGGESTED[suggested] : null} />
              <p class="muted small" data-testid="rsvp-answer" data-partstat={current} aria-live="polite">
                {t(answered ? "rsvp.saved" : "rsvp.yourAnswer", { answer: PARTSTAT_TEXT[current] })}
              </p>
              {error && <p class="error" role="alert">{error}</p>}
              <ConflictWarning conflicts={conflicts} truncated={!!view.conflicts?.truncated && scope === "all"} zone={zone}
                recurring={recurring}
                intro={t("rsvp.overlaps", { count: conflicts.length })} />
              <div class="row">
                <button type="button" class="btn" data-testid="rsvp-join" onClick={() => openUrl(s.join_url)}>{t("rsvp.join")}</button>
                <span class="muted small">
                  {t("rsvp.code")} <bdi dir="ltr">{s.meeting_code}</bdi>
                  {s.passcode && <> · {t("rsvp.passcode")} <bdi dir="ltr">{s.passcode}</bdi></>}
                </span>
              </div>
            </>
          )}
        </section>
      </main>
    </div>
  );
}
