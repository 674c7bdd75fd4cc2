/**
 * For the meeting settings panel (hosts and co-hosts): bullet comments and Q&A on or off for
 * everyone (the slow mode and word filter are in the comment bar's settings, anonymity in the
 * Q&A panel). A box just changed keeps its new state until the server answers.
 */
import { useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";
import { useT } from "../../../i18n/hook";

export function InteractionSettings({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const [pending, setPending] = useState<{ comments?: boolean; qa?: boolean }>({});
  const [error, setError] = useState<string | null>(null);
  const change = (key: "comments" | "qa", value: boolean) => {
    setPending((p) => ({ ...p, [key]: value }));
    setError(null);
    const call = key === "comments" ? room.comments.settings({ enabled: value }) : room.qa.settings({ enabled: value });
    void call.catch((err: unknown) => setError(describeError(err))).finally(() =>
      setPending((p) => ({ ...p, [key]: undefined })));
  };
  return (
    <>
      <label class="check">
        <input type="checkbox" checked={pending.comments ?? state.comments.enabled} data-testid="setting-comments"
          onChange={(e) => change("comments", e.currentTarget.checked)} />
        {t("comments.enabledForAll")}
      </label>
      <label class="check">
        <input type="checkbox" checked={pending.qa ?? state.qa.enabled} data-testid="setting-qa"
          onChange={(e) => change("qa", e.currentTarget.checked)} />
        {t("qa.enabledForAll")}
      </label>
      {error && <p class="error small" role="alert">{error}</p>}
    </>
  );
}
