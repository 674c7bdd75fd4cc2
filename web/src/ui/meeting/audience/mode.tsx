/**
 * The meeting's mode (meeting / event / lecture): chosen where a meeting is created, changed live
 * in the meeting's settings (`host.update {mode}`: people present keep their roles).
 */
import { useT } from "../../../i18n/hook";
import type { MeetingInfo } from "../../../protocol/types";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";

export type MeetingMode = MeetingInfo["mode"];

export const MODES: readonly MeetingMode[] = ["meeting", "event", "lecture"];

export function isMode(value: string): value is MeetingMode {
  return (MODES as readonly string[]).includes(value);
}

/** A select of the three modes, with a word on what the chosen one means. */
export function ModeSelect({ value, onChange, testid }: { value: MeetingMode; onChange: (mode: MeetingMode) => void; testid: string }) {
  const t = useT();
  const hint = `${testid}-hint`;
  return (
    <>
      <label>
        {t("mode.label")}
        <select value={value} data-testid={testid} aria-describedby={hint}
          onChange={(e) => isMode(e.currentTarget.value) && onChange(e.currentTarget.value)}>
          {MODES.map((m) => <option key={m} value={m}>{t(`mode.${m}`)}</option>)}
        </select>
      </label>
      <p class="hint" id={hint}>{t(`mode.${value}.hint`)}</p>
    </>
  );
}

/** In the meeting's settings panel (hosts and co-hosts). */
export function ModeSetting({ room, state }: { room: Room; state: RoomState }) {
  const mode = state.meeting?.mode ?? "meeting";
  return (
    <ModeSelect value={mode} testid="setting-mode"
      onChange={(next) => void room.host.update({ mode: next })} />
  );
}
