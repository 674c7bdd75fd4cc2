/**
 * The device check before entering: camera preview, microphone and camera switches, the
 * microphone's level, device choice and a speaker test. Shown on the pre-join page (guests and
 * hosts alike) and in the waiting room.
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { LocalMedia } from "../../engine/local";
import { toneWav } from "../../engine/tone";
import { useT } from "../../i18n/hook";
import { useEvent } from "../hooks";
import { Icon } from "../icons";
import { DevicePickers, MicLevel, VideoView } from "../meeting/media-views";
import { savePrefs } from "../session";
import { AudioCheckPanel } from "./audio-check-panel";

/** `prefix` names the test ids: "join" on the pre-join page, "waiting" in the waiting room, "promoted" when an event's attendee may now speak. */
export function DevicePreview({ local, prefix }: { local: LocalMedia; prefix: "join" | "waiting" | "promoted" }) {
  const t = useT();
  const state = useEvent(local, "change", local.state);
  return (
    <section class="join-preview card" aria-label={t("controls.devices")} data-testid={`${prefix}-device-check`}>
      <div class="preview-video">
        {state.cameraOn && state.videoTrack ? (
          <VideoView track={state.videoTrack} mirror testid={`${prefix}-preview`} />
        ) : (
          <div class="preview-off" data-testid={`${prefix}-preview`}>{t("join.cameraOff")}</div>
        )}
      </div>
      <div class="row center">
        <button type="button" class={`round ${state.micOn ? "" : "off"}`} data-testid={`${prefix}-mic-toggle`}
          aria-pressed={state.micOn} aria-label={state.micOn ? t("join.micOff") : t("join.micOn")}
          onClick={() => {
            // Remembered as chosen, not as the devices happen to be when Join is pressed (a
            // preview still opening would otherwise be saved as "off").
            savePrefs({ mic: !state.micOn });
            void local.setMic(!state.micOn);
          }}>
          <Icon name={state.micOn ? "mic" : "micOff"} />
        </button>
        <button type="button" class={`round ${state.cameraOn ? "" : "off"}`} data-testid={`${prefix}-camera-toggle`}
          aria-pressed={state.cameraOn} aria-label={state.cameraOn ? t("join.cameraOffAction") : t("join.cameraOn")}
          onClick={() => {
            savePrefs({ camera: !state.cameraOn });
            void local.setCamera(!state.cameraOn);
          }}>
          <Icon name={state.cameraOn ? "cam" : "camOff"} />
        </button>
        <MicLevel track={state.micOn ? state.audioTrack : null} />
      </div>
      {state.error && <p class="warn" role="status">{state.error}</p>}
      <DevicePickers local={local} />
      <SpeakerTest local={local} />
      <AudioCheckPanel local={local} />
    </section>
  );
}

type TestState = "idle" | "playing" | "played" | "failed";

type SinkAudio = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void>; sinkId?: string };

/** Plays a short sound through the chosen speaker (`setSinkId` where the browser has it). */
export function SpeakerTest({ local }: { local: LocalMedia }) {
  const t = useT();
  const speaker = useEvent(local, "change", local.state).speakerDeviceId;
  const ref = useRef<HTMLAudioElement>(null);
  const [test, setTest] = useState<TestState>("idle");
  const url = useMemo(() => URL.createObjectURL(new Blob([toneWav()], { type: "audio/wav" })), []);
  useEffect(() => () => URL.revokeObjectURL(url), [url]);

  const play = async () => {
    const el = ref.current as SinkAudio | null;
    if (!el) return;
    setTest("playing");
    try {
      if (el.setSinkId && (el.sinkId ?? "") !== (speaker ?? "")) await el.setSinkId(speaker ?? "");
      el.currentTime = 0;
      await el.play();
    } catch {
      setTest("failed");
    }
  };

  return (
    <div class="speaker-test">
      <button type="button" class="btn small" data-testid="speaker-test" data-state={test}
        disabled={test === "playing"} onClick={() => void play()}>
        {test === "playing" ? t("media.testingSpeaker") : t("media.testSpeaker")}
      </button>
      <span class="muted small" role="status">
        {test === "played" ? t("media.speakerTestPlayed") : test === "failed" ? t("media.speakerTestFailed") : ""}
      </span>
      <audio ref={ref} src={url} preload="auto" data-testid="speaker-test-audio"
        onEnded={() => setTest("played")} onError={() => setTest("failed")} />
    </div>
  );
}
