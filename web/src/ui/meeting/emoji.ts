/**
 * The reactions' emoji font (see ../emoji.css): loaded when the meeting opens, so the first
 * reaction someone sends is drawn in colour at once rather than as a box that turns into an emoji.
 */
import "../emoji.css";

export const REACTION_FONT_FAMILY = "Convene Emoji";

export function preloadReactionFont(): void {
  if (typeof document === "undefined" || !document.fonts?.load) return;
  document.fonts.load(`1em "${REACTION_FONT_FAMILY}"`, "\u{1F44D}").catch(() => undefined);
}
