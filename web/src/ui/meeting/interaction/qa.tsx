/**
 * The Q&A panel: ask (anonymously where the meeting allows it), the questions sorted by votes or
 * by time, upvote (once; never one's own), and what hosts, co-hosts and an event's panelists do
 * (answer in writing, answered live, answering live now, dismiss, reopen). Dismissed questions
 * are listed apart, for hosts and their asker.
 */
import { useState } from "preact/hooks";
import type { Question } from "../../../protocol/types";
import { describeError } from "../../../protocol/errors";
import { mayVote, qaSections, QUESTION_MAX_LENGTH, stateOf, votesOf, type QaSort } from "../../../room/qa";
import type { Room } from "../../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { uiLocale } from "../../../i18n";
import { useT } from "../../../i18n/hook";
import { useAction } from "../../hooks";
import { PanelFrame } from "../panels";
import "./interaction.css";

function time(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString(uiLocale(), { hour: "2-digit", minute: "2-digit" });
}

/** Hosts, co-hosts and, in an event, the panelists answer. */
export function mayAnswer(state: RoomState): boolean {
  const self = selfInfo(state);
  if (isHostRole(self)) return true;
  return self?.role === "participant" && (state.meeting?.mode ?? "meeting") !== "meeting";
}

export function QaPanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const t = useT();
  const [sort, setSort] = useState<QaSort>("votes");
  const moderator = isHostRole(selfInfo(state));
  const qa = state.qa;
  const sections = qaSections(qa, sort, moderator);
  const total = sections.live.length + sections.open.length + sections.answered.length + sections.dismissed.length;
  const settings = useAction();
  return (
    <PanelFrame title={t("qa.title")} onClose={onClose} testid="qa-panel" opener="qa-button">
      {moderator && (
        <div class="interaction-toolbar" data-testid="qa-settings">
          <label class="check small">
            <input type="checkbox" checked={qa.enabled} data-testid="qa-enabled" disabled={settings.busy}
              onChange={(e) => {
                const enabled = e.currentTarget.checked;
                void settings.run(() => room.qa.settings({ enabled }));
              }} />
            {t("qa.enabled")}
          </label>
          <label class="check small">
            <input type="checkbox" checked={qa.anonymous} data-testid="qa-anonymous-allowed" disabled={settings.busy}
              onChange={(e) => {
                const anonymous = e.currentTarget.checked;
                void settings.run(() => room.qa.settings({ anonymous }));
              }} />
            {t("qa.allowAnonymous")}
          </label>
          {settings.error && <p class="error small" role="alert">{settings.error}</p>}
        </div>
      )}
      <div class="interaction-toolbar" role="group" aria-label={t("qa.sortLabel")}>
        <button type="button" class="btn ghost small" aria-pressed={sort === "votes"} data-testid="qa-sort-votes"
          onClick={() => setSort("votes")}>{t("qa.sortVotes")}</button>
        <button type="button" class="btn ghost small" aria-pressed={sort === "time"} data-testid="qa-sort-time"
          onClick={() => setSort("time")}>{t("qa.sortTime")}</button>
      </div>
      {!qa.enabled && <p class="muted small panel-note" data-testid="qa-off">{t("qa.off")}</p>}
      {total === 0 && <p class="panel-empty" data-testid="qa-empty">{t("qa.empty")}</p>}
      <div class="interaction-list" data-testid="qa-list">
        <QuestionList room={room} state={state} title={t("qa.liveNow")} items={sections.live} />
        <QuestionList room={room} state={state} title={t("qa.open")} items={sections.open} />
        <QuestionList room={room} state={state} title={t("qa.answered")} items={sections.answered} />
        <QuestionList room={room} state={state} title={t("qa.dismissed")} items={sections.dismissed} />
      </div>
      {qa.enabled && <AskForm room={room} state={state} />}
    </PanelFrame>
  );
}

function QuestionList({ room, state, title, items }: { room: Room; state: RoomState; title: string; items: Question[] }) {
  if (items.length === 0) return null;
  return (
    <section>
      <h3 class="interaction-section">{title}</h3>
      <ol class="interaction-list" style={{ padding: 0 }}>
        {items.map((q) => <QuestionItem key={q.id} room={room} state={state} q={q} />)}
      </ol>
    </section>
  );
}

function QuestionItem({ room, state, q }: { room: Room; state: RoomState; q: Question }) {
  const t = useT();
  const action = useAction();
  const [answering, setAnswering] = useState(false);
  const [answer, setAnswer] = useState("");
  const moderator = isHostRole(selfInfo(state));
  const answerer = mayAnswer(state);
  const voted = state.qa.voted.has(q.id);
  const mine = state.qa.mine.has(q.id);
  const canVote = mayVote(state.qa, q, state.selfId);
  const st = stateOf(q);
  const votes = votesOf(q);
  const asker = q.asker
    ? q.asker.id === state.selfId ? t("chat.you") : q.asker.display_name
    : mine ? t("qa.youAnonymous") : t("qa.anonymous");
  return (
    <li class="question interaction-item" data-testid="question" data-question-id={q.id} data-state={st}
      data-live={q.live ? "true" : "false"} data-votes={String(votes)}>
      <div class="question-row">
        {/* Named by its visible count, then what pressing it does (said, not shown). */}
        <button type="button" class="btn small vote-button" data-testid="question-vote" aria-pressed={voted}
          disabled={!canVote || action.busy}
          onClick={() => void action.run(() => room.qa.vote(q.id, !voted))}>
          <span aria-hidden="true">▲</span>
          <span data-testid="question-votes">{votes}</span>
          <span class="sr-only">
            {mine ? t("qa.votesOwn", { count: votes }) : voted ? t("qa.unvote", { count: votes }) : t("qa.vote", { count: votes })}
          </span>
        </button>
        <div class="question-body">
          <div class="chat-meta">
            <bdi class="chat-sender">{asker}</bdi>
            <time dateTime={q.asked_at}>{time(q.asked_at)}</time>
            {q.live && <span class="badge live" data-testid="question-live">{t("qa.liveBadge")}</span>}
            {st === "answered" && <span class="badge" data-testid="question-answered">{t("qa.answeredBadge")}</span>}
            {st === "dismissed" && <span class="badge warn">{t("qa.dismissedBadge")}</span>}
          </div>
          <p class="interaction-text" dir="auto" data-testid="question-text">{q.text}</p>
          {q.answer && (
            <p class="question-answer small" data-testid="question-answer">
              {q.answer.text
                ? <><bdi class="chat-sender">{q.answer.by.display_name}</bdi>{t("qa.answerSep")}<span dir="auto">{q.answer.text}</span></>
                : t("qa.answeredLive", { name: q.answer.by.display_name })}
            </p>
          )}
        </div>
      </div>
      {(answerer || moderator) && (
        <div class="interaction-actions">
          {answerer && st !== "dismissed" && (
            <button type="button" class="btn ghost small" data-testid="question-answer-button" aria-expanded={answering}
              onClick={() => setAnswering(!answering)}>{st === "answered" ? t("qa.editAnswer") : t("qa.answerText")}</button>
          )}
          {answerer && st === "open" && (
            <button type="button" class="btn ghost small" data-testid="question-live-button" aria-pressed={!!q.live}
              onClick={() => void action.run(() => room.qa.live(q.id, !q.live))}>
              {q.live ? t("qa.stopLive") : t("qa.markLive")}
            </button>
          )}
          {answerer && st !== "dismissed" && (
            <button type="button" class="btn ghost small" data-testid="question-answered-live"
              onClick={() => void action.run(() => room.qa.answer(q.id))}>{t("qa.answeredLiveButton")}</button>
          )}
          {moderator && st !== "dismissed" && (
            <button type="button" class="btn ghost small" data-testid="question-dismiss"
              onClick={() => void action.run(() => room.qa.dismiss(q.id))}>{t("qa.dismiss")}</button>
          )}
          {moderator && st !== "open" && (
            <button type="button" class="btn ghost small" data-testid="question-reopen"
              onClick={() => void action.run(() => room.qa.reopen(q.id))}>{t("qa.reopen")}</button>
          )}
        </div>
      )}
      {answering && (
        <form class="interaction-form" style={{ padding: 0, border: 0 }} onSubmit={(e) => {
          e.preventDefault();
          const text = answer.trim();
          if (!text) return;
          void action.run(async () => {
            await room.qa.answer(q.id, text);
            setAnswer("");
            setAnswering(false);
          });
        }}>
          <textarea value={answer} maxLength={2000} dir="auto" data-testid="question-answer-input" aria-label={t("qa.answerLabel")}
            onInput={(e) => setAnswer(e.currentTarget.value)} />
          <div class="row">
            <button type="submit" class="btn small primary" data-testid="question-answer-send" disabled={!answer.trim() || action.busy}>
              {t("qa.sendAnswer")}
            </button>
            <button type="button" class="btn small ghost" onClick={() => setAnswering(false)}>{t("common.cancel")}</button>
          </div>
        </form>
      )}
      {action.error && <p class="error small" role="alert" data-testid="question-error">{action.error}</p>}
    </li>
  );
}

function AskForm({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const [text, setText] = useState("");
  const [anonymous, setAnonymous] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const length = [...text].length;
  const ask = async (ev?: Event) => {
    ev?.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    setError(null);
    try {
      await room.qa.ask(body, anonymous && state.qa.anonymous);
      setText("");
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="interaction-form" onSubmit={ask} data-testid="qa-ask-form">
      <textarea value={text} maxLength={QUESTION_MAX_LENGTH} dir="auto" data-testid="qa-input" aria-label={t("qa.askLabel")}
        placeholder={t("qa.askPlaceholder")} aria-describedby="qa-count"
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void ask();
          }
        }} />
      <div class="row">
        {state.qa.anonymous ? (
          <label class="check small">
            <input type="checkbox" checked={anonymous} data-testid="qa-anonymous" onChange={(e) => setAnonymous(e.currentTarget.checked)} />
            {t("qa.askAnonymously")}
          </label>
        ) : <span />}
        <span class="comment-count" id="qa-count">{t("comments.counterShort", { count: length, max: QUESTION_MAX_LENGTH })}</span>
        <button type="submit" class="btn small primary" data-testid="qa-ask" disabled={!text.trim() || busy}>{t("qa.ask")}</button>
      </div>
      {error && <p class="error small" role="alert" data-testid="qa-error">{error}</p>}
    </form>
  );
}
