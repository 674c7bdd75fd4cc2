/**
 * Audio quality in the meeting. While the microphone is on, this client rates it (the check of
 * the pre-join page, over the last seconds) and tells the server with `audio.quality` when the
 * rating changes; the server tells the speaker, the hosts and co-hosts and the interpreters
 * when someone's audio is poor (or no longer is), and this shows it: to the speaker, "Interpreters
 * may not understand you", with the reasons; to hosts and interpreters, who and why.
 *
 * The rating is of the track sent (what the interpreters hear), except clipping: the browser's gain
 * control hides it there, so while the microphone is on the same device is also opened without
 * processing, for analysis only (never sent), and stopped when the microphone is muted, changed or
 * the meeting left. Where the browser refuses that second capture, the track sent alone is rated.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { AudioMonitor, openRawMicrophone, report, type AudioIssue, type RatingResult } from "../../engine/audio-check";
import { useLanguage, useT } from "../../i18n/hook";
import type { Room } from "../../room/room";
import { audioWarnings } from "../../room/interpretation";
import type { RoomState } from "../../room/state";
import { useEvent } from "../hooks";
import { Icon } from "../icons";
import { issueReason } from "../pages/audio-check-panel";
import "../pages/audio-check.css";

/** Seconds of audio each rating looks at, and how often it is taken (the server accepts a report
 * every 2 s). */
const WINDOW_SECONDS = 8;
const UPDATE_MS = 2_500;

const same = (a: RatingResult | null, b: RatingResult | null) =>
  a?.rating === b?.rating && (a?.issues ?? []).join() === (b?.issues ?? []).join();

export function AudioWarning({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const lang = useLanguage();
  const local = useEvent(room.local, "change", room.local.state);
  const [own, setOwn] = useState<RatingResult | null>(null);
  const sent = useRef<RatingResult | null>(null);
  const track = local.audioTrack;
  const measuring = state.phase === "joined" && local.micOn && !!track;

  useEffect(() => {
    if (!measuring || !track) {
      setOwn(null);
      return undefined;
    }
    let stopped = false;
    let monitor: AudioMonitor | null = null;
    let raw: MediaStreamTrack | null = null;
    void openRawMicrophone(track).then((opened) => {
      if (stopped) {
        opened?.stop();
        return;
      }
      raw = opened;
      monitor = new AudioMonitor(track, {
        windowSeconds: WINDOW_SECONDS,
        updateMs: UPDATE_MS,
        raw,
        onUpdate: ({ measures, result }) => {
          if (!result || same(result, sent.current)) return;
          setOwn(result);
          sent.current = result;
          room.signaling.request("audio.quality", report(result, measures)).catch(() => {
            // Refused (rate limited) or the connection is away: sent again on the next change.
            sent.current = null;
          });
        },
      });
      monitor.start();
    });
    return () => {
      stopped = true;
      monitor?.stop();
      raw?.stop();
    };
  }, [measuring, track, room]);

  const list = (issues: readonly AudioIssue[]) =>
    new Intl.ListFormat(lang, { type: "conjunction" }).format(issues.map((i) => issueReason(t, i)));
  const selfId = state.selfId;
  const told = audioWarnings(state.interpretation);
  const selfEvent = told.find((w) => w.participant_id === selfId);
  const selfIssues = own?.rating === "poor" ? own.issues : selfEvent ? selfEvent.issues : null;
  const others = told.filter((w) => w.participant_id !== selfId);
  if (selfIssues === null && others.length === 0) return null;
  return (
    <div class="audio-warnings" role="status" aria-live="polite">
      {selfIssues !== null && (
        <p class="audio-warning notice warn" data-testid="audio-warning" data-participant={selfId ?? ""}>
          <Icon name="micOff" /> {t("audioWarning.self", { reasons: list(selfIssues) })}
        </p>
      )}
      {others.map((w) => (
        <p key={w.participant_id} class="audio-warning notice warn" data-testid="audio-warning" data-participant={w.participant_id}>
          {t("audioWarning.other", {
            name: state.participants.get(w.participant_id)?.display_name ?? t("audioWarning.someone"),
            reasons: list(w.issues),
          })}
        </p>
      ))}
    </div>
  );
}
