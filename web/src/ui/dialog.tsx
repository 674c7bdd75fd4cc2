/**
 * Modal: a dialog over the page. Focus moves into it and back to where it was when it closes;
 * Tab stays inside; Escape closes. A click outside closes it only when asked (never for forms
 * that would lose what was typed).
 */
import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

let nextId = 0;

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Modal({ title, onClose, children, testid, wide = false, closeOnOutside = false, initialFocus }: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  testid: string;
  wide?: boolean;
  closeOnOutside?: boolean;
  /** A selector for the element to focus first (default: the first field or button). */
  initialFocus?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useRef(`dialog-title-${++nextId}`).current;
  const closeRef = useRef(onClose);
  closeRef.current = onClose;

  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const root = ref.current;
    const first = (initialFocus && root?.querySelector<HTMLElement>(initialFocus))
      || root?.querySelector<HTMLElement>("input, select, textarea")
      || root?.querySelector<HTMLElement>(FOCUSABLE);
    first?.focus();
    const onKey = (ev: KeyboardEvent) => {
      if (!root) return;
      // Only the topmost dialog answers.
      const dialogs = document.querySelectorAll(".backdrop > .dialog");
      if (dialogs[dialogs.length - 1] !== root) return;
      if (ev.key === "Escape") {
        ev.preventDefault();
        closeRef.current();
      } else if (ev.key === "Tab") {
        const items = [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => el.offsetParent !== null);
        const head = items[0];
        const tail = items[items.length - 1];
        if (!head || !tail) return;
        if (ev.shiftKey && document.activeElement === head) {
          ev.preventDefault();
          tail.focus();
        } else if (!ev.shiftKey && document.activeElement === tail) {
          ev.preventDefault();
          head.focus();
        }
      }
    };
    addEventListener("keydown", onKey);
    return () => {
      removeEventListener("keydown", onKey);
      if (before && document.contains(before)) before.focus();
    };
  }, []);

  return (
    <div class="backdrop" onPointerDown={(ev) => {
      if (closeOnOutside && ev.target === ev.currentTarget) onClose();
    }}>
      <div class={`dialog card ${wide ? "wide" : ""}`} role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref}
        data-testid={testid}>
        <h2 id={titleId}>{title}</h2>
        {children}
      </div>
    </div>
  );
}
