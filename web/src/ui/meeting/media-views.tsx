import { useEffect, useRef, useState } from "preact/hooks";
import type { DeviceLists, LocalMedia } from "../../engine/local";
import { watchLevel } from "../../engine/level";
import { useT } from "../../i18n/hook";
import { useEvent } from "../hooks";

/** A `<video>` showing one track (muted: audio plays through RemoteAudio). */
export function VideoView({ track, mirror = false, fit = "cover", testid, label }: {
  track: MediaStreamTrack;
  mirror?: boolean;
  fit?: "cover" | "contain";
  testid?: string;
  label?: string;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => undefined);
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  return (
    <video
      ref={ref}
      class={`video ${mirror ? "mirror" : ""} ${fit}`}
      autoplay
      playsInline
      muted
      data-testid={testid}
      aria-label={label}
    />
  );
}

/**
 * Plays one remote audio track, on the chosen speaker when the browser allows choosing.
 * `onBlocked` is called when the browser's autoplay policy refused to play.
 */
export function AudioSink({ track, sinkId, onBlocked, muted = false }: {
  track: MediaStreamTrack;
  sinkId: string | null;
  onBlocked: () => void;
  /** Played through the interpretation mix instead (the element still feeds it in Chromium). */
  muted?: boolean;
}) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch((err: unknown) => {
      if (err instanceof DOMException && err.name === "NotAllowedError") onBlocked();
    });
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  useEffect(() => {
    const el = ref.current as (HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (el && sinkId && el.setSinkId) el.setSinkId(sinkId).catch(() => undefined);
  }, [sinkId]);
  return <audio ref={ref} autoplay muted={muted} data-testid="remote-audio" />;
}

export function MicLevel({ track }: { track: MediaStreamTrack | null }) {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    setLevel(0);
    if (!track) return undefined;
    let last = 0;
    return watchLevel(track, (l) => {
      // Re-render at most ~15 times a second.
      const now = performance.now();
      if (now - last > 66) {
        last = now;
        setLevel(l);
      }
    });
  }, [track]);
  const t = useT();
  return (
    <div class="mic-level" role="meter" aria-label={t("media.micLevel")} aria-valuemin={0} aria-valuemax={100}
      aria-valuenow={Math.round(level * 100)} data-testid="mic-level">
      <div class="mic-level-bar" style={{ width: `${Math.round(level * 100)}%` }} />
    </div>
  );
}

/** Microphone, camera and speaker selects. */
export function DevicePickers({ local, compact = false }: { local: LocalMedia; compact?: boolean }) {
  const state = useEvent(local, "change", local.state);
  const t = useT();
  const [devices, setDevices] = useState<DeviceLists>({ microphones: [], cameras: [], speakers: [] });
  useEffect(() => {
    const refresh = () => void local.devices().then(setDevices, () => undefined);
    refresh();
    navigator.mediaDevices?.addEventListener?.("devicechange", refresh);
    return () => navigator.mediaDevices?.removeEventListener?.("devicechange", refresh);
    // Labels appear once permission is granted: list again when a track starts.
  }, [local, state.audioTrack, state.videoTrack]);

  const current = (track: MediaStreamTrack | null, chosen: string | null) => track?.getSettings().deviceId ?? chosen ?? "";
  return (
    <div class={`device-pickers ${compact ? "compact" : ""}`}>
      <label>
        {t("media.microphone")}
        <select data-testid="select-microphone" value={current(state.audioTrack, state.micDeviceId)}
          onChange={(e) => void local.selectMic(e.currentTarget.value)}>
          {devices.microphones.length === 0 && <option value="">{t("media.default")}</option>}
          {devices.microphones.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || t("media.microphoneN", { n: i + 1 })}</option>)}
        </select>
      </label>
      <label>
        {t("media.camera")}
        <select data-testid="select-camera" value={current(state.videoTrack, state.cameraDeviceId)}
          onChange={(e) => void local.selectCamera(e.currentTarget.value)}>
          {devices.cameras.length === 0 && <option value="">{t("media.default")}</option>}
          {devices.cameras.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || t("media.cameraN", { n: i + 1 })}</option>)}
        </select>
      </label>
      {devices.speakers.length > 0 && (
        <label>
          {t("media.speaker")}
          <select data-testid="select-speaker" value={state.speakerDeviceId ?? ""}
            onChange={(e) => local.selectSpeaker(e.currentTarget.value)}>
            {devices.speakers.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || t("media.speakerN", { n: i + 1 })}</option>)}
          </select>
        </label>
      )}
    </div>
  );
}
