/**
 * A promotion and a demotion as the person sees them: "You can now speak" with the device check
 * (nothing is sent until they join the panel), or a word that they are back in the audience.
 */
import { useEffect } from "preact/hooks";
import { isolate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";
import { Modal } from "../../dialog";
import { DevicePreview } from "../../pages/preview";
import "./audience.css";

export function PromotionNotice({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const notice = state.audience.notice;
  // The demotion's word stays a few seconds (it is also said politely to screen readers).
  useEffect(() => {
    if (notice?.kind !== "demoted") return;
    const timer = setTimeout(() => room.dismissAudienceNotice(), 8_000);
    return () => clearTimeout(timer);
  }, [room, notice]);
  if (!notice) return null;
  if (notice.kind === "demoted") {
    return (
      <div class="banner show" role="status" data-testid="demoted-notice">
        <span>{t("audience.demoted", { name: isolate(notice.by.display_name) })}</span>
        <button type="button" class="btn small" onClick={() => room.dismissAudienceNotice()}>{t("common.close")}</button>
      </div>
    );
  }
  return (
    <Modal title={t("audience.promotedTitle")} onClose={() => void room.joinPanel()} testid="promoted-dialog"
      initialFocus='[data-testid="promoted-join"]'>
      <div class="promoted-dialog">
        <p>{t("audience.promotedText", { name: isolate(notice.by.display_name) })}</p>
        <DevicePreview local={room.local} prefix="promoted" />
        <div class="row">
          <button type="button" class="btn primary" data-testid="promoted-join" onClick={() => void room.joinPanel()}>
            {t("audience.joinPanel")}
          </button>
        </div>
      </div>
    </Modal>
  );
}
