/**
 * /rsvp/<attendee_id>/<token>: the page an invitation's link opens, signed in or not. It shows
 * the meeting in the viewer's zone (their calendar setting, else the browser's) and takes an answer
 * for the whole series or one occurrence; conflicts the server finds are shown as a warning.
 */
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../../protocol/errors";
import type { Answer, Conflict, PartStat, RsvpView } from "../../protocol/scheduling";
import { parseIsoLocal, formatRange, formatLongDay, fromLocal, toLocal } from "../../scheduling/time";
import { recurrenceSummary } from "../../scheduling/recurrence";
import { useUserZone } from "../prefs";
import { openUrl } from "../router";
import { rest } from "../session";
import { AnswerButtons, PARTSTAT_TEXT } from "../scheduling/details";
import { ConflictWarning } from "../scheduling/conflicts";
import { Spinner, TopBar } from "./common";

export function RsvpPage({ attendeeId, token, occurrence }: { attendeeId: string; token: string; occurrence: string | null }) {
  const zone = useUserZone();
  const [view, setView] = useState<RsvpView | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<PartStat | null>(null);
  const [answered, setAnswered] = useState(false);
  const [conflicts, setConflicts] = useState<Conflict[]>([]);
  const [scope, setScope] = useState<"all" | "one">(occurrence ? "one" : "all");
  const [which, setWhich] = useState<string>(occurrence ?? "");

  useEffect(() => {
    rest.getRsvp(attendeeId, token).then((v) => {
      setView(v);
      setAnswer(occurrence && v.answers[occurrence] ? v.answers[occurrence]! : v.attendee.partstat);
      setConflicts(v.conflicts);
      if (!occurrence && v.occurrences[0]) setWhich(v.occurrences[0].start);
    }, (err: unknown) => setLoadError(describeError(err)));
  }, [attendeeId, token]);

  const respond = async (value: Answer) => {
    if (!view) return;
    setBusy(true);
    setError(null);
    try {
      const result = await rest.answerRsvp(attendeeId, token, {
        partstat: value,
        ...(view.schedule.recurrence && scope === "one" && which ? { occurrence: which } : {}),
      });
      setAnswer(result.partstat);
      setConflicts(result.conflicts);
      setAnswered(true);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (loadError) {
    return (
      <div class="page">
        <TopBar />
        <main class="narrow-main">
          <section class="card" data-testid="rsvp-error">
            <h1>Invitation not found</h1>
            <p class="muted">{loadError}</p>
          </section>
        </main>
      </div>
    );
  }
  if (!view) return <div class="page"><TopBar /><Spinner label="Loading the invitation…" /></div>;

  const s = view.schedule;
  const local = parseIsoLocal(s.start);
  const seriesStart = local ? fromLocal(local, s.timezone).getTime() : Date.now();
  const first = scope === "one" && which ? Date.parse(which) : view.occurrences[0] ? Date.parse(view.occurrences[0].start) : seriesStart;
  const end = first + s.duration_minutes * 60_000;
  const recurring = !!s.recurrence;
  const cancelled = s.status === "cancelled";

  return (
    <div class="page">
      <TopBar />
      <main class="narrow-main">
        <section class="card rsvp" data-testid="rsvp-page" aria-labelledby="rsvp-title">
          <h1 id="rsvp-title" data-testid="rsvp-title">{s.title}</h1>
          {cancelled && <p class="warn" role="alert" data-testid="rsvp-cancelled">This meeting was cancelled.</p>}
          <p data-testid="rsvp-when">
            <strong>{formatRange(first, end, zone)}</strong>
            <span class="muted small"> ({zone.replace(/_/g, " ")})</span>
          </p>
          {s.timezone !== zone && (
            <p class="muted small">Organiser's time: {formatRange(first, end, s.timezone)} ({s.timezone.replace(/_/g, " ")})</p>
          )}
          {recurring && local && (
            <p class="muted small" data-testid="rsvp-recurrence">{recurrenceSummary(s.recurrence, toLocal(seriesStart, s.timezone), undefined)}</p>
          )}
          <p class="muted small">Organised by {s.organizer.display_name} · invitation for {view.attendee.email}</p>
          {s.agenda && <p class="agenda">{s.agenda}</p>}
          {!cancelled && (
            <>
              {recurring && (
                <fieldset class="rsvp-scope">
                  <legend>Answer for</legend>
                  <label class="check">
                    <input type="radio" name="rsvp-scope" checked={scope === "all"} data-testid="rsvp-scope-all" onChange={() => setScope("all")} />
                    All meetings in the series
                  </label>
                  <label class="check">
                    <input type="radio" name="rsvp-scope" checked={scope === "one"} data-testid="rsvp-scope-one"
                      disabled={view.occurrences.length === 0} onChange={() => setScope("one")} />
                    Only the meeting on
                    <select value={which} data-testid="rsvp-occurrence" disabled={scope !== "one"} aria-label="Which meeting"
                      onChange={(e) => setWhich(e.currentTarget.value)}>
                      {view.occurrences.map((o) => (
                        <option key={o.start} value={o.start}>{formatLongDay(Date.parse(o.start), zone)}</option>
                      ))}
                    </select>
                  </label>
                </fieldset>
              )}
              <AnswerButtons current={answer} busy={busy} onAnswer={(a) => void respond(a)} testPrefix="rsvp" />
              <p class="muted small" data-testid="rsvp-answer" aria-live="polite">
                {answered ? `Thanks, your answer is saved: ${PARTSTAT_TEXT[answer ?? "NEEDS-ACTION"]}.` : `Your answer: ${PARTSTAT_TEXT[answer ?? "NEEDS-ACTION"]}`}
              </p>
              {error && <p class="error" role="alert">{error}</p>}
              <ConflictWarning conflicts={conflicts} zone={zone} recurring={recurring}
                intro={conflicts.length === 1 ? "This overlaps another of your meetings:" : "This overlaps other meetings of yours:"} />
              <button type="button" class="btn" data-testid="rsvp-join" onClick={() => openUrl(s.join_url)}>Join the meeting</button>
            </>
          )}
        </section>
      </main>
    </div>
  );
}
