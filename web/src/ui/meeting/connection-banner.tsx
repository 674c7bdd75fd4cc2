/**
 * The connection banner: laid over the meeting (it never moves the layout), shown as soon as the
 * browser reports it is offline, a media connection loses its path, or the signaling socket
 * drops; it goes when the meeting is back.
 */
import { useState } from "preact/hooks";
import type { Room } from "../../room/room";
import type { RoomState } from "../../room/state";
import { useT } from "../../i18n/hook";
import { useEvent } from "../hooks";

interface BannerContent {
  text: string;
  action: { label: string; run: () => void } | null;
  bad: boolean;
}

export function ConnectionBanner({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const link = useEvent(room, "link", room.link);
  const [busy, setBusy] = useState(false);
  const rejoin = () => {
    setBusy(true);
    room.rejoin().catch(() => undefined).finally(() => setBusy(false));
  };
  const retry = { label: t("connection.retry"), run: () => room.signaling.reconnectNow() };

  let content: BannerContent | null = null;
  if (state.connection === "disconnected") {
    content = {
      text: state.connectionError
        ? t("connection.disconnectedBecause", { reason: state.connectionError })
        : t("connection.disconnected"),
      action: { label: t("connection.rejoin"), run: rejoin },
      bad: true,
    };
  } else if (link.offline) {
    content = { text: t("connection.offline"), action: null, bad: false };
  } else if (state.connection === "reconnecting") {
    content = {
      text: state.reconnectAttempt > 1
        ? t("connection.lostAttempt", { attempt: state.reconnectAttempt })
        : t("connection.lost"),
      action: retry,
      bad: false,
    };
  } else if (state.connection === "connecting") {
    content = { text: t("connection.connecting"), action: null, bad: false };
  } else if (link.media === "failed") {
    content = { text: t("connection.mediaFailed"), action: { label: t("connection.reconnect"), run: rejoin }, bad: true };
  } else if (link.media === "interrupted") {
    content = { text: t("connection.mediaInterrupted"), action: null, bad: false };
  }

  // The live region stays in the page so that screen readers announce what appears in it.
  return (
    <div class="connection-banner" role="status" aria-live="polite" data-testid="connection-state"
      data-state={state.connection} data-offline={link.offline ? "true" : "false"} data-media={link.media}>
      {content && (
        <div class={`connection-banner-box ${content.bad ? "bad" : ""}`} data-testid="connection-banner">
          <span>{content.text}</span>
          {content.action && (
            <button type="button" class="btn small" data-testid="connection-retry" disabled={busy}
              onClick={content.action.run}>
              {content.action.label}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
