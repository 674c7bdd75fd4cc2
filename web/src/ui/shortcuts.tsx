/**
 * The meeting's single-key shortcuts (as in Meet and Jitsi) and their help dialog (`?`).
 * Shortcuts never fire while the user types in a field, with a modifier held, or while a modal
 * dialog is open; keys are read by their place on the keyboard too, so they work with Arabic,
 * Russian and other layouts.
 */
import { useEffect, useRef } from "preact/hooks";
import { useT } from "../i18n/hook";
import { Modal } from "./dialog";
import { isTyping, modalOpen } from "./keyboard";

export type ShortcutAction = "mic" | "camera" | "hand" | "chat" | "people" | "help" | "close";

/** The shortcuts, in the order the help lists them: key, what it does (a catalogue key). */
export const SHORTCUTS: readonly { key: string; action: Exclude<ShortcutAction, "close">; label: string }[] = [
  { key: "M", action: "mic", label: "shortcuts.mic" },
  { key: "V", action: "camera", label: "shortcuts.camera" },
  { key: "H", action: "hand", label: "shortcuts.hand" },
  { key: "C", action: "chat", label: "shortcuts.chat" },
  { key: "P", action: "people", label: "shortcuts.people" },
  { key: "?", action: "help", label: "shortcuts.help" },
];

/** The Escape key as keyboards label it. */
const ESCAPE = "Esc";

/** The shortcut a key event stands for, if any. */
export function shortcutOf(ev: Pick<KeyboardEvent, "key" | "code" | "shiftKey">): ShortcutAction | null {
  if (ev.key === "?" || (ev.shiftKey && ev.code === "Slash")) return "help";
  // A Latin letter as typed, else the key's place (KeyM on a Russian layout types "ь").
  const letter = /^[a-z]$/i.test(ev.key) ? ev.key.toUpperCase() : /^Key[A-Z]$/.test(ev.code) ? ev.code.slice(3) : "";
  if (!letter) return null;
  return SHORTCUTS.find((s) => s.key === letter)?.action ?? null;
}

/** Calls `handlers[action]` for each shortcut pressed (see the module's note on when not). */
export function useShortcuts(handlers: Partial<Record<ShortcutAction, () => void>>): void {
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing || ev.defaultPrevented) return;
      if (isTyping(ev.target) || modalOpen()) return;
      // Escape with nothing focused (after a click on the stage) closes what is open.
      const action = ev.key === "Escape" ? (ev.target === document.body ? "close" : null) : shortcutOf(ev);
      const run = action && current.current[action];
      if (!run) return;
      ev.preventDefault();
      if (!ev.repeat) run();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);
}

/** The help dialog: every shortcut with its key. */
export function ShortcutHelp({ onClose }: { onClose: () => void }) {
  const t = useT();
  return (
    <Modal title={t("shortcuts.title")} onClose={onClose} testid="shortcuts-dialog" closeOnOutside>
      <dl class="shortcuts">
        {SHORTCUTS.map((s) => (
          <div key={s.key} class="shortcut">
            <dt><kbd dir="ltr">{s.key}</kbd></dt>
            <dd>{t(s.label)}</dd>
          </div>
        ))}
        <div class="shortcut">
          <dt><kbd dir="ltr">{ESCAPE}</kbd></dt>
          <dd>{t("shortcuts.escape")}</dd>
        </div>
      </dl>
      <p class="muted small">{t("shortcuts.note")}</p>
      <div class="row">
        <button type="button" class="btn ghost" onClick={onClose}>{t("common.close")}</button>
      </div>
    </Modal>
  );
}
