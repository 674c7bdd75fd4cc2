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
