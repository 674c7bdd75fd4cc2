/**
 * The scheduling dialog: create a meeting, or edit one (an occurrence, this and the following
 * ones, or the whole series). Conflicts are checked live while the time, recurrence or invitees
 * change (debounced), and once more before saving; saving over a conflict needs a second click.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { describeError } from "../../protocol/errors";
import type {
  ConflictList,
  ConflictQuery,
  FreeBusyPerson,
  Occurrence,
  Schedule,
  ScheduleCreate,
  Scope,
  Slot,
} from "../../protocol/scheduling";
import { LatestCheck, type CheckState } from "../../scheduling/debounce";
import {
  defaultRecurrenceForm,
  formToSpec,
  parseRrule,
  specToForm,
  validateRecurrence,
  type RecurrenceForm,
} from "../../scheduling/recurrence";
import {
  addDays,
  formatIsoDate,
  formatIsoLocal,
  formatIsoTime,
  formatLocalDate,
  formatRange,
  fromLocal,
  parseIsoDate,
  parseIsoLocal,
  parseIsoTime,
  startOfDay,
  toLocal,
  type LocalDateTime,
} from "../../scheduling/time";
import { Modal } from "../dialog";
import { useCalendarSettings, useUserZone } from "../prefs";
import { rest, useSession } from "../session";
import { ConflictWarning } from "./conflicts";
import { DurationSelect, InviteesField, RecurrenceFields, ZoneSelect, type Invitee } from "./fields";
import { FindTimeSlots, FreeBusyTimeline } from "./freebusy";

export type ScheduleTarget =
  | { kind: "create"; /** Suggested start (epoch ms), e.g. the slot clicked in the calendar. */ start?: number }
  | { kind: "edit"; schedule: Schedule; scope: Scope; occurrence: Occurrence | null };

interface Draft {
  title: string;
  agenda: string;
  date: string;
  time: string;
  timezone: string;
  duration: number;
  recurrence: RecurrenceForm;
  invitees: Invitee[];
  passcode: boolean;
  waitingRoom: boolean;
}

const HALF_HOUR = 30 * 60_000;

function initialDraft(target: ScheduleTarget, userZone: string): Draft {
  if (target.kind === "create") {
    const start = target.start ?? Math.ceil((Date.now() + 5 * 60_000) / HALF_HOUR) * HALF_HOUR;
    const local = toLocal(start, userZone);
    return {
      title: "",
      agenda: "",
      date: formatIsoDate(local),
      time: formatIsoTime(local),
      timezone: userZone,
      duration: 60,
      recurrence: defaultRecurrenceForm(local),
      invitees: [],
      passcode: true,
      waitingRoom: true,
    };
  }
  const { schedule, occurrence } = target;
  const zone = schedule.timezone;
  const seriesStart = parseIsoLocal(schedule.start) ?? toLocal(Date.now(), zone);
  const local: LocalDateTime = occurrence && target.scope !== "all" ? toLocal(Date.parse(occurrence.start), zone) : seriesStart;
  const duration = occurrence && target.scope === "this"
    ? Math.round((Date.parse(occurrence.end) - Date.parse(occurrence.start)) / 60_000)
    : schedule.duration_minutes;
  const spec = schedule.recurrence ?? (schedule.rrule ? parseRrule(schedule.rrule, zone) : null);
  return {
    title: occurrence && target.scope === "this" ? occurrence.title : schedule.title,
    agenda: schedule.agenda,
    date: formatIsoDate(local),
    time: formatIsoTime(local),
    timezone: zone,
    duration,
    recurrence: specToForm(spec, local),
    invitees: schedule.attendees.map((a) => ({ email: a.email, required: a.required, cohost: a.cohost, display_name: a.display_name })),
    passcode: !!schedule.meeting.passcode,
    waitingRoom: schedule.meeting.waiting_room,
  };
}

const SCOPE_TITLE: Record<Scope, string> = {
  all: "Edit meeting",
  this: "Edit this occurrence",
  following: "Edit this and following meetings",
};

export function ScheduleDialog({ target, onClose, onSaved }: {
  target: ScheduleTarget;
  onClose: () => void;
  onSaved: (schedule: Schedule) => void;
}) {
  const userZone = useUserZone();
  const settings = useCalendarSettings();
  const info = useSession();
  const selfEmail = info?.user.email ?? null;
  const [draft, setDraft] = useState<Draft>(() => initialDraft(target, userZone));
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirmKey, setConfirmKey] = useState<string | null>(null);
  const [conflictState, setConflictState] = useState<CheckState<ConflictList>>({ status: "idle" });
  const [freeBusy, setFreeBusy] = useState<CheckState<FreeBusyPerson[]>>({ status: "idle" });
  const [slots, setSlots] = useState<Slot[] | null>(null);
  const [slotsBusy, setSlotsBusy] = useState(false);
  const [slotsError, setSlotsError] = useState<string | null>(null);
  const lastGoodConflicts = useRef<ConflictList | null>(null);

  // The zone follows the user's settings until they pick one (settings may load after opening).
  const zoneTouched = useRef(target.kind === "edit");
  useEffect(() => {
    if (!zoneTouched.current && target.kind === "create" && settings?.timezone && settings.timezone !== draft.timezone) {
      const local = parseIsoLocal(`${draft.date}T${draft.time}`);
      const start = local ? fromLocal(local, draft.timezone).getTime() : Date.now();
      const moved = toLocal(start, settings.timezone);
      setDraft((d) => ({ ...d, timezone: settings.timezone, date: formatIsoDate(moved), time: formatIsoTime(moved) }));
    }
  }, [settings?.timezone]);

  const set = (changes: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...changes }));
    setError(null);
  };

  const scope: Scope | null = target.kind === "edit" ? target.scope : null;
  const showRecurrence = scope !== "this";
  const showInvitees = scope !== "this";

  const date = parseIsoDate(draft.date);
  const time = parseIsoTime(draft.time);
  const local: LocalDateTime | null = date && time ? { ...date, ...time } : null;
  const startAt = local ? fromLocal(local, draft.timezone).getTime() : null;
  const endAt = startAt !== null ? startAt + draft.duration * 60_000 : null;
  const recurrenceError = showRecurrence && date ? validateRecurrence(draft.recurrence, date) : null;
  const spec = showRecurrence && date && !recurrenceError ? formToSpec(draft.recurrence, date) : null;
  const titleError = draft.title.trim() ? null : "Give the meeting a title.";
  const whenError = !date ? "Choose a date." : !time ? "Choose a start time." : null;
  const emails = draft.invitees.map((i) => i.email);

  const query: ConflictQuery | null = local && !recurrenceError
    ? {
        timezone: draft.timezone,
        start: formatIsoLocal(local),
        duration_minutes: draft.duration,
        recurrence: spec,
        attendees: showInvitees ? emails : (target.kind === "edit" ? target.schedule.attendees.map((a) => a.email) : []),
        ...(target.kind === "edit" ? { schedule_id: target.schedule.id, scope: target.scope } : {}),
        ...(target.kind === "edit" && target.occurrence && target.scope !== "all" ? { occurrence: target.occurrence.recurrence_id } : {}),
      }
    : null;
  const queryKey = query ? JSON.stringify(query) : "";

  const conflictCheck = useMemo(() => new LatestCheck<ConflictQuery, ConflictList>({
    run: (q, signal) => rest.checkConflicts(q, { signal }),
    onState: (s) => {
      if (s.status === "done") lastGoodConflicts.current = s.result;
      setConflictState(s);
    },
    delayMs: 400,
  }), []);
  const freeBusyCheck = useMemo(() => new LatestCheck<{ attendees: string[]; start: string; end: string }, FreeBusyPerson[]>({
    run: (q, signal) => rest.freeBusy(q, { signal }),
    onState: setFreeBusy,
    delayMs: 500,
  }), []);
  useEffect(() => () => {
    conflictCheck.cancel();
    freeBusyCheck.cancel();
  }, []);

  useEffect(() => {
    if (query) conflictCheck.schedule(query);
    else {
      conflictCheck.cancel();
      setConflictState({ status: "idle" });
    }
  }, [queryKey]);

  const fbPeople = [...new Set([...(selfEmail ? [selfEmail] : []), ...emails])];
  const fbKey = date && emails.length ? `${fbPeople.join(",")}|${draft.date}|${draft.timezone}` : "";
  useEffect(() => {
    if (!fbKey || !date) {
      freeBusyCheck.cancel();
      setFreeBusy({ status: "idle" });
      return;
    }
    freeBusyCheck.schedule({
      attendees: fbPeople,
      start: startOfDay(date, draft.timezone).toISOString(),
      end: startOfDay(addDays(date, 1), draft.timezone).toISOString(),
    });
  }, [fbKey]);

  const conflicts = conflictState.status === "done" ? conflictState.result
    : conflictState.status === "waiting" || conflictState.status === "checking" ? lastGoodConflicts.current : null;
  const checking = conflictState.status === "waiting" || conflictState.status === "checking";
  const hasConflicts = !!conflicts && conflicts.conflicts.length > 0;
  const confirming = hasConflicts && confirmKey === queryKey && !checking;

  const findTime = async () => {
    setSlotsBusy(true);
    setSlotsError(null);
    try {
      const from = Math.max(Date.now(), date ? startOfDay(date, draft.timezone).getTime() : 0);
      setSlots(await rest.findTime({
        attendees: draft.invitees.map((i) => ({ email: i.email, required: i.required })),
        duration_minutes: draft.duration,
        start: new Date(from).toISOString(),
        limit: 5,
        ...(target.kind === "edit" ? { schedule_id: target.schedule.id } : {}),
      }));
    } catch (err) {
      setSlotsError(describeError(err));
    } finally {
      setSlotsBusy(false);
    }
  };

  const pickSlot = (slot: Slot) => {
    const at = toLocal(Date.parse(slot.start), draft.timezone);
    const minutes = Math.round((Date.parse(slot.end) - Date.parse(slot.start)) / 60_000);
    set({ date: formatIsoDate(at), time: formatIsoTime(at), ...(minutes > 0 ? { duration: minutes } : {}) });
    setSlots(null);
  };

  const body = (): ScheduleCreate => ({
    title: draft.title.trim(),
    agenda: draft.agenda,
    timezone: draft.timezone,
    start: formatIsoLocal(local!),
    duration_minutes: draft.duration,
    ...(showRecurrence ? { recurrence: spec } : {}),
    ...(showInvitees ? { attendees: draft.invitees.map(({ email, required, cohost }) => ({ email, required, cohost })) } : {}),
    ...(scope === "this" ? {} : passcodeChange()),
    ...(scope === "this" ? {} : { waiting_room: draft.waitingRoom }),
  });

  const passcodeChange = (): Pick<ScheduleCreate, "passcode"> | Record<string, never> => {
    if (target.kind === "create") return { passcode: draft.passcode ? null : "" };
    const had = !!target.schedule.meeting.passcode;
    if (had === draft.passcode) return {};
    return { passcode: draft.passcode ? null : "" };
  };

  const save = async (ev: Event) => {
    ev.preventDefault();
    setSubmitted(true);
    if (titleError || whenError || recurrenceError || !query || !local) return;
    setBusy(true);
    setError(null);
    try {
      let found: ConflictList | null = null;
      try {
        found = await conflictCheck.now(query);
      } catch (err) {
        if (confirmKey !== `failed:${queryKey}`) {
          setConfirmKey(`failed:${queryKey}`);
          setError(`Could not check for conflicts (${describeError(err)}). Save again to save anyway.`);
          return;
        }
      }
      if (found && found.conflicts.length > 0 && confirmKey !== queryKey) {
        setConfirmKey(queryKey);
        return;
      }
      const saved = target.kind === "create"
        ? await rest.createSchedule(body())
        : await rest.updateSchedule(target.schedule.id, {
            ...body(),
            scope: target.scope,
            ...(target.occurrence && target.scope !== "all" ? { occurrence: target.occurrence.recurrence_id } : {}),
          });
      onSaved(saved);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const title = target.kind === "create" ? "Schedule a meeting" : SCOPE_TITLE[target.scope];
  const recurring = !!spec || (target.kind === "edit" && target.scope === "this" && !!target.occurrence?.recurring);

  return (
    <Modal title={title} onClose={onClose} testid="schedule-dialog" wide>
      <form class="form schedule-form" onSubmit={save} noValidate>
        <label>
          Title
          <input type="text" maxLength={200} required value={draft.title} placeholder="Weekly sync" data-testid="schedule-title"
            aria-invalid={submitted && !!titleError} onInput={(e) => set({ title: e.currentTarget.value })} />
        </label>
        {submitted && titleError && <p class="error small" role="alert">{titleError}</p>}

        <fieldset class="when">
          <legend>When</legend>
          <div class="when-grid">
            <label>
              Date
              <input type="date" required value={draft.date} data-testid="schedule-start-date"
                onInput={(e) => set({ date: e.currentTarget.value })} />
            </label>
            <label>
              Start
              <input type="time" required step={300} value={draft.time} data-testid="schedule-start-time"
                onInput={(e) => set({ time: e.currentTarget.value })} />
            </label>
            <label>
              Duration
              <DurationSelect value={draft.duration} testid="schedule-duration" onChange={(duration) => set({ duration })} />
            </label>
            <label class="zone">
              Time zone
              <ZoneSelect value={draft.timezone} testid="schedule-timezone" suggested={[userZone]}
                onChange={(timezone) => {
                  zoneTouched.current = true;
                  set({ timezone });
                }} />
            </label>
          </div>
          {submitted && whenError && <p class="error small" role="alert">{whenError}</p>}
          {startAt !== null && endAt !== null && draft.timezone !== userZone && (
            <p class="hint" data-testid="schedule-local-hint">
              In your time zone ({userZone.replace(/_/g, " ")}): {formatRange(startAt, endAt, userZone)}
            </p>
          )}
        </fieldset>

        {showRecurrence && date && (
          <RecurrenceFields form={draft.recurrence} start={date} error={recurrenceError}
            onChange={(recurrence) => set({ recurrence })} />
        )}

        <div class="conflict-area" aria-live="polite">
          {conflicts && (
            <ConflictWarning conflicts={conflicts.conflicts} truncated={conflicts.truncated} zone={userZone}
              recurring={recurring} checking={checking} />
          )}
          <p class="hint conflict-status" data-testid="conflict-status" data-state={checking ? "checking" : conflictState.status === "done" ? (hasConflicts ? "conflicts" : "clear") : conflictState.status}>
            {checking ? "Checking for conflicts…"
              : conflictState.status === "error" ? "Could not check for conflicts."
              : conflictState.status === "done" && !hasConflicts ? "No conflicts." : ""}
          </p>
        </div>

        {showInvitees && (
          <InviteesField invitees={draft.invitees} self={selfEmail} onChange={(invitees) => {
            set({ invitees });
            setSlots(null);
          }} />
        )}

        {showInvitees && draft.invitees.length > 0 && date && (
          <section class="fb-section" aria-label="Free and busy times">
            <div class="row between">
              <h3>Free/busy on {formatLocalDate(date, { weekday: "short", day: "numeric", month: "short" })}</h3>
              <button type="button" class="btn small" data-testid="find-time-button" disabled={slotsBusy} onClick={() => void findTime()}>
                {slotsBusy ? "Looking…" : "Find a time"}
              </button>
            </div>
            {freeBusy.status === "done" && (
              <FreeBusyTimeline people={freeBusy.result} date={date} zone={draft.timezone}
                candidate={startAt !== null && endAt !== null ? { start: startAt, end: endAt } : null} loading={false} />
            )}
            {freeBusy.status === "error" && <p class="muted small">Free/busy times are not available.</p>}
            {slotsError && <p class="error small" role="alert">{slotsError}</p>}
            {slots && <FindTimeSlots slots={slots} zone={draft.timezone} onPick={pickSlot} />}
          </section>
        )}

        <label>
          Agenda
          <textarea rows={3} maxLength={10_000} value={draft.agenda} data-testid="schedule-agenda"
            onInput={(e) => set({ agenda: e.currentTarget.value })} />
        </label>

        {scope !== "this" && (
          <fieldset class="options">
            <legend>Meeting options</legend>
            <label class="check">
              <input type="checkbox" checked={draft.passcode} data-testid="schedule-passcode"
                onChange={(e) => set({ passcode: e.currentTarget.checked })} />
              Require a passcode when joining by code
            </label>
            <label class="check">
              <input type="checkbox" checked={draft.waitingRoom} data-testid="schedule-waiting-room"
                onChange={(e) => set({ waitingRoom: e.currentTarget.checked })} />
              Waiting room
            </label>
          </fieldset>
        )}

        {error && <p class="error" role="alert" data-testid="schedule-error">{error}</p>}
        {confirming && (
          <p class="warn" role="alert" data-testid="conflict-confirm">
            This time overlaps {conflicts!.conflicts.length === 1 ? "another meeting" : "other meetings"}. Save anyway?
          </p>
        )}
        <div class="row dialog-actions">
          <button type="submit" class={`btn ${confirming ? "danger" : "primary"}`} disabled={busy} data-testid="schedule-save">
            {busy ? "Saving…" : confirming ? "Save anyway" : target.kind === "create" ? "Schedule" : "Save"}
          </button>
          <button type="button" class="btn ghost" data-testid="schedule-cancel" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Modal>
  );
}
