/** The meeting's View menu: hide the self-view, tiles per page, a sound with notices. */
import { useCallback, useState } from "preact/hooks";
import { useT } from "../../i18n/hook";
import { useDismiss } from "../hooks";
import { Icon } from "../icons";
import { usePopover } from "../keyboard";
import { TILE_CHOICES, useViewPrefs, viewPrefs, type TilesChoice } from "./view-prefs";

export function ViewMenu() {
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  const ref = useDismiss<HTMLDivElement>(open, close);
  // Focus into it on opening; Escape (or Tab past its end) closes it and returns to the button.
  const popover = usePopover(open, setOpen);
  const prefs = useViewPrefs();
  const t = useT();
  return (
    <div class="menu-wrap" ref={ref}>
      <button type="button" class="btn ghost small" data-testid="view-options-button" aria-haspopup="dialog" aria-expanded={open}
        aria-label={t("view.options")} ref={popover.buttonRef} onKeyDown={popover.onButtonKeyDown} onClick={() => setOpen(!open)}>
        <Icon name="grid" size={16} /> <span class="btn-label">{t("view.label")}</span>
      </button>
      {open && (
        <div class="popover view-popover" role="dialog" aria-label={t("view.options")} data-testid="view-options"
          ref={popover.popupRef} onKeyDown={popover.onPopupKeyDown}>
          <label class="check">
            <input type="checkbox" checked={prefs.hideSelf} data-testid="view-hide-self"
              onChange={(e) => viewPrefs.set({ hideSelf: e.currentTarget.checked })} />
            {t("view.hideSelf")}
          </label>
          <label>
            {t("view.tilesPerPage")}
            <select value={String(prefs.tilesPerPage)} data-testid="view-tiles-per-page"
              onChange={(e) => {
                const value = e.currentTarget.value;
                viewPrefs.set({ tilesPerPage: value === "auto" ? "auto" : (Number(value) as TilesChoice) });
              }}>
              <option value="auto">{t("view.tilesAuto")}</option>
              {TILE_CHOICES.map((n) => <option key={n} value={String(n)} dir="ltr">{n}</option>)}
            </select>
          </label>
          <label class="check">
            <input type="checkbox" checked={prefs.noticeSound} data-testid="view-notice-sound"
              onChange={(e) => viewPrefs.set({ noticeSound: e.currentTarget.checked })} />
            {t("view.noticeSound")}
          </label>
        </div>
      )}
    </div>
  );
}
