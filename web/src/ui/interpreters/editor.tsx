/**
 * "Interpreters": the meeting's owner names interpreters ahead of time (add someone by email with
 * one language or a pair, list, remove, save). For a scheduled meeting the list is saved through
 * its schedule, so that the people named by email get the invitation too.
 */
import { useEffect, useState } from "preact/hooks";
import { isolate } from "../../i18n";
import { useT } from "../../i18n/hook";
import { describeError } from "../../protocol/errors";
import { MAX_INTERPRETERS, type Interpreter, type InterpreterIn } from "../../protocol/interpreters";
import type { Schedule } from "../../protocol/scheduling";
import { rest } from "../session";
import { OFFERED_LANGUAGES, addByEmail, labelOf, languageLabel, removeAt, toInput, type AddError } from "./list";

const ADD_ERRORS: Record<AddError, string> = {
  email: "namedInterpreters.error.email",
  twice: "namedInterpreters.error.twice",
  languages: "namedInterpreters.error.languages",
  tooMany: "namedInterpreters.error.tooMany",
};

export function InterpretersEditor({ meetingId, scheduleId, onSaved }: {
  meetingId: string;
  /** The schedule the meeting belongs to, if any: the list is saved through it. */
  scheduleId?: string;
  onSaved?: (schedule: Schedule | null) => void;
}) {
  const t = useT();
  const [list, setList] = useState<InterpreterIn[] | null>(null);
  const [names, setNames] = useState<ReadonlyMap<string, string>>(new Map());
  const [email, setEmail] = useState("");
  const [first, setFirst] = useState("");
  const [second, setSecond] = useState("");
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);

  const take = (items: Interpreter[]) => {
    setList(toInput(items));
    setNames(new Map(items.flatMap((i) => (i.user_id && i.display_name ? [[i.user_id, i.display_name] as const] : []))));
    setDirty(false);
  };

  // Read when first opened: a page may show many meetings, each with its editor folded.
  const [opened, setOpened] = useState(false);
  useEffect(() => {
    if (!opened) return;
    let live = true;
    rest.interpreters(meetingId).then(
      (items) => live && take(items),
      (err) => live && setNote({ ok: false, text: describeError(err) }),
    );
    return () => {
      live = false;
    };
  }, [meetingId, opened]);

  const choices = OFFERED_LANGUAGES;
  const pair = (languages: string[]) =>
    languages.length === 2
      ? t("namedInterpreters.pair", { first: isolate(languageLabel(languages[0] ?? "")), second: isolate(languageLabel(languages[1] ?? "")) })
      : languageLabel(languages[0] ?? "");

  const add = (ev: Event) => {
    ev.preventDefault();
    if (!list) return;
    const next = addByEmail(list, email, first, second);
    if (typeof next === "string") {
      setNote({ ok: false, text: t(ADD_ERRORS[next], { max: MAX_INTERPRETERS }) });
      return;
    }
    setList(next);
    setDirty(true);
    setEmail("");
    setFirst("");
    setSecond("");
    setNote(null);
  };

  const save = async () => {
    if (!list) return;
    setBusy(true);
    setNote(null);
    try {
      let schedule: Schedule | null = null;
      if (scheduleId) {
        schedule = await rest.updateSchedule(scheduleId, { interpreters: list });
        take(await rest.interpreters(meetingId));
      } else {
        take(await rest.setInterpreters(meetingId, list));
      }
      setNote({ ok: true, text: t("namedInterpreters.saved") });
      onSaved?.(schedule);
    } catch (err) {
      setNote({ ok: false, text: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="named-interpreters" data-testid="named-interpreters"
      onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>{t("namedInterpreters.summary")}</summary>
      <p class="muted small">{t("namedInterpreters.hint")}</p>
      {list && list.length === 0 && <p class="muted small" data-testid="named-interpreters-none">{t("namedInterpreters.none")}</p>}
      {list && list.length > 0 && (
        <ul class="attendees" data-testid="named-interpreters-list">
          {list.map((item, index) => {
            const who = labelOf(item, names);
            return (
              <li key={`${item.user_id ?? item.email ?? ""}`} data-testid="named-interpreter" data-email={item.email ?? ""}>
                <span class="person-name"><bdi>{who}</bdi></span>
                <span class="muted small"> · {pair(item.languages)} </span>
                <button type="button" class="btn small ghost" aria-label={t("namedInterpreters.removeLabel", { name: isolate(who) })}
                  data-testid="named-interpreter-remove" onClick={() => {
                    setList(removeAt(list, index));
                    setDirty(true);
                  }}>
                  {t("namedInterpreters.remove")}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {list && (
        <form class="form named-interpreters-add" onSubmit={add} noValidate>
          <label>
            {t("namedInterpreters.email")}
            <input type="email" dir="ltr" maxLength={254} value={email} data-testid="named-interpreter-email"
              onInput={(e) => setEmail(e.currentTarget.value)} />
          </label>
          <label>
            {t("interpreters.language")}
            <select value={first} data-testid="named-interpreter-language-1" onChange={(e) => setFirst(e.currentTarget.value)}>
              <option value="">{t("interpreters.choose")}</option>
              {choices.map((c) => <option key={c} value={c}>{languageLabel(c)}</option>)}
            </select>
          </label>
          <label>
            {t("interpreters.pairWith")}
            <select value={second} data-testid="named-interpreter-language-2" onChange={(e) => setSecond(e.currentTarget.value)}>
              <option value="">{t("interpreters.oneLanguage")}</option>
              {choices.filter((c) => c !== first).map((c) => <option key={c} value={c}>{languageLabel(c)}</option>)}
            </select>
          </label>
          <div class="row">
            <button type="submit" class="btn small" data-testid="named-interpreter-add">{t("namedInterpreters.add")}</button>
            <button type="button" class="btn small primary" disabled={busy || !dirty} data-testid="named-interpreters-save"
              onClick={() => void save()}>
              {t(busy ? "namedInterpreters.saving" : "namedInterpreters.save")}
            </button>
          </div>
        </form>
      )}
      {note && <p class={note.ok ? "small" : "error small"} role="status" data-testid="named-interpreters-note">{note.text}</p>}
    </details>
  );
}
