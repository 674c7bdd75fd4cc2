/**
 * "Check my microphone for interpretation": the person speaks for a few seconds; the panel shows
 * the level, then rates the microphone (good, fair, poor) with the reasons and what to do.
 *
 * The check opens the microphone again without the browser's echo cancellation, noise
 * suppression and gain control, so that it rates the microphone itself (those would hide
 * noise and clipping that the interpreters' feed may still carry).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { AudioMonitor, type AudioIssue, type RatingResult } from "../../engine/audio-check";
import type { LocalMedia } from "../../engine/local";
import { useT } from "../../i18n/hook";
import type { Translate } from "../../i18n/index";
import { useEvent } from "../hooks";
import "./audio-check.css";

/** How long the person speaks. */
export const CHECK_SECONDS = 6;

type Phase = { kind: "idle" } | { kind: "listening" } | { kind: "done"; result: RatingResult | null } | { kind: "failed" };

export function issueReason(t: Translate, issue: AudioIssue): string {
  return t(`audioCheck.issue.${issue}`);
}

export function AudioCheckPanel({ local }: { local: LocalMedia }) {
  const t = useT();
  const state = useEvent(local, "change", local.state);
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });
  const [level, setLevel] = useState(0);
  const [live, setLive] = useState<RatingResult | null>(null);
  const stopRef = useRef<(() => void) | null>(null);
  useEffect(() => () => stopRef.current?.(), []);

  const start = async () => {
    stopRef.current?.();
    setLive(null);
    setLevel(0);
    let stream: MediaStream;
    try {
      const device = state.micDeviceId ? { deviceId: { exact: state.micDeviceId } } : {};
      stream = await navigator.mediaDevices.getUserMedia({
        audio: { ...device, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
      });
    } catch {
      setPhase({ kind: "failed" });
      return;
    }
    const track = stream.getAudioTracks()[0];
    if (!track) {
      setPhase({ kind: "failed" });
      return;
    }
    let latest: RatingResult | null = null;
    const monitor = new AudioMonitor(track, {
      windowSeconds: 0,
      updateMs: 200,
      onUpdate: (u) => {
        latest = u.result;
        setLevel(u.level);
        setLive(u.result);
      },
    });
    const timer = setTimeout(() => finish(), CHECK_SECONDS * 1000);
    const stop = () => {
      clearTimeout(timer);
      monitor.stop();
      for (const tr of stream.getTracks()) tr.stop();
      stopRef.current = null;
    };
    const finish = () => {
      stop();
      setLevel(0);
      setPhase({ kind: "done", result: latest });
    };
    stopRef.current = stop;
    if (!monitor.start()) {
      stop();
      setPhase({ kind: "failed" });
      return;
    }
    setPhase({ kind: "listening" });
  };

  const result = phase.kind === "done" ? phase.result : null;
  const rating = phase.kind === "done" ? (result?.rating ?? "none") : phase.kind === "listening" ? "pending" : phase.kind;
  return (
    <section class="audio-check" data-testid="audio-check" aria-labelledby="audio-check-title">
      <h3 id="audio-check-title" class="audio-check-title">{t("audioCheck.title")}</h3>
      <p class="muted small">{t("audioCheck.intro", { seconds: CHECK_SECONDS })}</p>
      <div class="row">
        <button type="button" class="btn small" data-testid="audio-check-start"
          disabled={phase.kind === "listening"} onClick={() => void start()}>
          {phase.kind === "idle" ? t("audioCheck.start") : t("audioCheck.again")}
        </button>
        {phase.kind === "listening" && (
          <div class="mic-level" role="meter" aria-label={t("media.micLevel")} aria-valuemin={0} aria-valuemax={100}
            aria-valuenow={Math.round(level * 100)} data-testid="audio-check-level">
            <div class="mic-level-bar" style={{ width: `${Math.round(level * 100)}%` }} />
          </div>
        )}
      </div>
      <div class={`audio-check-rating rating-${rating}`} data-testid="audio-check-rating" data-rating={rating}
        role="status" aria-live="polite">
        {phase.kind === "listening" && (
          <span>{live ? t("audioCheck.listeningRated", { rating: t(`audioCheck.rating.${live.rating}`) }) : t("audioCheck.listening")}</span>
        )}
        {phase.kind === "failed" && <span>{t("audioCheck.failed")}</span>}
        {phase.kind === "done" && !result && <span>{t("audioCheck.noSpeech")}</span>}
        {result && (
          <>
            <strong>{t(`audioCheck.rating.${result.rating}`)}</strong>
            {result.issues.length > 0 && (
              <ul class="audio-check-issues">
                {result.issues.map((issue) => (
                  <li key={issue} data-issue={issue}>
                    {t("audioCheck.issueLine", { reason: issueReason(t, issue), advice: t(`audioCheck.advice.${issue}`) })}
                  </li>
                ))}
              </ul>
            )}
            {result.rating === "good" && <span> {t("audioCheck.goodNote")}</span>}
          </>
        )}
      </div>
    </section>
  );
}
