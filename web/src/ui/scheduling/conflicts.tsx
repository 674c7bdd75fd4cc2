/**
 * The conflict warning: which meetings (of the user and of the invitees, every occurrence of a
 * series, busy times from connected calendars) overlap the one being scheduled or answered.
 */
import { isolate, t, uiLocale, type Params } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { Conflict } from "../../protocol/scheduling";
import { formatRange, sameDate, toLocal } from "../../scheduling/time";

const SHOWN = 12;

/** The catalogue key and parameters of what is busy: a meeting, or busy times from calendars. */
function what(c: Conflict): { key: string; params: Params } {
  if (c.source === "calendar") {
    const labels = c.calendars ?? [];
    if (labels.length === 0) return { key: "busyElsewhere", params: {} };
    const list = new Intl.ListFormat(uiLocale(), { type: "conjunction" });
    return { key: "busyIn", params: { calendars: list.format(labels.map((l) => t("conflict.quoted", { text: isolate(l) }))) } };
  }
  return c.title ? { key: "meeting", params: { title: isolate(c.title) } } : { key: "anotherMeeting", params: {} };
}

/**
 * "You have “Standup” Mon 2 Jun, 09:00 – 09:30"; for a series, the occurrence it hits is named
 * when it is on another day than the busy time shown.
 */
export function conflictText(c: Conflict, zone: string, recurring: boolean, locale?: string): string {
  const start = Date.parse(c.busy_start);
  const end = Date.parse(c.busy_end);
  const { key, params } = what(c);
  const range = isolate(formatRange(start, end, zone, locale));
  let text = c.self
    ? t(`conflict.self.${key}`, { ...params, range })
    : t(`conflict.other.${key}`, { ...params, range, who: isolate(c.display_name || c.email) });
  const occurrence = Date.parse(c.occurrence_start);
  if (recurring && !sameDate(toLocal(occurrence, zone), toLocal(start, zone))) {
    text = t("conflict.ofOccurrence", {
      text, range: isolate(formatRange(occurrence, Date.parse(c.occurrence_end), zone, locale)),
    });
  }
  return text;
}

export function ConflictWarning({ conflicts, truncated = false, zone, recurring, checking = false, intro }: {
  conflicts: readonly Conflict[];
  truncated?: boolean;
  zone: string;
  recurring: boolean;
  checking?: boolean;
  intro?: string;
}) {
  useT();
  if (conflicts.length === 0) return null;
  const shown = conflicts.slice(0, SHOWN);
  const more = conflicts.length - shown.length;
  const people = new Set(conflicts.map((c) => c.email)).size;
  const heading = intro
    ?? t(truncated ? "conflict.headingAtLeast" : "conflict.heading", { count: conflicts.length })
      + (people > 1 ? t("conflict.forPeople", { count: people }) : "");
  return (
    <div class={`conflicts ${checking ? "stale" : ""}`} data-testid="conflict-warning" role="status" aria-busy={checking}
      data-count={conflicts.length}>
      <strong class="conflicts-title">{heading}</strong>
      <ul>
        {shown.map((c, i) => (
          <li key={`${c.email}-${c.occurrence_start}-${c.busy_start}-${i}`} data-testid="conflict-item" data-email={c.email}
            data-self={c.self ? "true" : "false"}>
            {conflictText(c, zone, recurring)}
          </li>
        ))}
      </ul>
      {(more > 0 || truncated) && <p class="hint">{more > 0 ? t("conflict.andMore", { count: more }) : t("conflict.andOthers")}</p>}
    </div>
  );
}
