/**
 * Placing meetings on the calendar: day columns of the week and day views, days of the list view.
 *
 * Positions are wall-clock minutes in the viewer's zone, so a 10:00 meeting sits at 10:00 on a
 * daylight-saving day too (the grid always shows 00:00..24:00); meetings crossing midnight are cut
 * at the day's edges and marked as continuing.
 */
import { addDays, startOfDay, toLocal, wallMinutes, type LocalDate } from "./time";

export interface Span {
  start: number;
  end: number;
}

export interface Placed<T> {
  item: T;
  /** Minutes from the top of the day (00:00). */
  top: number;
  /** Minutes tall (at least MIN_HEIGHT, so a short meeting can still be clicked). */
  height: number;
  /** Side by side with overlapping meetings: this one's column of `columns`. */
  column: number;
  columns: number;
  continuesBefore: boolean;
  continuesAfter: boolean;
}

export const DAY_MINUTES = 24 * 60;
export const MIN_HEIGHT = 20;

/** The meetings of one local day, positioned and split into columns where they overlap. */
export function layoutDay<T>(items: readonly T[], span: (item: T) => Span, day: LocalDate, zone: string): Placed<T>[] {
  const dayStart = startOfDay(day, zone).getTime();
  const dayEnd = startOfDay(addDays(day, 1), zone).getTime();
  const placed: Placed<T>[] = [];
  for (const item of items) {
    const { start, end } = span(item);
    if (!(start < dayEnd && end > dayStart) && !(start === end && start >= dayStart && start < dayEnd)) continue;
    const continuesBefore = start < dayStart;
    const continuesAfter = end > dayEnd;
    const top = continuesBefore ? 0 : wallMinutes(start, zone);
    const bottom = end >= dayEnd ? DAY_MINUTES : wallMinutes(end, zone);
    const height = Math.max(MIN_HEIGHT, bottom - top);
    placed.push({ item, top: Math.min(top, DAY_MINUTES - MIN_HEIGHT), height, column: 0, columns: 1, continuesBefore, continuesAfter });
  }
  placed.sort((a, b) => a.top - b.top || b.height - a.height);
  // Clusters of meetings that overlap one another share the width; each takes the first free column.
  let cluster: Placed<T>[] = [];
  let clusterEnd = -1;
  const columnEnds: number[] = [];
  const close = () => {
    const columns = Math.max(1, columnEnds.length);
    for (const p of cluster) p.columns = columns;
    cluster = [];
    columnEnds.length = 0;
  };
  for (const p of placed) {
    if (p.top >= clusterEnd) close();
    let column = columnEnds.findIndex((endAt) => endAt <= p.top);
    if (column === -1) {
      column = columnEnds.length;
      columnEnds.push(0);
    }
    columnEnds[column] = p.top + p.height;
    p.column = column;
    cluster.push(p);
    clusterEnd = Math.max(clusterEnd, p.top + p.height);
  }
  close();
  return placed;
}

export interface DayGroup<T> {
  date: LocalDate;
  items: T[];
}

/** Meetings grouped by the local day they start on, in order (for the list view). */
export function groupByDay<T>(items: readonly T[], span: (item: T) => Span, zone: string): DayGroup<T>[] {
  const sorted = [...items].sort((a, b) => span(a).start - span(b).start || span(a).end - span(b).end);
  const groups: DayGroup<T>[] = [];
  for (const item of sorted) {
    const { year, month, day } = toLocal(span(item).start, zone);
    const last = groups.at(-1);
    if (last && last.date.year === year && last.date.month === month && last.date.day === day) last.items.push(item);
    else groups.push({ date: { year, month, day }, items: [item] });
  }
  return groups;
}

/** The start of the half hour a click at `minutes` into the day falls in. */
export function snapMinutes(minutes: number, step = 30): number {
  return Math.max(0, Math.min(DAY_MINUTES - step, Math.floor(minutes / step) * step));
}
