/**
 * Free/busy of the people invited, one timeline each over the chosen day, with the meeting being
 * scheduled drawn across them; and "find a time": the next slots that suit every required invitee.
 */
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { FreeBusyPerson, Slot } from "../../protocol/scheduling";
import { addDays, formatRange, formatTime, fromLocal, startOfDay, type LocalDate } from "../../scheduling/time";

const TICKS = [0, 6, 9, 12, 15, 18];

function clip(start: number, end: number, from: number, to: number): { left: number; width: number } | null {
  const s = Math.max(start, from);
  const e = Math.min(end, to);
  if (e <= s) return null;
  return { left: ((s - from) / (to - from)) * 100, width: ((e - s) / (to - from)) * 100 };
}

export function FreeBusyTimeline({ people, date, zone, candidate, loading }: {
  people: readonly FreeBusyPerson[];
  date: LocalDate;
  zone: string;
  candidate: { start: number; end: number } | null;
  loading: boolean;
}) {
  const t = useT();
  const from = startOfDay(date, zone).getTime();
  const to = startOfDay(addDays(date, 1), zone).getTime();
  const mark = candidate ? clip(candidate.start, candidate.end, from, to) : null;
  return (
    <div class="freebusy" data-testid="freebusy-view" aria-busy={loading}>
      <div class="fb-row fb-axis" aria-hidden="true">
        <span class="fb-name" />
        <div class="fb-track">
          {TICKS.map((h) => {
            const at = clip(fromLocal({ ...date, hour: h, minute: 0 }, zone).getTime(), to, from, to);
            return at ? <span key={h} class="fb-tick" style={{ left: `${at.left}%` }}>{String(h).padStart(2, "0")}</span> : null;
          })}
        </div>
      </div>
      <ul class="fb-list">
        {people.map((p) => {
          const busy = p.busy.map((b) => ({ b, at: clip(Date.parse(b.start), Date.parse(b.end), from, to) })).filter((x) => x.at);
          const summary = busy.length
            ? t("freebusy.busy", {
              times: busy.map(({ b }) => isolate(`${formatTime(Date.parse(b.start), zone)}–${formatTime(Date.parse(b.end), zone)}`)).join(", "),
            })
            : p.known ? t("freebusy.free") : t("freebusy.unknown");
          return (
            <li key={p.email} class="fb-row" data-testid="freebusy-row" data-email={p.email}>
              <span class="fb-name" title={p.email}><bdi>{p.display_name || p.email}</bdi></span>
              <div class={`fb-track ${p.known ? "" : "unknown"}`} aria-hidden="true">
                {p.working.map((w, i) => {
                  const at = clip(Date.parse(w.start), Date.parse(w.end), from, to);
                  return at ? <span key={`w${i}`} class="fb-work" style={{ left: `${at.left}%`, width: `${at.width}%` }} /> : null;
                })}
                {busy.map(({ at }, i) => <span key={`b${i}`} class="fb-busy" style={{ left: `${at!.left}%`, width: `${at!.width}%` }} />)}
                {mark && <span class="fb-candidate" style={{ left: `${mark.left}%`, width: `${mark.width}%` }} />}
              </div>
              <span class="sr-only">{t("freebusy.person", { name: isolate(p.display_name || p.email), summary })}</span>
            </li>
          );
        })}
      </ul>
      <p class="hint">{t("freebusy.legend", { zone: isolate(zone.replace(/_/g, " ")) })}</p>
    </div>
  );
}

export function FindTimeSlots({ slots, zone, onPick }: {
  slots: readonly Slot[];
  zone: string;
  onPick: (slot: Slot) => void;
}) {
  const t = useT();
  if (slots.length === 0) return <p class="muted small" data-testid="find-time-empty">{t("freebusy.noSlots")}</p>;
  return (
    <ul class="slots" data-testid="find-time-slots" aria-label={t("freebusy.slots")}>
      {slots.map((s) => (
        <li key={s.start}>
          <button type="button" class="btn small" data-testid="find-time-slot" data-start={s.start} onClick={() => onPick(s)}>
            {formatRange(Date.parse(s.start), Date.parse(s.end), zone)}
          </button>
        </li>
      ))}
    </ul>
  );
}
