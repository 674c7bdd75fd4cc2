/** "You are presenting" bar with a Stop button, shown while this person shares their screen. */
import { useT } from "../../i18n/hook";
import type { Room } from "../../room/room";
import { Icon } from "../icons";

export function PresentingBar({ room }: { room: Room }) {
  const t = useT();
  if (!room.media.sharing) return null;
  return (
    <div class="presenting-bar" role="region" aria-label={t("presenting.label")} data-testid="presenting-bar">
      <Icon name="screen" size={18} />
      <span>{t("presenting.text")}</span>
      <button type="button" class="btn small danger" data-testid="stop-presenting" onClick={() => void room.toggleScreenShare()}>
        {t("presenting.stop")}
      </button>
    </div>
  );
}
