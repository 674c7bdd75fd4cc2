/**
 * What an event's attendee sees: the program big (the stage in speaker view, or the livestream),
 * the "watching live / watching the stream" switch, and the audience count.
 */
import type { ComponentChildren } from "preact";
import { useT } from "../../../i18n/hook";
import { hlsReason, isEventMode, watching } from "../../../room/audience";
import { isPlayable } from "../../../room/livestream";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";
import { Icon } from "../../icons";
import { HlsPlayer } from "./hls-player";
import "./audience.css";

/** "Watching live" (WebRTC, under a second behind) or "watching the stream" (HLS). */
export function WatchSwitch({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const view = watching(state.audience);
  const reason = hlsReason(state.audience);
  return (
    <div class="watch-switch-wrap" data-testid="watch-switch" data-view={view}>
      <div class="watch-switch" role="group" aria-label={t("audience.watchWith")}>
        <button type="button" aria-pressed={view === "webrtc"} data-testid="watch-live"
          onClick={() => room.watchWith("webrtc")}>
          {t("audience.watchLive")}
        </button>
        <button type="button" aria-pressed={view === "hls"} data-testid="watch-stream"
          aria-describedby="watch-stream-note" onClick={() => room.watchWith("hls")}>
          {t("audience.watchStream")}
        </button>
      </div>
      <span id="watch-stream-note" class="sr-only">{t("audience.watchStreamNote")}</span>
      {reason === "full" && <p class="watch-note" role="status" data-testid="watch-full">{t("audience.fullNote")}</p>}
    </div>
  );
}

/**
 * The attendee's stage: the livestream while they watch it (or a word that it has not started,
 * with the way back to watching live), else `children` (the stage in speaker view).
 */
export function AudienceStage({ room, state, children }: { room: Room; state: RoomState; children: ComponentChildren }) {
  const t = useT();
  if (watching(state.audience) !== "hls") return <>{children}</>;
  const live = state.livestream;
  if (!isPlayable(live) || live.url === null) {
    return (
      <div class="stage stream-waiting" data-testid="stream-waiting" role="status" aria-live="polite">
        <Icon name="info" />
        <p>{live.state === "failed" ? t("audience.streamFailed") : t("audience.streamNotStarted")}</p>
        {!state.audience.full && (
          <button type="button" class="btn primary" data-testid="stream-waiting-live" onClick={() => room.watchWith("webrtc")}>
            {t("audience.watchLive")}
          </button>
        )}
      </div>
    );
  }
  return (
    <div class="stage" data-testid="audience-stream">
      <HlsPlayer url={live.url} listening={state.interpretation.listening} reading={state.captions.reading} />
    </div>
  );
}

/** "1,234 watching" in an event's header (everyone sees it; the count comes once a second at most). */
export function AudienceCount({ state }: { state: RoomState }) {
  const t = useT();
  if (!isEventMode(state.meeting)) return null;
  const count = state.audience.count;
  return (
    <span class="audience-count" data-testid="audience-count" data-count={count}>
      <Icon name="people" size={16} />
      <span>{t("audience.watching", { count })}</span>
    </span>
  );
}

/** A red "LIVE" badge in the header while the livestream is on. */
export function LiveBadge({ state }: { state: RoomState }) {
  const t = useT();
  if (state.livestream.state !== "live") return null;
  return <span class="live-badge" data-testid="live-badge" role="img" aria-label={t("audience.liveBadgeLabel")}>{t("audience.liveBadge")}</span>;
}
