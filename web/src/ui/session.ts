/**
 * The REST client and the signed-in session, shared by every page.
 */
import { language } from "../i18n";
import { Emitter } from "../protocol/emitter";
import { RestClient, type SessionInfo } from "../protocol/rest";
import { useStore } from "./hooks";

// Messages from the server (errors, and the emails a signed-out request causes) come in the UI's
// language; a signed-in user's own setting wins on the server.
export const rest = new RestClient({ language: () => language.value });

class SessionStore extends Emitter<{ change: SessionInfo | null | undefined }> {
  /** undefined while loading, null when signed out. */
  value: SessionInfo | null | undefined = undefined;

  async load(): Promise<void> {
    try {
      this.set(await rest.session());
    } catch {
      this.set(null);
    }
  }

  set(value: SessionInfo | null): void {
    this.value = value;
    this.emit("change", value);
  }
}

export const session = new SessionStore();

export function useSession(): SessionInfo | null | undefined {
  return useStore(session);
}

const PREFS_KEY = "convene.prefs";

export interface Prefs {
  displayName: string;
  mic: boolean;
  camera: boolean;
}

export function loadPrefs(): Prefs {
  const defaults: Prefs = { displayName: "", mic: true, camera: true };
  try {
    const raw = localStorage.getItem(PREFS_KEY);
    return raw ? { ...defaults, ...(JSON.parse(raw) as Partial<Prefs>) } : defaults;
  } catch {
    return defaults;
  }
}

export function savePrefs(prefs: Partial<Prefs>): void {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify({ ...loadPrefs(), ...prefs }));
  } catch {
    // Not remembered in private browsing.
  }
}
