/**
 * Pure layout helpers: grid fitting and paging, tile order, meeting codes and invite text.
 */
import { directionOf, isolate, language, t } from "../i18n";
import type { ParticipantInfo } from "../protocol/types";

export interface GridFit {
  cols: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** The grid of `count` tiles of ratio `aspect` that makes tiles largest within width x height. */
export function fitGrid(count: number, width: number, height: number, aspect = 16 / 9, gap = 8): GridFit {
  const n = Math.max(1, count);
  let best: GridFit = { cols: 1, rows: n, tileWidth: 0, tileHeight: 0 };
  for (let cols = 1; cols <= n; cols++) {
    const rows = Math.ceil(n / cols);
    const cellW = (width - gap * (cols - 1)) / cols;
    const cellH = (height - gap * (rows - 1)) / rows;
    if (cellW <= 0 || cellH <= 0) continue;
    const tileWidth = Math.min(cellW, cellH * aspect);
    const tileHeight = tileWidth / aspect;
    if (tileWidth > best.tileWidth) best = { cols, rows, tileWidth, tileHeight };
  }
  return best;
}

export interface PageSizeOptions {
  /** Tiles narrower than this are not worth showing; fewer per page instead. */
  minTileWidth?: number;
  maxTiles?: number;
  /** Below this width (phones) tiles go in one column. */
  oneColumnBelow?: number;
  minTileHeightOneColumn?: number;
  aspect?: number;
  gap?: number;
}

/** How many tiles fit on one page of a width x height grid area. */
export function tilesPerPage(width: number, height: number, options: PageSizeOptions = {}): number {
  const {
    minTileWidth = 200,
    maxTiles = 25,
    oneColumnBelow = 600,
    minTileHeightOneColumn = 140,
    aspect = 16 / 9,
    gap = 8,
  } = options;
  if (width <= 0 || height <= 0) return 1;
  if (width < oneColumnBelow) {
    const tileHeight = Math.max(minTileHeightOneColumn, Math.min(width / aspect, height));
    return Math.max(1, Math.min(maxTiles, Math.floor((height + gap) / (tileHeight + gap))));
  }
  let fit = 1;
  for (let n = 1; n <= maxTiles; n++) {
    if (fitGrid(n, width, height, aspect, gap).tileWidth >= minTileWidth) fit = n;
    else break;
  }
  return fit;
}

export interface Page<T> {
  items: T[];
  /** The page shown, clamped to the pages there are (0-based). */
  page: number;
  pages: number;
}

export function paginate<T>(items: readonly T[], perPage: number, page: number): Page<T> {
  const size = Math.max(1, Math.floor(perPage));
  const pages = Math.max(1, Math.ceil(items.length / size));
  const clamped = Math.min(Math.max(0, page), pages - 1);
  return { items: items.slice(clamped * size, clamped * size + size), page: clamped, pages };
}

/**
 * Tile order for the grid: this participant first, then everyone by join time, except that
 * people who spoke within `recentMs` are moved onto the first page (most recent last in), as
 * meeting apps do, so a speaker is never on a page nobody looks at.
 */
export function orderParticipants(
  participants: Iterable<ParticipantInfo>,
  selfId: string | null,
  lastSpoke: ReadonlyMap<string, number>,
  perPage: number,
  now: number,
  recentMs = 60_000,
): ParticipantInfo[] {
  const all = [...participants];
  const self = all.find((p) => p.id === selfId);
  const others = all
    .filter((p) => p.id !== selfId)
    .sort((a, b) => a.joined_at.localeCompare(b.joined_at) || a.id.localeCompare(b.id));
  const order = self ? [self, ...others] : others;
  const size = Math.max(1, perPage);
  if (order.length <= size) return order;
  const speakers = others
    .filter((p) => now - (lastSpoke.get(p.id) ?? -Infinity) < recentMs)
    .sort((a, b) => (lastSpoke.get(b.id) ?? 0) - (lastSpoke.get(a.id) ?? 0))
    .slice(0, Math.max(0, size - (self ? 1 : 0)));
  const promote = speakers.filter((p) => order.indexOf(p) >= size);
  if (promote.length === 0) return order;
  const firstPage = order.slice(0, size);
  // Demote the quietest of the first page (never self, never a recent speaker).
  const keep = new Set(speakers.map((p) => p.id));
  const demotable = firstPage
    .filter((p) => p.id !== selfId && !keep.has(p.id))
    .sort((a, b) => (lastSpoke.get(a.id) ?? 0) - (lastSpoke.get(b.id) ?? 0) || b.joined_at.localeCompare(a.joined_at));
  const demote = new Set(demotable.slice(0, promote.length).map((p) => p.id));
  const newFirst = [...firstPage.filter((p) => !demote.has(p.id)), ...promote];
  const rest = order.filter((p) => !newFirst.includes(p));
  return [...newFirst, ...rest];
}

/** "123456789" -> "123 456 789". */
export function formatCode(code: string): string {
  const digits = code.replace(/\D/g, "");
  if (digits.length !== 9) return code;
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}

export interface MeetingRef {
  /** What goes in `join.meeting` and `GET /meetings/{ref}`. */
  ref: string;
  /** True for a 9-digit code (a passcode may be needed), false for a link token. */
  byCode: boolean;
}

/**
 * Reads what a person typed or pasted: "123 456 789", "123-456-789", a link token, or a whole
 * invite link (".../j/<ref>"). Null when it cannot be a meeting reference.
 */
export function parseMeetingRef(input: string): MeetingRef | null {
  const text = input.trim();
  if (!text) return null;
  const link = /\/j\/([A-Za-z0-9_-]{1,64})(?:[/?#].*)?$/.exec(text);
  const candidate = link ? link[1]! : text;
  const digits = candidate.replace(/[\s-]/g, "");
  if (/^\d{9}$/.test(digits)) return { ref: digits, byCode: true };
  if (/^\d[\d\s-]*$/.test(candidate)) return null; // digits, but not nine
  if (/^[A-Za-z0-9_-]{6,64}$/.test(candidate)) return { ref: candidate, byCode: false };
  return null;
}

export interface InviteInfo {
  title: string;
  url: string | null;
  code: string;
  passcode: string | null;
}

/**
 * The invitation copied to the clipboard, in the UI's language. In right-to-left text the title
 * is isolated and the code, passcode and link kept left to right (U+2066 … U+2069), so that a
 * pasted message reads in the right order; left-to-right text is left plain.
 */
export function inviteText(info: InviteInfo): string {
  const rtl = directionOf(language.value) === "rtl";
  const ltr = (text: string) => (rtl ? `\u2066${text}\u2069` : text);
  const lines = [t("invite.text.title", { title: rtl ? isolate(info.title) : info.title })];
  if (info.url) lines.push(ltr(info.url));
  lines.push(t("invite.text.code", { code: ltr(formatCode(info.code)) }));
  if (info.passcode) lines.push(t("invite.text.passcode", { passcode: ltr(info.passcode) }));
  return lines.join("\n");
}

/** Initials for an avatar ("Ada Lovelace" -> "AL"). */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? "?";
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** At most this many tiles share the main stage (spotlighted and pinned people together). */
export const MAX_FEATURED = 4;

/**
 * The people on the main stage: those a host spotlighted for everyone first, then those this
 * person pinned for themselves (a sign-language interpreter beside the speaker), each once, only
 * people still in the meeting, at most `MAX_FEATURED`.
 */
export function featuredIds(
  spotlight: readonly string[],
  pins: readonly string[],
  present: { has(id: string): boolean },
  max = MAX_FEATURED,
): string[] {
  const out: string[] = [];
  for (const id of [...spotlight, ...pins]) {
    if (out.length >= max) break;
    if (present.has(id) && !out.includes(id)) out.push(id);
  }
  return out;
}

/** `pins` with `id` added (at the end) or taken out. */
export function togglePin(pins: readonly string[], id: string, max = MAX_FEATURED): string[] {
  if (pins.includes(id)) return pins.filter((p) => p !== id);
  return [...pins, id].slice(-max);
}

/**
 * Tiles per page: the person's choice when the screen can hold that many tiles of at least
 * `minTileWidth`, else as many as it can; "auto" is what fits at the usual size.
 */
export function chosenTilesPerPage(choice: "auto" | number, width: number, height: number, minTileWidth = 120): number {
  if (choice === "auto") return tilesPerPage(width, height);
  return Math.max(1, Math.min(choice, tilesPerPage(width, height, { minTileWidth, maxTiles: choice })));
}

/** The grid's people without this participant when they hid their self-view (never an empty grid). */
export function withoutSelf<T extends { id: string }>(people: readonly T[], selfId: string | null, hideSelf: boolean): T[] {
  if (!hideSelf || people.length <= 1) return [...people];
  return people.filter((p) => p.id !== selfId);
}
