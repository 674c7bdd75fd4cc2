/**
 * Keyboard behaviour shared by the client's popups: the WAI-ARIA menu button pattern (`useMenu`)
 * and non-modal popovers (`usePopover`), plus the test for "the user is typing in a field" that
 * keeps single-key shortcuts out of the way.
 */
import { useEffect, useRef } from "preact/hooks";

/** Whether a key event comes from a field where keys are text (shortcuts must not fire). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName !== "INPUT") return false;
  const type = (target as HTMLInputElement).type;
  return !["button", "checkbox", "radio", "range", "reset", "submit", "color", "file", "image"].includes(type);
}

/** Whether a modal dialog is open (it owns the keyboard while it is). */
export function modalOpen(): boolean {
  return document.querySelector('.backdrop [role="dialog"][aria-modal="true"]') !== null;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export interface PopupRefs<B extends HTMLElement, P extends HTMLElement> {
  /** On the button that opens the popup. */
  buttonRef: preact.RefObject<B>;
  /** On the popup itself. */
  popupRef: preact.RefObject<P>;
  /** The button's keydown handler (ArrowDown / ArrowUp open a menu on its first / last item). */
  onButtonKeyDown: (ev: KeyboardEvent) => void;
  /** The popup's keydown handler. */
  onPopupKeyDown: (ev: KeyboardEvent) => void;
}

function usePopup<B extends HTMLElement, P extends HTMLElement>(
  open: boolean,
  setOpen: (open: boolean) => void,
  focusOnOpen: (popup: P, where: "first" | "last") => void,
  content: unknown,
): PopupRefs<B, P> {
  const buttonRef = useRef<B>(null);
  const popupRef = useRef<P>(null);
  const where = useRef<"first" | "last">("first");
  const wasOpen = useRef(false);

  useEffect(() => {
    if (open && popupRef.current) focusOnOpen(popupRef.current, where.current);
    else if (!open && wasOpen.current) {
      // Closed by choosing an item (which went with the popup) or from inside: back to the button.
      const active = document.activeElement;
      if (!active || active === document.body) buttonRef.current?.focus();
    }
    wasOpen.current = open;
    where.current = "first";
  }, [open, content]);

  const onButtonKeyDown = (ev: KeyboardEvent) => {
    if (open) {
      if (ev.key === "Escape") {
        ev.preventDefault();
        ev.stopPropagation();
        setOpen(false);
      }
      return;
    }
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      where.current = ev.key === "ArrowUp" ? "last" : "first";
      setOpen(true);
    }
  };
  const onPopupKeyDown = (ev: KeyboardEvent) => {
    if (ev.key === "Escape") {
      ev.preventDefault();
      // Only this popup closes (not the panel or dialog around it).
      ev.stopPropagation();
      setOpen(false);
      buttonRef.current?.focus();
    } else if (ev.key === "Tab") {
      // Tab leaves: the focus moves on as usual, then the popup closes behind it.
      setTimeout(() => setOpen(false));
    }
  };
  return { buttonRef, popupRef, onButtonKeyDown, onPopupKeyDown };
}

/**
 * The WAI-ARIA menu button pattern for a menu (`role="menu"` with `role="menuitem"` children,
 * each `tabIndex={-1}`): opening focuses the first item (ArrowUp on the button: the last);
 * ArrowDown / ArrowUp (and ArrowLeft / ArrowRight in a horizontal menu, following the text
 * direction) move and wrap, Home / End go to the ends, Escape closes and returns to the button,
 * Tab closes and moves on. `content` names what the menu shows, so the focus goes to the first
 * item again when it changes (a confirmation step).
 */
export function useMenu<B extends HTMLElement = HTMLButtonElement, P extends HTMLElement = HTMLDivElement>(
  open: boolean,
  setOpen: (open: boolean) => void,
  { orientation = "vertical", content = null }: { orientation?: "vertical" | "horizontal"; content?: unknown } = {},
): PopupRefs<B, P> {
  const items = (menu: P) => [...menu.querySelectorAll<HTMLElement>('[role="menuitem"]:not([disabled])')];
  const popup = usePopup<B, P>(open, setOpen, (menu, where) => {
    const list = items(menu);
    (where === "last" ? list[list.length - 1] : list[0])?.focus();
  }, content);

  const onPopupKeyDown = (ev: KeyboardEvent) => {
    const menu = popup.popupRef.current;
    if (!menu) return;
    const list = items(menu);
    const at = list.indexOf(document.activeElement as HTMLElement);
    const rtl = getComputedStyle(menu).direction === "rtl";
    let next: number | null = null;
    if (ev.key === "ArrowDown") next = at + 1;
    else if (ev.key === "ArrowUp") next = at - 1;
    else if (orientation === "horizontal" && ev.key === "ArrowRight") next = rtl ? at - 1 : at + 1;
    else if (orientation === "horizontal" && ev.key === "ArrowLeft") next = rtl ? at + 1 : at - 1;
    else if (ev.key === "Home") next = 0;
    else if (ev.key === "End") next = list.length - 1;
    if (next === null) {
      popup.onPopupKeyDown(ev);
      return;
    }
    ev.preventDefault();
    if (list.length === 0) return;
    list[(next + list.length) % list.length]?.focus();
  };
  return { ...popup, onPopupKeyDown };
}

/**
 * A non-modal popover (`role="dialog"`, e.g. the device pickers): opening focuses its first
 * control, Escape closes it and returns to the button, Tab out of its last control closes it.
 */
export function usePopover<B extends HTMLElement = HTMLButtonElement, P extends HTMLElement = HTMLDivElement>(
  open: boolean,
  setOpen: (open: boolean) => void,
): PopupRefs<B, P> {
  const popup = usePopup<B, P>(open, setOpen, (el) => el.querySelector<HTMLElement>(FOCUSABLE)?.focus(), null);
  const onPopupKeyDown = (ev: KeyboardEvent) => {
    const el = popup.popupRef.current;
    if (ev.key === "Tab" && el) {
      const items = [...el.querySelectorAll<HTMLElement>(FOCUSABLE)];
      const edge = ev.shiftKey ? items[0] : items[items.length - 1];
      if (document.activeElement !== edge) return;
    }
    popup.onPopupKeyDown(ev);
  };
  return { ...popup, onPopupKeyDown };
}
