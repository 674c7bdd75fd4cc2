/**
 * Live captions in the meeting: the "captions on" indicator (top bar), the CC button with its
 * settings (what to read, text size, the language spoken, the host's on/off), the two lines over
 * the stage, the history panel, and the meeting's captions setting for the settings panel.
 *
 * Caption text comes from speech recognition: it is rendered as text nodes only, each line with
 * the `lang` and `dir` of its language (an Arabic line runs right to left in any UI).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { CaptionLanguage, CaptionsInfo } from "../../protocol/types";
import {
  CAPTION_SIZES,
  captionPrefs,
  directionOfTag,
  hasSpeechModel,
  history,
  offered,
  readingOf,
  shownLines,
  spaced,
  untranslatable,
  type CaptionPrefs,
  type CaptionSegment,
  type CaptionSize,
} from "../../room/captions";
import type { Room } from "../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../room/state";
import { LANGUAGES, uiLocale, type Translate } from "../../i18n";
import { useLanguage, useT } from "../../i18n/hook";
import { useDismiss, useStore } from "../hooks";
import { Icon } from "../icons";
import { usePopover } from "../keyboard";
import { PanelFrame } from "./panels";
import "./captions.css";

export function useCaptionPrefs(): CaptionPrefs {
  return useStore(captionPrefs);
}

/** A language's name in the UI's language ("Russian", "russe", "俄语"); the code if unknown. */
export function languageName(code: string, locale = uiLocale()): string {
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(code) ?? code;
  } catch {
    return code;
  }
}

function listOf(items: string[], locale = uiLocale()): string {
  try {
    return new Intl.ListFormat(locale, { type: "conjunction" }).format(items);
  } catch {
    return items.join(", ");
  }
}

/** The languages the reader may pick what they speak from: those offered, else the six. */
function spokenChoices(info: CaptionsInfo, current: string): string[] {
  const codes = info.languages.length > 0 ? info.languages.map((l) => l.code) : [...LANGUAGES];
  return codes.includes(current) ? codes : [current, ...codes];
}

/** Why the host cannot turn captions on here (null: they can). */
function cannotStart(info: CaptionsInfo, t: Translate): string | null {
  if (info.active) return null;
  if (!info.available) return t("captions.error.unavailable");
  if (info.policy === "forbidden") return t("captions.error.forbidden");
  return null;
}

// -- The indicator --------------------------------------------------------------------------

/** "Captions on: speech is being transcribed" while captions are on; said once when they turn on. */
export function CaptionsIndicator({ state }: { state: RoomState }) {
  const t = useT();
  const info = state.captions.info;
  const [said, setSaid] = useState("");
  const wasActive = useRef(false);
  useEffect(() => {
    const before = wasActive.current;
    wasActive.current = info.active;
    if (info.active === before) return undefined;
    // A moment after the region exists, so that a screen reader hears the change.
    const timer = setTimeout(() => setSaid(info.active ? t("captions.indicator") : t("captions.announceOff")), 150);
    return () => clearTimeout(timer);
  }, [info.active]);
  return (
    <>
      <span class="sr-only" role="status" data-testid="captions-announcer">{said}</span>
      {info.active && (
        <span class="captions-indicator" data-testid="captions-indicator" data-transcribing={info.transcribing ? "true" : "false"}>
          <Icon name="captions" size={16} />
          <span>{info.transcribing ? t("captions.indicator") : t("captions.starting")}</span>
        </span>
      )}
    </>
  );
}

// -- The host's switch (top bar) ----------------------------------------------------------------

/**
 * Host or co-host: turns captions on or off for everyone. When they cannot be turned on (the
 * server offers none, or the meeting forbids them) the button stays focusable, says why
 * (aria-describedby and a toast on use) and does nothing.
 */
export function CaptionsHostToggle({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const [busy, setBusy] = useState(false);
  if (!isHostRole(selfInfo(state))) return null;
  const info = state.captions.info;
  const why = cannotStart(info, t);
  return (
    <>
      {/* Named by aria-label too: on a phone the label is hidden and the icon alone shows. */}
      <button type="button" class="btn ghost small" data-testid="captions-host-toggle" data-active={info.active ? "true" : "false"}
        aria-label={info.active ? t("captions.turnOff") : t("captions.turnOn")}
        aria-disabled={why !== null || busy ? "true" : undefined} aria-describedby={why ? "captions-host-why" : undefined}
        title={why ?? undefined}
        onClick={async () => {
          if (why) {
            room.toast("info", why);
            return;
          }
          if (busy) return;
          setBusy(true);
          await (info.active ? room.captions.stop() : room.captions.start());
          setBusy(false);
        }}>
        <Icon name="captions" size={16} />{" "}
        <span class="btn-label">{info.active ? t("captions.turnOff") : t("captions.turnOn")}</span>
      </button>
      {why && <span class="sr-only" id="captions-host-why" data-testid="captions-host-why">{why}</span>}
    </>
  );
}

// -- The CC button and its settings --------------------------------------------------------

export function CaptionsControls({ room, state, panelOpen, onTogglePanel }: {
  room: Room;
  state: RoomState;
  panelOpen: boolean;
  onTogglePanel: () => void;
}) {
  const t = useT();
  const ui = useLanguage();
  const prefs = useCaptionPrefs();
  const info = state.captions.info;
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  const ref = useDismiss<HTMLDivElement>(open, close);
  const popover = usePopover(open, setOpen);
  const showing = state.captions.reading !== "off";
  // Only while captions are on: there is nothing to read before, and a phone's control bar
  // has no room to spare (the host's switch is in the top bar).
  if (!info.active && !panelOpen) return null;

  return (
    <>
      <div class="menu-wrap captions-controls" ref={ref}>
        <button type="button" class={`control ${showing ? "active" : ""}`} data-testid="captions-toggle" aria-pressed={showing}
          data-reading={state.captions.reading} title={showing ? t("captions.hide") : t("captions.show")}
          onClick={() => captionPrefs.set({ show: !prefs.show })}>
          <Icon name="captions" />
          <span class="control-label">{t("captions.button")}</span>
        </button>
        <button type="button" class="control narrow" data-testid="captions-reading-menu" aria-haspopup="dialog"
          aria-expanded={open} aria-label={t("captions.settings")}
          ref={popover.buttonRef} onKeyDown={popover.onButtonKeyDown} onClick={() => setOpen(!open)}>
          <Icon name="chevronUp" />
        </button>
        {open && (
          <div class="popover captions-popover" role="dialog" aria-label={t("captions.settings")} data-testid="captions-menu"
            ref={popover.popupRef} onKeyDown={popover.onPopupKeyDown}>
            {!info.available && <p class="hint" data-testid="captions-unavailable">{t("captions.error.unavailable")}</p>}
            <ReadingChoice state={state} prefs={prefs} ui={ui} />
            <label>
              {t("captions.size")}
              <select value={prefs.size} data-testid="captions-size"
                onChange={(e) => captionPrefs.set({ size: e.currentTarget.value as CaptionSize })}>
                {CAPTION_SIZES.map((size) => <option key={size} value={size}>{t(`captions.size.${size}`)}</option>)}
              </select>
            </label>
            <SpokenSelect room={room} state={state} prefs={prefs} ui={ui} />
            <button type="button" class="btn ghost small captions-history-entry" data-testid="captions-history-open"
              onClick={() => { close(); onTogglePanel(); }}>
              {t("captions.history")}
            </button>
          </div>
        )}
      </div>
      <button type="button" class={`control captions-panel-control ${panelOpen ? "active" : ""}`} data-testid="captions-panel-button"
        aria-pressed={panelOpen} onClick={onTogglePanel}>
        <Icon name="list" />
        <span class="control-label">{t("captions.history")}</span>
      </button>
    </>
  );
}

/** The note beside a language one may read: whose speech cannot be put into it. */
function readingNote(language: CaptionLanguage, state: RoomState, t: Translate): string | null {
  const missing = untranslatable(language, state.participants.values(), state.selfId);
  if (missing.length === 0) return null;
  return t("captions.noTranslationFrom", { languages: listOf(missing.map((code) => languageName(code))) });
}

/**
 * What to read: each speaker's own words or one of the meeting's languages, as radio buttons
 * (each with its note: whose speech cannot be translated into it). Choosing shows captions.
 */
function ReadingChoice({ state, prefs, ui }: { state: RoomState; prefs: CaptionPrefs; ui: string }) {
  const t = useT();
  const info = state.captions.info;
  const chosen = readingOf({ ...prefs, show: true }, ui, info);
  const options: { code: string; name: string; note: string | null }[] = [
    { code: "original", name: t("captions.original"), note: null },
    ...info.languages.map((l) => ({ code: l.code, name: languageName(l.code), note: readingNote(l, state, t) })),
  ];
  if (!options.some((o) => o.code === chosen)) options.push({ code: chosen, name: languageName(chosen), note: null });
  return (
    <fieldset class="captions-reading" data-testid="captions-reading">
      <legend>{t("captions.read")}</legend>
      {options.map((o) => (
        <label key={o.code} class="check captions-option" data-untranslatable={o.note ? "true" : "false"}>
          <input type="radio" name="captions-reading" value={o.code} checked={o.code === chosen}
            data-testid={`captions-reading-${o.code}`} aria-describedby={o.note ? `captions-note-${o.code}` : undefined}
            // The language shown as chosen while captions are hidden is already checked: picking
            // it fires no change, only a click, and must still show captions.
            onClick={() => captionPrefs.set({ language: o.code, show: true })} />
          <span>
            <span>{o.name}</span>
            {o.note && <span class="hint warn-note captions-option-note" id={`captions-note-${o.code}`}>{o.note}</span>}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

function SpokenSelect({ room, state, prefs, ui }: { room: Room; state: RoomState; prefs: CaptionPrefs; ui: string }) {
  const t = useT();
  const info = state.captions.info;
  const current = selfInfo(state)?.spoken_language ?? prefs.spoken ?? ui;
  const codes = spokenChoices(info, current);
  // Only worth saying where the server offers captions at all.
  const noModel = info.available && !hasSpeechModel(info, current);
  return (
    <>
      <label>
        {t("captions.speak")}
        <select value={current} data-testid="captions-spoken" aria-describedby={noModel ? "captions-spoken-note" : undefined}
          onChange={(e) => void room.captions.speak(e.currentTarget.value)}>
          {codes.map((code) => {
            const missing = info.available && offered(info, code)?.speech !== true;
            return (
              <option key={code} value={code} data-speech={missing ? "false" : "true"}>
                {missing ? t("captions.withNote", { language: languageName(code), note: t("captions.noSpeechModelShort") }) : languageName(code)}
              </option>
            );
          })}
        </select>
      </label>
      {noModel && (
        <p class="hint warn-note" id="captions-spoken-note" data-testid="captions-spoken-note">
          {t("captions.noSpeechModel", { language: languageName(current) })}
        </p>
      )}
    </>
  );
}

// -- Over the stage ---------------------------------------------------------------------------

/** The speaker's name on a line: "You" for one's own words. */
function speakerName(segment: CaptionSegment, state: RoomState, t: Translate): string {
  if (segment.speaker.id === state.selfId) return t("chat.you");
  return state.participants.get(segment.speaker.id)?.display_name ?? segment.speaker.display_name;
}

/**
 * The two latest lines, and a polite live region that says each final segment once (partials
 * would be read over each other).
 */
export function CaptionsOverlay({ state }: { state: RoomState }) {
  const t = useT();
  const prefs = useCaptionPrefs();
  const captions = state.captions;
  const reading = captions.reading !== "off";
  const lines = reading ? shownLines(captions) : [];
  const finals = history(captions);
  const last = finals.at(-1);
  // Say only what arrived while this overlay was up (not the history found on joining).
  const firstSeen = useRef(last ? `${last.id}:${last.stable}` : "");
  const lastKey = last ? `${last.id}:${last.stable}` : "";
  const announce = reading && last && lastKey !== firstSeen.current
    ? t("captions.finalAnnounce", { name: speakerName(last, state, t), text: last.stable })
    : "";
  return (
    <>
      <div class="sr-only" aria-live="polite" data-testid="captions-live">{announce}</div>
      {lines.length > 0 && (
        <div class={`captions-overlay size-${prefs.size}`} data-testid="captions-overlay" aria-hidden="true">
          {lines.map((line) => <CaptionLine key={line.id} line={line} name={speakerName(line, state, t)} />)}
        </div>
      )}
    </>
  );
}

function CaptionLine({ line, name }: { line: CaptionSegment; name: string }) {
  const t = useT();
  const dir = directionOfTag(line.language);
  return (
    <p class={`caption-line ${line.final ? "final" : ""}`} data-testid="caption-line" data-segment-id={line.id}
      data-speaker-id={line.speaker.id} data-final={line.final ? "true" : "false"}
      data-translated={line.translated ? "true" : "false"} lang={line.language ?? undefined} dir={dir}>
      <span class="caption-inner">
        <bdi class="caption-speaker" dir="auto" lang={uiLocale()}>{t("captions.speakerLabel", { name })}</bdi>
        <span class="caption-stable" data-testid="caption-stable">{line.stable}</span>
        {line.unstable && (
          <span class="caption-unstable" data-testid="caption-unstable">{spaced(line.language) && line.stable ? " " : ""}{line.unstable}</span>
        )}
      </span>
    </p>
  );
}

// -- The history panel ------------------------------------------------------------------------

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString(uiLocale(), { hour: "2-digit", minute: "2-digit" });
}

export function CaptionsPanel({ state, onClose }: { state: RoomState; onClose: () => void }) {
  const t = useT();
  const prefs = useCaptionPrefs();
  const items = useMemo(() => history(state.captions), [state.captions.finals]);
  const listRef = useRef<HTMLOListElement>(null);
  // Follows the newest line unless the reader scrolled up to read back.
  const pinned = useRef(true);
  useEffect(() => {
    const el = listRef.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [items]);
  const meetingId = state.meeting?.id;
  return (
    <PanelFrame title={t("captions.panel")} onClose={onClose} testid="captions-panel" opener="captions-panel-button">
      {state.captions.reading === "off" && <p class="muted small panel-note" data-testid="captions-panel-off">{t("captions.panelOff")}</p>}
      {items.length === 0 && <p class="panel-empty" data-testid="captions-empty">{t("captions.panelEmpty")}</p>}
      <ol class={`captions-history size-${prefs.size}`} ref={listRef} data-testid="captions-history" tabIndex={0}
        aria-label={t("captions.panel")}
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}>
        {items.map((s) => (
          <li key={s.id} class="captions-entry" data-testid="captions-entry" data-segment-id={s.id}
            data-translated={s.translated ? "true" : "false"}>
            <div class="chat-meta">
              <bdi class="chat-sender">{speakerName(s, state, t)}</bdi>
              {s.translated && <span class="badge">{t("captions.translated")}</span>}
              <time dateTime={new Date(s.receivedAt).toISOString()}>{clock(s.receivedAt)}</time>
            </div>
            <p class="captions-entry-text" lang={s.language ?? undefined} dir={directionOfTag(s.language)}>{s.stable}</p>
          </li>
        ))}
      </ol>
      {meetingId && (
        <p class="panel-note captions-transcript">
          <a href={`/meetings/${encodeURIComponent(meetingId)}/transcript`} target="_blank" rel="noopener"
            data-testid="captions-transcript-link">
            {t("captions.transcript")}<span class="sr-only"> {t("captions.newTab")}</span>
          </a>
        </p>
      )}
    </PanelFrame>
  );
}

// -- The meeting's setting --------------------------------------------------------------------

/** For the meeting settings panel: whether captions may be turned on, or are on from the start. */
export function CaptionsPolicySetting({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const policy = state.meeting?.captions ?? "allowed";
  const available = state.captions.info.available;
  return (
    <>
      <label>
        {t("captions.policy")}
        <select value={policy} data-testid="setting-captions" aria-describedby={available ? undefined : "captions-policy-note"}
          onChange={(e) => void room.host.update({ captions: e.currentTarget.value as "forbidden" | "allowed" | "auto" })}>
          <option value="forbidden">{t("captions.policy.forbidden")}</option>
          <option value="allowed">{t("captions.policy.allowed")}</option>
          <option value="auto">{t("captions.policy.auto")}</option>
        </select>
      </label>
      {!available && <p class="hint" id="captions-policy-note">{t("captions.error.unavailable")}</p>}
    </>
  );
}
