/**
 * The conflict warning: which meetings (of the user and of the invitees, every occurrence of a
 * series, busy times from connected calendars) overlap the one being scheduled or answered.
 */
import type { ConflictOut } from "../../protocol/scheduling";
import { formatRange, sameDate, toLocal } from "../../scheduling/time";

/** One overlap as the warning shows it (from the conflicts API or from an answer page). */
export interface ConflictLine {
  email: string;
  name: string;
  /** The viewer's own time. */
  self: boolean;
  /** The occurrence of the meeting being scheduled or answered. */
  occurrenceStart: string;
  occurrenceEnd: string;
  /** A Convene meeting, or a busy time from a connected calendar. */
  source: "schedule" | "busy_block";
  /** Null when the viewer may not see which meeting it is. */
  title: string | null;
  busyStart: string;
  busyEnd: string;
}

export function conflictLines(conflicts: readonly ConflictOut[], selfEmail: string | null): ConflictLine[] {
  const me = selfEmail?.toLowerCase() ?? null;
  return conflicts.map((c) => ({
    email: c.person.email,
    name: c.person.name,
    self: me !== null && c.person.email.toLowerCase() === me,
    occurrenceStart: c.occurrence.start,
    occurrenceEnd: c.occurrence.end,
    source: c.busy.kind,
    title: c.busy.title,
    busyStart: c.busy.start,
    busyEnd: c.busy.end,
  }));
}

const SHOWN = 12;

function what(c: ConflictLine): string {
  if (c.source === "busy_block") return "a busy time in another calendar";
  return c.title ? `“${c.title}”` : "another meeting";
}

/**
 * "You have “Standup” Mon 2 Jun, 09:00 – 09:30"; for a series, the occurrence it hits is named
 * when it is on another day than the busy time shown.
 */
export function conflictText(c: ConflictLine, zone: string, recurring: boolean, locale?: string): string {
  const start = Date.parse(c.busyStart);
  const end = Date.parse(c.busyEnd);
  const who = c.self ? "You" : c.name || c.email;
  let text = `${who} ${c.self ? "have" : "has"} ${what(c)} ${formatRange(start, end, zone, locale)}`;
  const occurrence = Date.parse(c.occurrenceStart);
  if (recurring && !sameDate(toLocal(occurrence, zone), toLocal(start, zone))) {
    text += ` (the meeting of ${formatRange(occurrence, Date.parse(c.occurrenceEnd), zone, locale)})`;
  }
  return text;
}

export function ConflictWarning({ conflicts, truncated = false, zone, recurring, checking = false, intro }: {
  conflicts: readonly ConflictLine[];
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
          <li key={`${c.email}-${c.occurrenceStart}-${c.busyStart}-${i}`} data-testid="conflict-item" data-email={c.email}
            data-self={c.self ? "true" : "false"}>
            {conflictText(c, zone, recurring)}
          </li>
        ))}
      </ul>
      {(more > 0 || truncated) && <p class="hint">…and {more > 0 ? `${more} more` : "more"}.</p>}
    </div>
  );
}
