/**
 * The host's interpretation controls: "Make interpreter…" (one target language, or a pair for a
 * bidirectional booth) and "Remove interpreter" from the participant list's menu, and the machine
 * interpretation channels in the meeting's settings. The server checks who may use them.
 */
import { useState } from "preact/hooks";
import { describeError } from "../../../protocol/errors";
import { assignableLanguages, assignment, interpreterOf } from "../../../room/interpreter";
import type { Room } from "../../../room/room";
import type { RoomState } from "../../../room/state";
import { isolate } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { Modal } from "../../dialog";
import { languageName } from "../captions";

/** Whether `participantId` is an interpreter now (the menu then offers "Remove interpreter"). */
export function isInterpreter(state: RoomState, participantId: string): boolean {
  return interpreterOf(state.interpretation.info, participantId) !== null;
}

async function call(room: Room, run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (err) {
    room.toast("error", describeError(err));
    return false;
  }
}

export function unassignInterpreter(room: Room, participant: string): Promise<boolean> {
  return call(room, () => room.signaling.request("interpretation.unassign", { participant }));
}

export function MakeInterpreterDialog({ room, state, participantId, onClose }: {
  room: Room;
  state: RoomState;
  participantId: string;
  onClose: () => void;
}) {
  const t = useT();
  const person = state.participants.get(participantId);
  const current = interpreterOf(state.interpretation.info, participantId)?.languages ?? [];
  const [first, setFirst] = useState(current[0] ?? "");
  const [second, setSecond] = useState(current[1] ?? "");
  const [busy, setBusy] = useState(false);
  const choices = assignableLanguages(state.captions.info.languages.map((l) => l.code));
  const languages = assignment(first, second);
  const name = person?.display_name ?? "";
  return (
    <Modal title={t("interpreters.makeTitle", { name: isolate(name) })} onClose={onClose} testid="make-interpreter-dialog"
      closeOnOutside initialFocus='[data-testid="interpreter-language-1"]'>
      <form class="form" onSubmit={(ev) => {
        ev.preventDefault();
        if (!languages || busy) return;
        setBusy(true);
        void call(room, () => room.signaling.request("interpretation.assign", { participant: participantId, languages }))
          .then((ok) => (ok ? onClose() : setBusy(false)));
      }}>
        <p class="muted small">{t("interpreters.makeHint")}</p>
        <label>
          {t("interpreters.language")}
          <select value={first} data-testid="interpreter-language-1" required onChange={(e) => setFirst(e.currentTarget.value)}>
            <option value="">{t("interpreters.choose")}</option>
            {choices.map((c) => <option key={c} value={c}>{languageName(c)}</option>)}
          </select>
        </label>
        <label>
          {t("interpreters.pairWith")}
          <select value={second} data-testid="interpreter-language-2" onChange={(e) => setSecond(e.currentTarget.value)}>
            <option value="">{t("interpreters.oneLanguage")}</option>
            {choices.filter((c) => c !== first).map((c) => <option key={c} value={c}>{languageName(c)}</option>)}
          </select>
        </label>
        <div class="row">
          <button type="submit" class="btn primary" data-testid="interpreter-assign" disabled={!languages || busy}>
            {t("interpreters.assign")}
          </button>
          <button type="button" class="btn ghost" onClick={onClose}>{t("common.cancel")}</button>
        </div>
      </form>
    </Modal>
  );
}

/** Host only: a machine interpretation channel on or off for each language the server can voice. */
export function MachineInterpretationSetting({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const info = state.interpretation.info;
  if (info.machine_languages.length === 0) return null;
  const open = new Set(info.channels.filter((c) => c.kind === "machine").map((c) => c.language));
  return (
    <fieldset class="console-group" data-testid="machine-interpretation">
      <legend>{t("interpreters.machine")}</legend>
      <p class="muted small">{t("interpreters.machineHint")}</p>
      {info.machine_languages.map((lang) => (
        <label key={lang} class="check">
          <input type="checkbox" checked={open.has(lang)} data-testid={`machine-interpretation-${lang}`}
            onChange={(e) => {
              const on = e.currentTarget.checked;
              void call(room, () => room.signaling.request("interpretation.machine", { language: lang, on }));
            }} />
          {languageName(lang)}
        </label>
      ))}
    </fieldset>
  );
}
