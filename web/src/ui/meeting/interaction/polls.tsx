/**
 * Polls: the card that pops up when a poll opens (a non-modal card: it takes no focus from what
 * the person was doing, says itself once to screen readers, and is answered by keyboard; Escape
 * closes it), the polls panel (every poll one may see, answered or with its results), and for
 * hosts and co-hosts the editor (question, 2-10 options, single or multiple choice, anonymous)
 * and each poll's steps (open, close, share the results, delete, who chose what).
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { Poll, PollResults } from "../../../protocol/types";
import {
  closeCard,
  draftProblem,
  cleanDraft,
  POLL_MAX_OPTIONS,
  POLL_MIN_OPTIONS,
  POLL_OPTION_MAX,
  POLL_QUESTION_MAX,
  resultsOf,
  sortPolls,
  toggleChoice,
  validChoices,
} from "../../../room/polls";
import type { Room } from "../../../room/room";
import { isHostRole, selfInfo, type RoomState } from "../../../room/state";
import { useT } from "../../../i18n/hook";
import { useAction } from "../../hooks";
import { Icon } from "../../icons";
import { PanelFrame } from "../panels";
import "./interaction.css";

let formIds = 0;

/** One poll: the question, the options to choose (while open), the results (when visible). */
function PollBody({ room, state, poll, headingLevel = 3 }: { room: Room; state: RoomState; poll: Poll; headingLevel?: 2 | 3 }) {
  const t = useT();
  const mine = state.polls.choices.get(poll.id) ?? [];
  const [chosen, setChosen] = useState<number[]>([...mine]);
  const action = useAction();
  const id = useRef(`poll-${++formIds}`).current;
  const results = resultsOf(poll);
  const answered = mine.length > 0;
  const changed = chosen.join(",") !== [...mine].join(",");
  useEffect(() => setChosen([...mine]), [mine.join(",")]);
  const Heading = headingLevel === 2 ? "h2" : "h3";
  return (
    <div class="poll" data-testid="poll" data-poll-id={poll.id} data-state={poll.state} data-shared={poll.shared ? "true" : "false"}>
      {poll.state === "open" ? (
        <form onSubmit={(e) => {
          e.preventDefault();
          if (!validChoices(poll, chosen)) return;
          void action.run(() => room.polls.vote(poll.id, chosen));
        }}>
          {/* Named by a paragraph rather than a legend: Chromium lays a legend's text out in the
              fieldset's direction, whatever the text's own (an English question in Arabic UI). */}
          <fieldset aria-labelledby={`${id}-q`}>
            <p class="poll-legend" id={`${id}-q`} dir="auto" data-testid="poll-question">{poll.question}</p>
            <p class="muted small" style={{ margin: 0 }}>{poll.multiple ? t("polls.chooseMany") : t("polls.chooseOne")}</p>
            {poll.options.map((option, i) => (
              <label key={i} class="check poll-option">
                <input type={poll.multiple ? "checkbox" : "radio"} name={`${id}-choice`} checked={chosen.includes(i)}
                  data-testid="poll-choice" data-index={String(i)}
                  onChange={() => setChosen(toggleChoice(poll, chosen, i))} />
                <bdi>{option}</bdi>
              </label>
            ))}
          </fieldset>
          <div class="row" style={{ marginBlockStart: "0.4rem", gap: "0.5rem", display: "flex", alignItems: "center" }}>
            <button type="submit" class="btn small primary" data-testid="poll-vote"
              disabled={!validChoices(poll, chosen) || action.busy || (answered && !changed)}>
              {answered ? t("polls.changeVote") : t("polls.vote")}
            </button>
            <span class="muted small" role="status" data-testid="poll-voted">{answered && !changed ? t("polls.voted") : ""}</span>
          </div>
        </form>
      ) : (
        <Heading data-testid="poll-question"><bdi>{poll.question}</bdi></Heading>
      )}
      {poll.state === "closed" && <p class="muted small" style={{ margin: 0 }}>{t("polls.closed")}</p>}
      {results && <ResultBars poll={poll} mine={mine} />}
      {!results && poll.state === "closed" && <p class="muted small" style={{ margin: 0 }}>{t("polls.resultsNotShared")}</p>}
      {action.error && <p class="error small" role="alert" data-testid="poll-error">{action.error}</p>}
    </div>
  );
}

function ResultBars({ poll, mine }: { poll: Poll; mine: readonly number[] }) {
  const t = useT();
  const results = resultsOf(poll) ?? [];
  return (
    <>
      <ul class="poll-results" data-testid="poll-results" aria-label={t("polls.results")}>
        {results.map((r, i) => (
          <li key={i} data-testid="poll-result" data-count={String(r.count)} data-percent={String(r.percent)}>
            <div class="poll-result-label">
              <span><bdi>{r.option}</bdi>{mine.includes(i) ? t("polls.yourChoice") : ""}</span>
              <span>{t("polls.resultValue", { percent: r.percent, count: r.count })}</span>
            </div>
            <div class="poll-bar" aria-hidden="true"><span style={{ width: `${r.percent}%` }} /></div>
          </li>
        ))}
      </ul>
      <p class="muted small" style={{ margin: 0 }} data-testid="poll-voters">{t("polls.voters", { count: poll.voters ?? 0 })}</p>
    </>
  );
}

/** The card over the stage for the poll just opened (or whose results were just shared). */
export function PollCard({ room, state }: { room: Room; state: RoomState }) {
  const t = useT();
  const id = state.polls.card;
  const poll = id ? state.polls.polls.get(id) : undefined;
  const [said, setSaid] = useState("");
  useEffect(() => {
    if (!poll) return undefined;
    // A moment after the card exists, so that a screen reader hears it once.
    const timer = setTimeout(() => setSaid(t("polls.opened", { question: poll.question })), 150);
    return () => clearTimeout(timer);
  }, [poll?.id]);
  const dismiss = () => room.updateInteraction({ polls: closeCard(room.state.polls) });
  return (
    <>
      <span class="sr-only" role="status" data-testid="poll-announcer">{poll ? said : ""}</span>
      {poll && (
        <section class="poll-card" data-testid="poll-card" aria-labelledby="poll-card-title"
          onKeyDown={(e) => {
            if (e.key === "Escape") {
              e.preventDefault();
              dismiss();
            }
          }}>
          <header class="poll-card-head">
            <h2 id="poll-card-title">{t("polls.cardTitle")}</h2>
            <button type="button" class="round small ghost" data-testid="poll-card-close" aria-label={t("polls.closeCard")} onClick={dismiss}>
              <Icon name="close" />
            </button>
          </header>
          <PollBody key={poll.id} room={room} state={state} poll={poll} />
        </section>
      )}
    </>
  );
}

export function PollsPanel({ room, state, onClose }: { room: Room; state: RoomState; onClose: () => void }) {
  const t = useT();
  const moderator = isHostRole(selfInfo(state));
  const polls = sortPolls(state.polls.polls.values());
  return (
    <PanelFrame title={t("polls.title")} onClose={onClose} testid="polls-panel" opener="polls-button">
      {moderator && <PollEditor room={room} />}
      {polls.length === 0 && <p class="panel-empty" data-testid="polls-empty">{t("polls.empty")}</p>}
      <ol class="interaction-list" data-testid="polls-list">
        {polls.map((p) => (
          <li key={p.id} class="interaction-item">
            <PollBody room={room} state={state} poll={p} />
            {moderator && <HostPollActions room={room} poll={p} />}
          </li>
        ))}
      </ol>
    </PanelFrame>
  );
}

function HostPollActions({ room, poll }: { room: Room; poll: Poll }) {
  const t = useT();
  const action = useAction();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [votes, setVotes] = useState<PollResults | null>(null);
  return (
    <div class="interaction-actions" data-testid="poll-host-actions">
      {poll.state === "draft" && (
        <button type="button" class="btn small primary" data-testid="poll-open" disabled={action.busy}
          onClick={() => void action.run(() => room.polls.open(poll.id))}>{t("polls.open")}</button>
      )}
      {poll.state === "open" && (
        <button type="button" class="btn small" data-testid="poll-close" disabled={action.busy}
          onClick={() => void action.run(() => room.polls.close(poll.id))}>{t("polls.close")}</button>
      )}
      {poll.state !== "draft" && (
        <button type="button" class="btn small" data-testid="poll-share" aria-pressed={!!poll.shared} disabled={action.busy}
          onClick={() => void action.run(() => room.polls.share(poll.id, !poll.shared))}>
          {poll.shared ? t("polls.unshare") : t("polls.share")}
        </button>
      )}
      {!poll.anonymous && poll.state !== "draft" && (
        <button type="button" class="btn small ghost" data-testid="poll-who" aria-expanded={votes !== null} disabled={action.busy}
          onClick={() => {
            if (votes) setVotes(null);
            else void action.run(async () => setVotes(await room.polls.results(poll.id)));
          }}>{t("polls.whoVoted")}</button>
      )}
      {confirmDelete ? (
        <>
          <button type="button" class="btn small danger" data-testid="poll-delete-confirm" disabled={action.busy}
            onClick={() => void action.run(() => room.polls.delete(poll.id))}>{t("polls.deleteConfirm")}</button>
          <button type="button" class="btn small ghost" onClick={() => setConfirmDelete(false)}>{t("common.cancel")}</button>
        </>
      ) : (
        <button type="button" class="btn small ghost" data-testid="poll-delete" onClick={() => setConfirmDelete(true)}>{t("polls.delete")}</button>
      )}
      {votes && (
        <ul class="poll-results small" data-testid="poll-votes">
          {votes.votes.length === 0 && <li class="muted">{t("polls.noVotes")}</li>}
          {votes.votes.map((v) => (
            <li key={v.voter.id}>
              <bdi>{v.voter.display_name}</bdi>{t("qa.answerSep")}
              <span dir="auto">{v.choices.map((c) => votes.poll.options[c] ?? "?").join(", ")}</span>
            </li>
          ))}
        </ul>
      )}
      {action.error && <p class="error small" role="alert">{action.error}</p>}
    </div>
  );
}

function PollEditor({ room }: { room: Room }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [question, setQuestion] = useState("");
  const [options, setOptions] = useState<string[]>(["", ""]);
  const [multiple, setMultiple] = useState(false);
  const [anonymous, setAnonymous] = useState(false);
  const action = useAction();
  const optionRefs = useRef<(HTMLInputElement | null)[]>([]);
  const focusOption = useRef<number | null>(null);
  useEffect(() => {
    if (focusOption.current !== null) {
      optionRefs.current[focusOption.current]?.focus();
      focusOption.current = null;
    }
  }, [options.length]);
  if (!open) {
    return (
      <div class="interaction-toolbar">
        <button type="button" class="btn small primary" data-testid="poll-new" onClick={() => setOpen(true)}>{t("polls.new")}</button>
      </div>
    );
  }
  const reset = () => {
    setQuestion("");
    setOptions(["", ""]);
    setMultiple(false);
    setAnonymous(false);
    setOpen(false);
  };
  return (
    <form class="poll-editor" data-testid="poll-editor" onSubmit={(e) => {
      e.preventDefault();
      const problem = draftProblem(question, options);
      if (problem) {
        action.setError(t(problem, { max: POLL_MAX_OPTIONS, min: POLL_MIN_OPTIONS }));
        return;
      }
      const clean = cleanDraft(question, options);
      void action.run(async () => {
        await room.polls.create({ question: clean.question, options: clean.options, multiple, anonymous });
        reset();
      });
    }}>
      <label>
        {t("polls.question")}
        <input type="text" value={question} maxLength={POLL_QUESTION_MAX} dir="auto" data-testid="poll-question-input"
          onInput={(e) => setQuestion(e.currentTarget.value)} />
      </label>
      <fieldset style={{ border: 0, margin: 0, padding: 0, display: "flex", flexDirection: "column", gap: "0.3rem" }}>
        <legend class="small muted">{t("polls.options")}</legend>
        {options.map((o, i) => (
          <div key={i} class="poll-option">
            <input type="text" value={o} maxLength={POLL_OPTION_MAX} dir="auto" data-testid="poll-option-input"
              ref={(el) => { optionRefs.current[i] = el; }}
              aria-label={t("polls.optionN", { n: i + 1 })}
              onInput={(e) => {
                const value = e.currentTarget.value;
                setOptions((list) => list.map((x, j) => (j === i ? value : x)));
              }} />
            {options.length > POLL_MIN_OPTIONS && (
              <button type="button" class="round small ghost" aria-label={t("polls.removeOption", { n: i + 1 })}
                onClick={() => setOptions((list) => list.filter((_, j) => j !== i))}>
                <Icon name="close" size={16} />
              </button>
            )}
          </div>
        ))}
        {options.length < POLL_MAX_OPTIONS && (
          <button type="button" class="btn small ghost" data-testid="poll-add-option" onClick={() => {
            focusOption.current = options.length;
            setOptions((list) => [...list, ""]);
          }}>{t("polls.addOption")}</button>
        )}
      </fieldset>
      <label class="check">
        <input type="checkbox" checked={multiple} data-testid="poll-multiple" onChange={(e) => setMultiple(e.currentTarget.checked)} />
        {t("polls.multiple")}
      </label>
      <label class="check">
        <input type="checkbox" checked={anonymous} data-testid="poll-anonymous" onChange={(e) => setAnonymous(e.currentTarget.checked)} />
        {t("polls.anonymous")}
      </label>
      <div class="row" style={{ display: "flex", gap: "0.5rem" }}>
        <button type="submit" class="btn small primary" data-testid="poll-create" disabled={action.busy}>{t("polls.create")}</button>
        <button type="button" class="btn small ghost" onClick={reset}>{t("common.cancel")}</button>
      </div>
      {action.error && <p class="error small" role="alert" data-testid="poll-editor-error">{action.error}</p>}
    </form>
  );
}
