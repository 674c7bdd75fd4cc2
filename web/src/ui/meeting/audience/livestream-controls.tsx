/**
 * The livestream's controls for hosts and co-hosts: start (with an optional RTMP URL, typed
 * masked and never shown back but as its host), stop, the state and health, and the links to
 * copy (the HLS playlist for players and CDNs, the watch page for browsers).
 */
import { useState } from "preact/hooks";
import { isolate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { health, isRunning, rtmpProblem, watchPath } from "../../../room/livestream";
import type { Room } from "../../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { copyText } from "../../hooks";
import { Icon } from "../../icons";
import "./audience.css";

/** The same in every language: a URL's scheme. */
const RTMP_EXAMPLE = "rtmps://…";

export function LivestreamControls({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const live = state.livestream;
  const [rtmp, setRtmp] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<"hls" | "watch" | null>(null);
  if (!isHostRole(selfInfo(state))) return null;
  const running = isRunning(live);
  const h = health(live);
  const absolute = (path: string) => new URL(path, location.href).toString();
  const watch = watchPath(live.url);

  const start = async (ev: Event) => {
    ev.preventDefault();
    const url = rtmp.trim();
    const bad = url ? rtmpProblem(url) : null;
    if (bad) {
      setProblem(t(`livestream.rtmp.${bad}`));
      return;
    }
    setProblem(null);
    setBusy(true);
    if (await room.livestream.start(url || undefined)) setRtmp("");
    setBusy(false);
  };
  const copy = async (which: "hls" | "watch", text: string) => {
    if (await copyText(text)) {
      setCopied(which);
      setTimeout(() => setCopied(null), 2000);
    }
  };

  return (
    <section class="livestream-box" aria-labelledby="livestream-title" data-testid="livestream-controls" data-state={live.state} data-health={h}>
      <h3 id="livestream-title">{t("livestream.title")}</h3>
      <p role="status" aria-live="polite" data-testid="livestream-state">
        {h === "live" && <span class="live-badge">{t("audience.liveBadge")}</span>}{" "}
        {t(`livestream.state.${h}`)}
      </p>
      {running || live.state === "stopping" ? (
        <>
          <dl>
            {live.by && (<><dt>{t("livestream.startedBy")}</dt><dd><bdi>{live.by.display_name}</bdi></dd></>)}
            {live.health.segment_age_seconds !== null && (
              <><dt>{t("livestream.segmentAge")}</dt><dd data-testid="livestream-segment-age">{t("livestream.seconds", { count: Math.round(live.health.segment_age_seconds) })}</dd></>
            )}
            {live.health.restarts > 0 && (<><dt>{t("livestream.restarts")}</dt><dd>{live.health.restarts}</dd></>)}
            {live.health.last_error && (<><dt>{t("livestream.lastError")}</dt><dd dir="auto">{live.health.last_error}</dd></>)}
            {live.rtmp_target && (
              <><dt>{t("livestream.rtmpTarget")}</dt><dd><bdi dir="ltr">{live.rtmp_target}</bdi> · {t(`livestream.rtmpState.${live.rtmp}`)}</dd></>
            )}
          </dl>
          {live.url && (
            <div class="livestream-url">
              <code dir="ltr" data-testid="livestream-url">{absolute(live.url)}</code>
              <button type="button" class="btn small" data-testid="livestream-copy-hls"
                onClick={() => live.url && void copy("hls", absolute(live.url))}>
                <Icon name="copy" size={16} /> {copied === "hls" ? t("home.copied") : t("livestream.copyHls")}
              </button>
            </div>
          )}
          {watch && (
            <div class="livestream-url">
              <code dir="ltr" data-testid="livestream-watch-url">{absolute(watch)}</code>
              <button type="button" class="btn small" data-testid="livestream-copy-watch" onClick={() => void copy("watch", absolute(watch))}>
                <Icon name="copy" size={16} /> {copied === "watch" ? t("home.copied") : t("livestream.copyWatch")}
              </button>
            </div>
          )}
          <button type="button" class="btn danger small" data-testid="livestream-stop" disabled={busy || live.state === "stopping"}
            onClick={async () => {
              setBusy(true);
              await room.livestream.stop();
              setBusy(false);
            }}>
            {t("livestream.stop")}
          </button>
        </>
      ) : (
        <form class="form" onSubmit={start}>
          {!live.available && <p class="muted small" data-testid="livestream-unavailable">{t("livestream.unavailable")}</p>}
          {live.state === "failed" && live.health.last_error && <p class="warn small" dir="auto">{isolate(live.health.last_error)}</p>}
          <label>
            {t("livestream.rtmpUrl")}
            {/* A password field: the stream key is not shown on a shared screen. */}
            <input type="password" autoComplete="off" spellcheck={false} maxLength={1000} value={rtmp} dir="ltr"
              data-testid="livestream-rtmp" aria-describedby="livestream-rtmp-hint" aria-invalid={problem ? "true" : undefined}
              placeholder={RTMP_EXAMPLE} onInput={(e) => setRtmp(e.currentTarget.value)} />
          </label>
          <p class="hint" id="livestream-rtmp-hint">{t("livestream.rtmpHint")}</p>
          {problem && <p class="error small" role="alert" data-testid="livestream-rtmp-error">{problem}</p>}
          <button type="submit" class="btn primary small" data-testid="livestream-start" disabled={busy || !live.available}>
            {t("livestream.start")}
          </button>
        </form>
      )}
    </section>
  );
}
