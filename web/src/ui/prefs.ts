/**
 * The signed-in user's calendar settings (time zone, working hours, reminders), loaded once per
 * sign-in and shared by every page; pages show times in `useUserZone()`.
 */
import { language } from "../i18n";
import { Emitter } from "../protocol/emitter";
import type { CalendarSettings } from "../protocol/scheduling";
import { browserZone, isValidZone } from "../scheduling/time";
import { useStore } from "./hooks";
import { rest, session } from "./session";

class CalendarSettingsStore extends Emitter<{ change: CalendarSettings | null }> {
  value: CalendarSettings | null = null;
  private loading: Promise<void> | null = null;

  load(): Promise<void> {
    this.loading ??= rest.calendarSettings().then(
      (value) => this.set(value),
      () => {
        this.loading = null; // try again next time a page asks
      },
    );
    return this.loading;
  }

  set(value: CalendarSettings | null): void {
    this.value = value;
    this.emit("change", value);
  }

  clear(): void {
    this.loading = null;
    this.set(null);
  }
}

export const calendarSettings = new CalendarSettingsStore();

// A signed-in user's language follows them from device to device; signed out, the browser's.
calendarSettings.on("change", (value) => language.setAccount(value?.language ?? null));

session.on("change", (info) => {
  if (info) void calendarSettings.load();
  else if (info === null) calendarSettings.clear();
});

export function useCalendarSettings(): CalendarSettings | null {
  return useStore(calendarSettings);
}

/** The zone to show times in: the user's setting, else the browser's. */
export function useUserZone(): string {
  const settings = useCalendarSettings();
  const zone = settings?.timezone;
  return zone && isValidZone(zone) ? zone : browserZone();
}

/** The colours of the UI: light, dark, or as the system is set (`prefers-color-scheme`). */
export type Theme = "light" | "dark" | "system";
export const THEMES: readonly Theme[] = ["system", "light", "dark"];
const THEME_KEY = "convene.theme";
// Dark until someone chooses: the meeting room is dark either way, and it is what people knew.
const DEFAULT_THEME: Theme = "dark";

function isTheme(value: unknown): value is Theme {
  return value === "light" || value === "dark" || value === "system";
}

function storedTheme(): Theme {
  try {
    const value = globalThis.localStorage?.getItem(THEME_KEY);
    return isTheme(value) ? value : DEFAULT_THEME;
  } catch {
    return DEFAULT_THEME;
  }
}

/** Sets `data-theme` on the page; styles.css holds the palettes. */
function applyTheme(value: Theme): void {
  if (typeof document !== "undefined") document.documentElement.dataset.theme = value;
}

class ThemeStore extends Emitter<{ change: Theme }> {
  value: Theme = storedTheme();

  set(value: Theme): void {
    this.value = value;
    try {
      globalThis.localStorage?.setItem(THEME_KEY, value);
    } catch {
      // Private browsing: the choice lasts until the page is closed.
    }
    applyTheme(value);
    this.emit("change", value);
  }
}

/** This browser's theme (remembered in the browser, not on the account). */
export const theme = new ThemeStore();
applyTheme(theme.value);

export function useTheme(): Theme {
  return useStore(theme);
}

/** Devices a meeting starts with, chosen in the settings; null: the system's default. */
export interface DefaultDevices {
  mic: string | null;
  camera: string | null;
  speaker: string | null;
}
const DEVICES_KEY = "convene.defaultDevices";

export function defaultDevices(): DefaultDevices {
  const none: DefaultDevices = { mic: null, camera: null, speaker: null };
  try {
    const raw = globalThis.localStorage?.getItem(DEVICES_KEY);
    const parsed = raw ? (JSON.parse(raw) as Partial<DefaultDevices>) : {};
    const pick = (v: unknown) => (typeof v === "string" && v ? v : null);
    return { mic: pick(parsed.mic), camera: pick(parsed.camera), speaker: pick(parsed.speaker) };
  } catch {
    return none;
  }
}

export function saveDefaultDevices(devices: DefaultDevices): void {
  try {
    globalThis.localStorage?.setItem(DEVICES_KEY, JSON.stringify(devices));
  } catch {
    // Not remembered in private browsing.
  }
}

/** The part of LocalMedia the defaults are applied to. */
interface DeviceChoice {
  selectMic(deviceId: string): Promise<void>;
  selectCamera(deviceId: string): Promise<void>;
  selectSpeaker(deviceId: string): void;
}

/** Starts a pre-join page's devices on the defaults chosen in the settings (before any device
 *  is opened, so the first one opened is the default); kinds without a default keep the device
 *  used last time. Returns `local` itself. */
export function withDefaultDevices<T extends DeviceChoice>(local: T): T {
  const chosen = defaultDevices();
  if (chosen.mic) void local.selectMic(chosen.mic);
  if (chosen.camera) void local.selectCamera(chosen.camera);
  if (chosen.speaker) local.selectSpeaker(chosen.speaker);
  return local;
}
