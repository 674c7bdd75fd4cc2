/**
 * A meeting's details from the calendar: when (in the viewer's zone), who, the agenda, Join; the
 * organiser and co-hosts edit or cancel it, invitees answer. For a series, editing and cancelling
 * first ask which occurrences (this one, this and the following ones, all), as calendars do.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { isolate, t } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError } from "../../protocol/errors";
import type { User } from "../../protocol/rest";
import type {
  Answer,
  Attendee,
  Conflict,
  ConflictQuery,
  Occurrence,
  PartStat,
  Schedule,
  Scope,
} from "../../protocol/scheduling";
import { parseRrule, recurrenceSummary } from "../../scheduling/recurrence";
import { formatIsoLocal, formatRange, toLocal } from "../../scheduling/time";
import { Modal } from "../dialog";
import { useAction } from "../hooks";
import { formatCode } from "../layout";
import { openUrl } from "../router";
import { rest } from "../session";
import { Spinner } from "../pages/common";
import { InterpretersEditor } from "../interpreters/editor";
import { ConflictWarning } from "./conflicts";
import { PARTSTAT_TEXT, ROLE_TEXT } from "./labels";

/** The user's own invitation to a schedule (null for its organiser). */
export function myAttendee(schedule: Schedule, user: Pick<User, "id" | "email"> | null | undefined): Attendee | null {
  if (!user) return null;
  const email = user.email.toLowerCase();
  return schedule.attendees.find((a) => a.user_id === user.id) ?? schedule.attendees.find((a) => a.email === email) ?? null;
}


/** The user's answer for one occurrence (their answer for the series unless they gave one for it). */
export function answerFor(schedule: Schedule, user: Pick<User, "id" | "email"> | null | undefined, recurrenceId: string | null): PartStat | null {
  const me = myAttendee(schedule, user);
  if (!me) return null;
  const at = recurrenceId ? Date.parse(recurrenceId) : NaN;
  return me.occurrences.find((o) => Date.parse(o.recurrence_id) === at)?.partstat ?? me.partstat;
}

/** The answers, each with its test id suffix; the label is `schedule.button.<key>`. */
const ANSWERS: { value: Answer; key: string }[] = [
  { value: "ACCEPTED", key: "accept" },
  { value: "TENTATIVE", key: "tentative" },
  { value: "DECLINED", key: "decline" },
];

/** "This meeting / This and following / All meetings", asked before changing a series. */
export function ScopeDialog({ action, onPick, onClose, allowFollowing = true }: {
  action: "edit" | "cancel";
  onPick: (scope: Scope) => void;
  onClose: () => void;
  allowFollowing?: boolean;
}) {
  useT();
  const [scope, setScope] = useState<Scope>("this");
  const options: { value: Scope; label: string }[] = [
    { value: "this", label: t("details.scope.this") },
    ...(allowFollowing ? [{ value: "following" as const, label: t("details.scope.following") }] : []),
    { value: "all", label: t("details.scope.all") },
  ];
  return (
    <Modal title={t(action === "edit" ? "details.scope.editTitle" : "details.scope.cancelTitle")} onClose={onClose} testid="scope-dialog"
      closeOnOutside>
      <div role="radiogroup" aria-label={t("details.scope.which")} class="radio-list">
        {options.map((o) => (
          <label key={o.value} class="check">
            <input type="radio" name="scope" value={o.value} checked={scope === o.value} data-testid={`scope-${o.value}`}
              onChange={() => setScope(o.value)} />
            {o.label}
          </label>
        ))}
      </div>
      <div class="row">
        <button type="button" class={`btn ${action === "cancel" ? "danger" : "primary"}`} data-testid="scope-ok" onClick={() => onPick(scope)}>
          {t(action === "edit" ? "details.scope.continue" : "details.scope.cancelMeetings")}
        </button>
        <button type="button" class="btn ghost" onClick={onClose}>{t("details.scope.back")}</button>
      </div>
    </Modal>
  );
}

export function AnswerButtons({ current, busy, onAnswer, testPrefix, suggested = null }: {
  current: PartStat | null;
  busy: boolean;
  onAnswer: (answer: Answer) => void;
  testPrefix: string;
  /** The answer the invitation's link asked for: focused, for one more press to confirm. */
  suggested?: Answer | null;
}) {
  const t = useT();
  const group = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (suggested) group.current?.querySelector<HTMLButtonElement>(`[data-answer="${suggested}"]`)?.focus();
  }, [suggested]);
  return (
    <div class="row answer-buttons" role="group" aria-label={t("schedule.yourAnswer")} ref={group}>
      {ANSWERS.map((a) => (
        <button key={a.value} type="button" class={`btn ${current === a.value ? "primary" : ""} ${suggested === a.value ? "suggested" : ""}`}
          aria-pressed={current === a.value} data-answer={a.value}
          disabled={busy} data-testid={`${testPrefix}-${a.key}`} onClick={() => onAnswer(a.value)}>
          {t(`schedule.button.${a.key}`)}
        </button>
      ))}
    </div>
  );
}

/** The conflict preview of answering: this occurrence alone, or the series. */
export function answerConflictQuery(occurrence: Occurrence, schedule: Schedule, scope: "this" | "all"): ConflictQuery {
  if (scope === "this" || !occurrence.recurring) {
    const start = Date.parse(occurrence.start);
    return {
      timezone: occurrence.timezone,
      start: formatIsoLocal(toLocal(start, occurrence.timezone)),
      duration_minutes: Math.max(1, Math.round((Date.parse(occurrence.end) - start) / 60_000)),
      schedule_id: schedule.id,
      scope: "this",
      occurrence: occurrence.recurrence_id,
    };
  }
  return {
    timezone: schedule.timezone,
    start: schedule.start,
    duration_minutes: schedule.duration_minutes,
    recurrence: schedule.recurrence,
    schedule_id: schedule.id,
  };
}

export function EventDetails({ occurrence, zone, onClose, onChanged, onEdit }: {
  occurrence: Occurrence;
  zone: string;
  onClose: () => void;
  onChanged: () => void;
  onEdit: (schedule: Schedule, scope: Scope, occurrence: Occurrence) => void;
}) {
  useT();
  const [schedule, setSchedule] = useState<Schedule | null>(null);
  const { busy, error, setError, run } = useAction();
  const [ask, setAsk] = useState<"edit" | "cancel" | null>(null);
  const [confirmCancel, setConfirmCancel] = useState<Scope | null>(null);
  const [answerScope, setAnswerScope] = useState<"this" | "all">("all");
  const [answer, setAnswer] = useState<PartStat | null>(occurrence.partstat);
  const [conflicts, setConflicts] = useState<Conflict[]>([]);

  useEffect(() => {
    rest.getSchedule(occurrence.schedule_id).then(setSchedule, (err: unknown) => setError(describeError(err)));
  }, [occurrence.schedule_id]);

  // An invitee sees what this meeting overlaps in their own calendar before answering.
  const seriesQuery = schedule && occurrence.role !== "organizer" ? answerConflictQuery(occurrence, schedule, answerScope) : null;
  const seriesKey = seriesQuery ? JSON.stringify(seriesQuery) : "";
  useEffect(() => {
    if (!seriesQuery) return undefined;
    const controller = new AbortController();
    rest.checkConflicts(seriesQuery, { signal: controller.signal }).then(
      (found) => setConflicts(found.conflicts.filter((c) => c.self)),
      () => undefined,
    );
    return () => controller.abort();
  }, [seriesKey]);

  const start = Date.parse(occurrence.start);
  const end = Date.parse(occurrence.end);
  const organiser = occurrence.role === "organizer";
  const spec = schedule ? schedule.recurrence ?? (schedule.rrule ? parseRrule(schedule.rrule, schedule.timezone) : null) : null;

  const respond = async (value: Answer) => {
    await run(async () => {
      const result = await rest.respond(occurrence.schedule_id, {
        partstat: value,
        ...(occurrence.recurring && answerScope === "this" ? { occurrence: occurrence.recurrence_id } : {}),
      });
      setSchedule(result.schedule);
      setAnswer(result.partstat);
      setConflicts(result.conflicts);
      onChanged();
    });
  };

  const cancel = async (scope: Scope) => {
    await run(async () => {
      await rest.cancelSchedule(occurrence.schedule_id, scope, scope === "all" ? undefined : occurrence.recurrence_id);
      onChanged();
      onClose();
    });
  };

  const pick = (action: "edit" | "cancel", scope: Scope) => {
    setAsk(null);
    if (action === "edit" && schedule) onEdit(schedule, scope, occurrence);
    else setConfirmCancel(scope);
  };

  const begin = (action: "edit" | "cancel") => {
    if (occurrence.recurring) setAsk(action);
    else pick(action, "all");
  };

  return (
    <Modal title={occurrence.title} onClose={onClose} testid="event-details" closeOnOutside initialFocus="[data-testid=event-join]">
      <div class="event-details" data-schedule-id={occurrence.schedule_id}>
        <p data-testid="event-when">
          <strong>{formatRange(start, end, zone)}</strong>
          {occurrence.timezone !== zone && (
            <span class="muted small"> · {formatRange(start, end, occurrence.timezone)} <bdi>{occurrence.timezone.replace(/_/g, " ")}</bdi></span>
          )}
        </p>
        {occurrence.recurring && spec && (
          <p class="muted small" data-testid="event-recurrence">
            {recurrenceSummary(spec, toLocal(Date.parse(occurrence.start), occurrence.timezone), undefined)}
            {occurrence.overridden && <> · {t("details.changed")}</>}
          </p>
        )}
        <p class="muted small">
          <span data-testid="event-role">{ROLE_TEXT[occurrence.role]}</span>
          {!organiser && <> · {t("details.organisedBy", { name: isolate(occurrence.organizer.display_name) })}</>}
          {!organiser && <> · {t("details.yourAnswer")} <span data-testid="event-answer">{PARTSTAT_TEXT[answer ?? "NEEDS-ACTION"]}</span></>}
        </p>
        <div class="row">
          <button type="button" class="btn primary" data-testid="event-join" onClick={() => openUrl(occurrence.join_url)}>
            {t("details.join")}
          </button>
          {schedule && (
            <span class="muted small">
              {t("details.code")} <bdi dir="ltr" data-testid="event-code">{formatCode(schedule.meeting.code)}</bdi>
              {schedule.meeting.passcode && <> · {t("details.passcode")} <bdi dir="ltr">{schedule.meeting.passcode}</bdi></>}
            </span>
          )}
        </div>
        {!schedule && !error && <Spinner label={t("common.loading")} />}
        {schedule?.agenda && <p class="agenda" data-testid="event-agenda">{schedule.agenda}</p>}
        {schedule && schedule.attendees.length > 0 && (
          <section aria-label={t("details.invitees")}>
            <h3>{t("details.invitees")}</h3>
            <ul class="attendees" data-testid="event-attendees">
              {schedule.attendees.map((a) => {
                const theirs = answerFor({ ...schedule, attendees: [a] }, { id: a.user_id ?? "", email: a.email },
                  occurrence.recurring ? occurrence.recurrence_id : null) ?? a.partstat;
                return (
                  <li key={a.id} data-testid="event-attendee" data-email={a.email} data-partstat={theirs}>
                    <span class="person-name">{a.display_name || a.email}</span>
                    <span class="muted small">
                      {a.cohost ? <>{t("details.attendee.cohost")} · </> : a.required ? null : <>{t("details.attendee.optional")} · </>}
                      {PARTSTAT_TEXT[theirs]}
                      {organiser && a.email_status === "bounced" && (
                        <span class="warn">
                          {" · "}
                          {a.email_error ? t("details.emailBouncedWith", { error: isolate(a.email_error) }) : t("details.emailBounced")}
                        </span>
                      )}
                      {organiser && a.email_status === "pending" && a.email_error && (
                        <span class="muted"> · {t("details.emailDelayed", { error: isolate(a.email_error) })}</span>
                      )}
                    </span>
                  </li>
                );
              })}
            </ul>
          </section>
        )}
        {organiser && schedule && schedule.attendees.length > 0 && (
          <EmailedReply scheduleId={schedule.id} onRecorded={() => {
            rest.getSchedule(schedule.id).then(setSchedule, () => undefined);
            onChanged();
          }} />
        )}
        {organiser && schedule && schedule.status === "confirmed" && (
          <InterpretersEditor meetingId={schedule.meeting.id} scheduleId={schedule.id} onSaved={(saved) => {
            if (saved) setSchedule(saved);
            onChanged();
          }} />
        )}
        {!organiser && (
          <section aria-label={t("schedule.yourAnswer")} class="answer">
            {occurrence.recurring && (
              <div class="row" role="radiogroup" aria-label={t("details.answerFor")}>
                <label class="check">
                  <input type="radio" name="answer-scope" checked={answerScope === "all"} data-testid="answer-scope-all"
                    onChange={() => setAnswerScope("all")} />
                  {t("details.answerAll")}
                </label>
                <label class="check">
                  <input type="radio" name="answer-scope" checked={answerScope === "this"} data-testid="answer-scope-this"
                    onChange={() => setAnswerScope("this")} />
                  {t("details.answerThis")}
                </label>
              </div>
            )}
            <AnswerButtons current={answer} busy={busy} onAnswer={(a) => void respond(a)} testPrefix="answer" />
            {answer !== "DECLINED" && (
              <ConflictWarning conflicts={conflicts} zone={zone} recurring={occurrence.recurring}
                intro={t("details.overlaps", { count: conflicts.length })} />
            )}
          </section>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        {confirmCancel && (
          <div class="confirm" role="alert" data-testid="cancel-confirm">
            <p>{t("details.cancelConfirm", { scope: confirmCancel })}</p>
            <div class="row">
              <button type="button" class="btn danger" disabled={busy} data-testid="cancel-confirm-yes" onClick={() => void cancel(confirmCancel)}>
                {t("details.cancelMeeting")}
              </button>
              <button type="button" class="btn ghost" onClick={() => setConfirmCancel(null)}>{t("details.keep")}</button>
            </div>
          </div>
        )}
        <div class="row dialog-actions">
          {organiser && (
            <>
              <button type="button" class="btn" data-testid="event-edit" disabled={!schedule} onClick={() => begin("edit")}>
                {t("details.edit")}
              </button>
              <button type="button" class="btn ghost danger" data-testid="event-cancel" onClick={() => begin("cancel")}>
                {t("details.cancelMeeting")}
              </button>
            </>
          )}
          <button type="button" class="btn ghost" onClick={onClose}>{t("common.close")}</button>
        </div>
      </div>
      {ask && <ScopeDialog action={ask} onClose={() => setAsk(null)} onPick={(scope) => pick(ask, scope)} />}
    </Modal>
  );
}

/** For answers that came back by email as a calendar file (an iMIP REPLY): paste it here. */
function EmailedReply({ scheduleId, onRecorded }: { scheduleId: string; onRecorded: () => void }) {
  useT();
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const record = async () => {
    setBusy(true);
    setNote(null);
    try {
      const result = await rest.uploadReply(scheduleId, text);
      setNote({
        ok: true,
        text: t("details.reply.recorded", {
          name: isolate(result.attendee.display_name || result.attendee.email),
          answer: PARTSTAT_TEXT[result.attendee.partstat],
        }),
      });
      setText("");
      onRecorded();
    } catch (err) {
      setNote({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <details class="emailed-reply">
      <summary>{t("details.reply.summary")}</summary>
      <label>
        {t("details.reply.label")}
        <textarea rows={4} value={text} data-testid="reply-ics" onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <button type="button" class="btn small" disabled={busy || !text.trim()} data-testid="reply-record" onClick={() => void record()}>
        {t("details.reply.record")}
      </button>
      {note && <p class={note.ok ? "small" : "error small"} role="status">{note.text}</p>}
    </details>
  );
}
