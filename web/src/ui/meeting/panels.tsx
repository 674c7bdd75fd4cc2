/**
 * Side panels: chat, participants (with host controls and the waiting list), meeting settings.
 * All user text is rendered as text nodes (never as HTML).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { ParticipantInfo } from "../../protocol/types";
import { describeError } from "../../protocol/errors";
import type { Room } from "../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../room/state";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { useDismiss, useEvent } from "../hooks";
import { Icon } from "../icons";
import { MAX_FEATURED } from "../layout";
import { ChatText } from "./chat-links";
import { useMenu } from "../keyboard";
import { isInterpreter, MakeInterpreterDialog, unassignInterpreter } from "./console/host";
import { isEventMode } from "../../room/audience";

/**
 * A side panel. Opening it moves the focus to its heading; Escape closes it; closing it from
 * inside (or with the focus nowhere) returns the focus to `opener`, the button that toggles it.
 */
export function PanelFrame({ title, onClose, children, testid, opener }: {
  title: string;
  onClose: () => void;
  children: preact.ComponentChildren;
  testid: string;
  /** The data-testid of the control that opens and closes this panel. */
  opener: string;
}) {
  const t = useT();
  const ref = useRef<HTMLElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const headingId = useRef(`panel-title-${++panelIds}`).current;
  useEffect(() => {
    headingRef.current?.focus();
    const panel = ref.current;
    // Runs before the panel leaves the page, so the focus can still be seen inside it.
    return () => {
      const active = document.activeElement;
      if (!active || active === document.body || panel?.contains(active)) {
        document.querySelector<HTMLElement>(`[data-testid="${opener}"]`)?.focus();
      }
    };
  }, []);
  return (
    <aside class="panel" data-testid={testid} aria-labelledby={headingId} ref={ref}
      onKeyDown={(ev) => {
        if (ev.key === "Escape" && !ev.defaultPrevented) {
          ev.preventDefault();
          onClose();
        }
      }}>
      <header class="panel-head">
        <h2 id={headingId} tabIndex={-1} ref={headingRef}>{title}</h2>
        <button type="button" class="round small ghost" aria-label={t("panels.close", { title })} onClick={onClose}>
          <Icon name="close" />
        </button>
      </header>
      {children}
    </aside>
  );
}

let panelIds = 0;

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function ChatPanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const [text, setText] = useState("");
  const [to, setTo] = useState<string>("");
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const t = useT();
  const listRef = useRef<HTMLOListElement>(null);
  const self = selfInfo(state);
  const policy = state.meeting?.chat ?? "everyone";
  const mayChat = policy === "everyone" || (policy === "hosts" && isHostRole(self));
  const others = [...state.participants.values()].filter((p) => p.id !== state.selfId);

  useEffect(() => {
    room.setChatOpen(true);
    return () => room.setChatOpen(false);
  }, [room]);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [state.chat.length]);

  // The chosen recipient left: fall back to everyone.
  useEffect(() => {
    if (to && !state.participants.has(to)) setTo("");
  }, [to, state.participants]);

  const send = async (ev?: Event) => {
    ev?.preventDefault();
    const body = text.trim();
    if (!body || sending) return;
    setSending(true);
    setError(null);
    try {
      await room.sendChat(body, to || null);
      setText("");
    } catch (err) {
      setError(describeError(err));
    } finally {
      setSending(false);
    }
  };

  return (
    <PanelFrame title={t("controls.chat")} onClose={onClose} testid="chat-panel" opener="chat-button">
      {state.chat.length === 0 && <p class="panel-empty" data-testid="chat-empty">{t("chat.empty")}</p>}
      <ol class="chat-list" ref={listRef} data-testid="chat-messages" aria-live="polite">
        {state.chat.map((m) => {
          const mine = m.sender.id === state.selfId;
          return (
            <li key={m.id} class={`chat-msg ${mine ? "mine" : ""} ${m.to ? "private" : ""}`} data-testid="chat-message"
              data-message-id={m.id}>
              <div class="chat-meta">
                <span class="chat-sender">{mine ? t("chat.you") : <bdi>{m.sender.display_name}</bdi>}</span>
                {m.to && (
                  <span class="chat-private">
                    {" "}{m.to.id === state.selfId ? t("chat.privateToYou") : t("chat.privateTo", { name: isolate(m.to.display_name) })}
                  </span>
                )}
                <time dateTime={m.sent_at}>{time(m.sent_at)}</time>
              </div>
              <p class="chat-text" data-testid="chat-text" dir="auto"><ChatText text={m.text} /></p>
            </li>
          );
        })}
      </ol>
      {mayChat ? (
        <form class="chat-form" onSubmit={send}>
          <label class="chat-to">
            {t("chat.to")}
            <select value={to} data-testid="chat-recipient" onChange={(e) => setTo(e.currentTarget.value)}>
              <option value="">{t("chat.everyone")}</option>
              {others.map((p) => <option key={p.id} value={p.id} dir="auto">{p.display_name}</option>)}
            </select>
          </label>
          <div class="chat-compose">
            <textarea
              rows={2}
              maxLength={4000}
              value={text}
              placeholder={to ? t("chat.privatePlaceholder") : t("chat.everyonePlaceholder")}
              aria-label={t("chat.message")}
              dir="auto"
              data-testid="chat-input"
              onInput={(e) => setText(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                  e.preventDefault();
                  void send();
                }
              }}
            />
            <button type="submit" class="round" aria-label={t("chat.send")} data-testid="chat-send" disabled={!text.trim() || sending}>
              <Icon name="send" />
            </button>
          </div>
          {error && <p class="error small" role="alert" data-testid="chat-error">{error}</p>}
        </form>
      ) : (
        <p class="muted small panel-note">{policy === "none" ? t("chat.off") : t("chat.hostsOnly")}</p>
      )}
    </PanelFrame>
  );
}

export function ParticipantsPanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const self = selfInfo(state);
  const local = useEvent(room.local, "change", room.local.state);
  const moderator = isHostRole(self);
  const t = useT();
  const people = [...state.participants.values()].sort((a, b) => {
    const rank = (p: ParticipantInfo) => (p.id === state.selfId ? 0 : p.role === "host" ? 1 : p.role === "cohost" ? 2 : p.hand_raised ? 3 : 4);
    return rank(a) - rank(b) || (a.hand_raised_at ?? "").localeCompare(b.hand_raised_at ?? "") || a.display_name.localeCompare(b.display_name);
  });
  return (
    <PanelFrame title={t("panels.participants", { count: state.participants.size })} onClose={onClose} testid="participants-panel" opener="participants-button">
      {moderator && state.waiting.length > 0 && (
        <section class="waiting" aria-labelledby="waiting-title">
          <header class="row between">
            <h3 id="waiting-title">{t("panels.waiting", { count: state.waiting.length })}</h3>
            <button type="button" class="btn small" data-testid="admit-all-button" onClick={() => void room.host.admit()}>
              {t("panels.admitAll")}
            </button>
          </header>
          <ul class="people" data-testid="waiting-list">
            {state.waiting.map((w) => (
              <li key={w.id} class="person" data-testid="waiting-entry" data-participant-id={w.id}>
                <span class="person-name">
                  <bdi>{w.display_name}</bdi>{w.guest ? t("panels.guestSuffix") : ""}
                  {w.from_removed_address && (
                    <span class="warn small waiting-note" data-testid="waiting-removed-address">
                      {t("panels.fromRemovedAddress")}
                    </span>
                  )}
                </span>
                <span class="row">
                  <button type="button" class="btn small primary" data-testid="admit-button"
                    aria-label={t("panels.admitName", { name: isolate(w.display_name) })} onClick={() => void room.host.admit(w.id)}>{t("panels.admit")}</button>
                  <button type="button" class="btn small ghost" data-testid="deny-button"
                    aria-label={t("panels.denyName", { name: isolate(w.display_name) })} onClick={() => void room.host.deny(w.id)}>{t("panels.deny")}</button>
                </span>
              </li>
            ))}
          </ul>
        </section>
      )}
      {moderator && (
        <div class="row panel-actions">
          <button type="button" class="btn small" data-testid="mute-all-button" onClick={() => void room.host.muteAll()}>
            {t("panels.muteAll")}
          </button>
        </div>
      )}
      {state.participants.size <= 1 && <p class="panel-empty" data-testid="people-empty">{t("panels.alone")}</p>}
      <ul class="people" data-testid="participant-list">
        {people.map((p) => (
          <PersonRow key={p.id} room={room} state={state} self={self}
            person={p.id === state.selfId ? { ...p, audio: local.micOn, video: local.cameraOn } : p} />
        ))}
      </ul>
    </PanelFrame>
  );
}

function PersonRow({ room, state, person: p, self }: {
  room: Room;
  state: RoomState;
  person: ParticipantInfo;
  self: ParticipantInfo | null;
}) {
  const [menu, setMenu] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(false);
  const [assigning, setAssigning] = useState(false);
  const close = () => {
    setMenu(false);
    setConfirmRemove(false);
  };
  const menuRef = useDismiss<HTMLDivElement>(menu, close);
  const personMenu = useMenu(menu, (open) => (open ? setMenu(true) : close()), { content: confirmRemove });
  const isSelf = p.id === state.selfId;
  const iAmHost = self?.role === "host";
  const t = useT();
  // A co-host cannot act on the host; nobody acts on themselves here.
  const canModerate = !isSelf && isHostRole(self) && (iAmHost || p.role !== "host");
  const act = (fn: () => Promise<unknown>) => () => {
    close();
    void fn();
  };

  return (
    <li class="person" data-testid="participant-entry" data-participant-id={p.id} data-role={p.role}>
      <span class="person-name">
        <bdi>{p.display_name}</bdi>
        {isSelf ? t("stage.youSuffix") : ""}
        {p.guest ? <span class="badge">{t("panels.guest")}</span> : null}
        {p.role === "host" && <span class="badge host">{t("panels.host")}</span>}
        {p.role === "cohost" && <span class="badge">{t("stage.cohost")}</span>}
      </span>
      <span class="person-icons">
        {p.hand_raised && <Icon name="hand" size={16} class="hand-icon" aria-label={t("panels.handRaised")} data-testid="participant-hand" />}
        <Icon name={p.audio ? "mic" : "micOff"} size={16} aria-label={p.audio ? t("panels.micOn") : t("stage.muted")} />
        <Icon name={p.video ? "cam" : "camOff"} size={16} aria-label={p.video ? t("panels.cameraOn") : t("join.cameraOff")} />
        {canModerate && (
          <div class="menu-wrap" ref={menuRef}>
            <button type="button" class="round small ghost" aria-haspopup="menu" aria-expanded={menu}
              aria-label={t("panels.actionsFor", { name: isolate(p.display_name) })} data-testid="participant-menu-button"
              ref={personMenu.buttonRef} onKeyDown={personMenu.onButtonKeyDown} onClick={() => setMenu(!menu)}>
              <Icon name="more" />
            </button>
            {menu && (
              <div class="menu" role="menu" aria-label={t("panels.actionsFor", { name: isolate(p.display_name) })}
                ref={personMenu.popupRef} onKeyDown={personMenu.onPopupKeyDown}>
                {confirmRemove ? (
                  <>
                    <p class="menu-note">{t("panels.removeConfirm", { name: isolate(p.display_name) })}</p>
                    <button role="menuitem" tabIndex={-1} type="button" class="danger" data-testid="confirm-remove"
                      onClick={act(() => room.host.remove(p.id))}>{t("panels.remove")}</button>
                    <button role="menuitem" tabIndex={-1} type="button" onClick={() => setConfirmRemove(false)}>{t("common.cancel")}</button>
                  </>
                ) : (
                  <>
                    {p.audio ? (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-mute" onClick={act(() => room.host.mute(p.id))}>{t("controls.mute")}</button>
                    ) : (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-ask-unmute" onClick={act(() => room.host.askUnmute(p.id))}>{t("panels.askUnmute")}</button>
                    )}
                    {p.video && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-stop-video" onClick={act(() => room.host.stopVideo(p.id))}>{t("controls.stopVideo")}</button>
                    )}
                    {p.hand_raised && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-lower-hand" onClick={act(() => room.host.lowerHand(p.id))}>{t("controls.lowerHand")}</button>
                    )}
                    {iAmHost && p.role === "participant" && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-make-cohost" onClick={act(() => room.host.setRole(p.id, "cohost"))}>{t("panels.makeCohost")}</button>
                    )}
                    {iAmHost && p.role === "cohost" && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-revoke-cohost" onClick={act(() => room.host.setRole(p.id, "participant"))}>{t("panels.revokeCohost")}</button>
                    )}
                    {iAmHost && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-make-host" onClick={act(() => room.host.transfer(p.id))}>{t("panels.makeHost")}</button>
                    )}
                    {(state.spotlight.includes(p.id) || state.spotlight.length < MAX_FEATURED) && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-spotlight"
                        onClick={act(() => room.host.spotlight(state.spotlight.includes(p.id) ? state.spotlight.filter((id) => id !== p.id) : [...state.spotlight, p.id]))}>
                        {state.spotlight.includes(p.id) ? t("panels.unspotlight") : t("panels.spotlight")}
                      </button>
                    )}
                    <button role="menuitem" tabIndex={-1} type="button" data-testid="participant-make-interpreter"
                      onClick={() => {
                        close();
                        setAssigning(true);
                      }}>{t("interpreters.makeEllipsis")}</button>
                    {isInterpreter(state, p.id) && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="participant-remove-interpreter"
                        onClick={act(() => unassignInterpreter(room, p.id))}>{t("interpreters.remove")}</button>
                    )}
                    {isEventMode(state.meeting) && p.role === "participant" && (
                      <button role="menuitem" tabIndex={-1} type="button" data-testid="host-demote"
                        onClick={act(() => room.audience.demote(p.id))}>{t("audience.demote")}</button>
                    )}
                    <button role="menuitem" tabIndex={-1} type="button" class="danger" data-testid="host-remove" onClick={() => setConfirmRemove(true)}>{t("panels.removeEllipsis")}</button>
                  </>
                )}
              </div>
            )}
          </div>
        )}
      </span>
      {assigning && <MakeInterpreterDialog room={room} state={state} participantId={p.id} onClose={() => setAssigning(false)} />}
    </li>
  );
}

export function SettingsPanel({ room, state, onClose, children }: {
  room: Room;
  state: RoomState;
  onClose: () => void;
  /** Settings of the meeting's features (captions...), after the core ones. */
  children?: preact.ComponentChildren;
}) {
  const m = state.meeting;
  const t = useT();
  // A box just changed shows its new state until the server's answer (another event re-rendering
  // the panel meanwhile must not flip it back).
  const [pending, setPending] = useState<Partial<Record<string, boolean>>>({});
  if (!m) return null;
  const change = (key: string, value: boolean) => {
    setPending((p) => ({ ...p, [key]: value }));
    void room.host.update({ [key]: value }).finally(() =>
      setPending((p) => {
        const { [key]: _done, ...rest } = p;
        return rest;
      }));
  };
  // Only the meeting's owner may change who succeeds as host; the owner joins as the host.
  const self = state.selfId ? state.participants.get(state.selfId) : undefined;
  const owner = self?.role === "host" && !self.guest;
  type ToggleKey = "locked" | "waiting_room" | "allow_guests" | "allow_self_unmute" | "mute_on_entry" | "guest_succession";
  const toggle = (key: ToggleKey, label: string) => (
    <label class="check">
      <input type="checkbox" checked={pending[key] ?? m[key]} data-testid={`setting-${key}`}
        onChange={(e) => change(key, e.currentTarget.checked)} />
      {label}
    </label>
  );
  return (
    <PanelFrame title={t("meeting.settings")} onClose={onClose} testid="settings-panel" opener="settings-button">
      <div class="form panel-body">
        {toggle("locked", t("panels.lock"))}
        {toggle("waiting_room", t("home.waitingRoom"))}
        {toggle("allow_guests", t("panels.allowGuests"))}
        {toggle("allow_self_unmute", t("panels.selfUnmute"))}
        {toggle("mute_on_entry", t("panels.muteOnEntry"))}
        {owner && toggle("guest_succession", t("panels.guestSuccession"))}
        <label>
          {t("panels.whoCanChat")}
          <select value={m.chat} data-testid="setting-chat"
            onChange={(e) => void room.host.update({ chat: e.currentTarget.value as "everyone" | "hosts" | "none" })}>
            <option value="everyone">{t("chat.everyone")}</option>
            <option value="hosts">{t("panels.hostsOnly")}</option>
            <option value="none">{t("panels.nobody")}</option>
          </select>
        </label>
        <label>
          {t("panels.whoCanShare")}
          <select value={m.screen_share} data-testid="setting-screen-share"
            onChange={(e) => void room.host.update({ screen_share: e.currentTarget.value as "everyone" | "hosts" })}>
            <option value="everyone">{t("chat.everyone")}</option>
            <option value="hosts">{t("panels.hostsOnly")}</option>
          </select>
        </label>
        {children}
      </div>
    </PanelFrame>
  );
}
