/**
 * This browser's choices for how a meeting looks and sounds: hide the self-view, tiles per page,
 * a sound with notices. Remembered across meetings (localStorage); nobody else sees them.
 */
import { Emitter } from "../../protocol/emitter";
import { useStore } from "../hooks";

export const TILE_CHOICES = [4, 9, 16, 25] as const;
export type TilesChoice = "auto" | (typeof TILE_CHOICES)[number];

export interface ViewPrefs {
  hideSelf: boolean;
  tilesPerPage: TilesChoice;
  /** A short chime with notices (off unless chosen). */
  noticeSound: boolean;
}

const KEY = "convene.view";
const DEFAULTS: ViewPrefs = { hideSelf: false, tilesPerPage: "auto", noticeSound: false };

function load(): ViewPrefs {
  try {
    const raw: unknown = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? "{}");
    if (!raw || typeof raw !== "object") return DEFAULTS;
    const r = raw as Record<string, unknown>;
    const tiles = TILE_CHOICES.find((n) => n === r.tilesPerPage) ?? "auto";
    return { hideSelf: r.hideSelf === true, tilesPerPage: tiles, noticeSound: r.noticeSound === true };
  } catch {
    return DEFAULTS;
  }
}

class ViewPrefsStore extends Emitter<{ change: ViewPrefs }> {
  value: ViewPrefs = load();

  set(changes: Partial<ViewPrefs>): void {
    this.value = { ...this.value, ...changes };
    try {
      globalThis.localStorage?.setItem(KEY, JSON.stringify(this.value));
    } catch {
      // Private browsing: the choice lasts for this page only.
    }
    this.emit("change", this.value);
  }
}

export const viewPrefs = new ViewPrefsStore();

export function useViewPrefs(): ViewPrefs {
  return useStore(viewPrefs);
}
