/**
 * A meeting's transcript (`/meetings/<id>/transcript?lang=…`): for its host and whoever was let
 * in. One language at a time, read page by page with the JSON cursor; each language downloads
 * as WebVTT, SRT, text or JSON (the REST file, as it is); the host can delete every language.
 * During the meeting it works too: Refresh reads what was settled since.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { uiLocale } from "../../i18n";
import { useT } from "../../i18n/hook";
import { RestError, describeError } from "../../protocol/errors";
import {
  transcriptFileUrl,
  type TranscriptFormat,
  type TranscriptLanguage,
  type TranscriptLanguages,
  type TranscriptPage,
  type TranscriptSegment,
} from "../../protocol/rest";
import { Modal } from "../dialog";
import { useAction } from "../hooks";
import { linkHandler, navigate, transcriptPath } from "../router";
import { rest, useSession } from "../session";
import { Spinner, TopBar } from "./common";
import "./transcript.css";

/** Segments asked for per page. */
export const PAGE_SIZE = 200;

export const FORMATS: readonly TranscriptFormat[] = ["vtt", "srt", "txt", "json"];

/** A place in the transcript as `HH:MM:SS` from its start (hours go past 99 if they must). */
export function formatOffset(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(total / 3600))}:${pad(Math.floor(total / 60) % 60)}:${pad(total % 60)}`;
}

/** A wall time (ISO 8601) in the reader's own zone and the UI's language. */
export function formatWallTime(iso: string, locale: string, timeZone?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "medium", ...(timeZone ? { timeZone } : {}) });
}

/** A language's name in the UI's language (the tag itself when the browser has none). */
export function languageName(tag: string, locale: string): string {
  try {
    return new Intl.DisplayNames([locale], { type: "language" }).of(tag) ?? tag;
  } catch {
    return tag;
  }
}

const RTL_LANGUAGES = new Set(["ar", "arc", "ckb", "dv", "fa", "he", "ks", "ku", "ps", "sd", "ug", "ur", "yi"]);

/** The direction a language's text is written in. */
export function textDirection(tag: string): "rtl" | "ltr" {
  const [base = "", script] = tag.split("-");
  if (script === "Arab" || script === "Hebr") return "rtl";
  if (script === "Latn" || script === "Cyrl") return "ltr";
  return RTL_LANGUAGES.has(base.toLowerCase()) ? "rtl" : "ltr";
}

/** The language to show: the one asked for when the meeting has it, else the first there is. */
export function pickLanguage(asked: string | null, languages: readonly TranscriptLanguage[]): string | null {
  if (asked && languages.some((l) => l.language === asked)) return asked;
  return languages[0]?.language ?? null;
}

/** What has been read of one language so far. */
export interface Paging {
  segments: TranscriptSegment[];
  /** The cursor of the next page (null: none, or not read yet). */
  cursor: string | null;
  /** The last page was read. */
  done: boolean;
  /** The meeting's title, as the transcript names it. */
  title: string | null;
}

export const NO_PAGES: Paging = { segments: [], cursor: null, done: false, title: null };

/** `paging` with one more page; a segment already there (by id) is not repeated. */
export function addPage(paging: Paging, page: TranscriptPage): Paging {
  const seen = new Set(paging.segments.map((s) => s.id));
  return {
    segments: [...paging.segments, ...page.segments.filter((s) => !seen.has(s.id))],
    cursor: page.next_cursor,
    done: page.next_cursor === null,
    title: page.title,
  };
}

type Overview =
  | { step: "loading" }
  | { step: "missing" }
  | { step: "failed"; message: string }
  | { step: "ready"; data: TranscriptLanguages; deleted: boolean };

function isMissing(err: unknown): boolean {
  return err instanceof RestError && err.status === 404;
}

export function TranscriptPage({ meetingId, language }: { meetingId: string; language: string | null }) {
  const t = useT();
  const info = useSession();
  const [overview, setOverview] = useState<Overview>({ step: "loading" });
  const [refresh, setRefresh] = useState(0);
  // What the caller was signed in as when the languages were read (a sign-in elsewhere reloads).
  const userId = info === undefined ? undefined : (info?.user.id ?? null);

  useEffect(() => {
    if (userId === undefined) return undefined;
    const abort = new AbortController();
    rest.transcriptLanguages(meetingId, { signal: abort.signal }).then(
      (data) => setOverview((before) => ({ step: "ready", data, deleted: before.step === "ready" && before.deleted && data.languages.length === 0 })),
      (err: unknown) => {
        if (abort.signal.aborted) return;
        setOverview(isMissing(err) ? { step: "missing" } : { step: "failed", message: describeError(err) });
      },
    );
    return () => abort.abort();
  }, [meetingId, userId, refresh]);

  // After deleting, the Delete button is gone: focus goes to what replaced the transcript.
  const emptyRef = useRef<HTMLParagraphElement>(null);
  const deleted = overview.step === "ready" && overview.deleted;
  useEffect(() => {
    if (deleted) emptyRef.current?.focus();
  }, [deleted]);

  const languages = overview.step === "ready" ? overview.data.languages : [];
  const selected = pickLanguage(language, languages);

  return (
    <div class="page">
      <TopBar />
      <main class="narrow-main transcript-page" aria-labelledby="transcript-title" data-testid="transcript-page">
        <h1 id="transcript-title">{t("transcript.title")}</h1>
        {overview.step === "loading" && <Spinner label={t("common.loading")} />}
        {overview.step === "missing" && (
          <div class="card">
            <p role="alert" data-testid="transcript-not-found">{t("transcript.notFound")}</p>
            {info === null && (
              <p>
                <a href={`/signin?next=${encodeURIComponent(transcriptPath(meetingId, language))}`}
                  onClick={linkHandler(`/signin?next=${encodeURIComponent(transcriptPath(meetingId, language))}`)}
                  data-testid="transcript-signin">
                  {t("transcript.signIn")}
                </a>
              </p>
            )}
          </div>
        )}
        {overview.step === "failed" && (
          <div class="card">
            <p class="error" role="alert">{overview.message}</p>
            <button type="button" class="btn" onClick={() => setRefresh((n) => n + 1)}>{t("transcript.refresh")}</button>
          </div>
        )}
        {overview.step === "ready" && (
          <>
            <div class="row between transcript-toolbar">
              {selected ? (
                <label class="transcript-language">
                  {t("transcript.language")}
                  <select value={selected} data-testid="transcript-language"
                    onChange={(ev) => navigate(transcriptPath(meetingId, ev.currentTarget.value), { replace: true })}>
                    {languages.map((l) => {
                      const name = languageName(l.language, uiLocale());
                      return (
                        <option key={l.language} value={l.language}>
                          {l.translated ? t("transcript.translatedLanguage", { name }) : name}
                        </option>
                      );
                    })}
                  </select>
                </label>
              ) : <span />}
              <div class="row">
                <button type="button" class="btn" data-testid="transcript-refresh" onClick={() => setRefresh((n) => n + 1)}>
                  {t("transcript.refresh")}
                </button>
                {overview.data.may_delete && languages.length > 0 && (
                  <DeleteButton meetingId={meetingId} onDeleted={() =>
                    setOverview({ step: "ready", data: { ...overview.data, languages: [] }, deleted: true })} />
                )}
              </div>
            </div>
            {selected ? (
              <Language key={`${selected}#${refresh}`} meetingId={meetingId} language={selected}
                translated={languages.find((l) => l.language === selected)?.translated ?? false} />
            ) : (
              <p class="card" role="status" data-testid="transcript-empty" tabIndex={-1} ref={emptyRef}>
                {overview.deleted ? t("transcript.deleted") : t("transcript.empty")}
              </p>
            )}
          </>
        )}
      </main>
    </div>
  );
}

/** One language: its downloads and its segments, page by page. */
function Language({ meetingId, language, translated }: { meetingId: string; language: string; translated: boolean }) {
  const t = useT();
  const [paging, setPaging] = useState<Paging>(NO_PAGES);
  const [busy, setBusy] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  const load = (from: Paging) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setBusy(true);
    setError(null);
    rest.transcriptPage(meetingId, language, from.cursor, PAGE_SIZE, { signal: controller.signal }).then(
      (page) => {
        setPaging(addPage(from, page));
        setBusy(false);
      },
      (err: unknown) => {
        if (controller.signal.aborted) return;
        // Gone since the languages were read (deleted): nothing to show.
        if (isMissing(err)) setPaging({ ...from, done: true });
        else setError(describeError(err));
        setBusy(false);
      },
    );
  };

  useEffect(() => {
    load(NO_PAGES);
    return () => abort.current?.abort();
  }, []);

  const locale = uiLocale();
  const name = languageName(language, locale);
  return (
    <>
      {paging.title !== null && (
        <p class="muted" data-testid="transcript-meeting-title"><bdi>{paging.title}</bdi></p>
      )}
      <section class="card" aria-labelledby="transcript-downloads">
        <h2 id="transcript-downloads">{t("transcript.download")}</h2>
        <ul class="row transcript-downloads" aria-label={t("transcript.downloadsOf", { name })}>
          {FORMATS.map((format) => (
            <li key={format}>
              <a class="btn small" href={transcriptFileUrl(meetingId, language, format)} download
                data-testid={`transcript-download-${format}`}>
                {t(`transcript.format.${format}`)}
              </a>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="transcript-segments-title">
        <h2 id="transcript-segments-title">
          {translated ? t("transcript.translatedLanguage", { name }) : name}
        </h2>
        <ol class="transcript-segments" lang={language} dir={textDirection(language)} data-testid="transcript-segments">
          {paging.segments.map((s) => (
            <li key={s.id} class="transcript-segment" data-testid="transcript-segment">
              <div class="transcript-meta">
                <time dateTime={s.start} title={formatWallTime(s.start, locale)} class="muted small"
                  data-testid="transcript-time">
                  {formatOffset(s.start_ms)}
                </time>
                <bdi class="transcript-speaker" data-testid="transcript-speaker">{s.speaker.display_name}</bdi>
              </div>
              <p class="transcript-text" data-testid="transcript-text">{s.text}</p>
            </li>
          ))}
        </ol>
        {busy && <Spinner label={t("common.loading")} />}
        {error && <p class="error" role="alert">{error}</p>}
        {!busy && (error || !paging.done) && (
          <button type="button" class="btn" data-testid="transcript-more" onClick={() => load(paging)}>
            {t("transcript.loadMore")}
          </button>
        )}
      </section>
    </>
  );
}

function DeleteButton({ meetingId, onDeleted }: { meetingId: string; onDeleted: () => void }) {
  const t = useT();
  const [asking, setAsking] = useState(false);
  const { busy, error, run } = useAction();
  const confirm = () =>
    run(async () => {
      await rest.deleteTranscripts(meetingId);
      setAsking(false);
      onDeleted();
    });
  return (
    <>
      <button type="button" class="btn danger" data-testid="transcript-delete" onClick={() => setAsking(true)}>
        {t("transcript.delete")}
      </button>
      {asking && (
        <Modal title={t("transcript.deleteTitle")} onClose={() => setAsking(false)} testid="transcript-delete-dialog"
          initialFocus="[data-testid=transcript-delete-cancel]">
          <p>{t("transcript.deleteText")}</p>
          {error && <p class="error" role="alert">{error}</p>}
          <div class="row">
            <button type="button" class="btn danger" disabled={busy} data-testid="transcript-delete-confirm" onClick={confirm}>
              {t("transcript.deleteConfirm")}
            </button>
            <button type="button" class="btn" data-testid="transcript-delete-cancel" onClick={() => setAsking(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}
