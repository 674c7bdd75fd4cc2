/**
 * The bullet comment bar under the stage (the box: Enter sends, a counter, the server's refusals
 * in words, the slow mode's countdown; the "comments over the video" switch for oneself; for
 * hosts and co-hosts the settings), and the comments panel: the accessible list of the recent
 * comments, where hosts hide one by keyboard.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import { commentPrefs, COMMENT_MAX_LENGTH } from "../../../room/comments";
import type { CommentRefusal } from "../../../room/interaction";
import type { Room } from "../../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { uiLocale, type Translate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { useDismiss, useStore } from "../../hooks";
import { Icon } from "../../icons";
import { usePopover } from "../../keyboard";
import { PanelFrame } from "../panels";
import "./interaction.css";

function refusalText(refusal: CommentRefusal, t: Translate): string {
  switch (refusal.kind) {
    case "rate_limited":
      return t("comments.error.rateLimited", { seconds: refusal.retryAfter });
    case "filtered":
      return t("comments.error.filtered");
    case "disabled":
      return t("comments.error.disabled");
    case "other":
      return describeError(refusal.error);
  }
}

/** Seconds left until `until` (ms), re-rendering each second while any are left. */
function useCountdown(until: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (until <= Date.now()) return undefined;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [until]);
  return Math.max(0, Math.ceil((until - now) / 1000));
}

export function CommentBar({ room, state, panelOpen, onTogglePanel }: {
  room: Room;
  state: RoomState;
  panelOpen: boolean;
  onTogglePanel: () => void;
}) {
  const t = useT();
  const prefs = useStore(commentPrefs);
  const moderator = isHostRole(selfInfo(state));
  const comments = state.comments;
  const [text, setText] = useState("");
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState(0);
  const [waitKind, setWaitKind] = useState<"slow" | "rate">("slow");
  // Said once when a wait begins (the visible countdown would be read out every second).
  const [said, setSaid] = useState("");
  const left = useCountdown(waitUntil);
  const length = [...text].length;

  // Off: nothing (a host turns comments on in the meeting's settings).
  if (!comments.enabled) return null;

  const wait = (kind: "slow" | "rate", seconds: number) => {
    setWaitKind(kind);
    setWaitUntil(Date.now() + seconds * 1000);
    setSaid(kind === "slow" ? t("comments.slowWait", { seconds }) : t("comments.error.rateLimited", { seconds }));
  };

  const send = async (ev?: Event) => {
    ev?.preventDefault();
    const body = text.trim();
    if (!body || sending || left > 0) return;
    setSending(true);
    setError(null);
    const refusal = await room.comments.send(body);
    setSending(false);
    if (!refusal) {
      setText("");
      if (comments.slowModeSeconds > 0 && !moderator) wait("slow", comments.slowModeSeconds);
      return;
    }
    if (refusal.kind === "rate_limited") {
      wait(comments.slowModeSeconds > 0 && !moderator ? "slow" : "rate", refusal.retryAfter);
      return;
    }
    setError(refusalText(refusal, t));
  };

  const waiting = left > 0
    ? waitKind === "slow" ? t("comments.slowWait", { seconds: left }) : t("comments.error.rateLimited", { seconds: left })
    : null;

  return (
    <div class="comment-bar" data-testid="comment-bar">
      {comments.enabled ? (
        <form onSubmit={send} data-testid="comment-form">
          <input type="text" value={text} maxLength={COMMENT_MAX_LENGTH} dir="auto" data-testid="comment-input"
            aria-label={t("comments.input")} placeholder={t("comments.placeholder")}
            aria-describedby="comment-count comment-note"
            onInput={(e) => {
              setText(e.currentTarget.value);
              if (error) setError(null);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.isComposing) {
                e.preventDefault();
                void send();
              }
            }} />
          <span class="comment-count" data-testid="comment-count" aria-hidden="true">
            {t("comments.counterShort", { count: length, max: COMMENT_MAX_LENGTH })}
          </span>
          <span class="sr-only" id="comment-count">{t("comments.counter", { count: length, max: COMMENT_MAX_LENGTH })}</span>
          <button type="submit" class="round" aria-label={t("comments.send")} data-testid="comment-send"
            disabled={!text.trim() || sending || left > 0}>
            <Icon name="send" />
          </button>
        </form>
      ) : (
        <p class="muted small comment-note" data-testid="comments-off-note">{t("comments.offForAll")}</p>
      )}
      <span class="sr-only" role="status" data-testid="comment-status">{error ?? (left > 0 ? said : "")}</span>
      <p class={`comment-note ${error ? "error" : "muted"}`} id="comment-note" aria-hidden="true" data-testid="comment-note">
        {error ?? waiting ?? (comments.enabled && comments.slowModeSeconds > 0 && !moderator
          ? t("comments.slowMode", { seconds: comments.slowModeSeconds })
          : "")}
      </p>
      {comments.enabled && (
        <button type="button" class="btn ghost small" data-testid="comments-show-toggle" aria-pressed={prefs.show}
          onClick={() => commentPrefs.set({ show: !prefs.show })}>
          {prefs.show ? t("comments.hideOverVideo") : t("comments.showOverVideo")}
        </button>
      )}
      <button type="button" class={`btn ghost small ${panelOpen ? "active" : ""}`} data-testid="comments-panel-button"
        aria-pressed={panelOpen} onClick={onTogglePanel}>
        <Icon name="list" size={16} /> <span class="btn-label">{t("comments.list")}</span>
      </button>
      {moderator && <CommentSettings room={room} state={state} />}
    </div>
  );
}

/** Host or co-host: comments on or off for everyone, the slow mode, the word filter. */
function CommentSettings({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  const ref = useDismiss<HTMLDivElement>(open, close);
  const popover = usePopover(open, setOpen);
  const comments = state.comments;
  const [words, setWords] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const loaded = useRef(false);

  // The word list as the server has it, once the popover opens (a participant's snapshot has none).
  useEffect(() => {
    if (!open) {
      loaded.current = false;
      return;
    }
    if (comments.words === null) void room.comments.settings({}).catch(() => undefined);
  }, [open]);
  useEffect(() => {
    if (open && !loaded.current && comments.words !== null) {
      loaded.current = true;
      setWords(comments.words.join("\n"));
    }
  }, [open, comments.words]);

  const apply = async (changes: Parameters<Room["comments"]["settings"]>[0]) => {
    setError(null);
    setSaved(false);
    try {
      await room.comments.settings(changes);
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    }
  };

  return (
    <div class="menu-wrap" ref={ref}>
      <button type="button" class="btn ghost small" data-testid="comments-settings-button" aria-haspopup="dialog"
        aria-expanded={open} ref={popover.buttonRef} onKeyDown={popover.onButtonKeyDown} onClick={() => setOpen(!open)}>
        <Icon name="settings" size={16} /> <span class="btn-label">{t("comments.settings")}</span>
      </button>
      {open && (
        <div class="popover comment-settings" role="dialog" aria-label={t("comments.settings")} data-testid="comments-settings"
          ref={popover.popupRef} onKeyDown={popover.onPopupKeyDown}>
          <label class="check">
            <input type="checkbox" checked={comments.enabled} data-testid="comments-enabled"
              onChange={(e) => void apply({ enabled: e.currentTarget.checked })} />
            {t("comments.enabledForAll")}
          </label>
          <label>
            {t("comments.slowModeSetting")}
            <select value={String(comments.slowModeSeconds)} data-testid="comments-slow-mode"
              onChange={(e) => void apply({ slow_mode_seconds: Number(e.currentTarget.value) })}>
              {[0, 5, 10, 30, 60, 120, 300].map((s) => (
                <option key={s} value={String(s)}>{s === 0 ? t("comments.slowOff") : t("comments.everySeconds", { seconds: s })}</option>
              ))}
            </select>
          </label>
          <label>
            {t("comments.words")}
            <textarea value={words} dir="auto" data-testid="comments-words" aria-describedby="comments-words-hint"
              onInput={(e) => {
                setWords(e.currentTarget.value);
                setSaved(false);
              }} />
          </label>
          <p class="hint muted small" id="comments-words-hint">{t("comments.wordsHint")}</p>
          <button type="button" class="btn small" data-testid="comments-words-save"
            onClick={async () => {
              const list = [...new Set(words.split("\n").map((w) => w.trim()).filter((w) => w.length > 0))];
              if (await apply({ words: list })) setSaved(true);
            }}>
            {t("comments.wordsSave")}
          </button>
          <p class={`small ${error ? "error" : "muted"}`} role="status" data-testid="comments-settings-note">
            {error ?? (saved ? t("comments.wordsSaved", { count: comments.words?.length ?? 0 }) : "")}
          </p>
        </div>
      )}
    </div>
  );
}

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(uiLocale(), { hour: "2-digit", minute: "2-digit" });
}

/** The recent comments as a list (what a screen reader reads; hosts hide from here too). */
export function CommentsPanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const t = useT();
  const moderator = isHostRole(selfInfo(state));
  const listRef = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  const items = state.comments.recent;
  useEffect(() => {
    const el = listRef.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [items]);
  return (
    <PanelFrame title={t("comments.panel")} onClose={onClose} testid="comments-panel" opener="comments-panel-button">
      {!state.comments.enabled && <p class="muted small panel-note">{t("comments.offForAll")}</p>}
      {state.comments.unshown > 0 && (
        <p class="muted small panel-note" data-testid="comments-unshown">{t("comments.unshown", { count: state.comments.unshown })}</p>
      )}
      {items.length === 0 && <p class="panel-empty" data-testid="comments-empty">{t("comments.empty")}</p>}
      <ol class="interaction-list" ref={listRef} tabIndex={0} aria-label={t("comments.panel")} data-testid="comments-list"
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}>
        {items.map((c) => (
          <li key={c.id} class="interaction-item" data-testid="comment-entry" data-comment-id={c.id}>
            <div class="chat-meta">
              <bdi class="chat-sender">{c.sender.id === state.selfId ? t("chat.you") : c.sender.display_name}</bdi>
              <time dateTime={c.sent_at}>{time(c.sent_at)}</time>
              {moderator && (
                <button type="button" class="btn ghost small" data-testid="comment-hide"
                  aria-label={t("comments.hideOne", { text: c.text })}
                  onClick={() => void room.comments.hide(c.id).catch((err: unknown) => room.toast("error", describeError(err)))}>
                  {t("comments.hide")}
                </button>
              )}
            </div>
            <p class="interaction-text" dir="auto">{c.text}</p>
          </li>
        ))}
      </ol>
    </PanelFrame>
  );
}
