/**
 * Form controls of the scheduling dialog and the settings page: time zone picker, duration,
 * recurrence, invitees.
 */
import { useMemo, useState } from "preact/hooks";
import { isolate, t, uiLocale } from "../../i18n";
import { useT } from "../../i18n/hook";
import {
  MAX_COUNT,
  MAX_INTERVAL,
  recurrenceSummary,
  formToSpec,
  weekOfMonth,
  type RecurrenceForm,
  type RepeatKind,
} from "../../scheduling/recurrence";
import {
  WEEKDAYS,
  allZones,
  browserZone,
  formatDuration,
  weekdayOf,
  zoneLabel,
  type LocalDate,
  type Weekday,
} from "../../scheduling/time";
import type { Invitee } from "../../scheduling/draft";
import { Icon } from "../icons";

let zoneOptionsCache: { day: number; options: { zone: string; label: string }[] } | null = null;

/** Every zone with its current offset, computed once a day. */
function zoneOptions(): { zone: string; label: string }[] {
  const day = Math.floor(Date.now() / 86_400_000);
  if (zoneOptionsCache?.day !== day) {
    const now = Date.now();
    zoneOptionsCache = { day, options: allZones().map((zone) => ({ zone, label: zoneLabel(zone, now) })) };
  }
  return zoneOptionsCache.options;
}

/** A `<select>` of IANA zones, the suggested ones (the user's, the browser's) first. */
export function ZoneSelect({ value, onChange, suggested = [], testid, id, describedBy }: {
  value: string;
  onChange: (zone: string) => void;
  suggested?: string[];
  testid: string;
  id?: string;
  describedBy?: string;
}) {
  useT();
  const options = zoneOptions();
  const top = [...new Set([...suggested, browserZone()])].filter((z) => options.some((o) => o.zone === z));
  const known = options.some((o) => o.zone === value);
  return (
    <select value={value} data-testid={testid} id={id} aria-describedby={describedBy}
      onChange={(e) => onChange(e.currentTarget.value)}>
      {!known && <option value={value}>{value}</option>}
      {top.length > 0 && (
        <optgroup label={t("fields.zone.suggested")}>
          {top.map((zone) => <option key={`s-${zone}`} value={zone}>{zoneLabel(zone)}</option>)}
        </optgroup>
      )}
      <optgroup label={t("fields.zone.all")}>
        {options.map((o) => <option key={o.zone} value={o.zone}>{o.label}</option>)}
      </optgroup>
    </select>
  );
}

const DURATIONS = [15, 30, 45, 60, 90, 120, 180, 240, 480];

export function DurationSelect({ value, onChange, testid, id }: {
  value: number;
  onChange: (minutes: number) => void;
  testid: string;
  id?: string;
}) {
  const values = DURATIONS.includes(value) ? DURATIONS : [...DURATIONS, value].sort((a, b) => a - b);
  return (
    <select value={String(value)} data-testid={testid} id={id} onChange={(e) => onChange(Number(e.currentTarget.value))}>
      {values.map((m) => <option key={m} value={String(m)}>{formatDuration(m)}</option>)}
    </select>
  );
}

const REPEAT_KINDS: RepeatKind[] = ["none", "daily", "weekdays", "weekly", "monthly"];

const ORDINAL = { 1: "first", 2: "second", 3: "third", 4: "fourth", [-1]: "last" } as const;

/** A weekday's name in the UI's language (1 January 2024 was a Monday). */
function weekdayName(day: Weekday, width: "long" | "short"): string {
  const index = WEEKDAYS.indexOf(day);
  return new Intl.DateTimeFormat(uiLocale(), { weekday: width, timeZone: "UTC" }).format(Date.UTC(2024, 0, 1 + index));
}

/** Repeat: none, daily, weekdays, weekly on chosen days, monthly; every N; until a date or N times. */
export function RecurrenceFields({ form, onChange, start, error }: {
  form: RecurrenceForm;
  onChange: (form: RecurrenceForm) => void;
  start: LocalDate;
  error: string | null;
}) {
  useT();
  const set = (changes: Partial<RecurrenceForm>) => onChange({ ...form, ...changes });
  const unit = form.repeat === "daily" ? "day" : form.repeat === "weekly" ? "week" : "month";
  const nth = weekOfMonth(start);
  const summary = error ? null : recurrenceSummary(formToSpec(form, start), start, undefined);
  return (
    <fieldset class="recurrence" data-testid="schedule-recurrence-fields">
      <legend class="sr-only">{t("fields.repeat")}</legend>
      <label>
        {t("fields.repeat")}
        <select value={form.repeat} data-testid="schedule-recurrence"
          onChange={(e) => {
            const repeat = e.currentTarget.value as RepeatKind;
            set({ repeat, days: form.days.length ? form.days : [weekdayOf(start)] });
          }}>
          {REPEAT_KINDS.map((k) => <option key={k} value={k}>{t(`fields.repeat.${k}`)}</option>)}
        </select>
      </label>
      {(form.repeat === "daily" || form.repeat === "weekly" || form.repeat === "monthly") && (
        <label class="inline">
          {t(`fields.every.${unit}`, { count: form.interval })}
          <input type="number" min={1} max={MAX_INTERVAL[form.repeat]} value={form.interval} class="num"
            data-testid="schedule-recurrence-interval"
            onInput={(e) => set({ interval: Number(e.currentTarget.value) })} />
          {t(`fields.unit.${unit}`, { count: form.interval })}
        </label>
      )}
      {form.repeat === "weekly" && (
        <div class="weekday-picker" role="group" aria-label={t("fields.onDays")}>
          {WEEKDAYS.map((d) => {
            const on = form.days.includes(d);
            return (
              <button key={d} type="button" class={`day-toggle ${on ? "on" : ""}`} aria-pressed={on}
                aria-label={weekdayName(d, "long")} data-testid={`schedule-recurrence-day-${d}`}
                onClick={() => set({ days: on ? form.days.filter((x) => x !== d) : [...form.days, d] })}>
                {weekdayName(d, "short")}
              </button>
            );
          })}
        </div>
      )}
      {form.repeat === "monthly" && (
        <label>
          {t("fields.monthlyOn")}
          <select value={form.monthlyBy} data-testid="schedule-recurrence-monthly"
            onChange={(e) => set({ monthlyBy: e.currentTarget.value === "weekday" ? "weekday" : "date" })}>
            <option value="date">{t("fields.monthly.date", { day: start.day })}</option>
            <option value="weekday">
              {t("fields.monthly.weekday", { nth: ORDINAL[nth], weekday: weekdayOf(start), day: weekdayName(weekdayOf(start), "long") })}
            </option>
          </select>
        </label>
      )}
      {form.repeat !== "none" && (
        <div class="row ends">
          <label>
            {t("fields.ends")}
            <select value={form.ends} data-testid="schedule-recurrence-ends"
              onChange={(e) => set({ ends: e.currentTarget.value as RecurrenceForm["ends"] })}>
              <option value="never">{t("fields.ends.never")}</option>
              <option value="until">{t("fields.ends.until")}</option>
              <option value="count">{t("fields.ends.count")}</option>
            </select>
          </label>
          {form.ends === "until" && (
            <label>
              {t("fields.lastDate")}
              <input type="date" value={form.until} data-testid="schedule-recurrence-until"
                onInput={(e) => set({ until: e.currentTarget.value })} />
            </label>
          )}
          {form.ends === "count" && (
            <label>
              {t("fields.times")}
              <input type="number" min={1} max={MAX_COUNT} value={form.count} class="num" data-testid="schedule-recurrence-count"
                onInput={(e) => set({ count: Number(e.currentTarget.value) })} />
            </label>
          )}
        </div>
      )}
      {form.repeat !== "none" && summary && <p class="hint" data-testid="schedule-recurrence-summary">{summary}</p>}
      {error && <p class="error" role="alert" data-testid="schedule-recurrence-error">{error}</p>}
    </fieldset>
  );
}

export type { Invitee };

let fieldIds = 0;

const EMAIL = /^[^\s@,;<>]+@[^\s@,;<>]+\.[^\s@,;<>]+$/;

/** Addresses in pasted or typed text ("a@x.org, Bob <b@y.org>; c@z.org"). */
export function parseAddresses(text: string): { valid: string[]; invalid: string[] } {
  const valid: string[] = [];
  const invalid: string[] = [];
  for (const raw of text.split(/[,;\n]+/)) {
    const piece = raw.trim();
    if (!piece) continue;
    const angle = /<([^>]+)>/.exec(piece);
    const candidate = (angle ? angle[1]! : piece).trim().toLowerCase();
    for (const word of angle ? [candidate] : candidate.split(/\s+/)) {
      if (EMAIL.test(word)) valid.push(word);
      else invalid.push(word);
    }
  }
  return { valid: [...new Set(valid)], invalid };
}

/** Invitees: addresses (of accounts or not) as chips, each required, optional or co-host. */
export function InviteesField({ invitees, onChange, self }: {
  invitees: Invitee[];
  onChange: (list: Invitee[]) => void;
  /** The organiser's own address, which needs no invitation. */
  self: string | null;
}) {
  useT();
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);

  const add = (input: string): boolean => {
    const { valid, invalid } = parseAddresses(input);
    const fresh = valid.filter((e) => e !== self && !invitees.some((i) => i.email === e));
    if (fresh.length) onChange([...invitees, ...fresh.map((email) => ({ email, required: true, cohost: false }))]);
    setError(invalid.length ? t("fields.notEmail", { list: invalid.slice(0, 3).map(isolate).join(", ") }) : null);
    setText(invalid.join(", "));
    return valid.length > 0 || invalid.length > 0;
  };

  const roleOf = (i: Invitee) => (i.cohost ? "cohost" : i.required ? "required" : "optional");
  const listId = useMemo(() => `invitee-error-${++fieldIds}`, []);

  return (
    <div class="invitees">
      <label>
        {t("fields.invitees")}
        {/* i18n-ignore: the placeholder is an example address */}
        <input type="text" inputMode="email" autoComplete="off" value={text} placeholder="name@example.org, …"
          data-testid="schedule-invitees" aria-describedby={error ? listId : undefined} aria-invalid={error ? true : undefined}
          onInput={(e) => {
            const v = e.currentTarget.value;
            if (/[,;\n]/.test(v)) add(v);
            else setText(v);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              // Enter adds the address; it never submits the whole form from here.
              e.preventDefault();
              if (text.trim()) add(text);
            } else if (e.key === "Backspace" && !text && invitees.length) {
              onChange(invitees.slice(0, -1));
            }
          }}
          onBlur={() => {
            if (text.trim()) add(text);
          }} />
      </label>
      <span class="hint">{t("fields.invitees.hint")}</span>
      {error && <p class="error small" id={listId} role="alert">{error}</p>}
      {invitees.length > 0 && (
        <ul class="chips" data-testid="invitee-list" aria-label={t("fields.invitedList")}>
          {invitees.map((i) => (
            <li key={i.email} class="chip" data-testid="invitee-chip" data-email={i.email}>
              <span class="chip-name" title={i.email}>{i.display_name ? `${i.display_name} <${i.email}>` : i.email}</span>
              <select value={roleOf(i)} aria-label={t("fields.roleOf", { email: isolate(i.email) })} data-testid="invitee-role" class="chip-role"
                onChange={(e) => {
                  const role = e.currentTarget.value;
                  onChange(invitees.map((x) => x.email === i.email
                    ? { ...x, required: role !== "optional", cohost: role === "cohost" }
                    : x));
                }}>
                <option value="required">{t("fields.role.required")}</option>
                <option value="optional">{t("fields.role.optional")}</option>
                <option value="cohost">{t("schedule.role.cohost")}</option>
              </select>
              <button type="button" class="round small ghost" aria-label={t("fields.remove", { email: isolate(i.email) })} data-testid="invitee-remove"
                onClick={() => onChange(invitees.filter((x) => x.email !== i.email))}>
                <Icon name="close" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
