/**
 * The scheduling dialog: create a meeting, or edit one (an occurrence, this and the following
 * ones, or the whole series). Conflicts are checked live while the time, recurrence or invitees
 * change (debounced), and once more before saving; saving over a conflict needs a second click.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { isolate, t } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError } from "../../protocol/errors";
import type { ConflictList, ConflictQuery, FreeBusyPerson, FreeBusyQuery, Schedule, Slot } from "../../protocol/scheduling";
import { LatestCheck, type CheckState } from "../../scheduling/debounce";
import {
  checkDraft,
  conflictQuery,
  createBody,
  fieldsFor,
  initialDraft,
  updateBody,
  withDate,
  type Draft,
  type ScheduleTarget,
} from "../../scheduling/draft";
import {
  addDays,
  formatIsoDate,
  formatIsoTime,
  formatLocalDate,
  formatRange,
  fromLocal,
  parseIsoLocal,
  startOfDay,
  toLocal,
} from "../../scheduling/time";
import { Modal } from "../dialog";
import { useCalendarSettings, useUserZone } from "../prefs";
import { rest, useSession } from "../session";
import { ConflictWarning } from "./conflicts";
import { DurationSelect, InviteesField, RecurrenceFields, ZoneSelect } from "./fields";
import { FindTimeSlots, FreeBusyTimeline } from "./freebusy";

export type { ScheduleTarget };

/** The dialog's title for each kind of edit (a catalogue key). */
const SCOPE_TITLE = {
  all: "schedule.dialog.editAll",
  this: "schedule.dialog.editThis",
  following: "schedule.dialog.editFollowing",
} as const;

/** "Find a time" looks this far ahead. */
const FIND_DAYS = 14;

export function ScheduleDialog({ target, onClose, onSaved }: {
  target: ScheduleTarget;
  onClose: () => void;
  onSaved: (schedule: Schedule) => void;
}) {
  useT();
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
  const lastConflicts = useRef<ConflictList | null>(null);

  // A new meeting follows the user's zone until they pick one (settings may load after opening).
  const zoneTouched = useRef(target.kind === "edit");
  useEffect(() => {
    if (!zoneTouched.current && settings?.timezone && settings.timezone !== draft.timezone) {
      const local = parseIsoLocal(`${draft.date}T${draft.time}`);
      const start = local ? fromLocal(local, draft.timezone).getTime() : Date.now();
      const moved = toLocal(start, settings.timezone);
      setDraft((d) => ({ ...withDate(d, formatIsoDate(moved)), timezone: settings.timezone, time: formatIsoTime(moved) }));
    }
  }, [settings?.timezone]);

  const set = (changes: Partial<Draft>) => {
    setDraft((d) => {
      const { date, ...rest } = changes;
      return { ...(date !== undefined ? withDate(d, date) : d), ...rest };
    });
    setError(null);
  };

  const fields = fieldsFor(target);
  const checked = checkDraft(draft, target);
  const { local, date, spec, errors } = checked;
  const startAt = local ? fromLocal(local, draft.timezone).getTime() : null;
  const endAt = startAt !== null ? startAt + draft.duration * 60_000 : null;
  const emails = draft.invitees.map((i) => i.email);

  const query = conflictQuery(draft, checked, target);
  const queryKey = query ? JSON.stringify(query) : "";

  const conflictCheck = useMemo(() => new LatestCheck<ConflictQuery, ConflictList>({
    run: (q, signal) => rest.checkConflicts(q, { signal }),
    onState: (s) => {
      if (s.status === "done") lastConflicts.current = s.result;
      setConflictState(s);
    },
    delayMs: 400,
  }), []);
  const freeBusyCheck = useMemo(() => new LatestCheck<FreeBusyQuery, FreeBusyPerson[]>({
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

  const checking = conflictState.status === "waiting" || conflictState.status === "checking";
  const conflicts = conflictState.status === "done" ? conflictState.result : checking ? lastConflicts.current : null;
  const lines = conflicts?.conflicts ?? [];
  const hasConflicts = lines.length > 0;
  const confirming = hasConflicts && confirmKey === queryKey && !checking;
  const recurring = !!spec || (target.kind === "edit" && target.scope === "this" && !!target.occurrence?.recurring);

  const findTime = async () => {
    setSlotsBusy(true);
    setSlotsError(null);
    try {
      const from = Math.max(Date.now(), date ? startOfDay(date, draft.timezone).getTime() : 0);
      setSlots(await rest.findTime({
        attendees: draft.invitees.map(({ email, required, cohost }) => ({ email, required, cohost })),
        duration_minutes: draft.duration,
        start: new Date(from).toISOString(),
        end: new Date(from + FIND_DAYS * 86_400_000).toISOString(),
        limit: 6,
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
    set({ date: formatIsoDate(at), time: formatIsoTime(at) });
    setSlots(null);
  };

  const save = async (ev: Event) => {
    ev.preventDefault();
    setSubmitted(true);
    if (errors.title || errors.when || errors.recurrence || !query || !local) return;
    setBusy(true);
    setError(null);
    try {
      let found: ConflictList | null = null;
      try {
        found = await conflictCheck.now(query);
      } catch (err) {
        if (confirmKey !== `failed:${queryKey}`) {
          setConfirmKey(`failed:${queryKey}`);
          setError(t("schedule.conflicts.saveUnchecked", { reason: describeError(err) }));
          return;
        }
      }
      if (found && found.conflicts.length > 0 && confirmKey !== queryKey) {
        setConfirmKey(queryKey);
        return;
      }
      const saved = target.kind === "create"
        ? await rest.createSchedule(createBody(draft, checked))
        : await rest.updateSchedule(target.schedule.id, updateBody(draft, checked, target));
      onSaved(saved);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const title = t(target.kind === "create" ? "schedule.dialog.create" : SCOPE_TITLE[target.scope]);

  return (
    <Modal title={title} onClose={onClose} testid="schedule-dialog" wide>
      <form class="form schedule-form" onSubmit={save} noValidate>
        <label>
          {t("schedule.field.title")}
          <input type="text" maxLength={200} required value={draft.title} placeholder={t("schedule.field.titlePlaceholder")}
            data-testid="schedule-title"
            aria-invalid={submitted && !!errors.title} onInput={(e) => set({ title: e.currentTarget.value })} />
        </label>
        {submitted && errors.title && <p class="error small" role="alert">{errors.title}</p>}

        <fieldset class="when">
          <legend>{t("schedule.field.when")}</legend>
          <div class="when-grid">
            <label>
              {t("schedule.field.date")}
              <input type="date" required value={draft.date} data-testid="schedule-start-date"
                onInput={(e) => set({ date: e.currentTarget.value })} />
            </label>
            <label>
              {t("schedule.field.start")}
              <input type="time" required step={300} value={draft.time} data-testid="schedule-start-time"
                onInput={(e) => set({ time: e.currentTarget.value })} />
            </label>
            <label>
              {t("schedule.field.duration")}
              <DurationSelect value={draft.duration} testid="schedule-duration" onChange={(duration) => set({ duration })} />
            </label>
            <label class="zone">
              {t("schedule.field.timezone")}
              <ZoneSelect value={draft.timezone} testid="schedule-timezone" suggested={[userZone]}
                onChange={(timezone) => {
                  zoneTouched.current = true;
                  set({ timezone });
                }} />
            </label>
          </div>
          {/* A start the clocks skip is said at once; a missing date or time only on saving. */}
          {errors.when && (submitted || local) && <p class="error small" role="alert" data-testid="schedule-when-error">{errors.when}</p>}
          {startAt !== null && endAt !== null && draft.timezone !== userZone && (
            <p class="hint" data-testid="schedule-local-hint">
              {t("schedule.localHint", { zone: isolate(userZone.replace(/_/g, " ")), range: isolate(formatRange(startAt, endAt, userZone)) })}
            </p>
          )}
        </fieldset>

        {fields.recurrence && date && (
          <RecurrenceFields form={draft.recurrence} start={date} error={errors.recurrence}
            onChange={(recurrence) => set({ recurrence })} />
        )}

        <div class="conflict-area">
          <ConflictWarning conflicts={lines} truncated={conflicts?.truncated ?? false} zone={userZone}
            recurring={recurring} checking={checking} />
          <p class="hint conflict-status" data-testid="conflict-status" aria-live="polite"
            data-state={checking ? "checking" : conflictState.status === "done" ? (hasConflicts ? "conflicts" : "clear") : conflictState.status}>
            {checking ? t("schedule.conflicts.checking")
              : conflictState.status === "error" ? t("schedule.conflicts.failed")
              : conflictState.status === "done" && !hasConflicts ? t("schedule.conflicts.none") : ""}
          </p>
        </div>

        {fields.invitees && (
          <InviteesField invitees={draft.invitees} self={selfEmail} onChange={(invitees) => {
            set({ invitees });
            setSlots(null);
          }} />
        )}

        {fields.invitees && draft.invitees.length > 0 && date && (
          <section class="fb-section" aria-label={t("schedule.freebusy.section")}>
            <div class="row between">
              <h3>{t("schedule.freebusy.on", { date: formatLocalDate(date, { weekday: "long", day: "numeric", month: "long" }) })}</h3>
              <button type="button" class="btn small" data-testid="find-time-button" disabled={slotsBusy} onClick={() => void findTime()}>
                {slotsBusy ? t("schedule.findTime.looking") : t("schedule.findTime")}
              </button>
            </div>
            {freeBusy.status === "done" && (
              <FreeBusyTimeline people={freeBusy.result} date={date} zone={draft.timezone}
                candidate={startAt !== null && endAt !== null ? { start: startAt, end: endAt } : null} loading={false} />
            )}
            {freeBusy.status === "error" && <p class="muted small">{t("schedule.freebusy.unavailable")}</p>}
            {slotsError && <p class="error small" role="alert">{slotsError}</p>}
            {slots && <FindTimeSlots slots={slots} zone={draft.timezone} onPick={pickSlot} />}
          </section>
        )}

        <label>
          {t("schedule.field.agenda")}
          <textarea rows={3} maxLength={10_000} value={draft.agenda} data-testid="schedule-agenda"
            onInput={(e) => set({ agenda: e.currentTarget.value })} />
        </label>

        {fields.options && (
          <fieldset class="options">
            <legend>{t("schedule.options")}</legend>
            <label class="check">
              <input type="checkbox" checked={draft.passcode} data-testid="schedule-passcode"
                onChange={(e) => set({ passcode: e.currentTarget.checked })} />
              {t("schedule.options.passcode")}
            </label>
            <label class="check">
              <input type="checkbox" checked={draft.waitingRoom} data-testid="schedule-waiting-room"
                onChange={(e) => set({ waitingRoom: e.currentTarget.checked })} />
              {t("schedule.options.waitingRoom")}
            </label>
          </fieldset>
        )}

        {error && <p class="error" role="alert" data-testid="schedule-error">{error}</p>}
        {confirming && (
          <p class="warn" role="alert" data-testid="conflict-confirm">
            {t("schedule.confirmOverlap", { count: lines.length })}
          </p>
        )}
        <div class="row dialog-actions">
          <button type="submit" class={`btn ${confirming ? "danger" : "primary"}`} disabled={busy} data-testid="schedule-save">
            {t(busy ? "schedule.saving" : confirming ? "schedule.saveAnyway" : target.kind === "create" ? "schedule.create" : "schedule.save")}
          </button>
          <button type="button" class="btn ghost" data-testid="schedule-cancel" onClick={onClose}>{t("common.cancel")}</button>
        </div>
      </form>
    </Modal>
  );
}
