/**
 * "You're muted" nudge: while the microphone is muted, a local voice detector listens to it (on
 * a clone of the track; nothing is sent) and, when it hears speech, offers to unmute. At most
 * once every `NUDGE_INTERVAL_MS`.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { useT } from "../../i18n/hook";
import type { Room } from "../../room/room";
import { selfInfo, type RoomState } from "../../room/state";
import { useEvent } from "../hooks";
import { Icon } from "../icons";
import { watchVoice } from "./voice";

const NUDGE_INTERVAL_MS = 60_000;
const NUDGE_SHOW_MS = 8_000;

export function MutedNudge({ room, state }: { room: Room; state: RoomState }) {
  const local = useEvent(room.local, "change", room.local.state);
  const [shown, setShown] = useState(false);
  // When the nudge was last shown (a ref: the detector's callback must see the latest value).
  const lastAt = useRef(-Infinity);
  const t = useT();
  const self = selfInfo(state);
  // A host mute the person may not lift: "unmute" would only be refused.
  const locked = !!self?.audio_blocked && !state.meeting?.allow_self_unmute;
  const track = local.audioTrack;
  const listening = state.phase === "joined" && !local.micOn && !!track && !locked;

  useEffect(() => {
    if (!listening || !track) {
      setShown(false);
      return undefined;
    }
    return watchVoice(track, () => {
      const now = Date.now();
      if (now - lastAt.current < NUDGE_INTERVAL_MS) return;
      lastAt.current = now;
      setShown(true);
    });
  }, [listening, track]);

  useEffect(() => {
    if (!shown) return undefined;
    const timer = setTimeout(() => setShown(false), NUDGE_SHOW_MS);
    return () => clearTimeout(timer);
  }, [shown]);

  return (
    <div class="nudge-region" role="status" aria-live="polite">
      {shown && (
        <div class="nudge" data-testid="muted-nudge">
          <Icon name="micOff" size={18} />
          <span>{t("nudge.muted")}</span>
          <button type="button" class="btn small primary" data-testid="muted-nudge-unmute"
            onClick={() => {
              setShown(false);
              void room.setMic(true);
            }}>
            {t("nudge.unmute")}
          </button>
          <button type="button" class="round small ghost" aria-label={t("nudge.dismiss")} data-testid="muted-nudge-dismiss"
            onClick={() => setShown(false)}>
            <Icon name="close" size={16} />
          </button>
        </div>
      )}
    </div>
  );
}
