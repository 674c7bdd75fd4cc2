/**
 * The interpreter console: a mode of the meeting shown to interpreters, beside the stage.
 *
 * What I hear (the floor, or another channel: relay), which channel I speak into (A⇄B for a pair
 * booth), an ON AIR sign nobody can mistake, the booth partners with handover requests, the
 * partner link, booth chat, "Slow down" and "Audio poor" for the current speaker, who speaks and
 * in which language, and the floor's captions while captions are on.
 *
 * User text (names, booth chat, captions) is rendered as text nodes with `dir="auto"`.
 */
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import { shownLines, joinText, directionOfTag } from "../../../room/captions";
import { airState, consoleView, currentSpeaker, partnerAction, type SignalKind } from "../../../room/interpreter";
import type { Room } from "../../../room/room";
import { cancel, isTalkKey, press, release, TALK_KEY_UP, talking, toggle, type TalkKey } from "../../../room/talk-key";
import type { RoomState } from "../../../room/state";
import { isolate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { useEvent } from "../../hooks";
import { languageName } from "../captions";
import "./console.css";

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function InterpreterConsole({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const desk = useEvent(room.interpreter, "change", room.interpreter.state);
  const info = state.interpretation.info;
  const view = consoleView(info, state.selfId);
  const [chat, setChat] = useState("");
  const listRef = useRef<HTMLOListElement>(null);
  const messages = state.interpretation.boothMessages;

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length]);

  // The channel, not the floor: the meeting microphone goes off when the console's opens
  // (by the button, taking the channel or accepting a handover).
  useEffect(() => {
    if (desk.micOn && room.local.state.micOn) {
      void room.setMic(false);
      room.toast("info", t("console.floorMicOff"));
    }
  }, [desk.micOn]);

  if (!view) return null;
  const act = (fn: () => Promise<unknown>) => () => {
    fn().catch((err: unknown) => room.toast("error", describeError(err)));
  };
  const air = airState(view, desk.micOn, desk.talking);
  const speakerId = currentSpeaker(state.lastSpoke, info, state.selfId);
  const speaker = speakerId ? state.participants.get(speakerId) : undefined;
  const listening = state.interpretation.listening;
  const captionsOn = state.captions.info.active;
  const lines = captionsOn ? shownLines(state.captions, 3) : [];
  const nameOf = (id: string) => view.partners.find((p) => p.id === id)?.name ?? state.participants.get(id)?.display_name ?? "";
  const sendChat = (ev: Event) => {
    ev.preventDefault();
    const text = chat.trim();
    if (!text) return;
    room.interpreter.boothChat(text).then(() => setChat(""), (err: unknown) => room.toast("error", describeError(err)));
  };
  const signal = (kind: SignalKind) => act(async () => {
    await room.interpreter.signal(kind, speakerId);
    room.toast("info", t(kind === "slow_down" ? "console.sentSlowDown" : "console.sentAudioPoor"));
  });

  return (
    <aside class="interpreter-console" data-testid="interpreter-console" aria-label={t("console.title")}>
      <div class={`console-air ${air}`} data-testid="console-on-air" data-state={air === "on_air" ? "on" : "off"}
        role="status" aria-live="assertive">
        <strong class="console-air-sign">{air === "on_air" ? t("console.onAir") : t("console.offAir")}</strong>
        <span class="console-air-note">
          {air === "live_muted" && t("console.liveMuted")}
          {air === "talking" && t("console.talkingToPartner")}
          {air === "partner_live" && view.live && t("console.partnerLive", { name: isolate(view.live.name) })}
          {air === "nobody_live" && t("console.nobodyLive")}
        </span>
      </div>

      <div class="console-row">
        <button type="button" class={`btn big console-mic ${desk.micOn ? "on" : ""}`} data-testid="console-mic"
          aria-pressed={desk.micOn} disabled={!desk.active}
          onClick={() => room.interpreter.setMic(!desk.micOn)}>
          {desk.micOn ? t("console.micOff") : t("console.micOn")}
        </button>
        {!view.live && (
          <button type="button" class="btn big primary" data-testid="console-take" onClick={act(() => room.interpreter.take())}>
            {t("console.take")}
          </button>
        )}
      </div>
      {desk.error && <p class="error small" role="alert">{desk.error}</p>}

      <fieldset class="console-group">
        <legend>{t("console.speakInto")}</legend>
        {/* In the page's direction: the booth's first language at the inline start. */}
        <div class="console-buttons">
          {view.outputs.map((lang, i) => (
            <Fragment key={lang}>
              {i > 0 && <span aria-hidden="true">⇄</span>}
              <button type="button" class="btn small" data-testid={`console-output-${lang}`}
                aria-pressed={view.output === lang} disabled={!view.iAmLive || view.output === lang}
                onClick={act(() => room.interpreter.output(lang))}>
                <span dir="auto">{languageName(lang)}</span>
              </button>
            </Fragment>
          ))}
        </div>
      </fieldset>

      <fieldset class="console-group">
        <legend>{t("console.listenTo")}</legend>
        <div class="console-buttons">
          <button type="button" class="btn small" data-testid="console-listen-floor" aria-pressed={listening === null}
            onClick={() => void room.interpretation.listen(null, false)}>
            {t("console.floor")}
          </button>
          {info.channels.filter((c) => !view.outputs.includes(c.language)).map((c) => (
            <button key={c.language} type="button" class="btn small" data-testid={`console-listen-${c.language}`}
              aria-pressed={listening === c.language} onClick={() => void room.interpretation.listen(c.language, false)}>
              {t("console.relay", { language: languageName(c.language) })}
            </button>
          ))}
        </div>
      </fieldset>

      <section class="console-group" aria-labelledby="console-partners">
        <h3 id="console-partners">{t("console.partners")}</h3>
        {view.partners.length === 0 && <p class="muted small">{t("console.noPartners")}</p>}
        <ul class="console-partners">
          {view.partners.map((p) => {
            const action = partnerAction(view, p);
            return (
              <li key={p.id} data-participant-id={p.id}>
                <bdi>{p.name}</bdi>
                {p.live && <span class="badge live">{t("console.live")}</span>}
                {action && (
                  <button type="button" class="btn small" data-testid={`console-handover-${p.id}`}
                    onClick={act(() => room.interpreter.handover(p.id))}>
                    {action === "hand_over" ? t("console.handOverTo", { name: isolate(p.name) }) : t("console.takeOverFrom", { name: isolate(p.name) })}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
        {view.incoming && (
          <div class="console-request" role="alert" data-testid="console-incoming">
            <p>
              {view.iAmLive
                ? t("console.asksToTakeOver", { name: isolate(nameOf(view.incoming.from)) })
                : t("console.offersHandover", { name: isolate(nameOf(view.incoming.from)) })}
            </p>
            <div class="row">
              <button type="button" class="btn small primary" data-testid="console-accept" onClick={act(() => room.interpreter.accept())}>
                {t("console.accept")}
              </button>
              <button type="button" class="btn small" data-testid="console-decline" onClick={act(() => room.interpreter.cancel())}>
                {t("console.decline")}
              </button>
            </div>
          </div>
        )}
        {view.outgoing && (
          <div class="console-request" role="status" data-testid="console-outgoing">
            <p>{t("console.waitingFor", { name: isolate(nameOf(view.outgoing.to)) })}</p>
            <button type="button" class="btn small" data-testid="console-cancel" onClick={act(() => room.interpreter.cancel())}>
              {t("common.cancel")}
            </button>
          </div>
        )}
        {view.partners.length > 0 && <TalkButton room={room} talkingNow={desk.talking} active={desk.active} />}
      </section>

      <section class="console-group" aria-labelledby="console-speaker">
        <h3 id="console-speaker">{t("console.speaker")}</h3>
        <p data-testid="console-speaker-name">
          {speaker
            ? <><bdi>{speaker.display_name}</bdi>{speaker.spoken_language ? ` · ${languageName(speaker.spoken_language)}` : ""}</>
            : <span class="muted">{t("console.nobodySpeaking")}</span>}
        </p>
        <div class="console-buttons">
          <button type="button" class="btn small" data-testid="console-signal-slow_down" onClick={signal("slow_down")}>
            {t("console.slowDown")}
          </button>
          <button type="button" class="btn small" data-testid="console-signal-audio_poor" onClick={signal("audio_poor")}>
            {t("console.audioPoor")}
          </button>
        </div>
        {captionsOn && (
          <ol class="console-captions" data-testid="console-captions" aria-label={t("console.captions")}>
            {lines.map((s) => (
              <li key={s.id} lang={s.language ?? undefined} dir={directionOfTag(s.language)}>
                <bdi class="muted">{s.speaker.display_name}</bdi>{" "}{joinText(s.stable, s.unstable, s.language)}
              </li>
            ))}
          </ol>
        )}
      </section>

      <section class="console-group console-chat" aria-labelledby="console-chat">
        <h3 id="console-chat">{t("console.boothChat")}</h3>
        <ol class="console-messages" ref={listRef} data-testid="console-booth-messages" aria-live="polite">
          {messages.map((m) => (
            <li key={`${m.sent_at}-${m.sender}`} data-testid="console-booth-message">
              <span class="chat-meta"><bdi>{m.display_name}</bdi> <time dateTime={m.sent_at}>{time(m.sent_at)}</time></span>
              <span dir="auto">{m.text}</span>
            </li>
          ))}
        </ol>
        <form class="row" onSubmit={sendChat}>
          <input type="text" maxLength={500} value={chat} dir="auto" data-testid="console-booth-chat"
            aria-label={t("console.boothChatMessage")} placeholder={t("console.boothChatPlaceholder")}
            onInput={(e) => setChat(e.currentTarget.value)} />
          <button type="submit" class="btn small" disabled={!chat.trim()}>{t("chat.send")}</button>
        </form>
      </section>
    </aside>
  );
}

/** Ignore the click a press already handled (a pointer's, or a key's should one come). */
const CLICK_AFTER_PRESS_MS = 600;

/**
 * "Talk to partner": hold it (pointer, or Space/Enter with focus) to talk while held; a click
 * latches the talk on and the next press ends it (see room/talk-key.ts).
 */
function TalkButton({ room, talkingNow, active }: { room: Room; talkingNow: boolean; active: boolean }) {
  const t = useT();
  const key = useRef<TalkKey>(TALK_KEY_UP);
  const handledAt = useRef(-Infinity);
  const [mode, setMode] = useState<"off" | "held" | "latched">("off");
  const apply = (next: TalkKey) => {
    key.current = next;
    setMode(next.pressedAt !== null ? "held" : next.latched ? "latched" : "off");
    const on = talking(next);
    if (on !== room.interpreter.state.talking) room.interpreter.setTalk(on);
  };
  // Turned off from elsewhere (the console closed, the desk went down): the key is up.
  useEffect(() => {
    if (!talkingNow && talking(key.current)) {
      key.current = TALK_KEY_UP;
      setMode("off");
    }
  }, [talkingNow]);
  const up = (next: TalkKey) => {
    handledAt.current = performance.now();
    apply(next);
  };
  return (
    <>
      <button type="button" class={`btn small console-talk ${talkingNow ? "on" : ""}`} data-testid="console-talk"
        data-mode={mode} aria-pressed={talkingNow} aria-describedby="console-talk-hint" disabled={!active}
        onPointerDown={(e) => {
          if (e.button !== 0) return;
          e.currentTarget.setPointerCapture?.(e.pointerId);
          apply(press(key.current, performance.now()));
        }}
        onPointerUp={() => up(release(key.current, performance.now()))}
        onPointerCancel={() => up(cancel(key.current))}
        onLostPointerCapture={() => { if (key.current.pressedAt !== null) up(release(key.current, performance.now())); }}
        onKeyDown={(e) => {
          if (!isTalkKey(e.key)) return;
          e.preventDefault();
          apply(press(key.current, performance.now()));
        }}
        onKeyUp={(e) => {
          if (!isTalkKey(e.key)) return;
          e.preventDefault();
          up(release(key.current, performance.now()));
        }}
        onBlur={() => apply(cancel(key.current))}
        onContextMenu={(e) => e.preventDefault()}
        onClick={() => {
          // A click with no press before it (assistive technology): toggle the latch.
          if (performance.now() - handledAt.current < CLICK_AFTER_PRESS_MS) return;
          apply(toggle(key.current));
        }}>
        {talkingNow ? t("console.talkingToPartner") : t("console.talkToPartner")}
      </button>
      <p id="console-talk-hint" class="muted small console-talk-hint">{t("console.talkHint")}</p>
    </>
  );
}

/** Whether this participant is an interpreter (the console mode is offered only then). */
export function isSelfInterpreter(state: RoomState): boolean {
  return consoleView(state.interpretation.info, state.selfId) !== null;
}

/** The header's "Interpreter console" toggle, shown to interpreters (on by default). */
export function ConsoleToggle({ state, on, onToggle }: { state: RoomState; on: boolean; onToggle: () => void }) {
  const t = useT();
  if (!isSelfInterpreter(state)) return null;
  return (
    <button type="button" class="btn ghost small" data-testid="console-toggle" aria-pressed={on} onClick={onToggle}>
      {t("console.toggle")}
    </button>
  );
}
