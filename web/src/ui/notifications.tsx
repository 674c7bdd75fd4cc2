/**
 * In-app notifications (meeting reminders, invitations, answers, cancellations): one
 * NotificationClient for the whole app while signed in, shown as toasts with a Join button, and as
 * browser notifications when the tab is in the background and the user allowed them.
 */
import { useEffect, useState } from "preact/hooks";
import { NotificationClient } from "../protocol/notifications";
import type { Notification as ConveneNotification } from "../protocol/types";
import { useT } from "../i18n/hook";
import { Icon } from "./icons";
import { openUrl } from "./router";
import { useSession } from "./session";

const SEEN_KEY = "convene.notifications.seen";

export const notifications = new NotificationClient({
  seenStore: {
    load: () => {
      const raw: unknown = JSON.parse(localStorage.getItem(SEEN_KEY) ?? "[]");
      return Array.isArray(raw) ? raw.filter((x): x is string => typeof x === "string") : [];
    },
    save: (ids) => localStorage.setItem(SEEN_KEY, JSON.stringify(ids)),
  },
});

const SHOW_MS: Record<ConveneNotification["kind"], number> = {
  reminder: 120_000,
  invitation: 20_000,
  reply: 10_000,
  cancelled: 20_000,
};

/** Whether the browser can show system notifications, and what the user said. */
export function browserNotificationPermission(): NotificationPermission | "unsupported" {
  return typeof Notification === "undefined" ? "unsupported" : Notification.permission;
}

function showSystemNotification(n: ConveneNotification): void {
  if (browserNotificationPermission() !== "granted" || document.visibilityState === "visible") return;
  try {
    const shown = new Notification(n.title, { body: n.body, tag: n.id });
    shown.onclick = () => {
      focus();
      if (n.url) openUrl(n.url);
      shown.close();
    };
  } catch {
    // Some browsers allow notifications only from a service worker: the toast is enough.
  }
}

/** `raised`: above the meeting's control bar. */
export function NotificationCenter({ raised = false }: { raised?: boolean }) {
  const info = useSession();
  const t = useT();
  const [items, setItems] = useState<ConveneNotification[]>([]);
  const signedIn = !!info;

  useEffect(() => {
    if (!signedIn) {
      notifications.stop();
      setItems([]);
      return undefined;
    }
    notifications.start();
    const off = notifications.on("notification", (n) => {
      setItems((list) => [...list.filter((x) => x.id !== n.id).slice(-3), n]);
      setTimeout(() => setItems((list) => list.filter((x) => x.id !== n.id)), SHOW_MS[n.kind] ?? 20_000);
      showSystemNotification(n);
    });
    const wake = () => notifications.retryNow();
    addEventListener("online", wake);
    document.addEventListener("visibilitychange", wake);
    return () => {
      off();
      removeEventListener("online", wake);
      document.removeEventListener("visibilitychange", wake);
    };
  }, [signedIn]);

  useEffect(() => () => notifications.stop(), []);

  const dismiss = (id: string) => setItems((list) => list.filter((x) => x.id !== id));
  return (
    <div class={`notices ${raised ? "raised" : ""}`} role="region" aria-live="polite" aria-label={t("notifications.label")}>
      {items.map((n) => (
        <div key={n.id} class={`notice ${n.kind}`} role="status" data-testid="notification-toast" data-kind={n.kind}>
          <div class="notice-text">
            <strong>{n.title}</strong>
            {n.body && <span class="muted small">{n.body}</span>}
          </div>
          <div class="row">
            {n.url && (
              <button type="button" class="btn primary small" data-testid="notification-join"
                onClick={() => {
                  dismiss(n.id);
                  openUrl(n.url!);
                }}>
                {t("join.join")}
              </button>
            )}
            <button type="button" class="round small ghost" aria-label={t("notifications.dismiss")} data-testid="notification-dismiss"
              onClick={() => dismiss(n.id)}>
              <Icon name="close" size={16} />
            </button>
          </div>
        </div>
      ))}
    </div>
  );
}
