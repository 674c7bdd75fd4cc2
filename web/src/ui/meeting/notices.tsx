/**
 * Notices in the meeting: toasts for raised hands, people joining and leaving (gathered, and
 * slower in a big meeting) and chat while the chat is closed; an optional chime; the meeting's
 * name and the unread count in the tab title.
 */
import { useEffect, useRef } from "preact/hooks";
import { isolate, type Translate } from "../../i18n";
import { useT } from "../../i18n/hook";
import type { Room } from "../../room/room";
import { noticesBetween, PresenceBatcher, Throttle, type Notice } from "../../room/notices";
import type { RoomState } from "../../room/state";
import { viewPrefs } from "./view-prefs";

/** Beyond this many people, joins and leaves are gathered over `BIG_WINDOW_MS`. */
const BIG_MEETING = 25;
const BIG_WINDOW_MS = 10_000;
const SMALL_WINDOW_MS = 1_500;
/** One hand notice per person this often. */
const HAND_INTERVAL_MS = 30_000;
/** Chat bodies are cut here in a toast (the panel has the whole message). */
const CHAT_PREVIEW = 120;

export function presenceText(t: Translate, notice: Extract<Notice, { kind: "joined" | "left" }>): string {
  const [first = "", second = ""] = notice.names.map(isolate);
  const count = notice.names.length;
  const joined = notice.kind === "joined";
  if (count === 1) return t(joined ? "notices.joinedOne" : "notices.leftOne", { name: first });
  if (count === 2) return t(joined ? "notices.joinedTwo" : "notices.leftTwo", { first, second });
  return t(joined ? "notices.joinedMany" : "notices.leftMany", { count });
}

/** "Interpreter X asks you to slow down" (to the speaker), or names the speaker (to the hosts). */
export function signalText(t: Translate, notice: Extract<Notice, { kind: "signal" }>): string {
  const name = isolate(notice.signal.display_name);
  const slow = notice.signal.kind === "slow_down";
  if (notice.toYou) return t(slow ? "notices.signalSlowDownYou" : "notices.signalAudioPoorYou", { name });
  const speaker = notice.speaker ? isolate(notice.speaker) : t("notices.theSpeaker");
  return t(slow ? "notices.signalSlowDown" : "notices.signalAudioPoor", { name, speaker });
}

function preview(text: string): string {
  return text.length > CHAT_PREVIEW ? `${text.slice(0, CHAT_PREVIEW - 1)}…` : text;
}

let audio: AudioContext | null = null;

/** A short, soft two-note chime (no sound file to load). */
export function chime(): void {
  try {
    audio ??= new AudioContext();
    const ctx = audio;
    void ctx.resume().catch(() => undefined);
    const start = ctx.currentTime + 0.01;
    [660, 880].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      const at = start + i * 0.12;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.08, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.3);
    });
  } catch {
    // No audio output here: the toast is enough.
  }
}

/** Turns meeting changes into toasts on `room` (and a chime when chosen). */
export function useNotices(room: Room, chatOpen: boolean, openChat: () => void): void {
  const t = useT();
  const chatOpenRef = useRef(chatOpen);
  chatOpenRef.current = chatOpen;
  const openChatRef = useRef(openChat);
  openChatRef.current = openChat;
  const tRef = useRef(t);
  tRef.current = t;

  useEffect(() => {
    let before = room.state;
    const hands = new Throttle(HAND_INTERVAL_MS);
    const show = (notice: Notice) => {
      const tr = tRef.current;
      switch (notice.kind) {
        case "hand":
          if (!hands.allow(notice.participantId, Date.now())) return;
          room.toast("info", tr("notices.handRaised", { name: isolate(notice.name) }));
          break;
        case "joined":
        case "left":
          room.toast("info", presenceText(tr, notice));
          break;
        case "spotlightYou":
          room.toast("info", tr("notices.spotlightYou"));
          break;
        case "signal":
          room.toast("warn", signalText(tr, notice));
          break;
        case "chat":
          room.toast("info", tr("notices.chat", { name: isolate(notice.message.sender.display_name), text: preview(notice.message.text) }), {
            label: tr("notices.openChat"),
            run: () => openChatRef.current(),
          });
          break;
      }
      if (viewPrefs.value.noticeSound) chime();
    };
    const batch = new PresenceBatcher(show, () => (room.state.participants.size > BIG_MEETING ? BIG_WINDOW_MS : SMALL_WINDOW_MS));
    const off = room.on("change", (after) => {
      const notices = noticesBetween(before, after, chatOpenRef.current);
      before = after;
      for (const n of notices) {
        if (n.kind === "joined" || n.kind === "left") batch.add(n);
        else show(n);
      }
    });
    return () => {
      off();
      batch.dispose();
    };
  }, [room]);
}

/** "(2) Weekly sync – Convene" while in the meeting; the page's own title again after. */
export function useTabTitle(state: RoomState): void {
  const t = useT();
  const title = state.meeting?.title ?? t("join.meetingFallback");
  useEffect(() => {
    const previous = document.title;
    return () => {
      document.title = previous;
    };
  }, []);
  useEffect(() => {
    document.title = state.unread > 0 ? t("meeting.tabTitleUnread", { title, unread: state.unread }) : t("meeting.tabTitle", { title });
  }, [t, title, state.unread]);
}
