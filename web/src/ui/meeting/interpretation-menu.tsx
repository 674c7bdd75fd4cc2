/**
 * The listener's side of interpretation: the language menu on the control bar (the floor or a
 * channel, and how loud the floor stays under it) and the mix that plays the channel over the
 * ducked floor. Shown only when the meeting offers channels.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ChannelMix, setCurrentMix } from "../../engine/mix";
import type { RemoteStream } from "../../engine/subscriber";
import { useT } from "../../i18n/hook";
import type { Room } from "../../room/room";
import {
  channelFeedIds,
  DEFAULT_FLOOR_LEVEL,
  interpretationPrefs,
  listenedChannel,
  offersChannels,
} from "../../room/interpretation";
import type { RoomState } from "../../room/state";
import { useDismiss, useStore } from "../hooks";
import { Icon } from "../icons";
import { usePopover } from "../keyboard";
import { languageName } from "./captions";
import "./interpretation-menu.css";

export function InterpretationMenu({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const prefs = useStore(interpretationPrefs);
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  const ref = useDismiss<HTMLDivElement>(open, close);
  const popover = usePopover(open, setOpen);
  // The level the floor goes back to when "off" is unticked.
  const lastLevel = useRef(prefs.floorLevel > 0 ? prefs.floorLevel : DEFAULT_FLOOR_LEVEL);
  if (prefs.floorLevel > 0) lastLevel.current = prefs.floorLevel;
  const { info, listening } = state.interpretation;
  if (!offersChannels(info)) return null;
  const label = listening ? t("interpretation.listeningTo", { language: languageName(listening) }) : t("interpretation.menu");
  const percent = Math.round(prefs.floorLevel * 100);

  return (
    <div class="menu-wrap interpretation-controls" ref={ref}>
      <button type="button" class={`control ${listening ? "active" : ""}`} data-testid="interpretation-menu"
        data-listening={listening ?? ""} aria-haspopup="dialog" aria-expanded={open} title={label}
        ref={popover.buttonRef} onKeyDown={popover.onButtonKeyDown} onClick={() => setOpen(!open)}>
        <Icon name="globe" />
        <span class="control-label">{listening ? languageName(listening) : t("interpretation.button")}</span>
      </button>
      {open && (
        <div class="popover interpretation-popover" role="dialog" aria-label={t("interpretation.menu")}
          data-testid="interpretation-popover" ref={popover.popupRef} onKeyDown={popover.onPopupKeyDown}>
          <fieldset class="interpretation-channels">
            <legend>{t("interpretation.listen")}</legend>
            <label class="check interpretation-option">
              <input type="radio" name="interpretation-channel" checked={listening === null} data-testid="interpretation-floor"
                onChange={() => void room.interpretation.listen(null)} />
              <span>{t("interpretation.floor")}</span>
            </label>
            {info.channels.map((c) => {
              const notes = [
                c.kind === "machine" ? t("interpretation.machine") : null,
                c.on_air ? null : t("interpretation.notOnAir"),
              ].filter((n): n is string => n !== null);
              const noteId = `interpretation-note-${c.language}`;
              return (
                <label key={c.language} class="check interpretation-option" data-on-air={c.on_air ? "true" : "false"}
                  data-kind={c.kind}>
                  <input type="radio" name="interpretation-channel" checked={listening === c.language}
                    data-testid={`interpretation-channel-${c.language}`} aria-describedby={notes.length ? noteId : undefined}
                    onChange={() => void room.interpretation.listen(c.language)} />
                  <span>
                    <span lang={c.language}>{languageName(c.language)}</span>
                    {notes.length > 0 && <span class="hint interpretation-note" id={noteId}>{notes.join(" · ")}</span>}
                  </span>
                </label>
              );
            })}
          </fieldset>
          <div class="interpretation-floor-level">
            <label>
              {t("interpretation.floorLevel")}
              <span class="interpretation-level-row">
                <input type="range" min={0} max={100} step={5} value={percent} data-testid="interpretation-floor-level"
                  aria-valuetext={percent === 0 ? t("interpretation.floorOffShort") : `${percent} %`}
                  onInput={(e) => interpretationPrefs.set({ floorLevel: Number(e.currentTarget.value) / 100 })} />
                <output dir="ltr">{percent === 0 ? t("interpretation.floorOffShort") : `${percent} %`}</output>
              </span>
            </label>
            <label class="check">
              <input type="checkbox" checked={prefs.floorLevel === 0} data-testid="interpretation-floor-off"
                onChange={(e) => interpretationPrefs.set({ floorLevel: e.currentTarget.checked ? 0 : lastLevel.current })} />
              <span>{t("interpretation.floorOff")}</span>
            </label>
          </div>
        </div>
      )}
    </div>
  );
}

/** The remote audio split for the mix: the floor, the channel listened to, and the rest (booth links). */
export function splitAudio(remote: readonly RemoteStream[], state: RoomState): {
  floor: MediaStreamTrack[];
  channel: MediaStreamTrack[];
} {
  const channelFeeds = channelFeedIds(state.interpretation);
  const floor: MediaStreamTrack[] = [];
  const channel: MediaStreamTrack[] = [];
  for (const s of remote) {
    if (s.kind !== "audio" || !s.track) continue;
    if (channelFeeds.has(s.feed)) channel.push(s.track);
    else if (state.feeds.get(s.feed)?.source !== "booth") floor.push(s.track);
  }
  return { floor, channel };
}

/**
 * Plays the channel over the ducked floor while one is received (returns whether it does: the
 * media elements of those tracks are muted then, kept only so the browser feeds WebAudio).
 */
export function useInterpretationMix(room: Room, state: RoomState, remote: readonly RemoteStream[], sinkId: string | null): boolean {
  const prefs = useStore(interpretationPrefs);
  const mix = useMemo(() => (ChannelMix.supported() ? new ChannelMix() : null), [room]);
  useEffect(() => {
    if (!mix) return undefined;
    setCurrentMix(mix);
    return () => {
      setCurrentMix(null);
      mix.close();
    };
  }, [mix]);
  const { floor, channel } = splitAudio(remote, state);
  const onAir = listenedChannel(state.interpretation)?.on_air ?? false;
  const key = `${floor.map((t) => t.id).join(",")}|${channel.map((t) => t.id).join(",")}`;
  useEffect(() => {
    mix?.update({ floor, channel, onAir, duck: prefs.floorLevel, sinkId });
  }, [mix, key, onAir, prefs.floorLevel, sinkId]);
  return mix !== null && channel.length > 0;
}
