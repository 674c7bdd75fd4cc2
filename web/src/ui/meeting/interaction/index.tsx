/**
 * Audience interaction in the meeting: bullet comments (the overlay, the bar, the list panel),
 * reaction bursts, Q&A and polls. The meeting places these; it knows nothing of their insides.
 */
import { openCount } from "../../../room/qa";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { useT } from "../../../i18n/hook";
import { Icon } from "../../icons";

export { CommentBar, CommentsPanel } from "./comments";
export { InteractionSettings } from "./settings";
export { CommentsOverlay } from "./danmaku";
export { ReactionBursts } from "./bursts";
export { QaPanel } from "./qa";
export { PollCard, PollsPanel } from "./polls";

/** The control bar's Q&A and Polls buttons (Q&A while it is on or has questions; polls when there are any, or for hosts). */
export function InteractionButtons({ state, panel, toggle }: {
  state: RoomState;
  /** The side panel open now. */
  panel: string | null;
  /** Opens the panel, or closes it when open. */
  toggle: (panel: "qa" | "polls") => void;
}) {
  const t = useT();
  const moderator = isHostRole(selfInfo(state));
  const questions = openCount(state.qa);
  const showQa = state.qa.enabled || state.qa.questions.size > 0;
  const showPolls = moderator || state.polls.polls.size > 0;
  return (
    <>
      {showQa && (
        <button type="button" class={`control ${panel === "qa" ? "active" : ""}`} data-testid="qa-button"
          aria-pressed={panel === "qa"} onClick={() => toggle("qa")}>
          <Icon name="info" />
          <span class="control-label">{t("qa.button")}</span>
          {questions > 0 && <span class="count" aria-hidden="true" data-testid="qa-count">{questions > 99 ? "99+" : questions}</span>}
          {questions > 0 && <span class="sr-only">{t("qa.openCount", { count: questions })}</span>}
        </button>
      )}
      {showPolls && (
        <button type="button" class={`control ${panel === "polls" ? "active" : ""}`} data-testid="polls-button"
          aria-pressed={panel === "polls"} onClick={() => toggle("polls")}>
          <Icon name="signal" />
          <span class="control-label">{t("polls.button")}</span>
        </button>
      )}
    </>
  );
}
