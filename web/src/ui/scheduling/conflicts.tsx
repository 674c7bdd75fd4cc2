/**
 * The conflict warning: which meetings (of the user and of the invitees, every occurrence of a
 * series, busy times from connected calendars) overlap the one being scheduled or answered.
 */
import type { Conflict } from "../../protocol/scheduling";
import { formatRange, sameDate, toLocal } from "../../scheduling/time";

const SHOWN = 12;

function what(c: Conflict): string {
  if (c.source === "calendar") {
    const labels = c.calendars ?? [];
    return labels.length > 0 ? `a busy time in ${labels.map((l) => `“${l}”`).join(" and ")}` : "a busy time in another calendar";
  }
  return c.title ? `“${c.title}”` : "another meeting";
}

/**
 * "You have “Standup” Mon 2 Jun, 09:00 – 09:30"; for a series, the occurrence it hits is named
 * when it is on another day than the busy time shown.
 */
export function conflictText(c: Conflict, zone: string, recurring: boolean, locale?: string): string {
  const start = Date.parse(c.busy_start);
  const end = Date.parse(c.busy_end);
  const who = c.self ? "You" : c.display_name || c.email;
  let text = `${who} ${c.self ? "have" : "has"} ${what(c)} ${formatRange(start, end, zone, locale)}`;
  const occurrence = Date.parse(c.occurrence_start);
  if (recurring && !sameDate(toLocal(occurrence, zone), toLocal(start, zone))) {
    text += ` (the meeting of ${formatRange(occurrence, Date.parse(c.occurrence_end), zone, locale)})`;
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
  if (conflicts.length === 0) return null;
  const shown = conflicts.slice(0, SHOWN);
  const more = conflicts.length - shown.length;
  const people = new Set(conflicts.map((c) => c.email)).size;
  const heading = intro
    ?? `${conflicts.length}${truncated ? "+" : ""} conflict${conflicts.length === 1 ? "" : "s"}${people > 1 ? ` for ${people} people` : ""}`;
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
      {(more > 0 || truncated) && <p class="hint">…and {more > 0 ? `${more} more` : "more"}.</p>}
    </div>
  );
}
