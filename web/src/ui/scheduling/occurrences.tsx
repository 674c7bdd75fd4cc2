/**
 * Occurrences for the calendar and the home page's "Upcoming": loading a window (reloaded when a
 * notification says something changed) and one meeting as a row of a list.
 */
import { useCallback, useEffect, useState } from "preact/hooks";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError } from "../../protocol/errors";
import type { Occurrence } from "../../protocol/scheduling";
import { formatTime } from "../../scheduling/time";
import { notifications } from "../notifications";
import { openUrl } from "../router";
import { rest } from "../session";
import { PARTSTAT_TEXT, ROLE_TEXT } from "./labels";

/** Loads the occurrences of [from, to) and reloads on demand and when a notification says so. */
export function useOccurrences(from: number, to: number, enabled = true): {
  items: Occurrence[] | null;
  error: string | null;
  reload: () => void;
} {
  const [items, setItems] = useState<Occurrence[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!enabled) return undefined;
    const controller = new AbortController();
    setError(null);
    rest.occurrences(new Date(from).toISOString(), new Date(to).toISOString(), { signal: controller.signal }).then(
      (page) => setItems(page.occurrences),
      (err: unknown) => {
        if (!controller.signal.aborted) setError(describeError(err));
      },
    );
    return () => controller.abort();
  }, [from, to, tick, enabled]);
  useEffect(() => notifications.on("notification", (n) => {
    if (n.kind !== "reminder") setTick((t) => t + 1);
  }), []);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { items, error, reload };
}

/** One meeting in a list (the calendar's list view, "Upcoming" on the home page). */
export function OccurrenceRow({ o, zone, onOpen, testid = "calendar-event" }: {
  o: Occurrence;
  zone: string;
  onOpen?: (o: Occurrence) => void;
  testid?: string;
}) {
  const t = useT();
  const start = Date.parse(o.start);
  const end = Date.parse(o.end);
  return (
    <li class={`occ-row ${(o.partstat ?? "").toLowerCase()}`} data-testid={testid} data-schedule-id={o.schedule_id}
      data-start={o.start} data-role={o.role} data-partstat={o.partstat ?? ""}>
      <span class="occ-time"><bdi dir="ltr">{formatTime(start, zone)} – {formatTime(end, zone)}</bdi></span>
      <span class="occ-main">
        {onOpen
          ? <button type="button" class="link-button occ-title" onClick={() => onOpen(o)}><bdi>{o.title}</bdi></button>
          : <strong class="occ-title"><bdi>{o.title}</bdi></strong>}
        <span class="muted small">
          {ROLE_TEXT[o.role]}
          {o.role !== "organizer" && ` · ${PARTSTAT_TEXT[o.partstat ?? "NEEDS-ACTION"]}`}
          {o.recurring && ` · ${t("occurrence.repeats")}`}
        </span>
      </span>
      <button type="button" class="btn small" data-testid="occurrence-join" onClick={() => openUrl(o.join_url)}
        aria-label={t("occurrence.joinNamed", { title: isolate(o.title) })}>
        {t("join.join")}
      </button>
    </li>
  );
}

