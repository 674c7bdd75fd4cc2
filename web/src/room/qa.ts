/**
 * Q&A as this client shows it: the meeting's settings (snapshot and `qa.updated`), the questions
 * (upserted by `qa.question`, whole records, votes coalesced by the server), what this person
 * voted for and which questions they asked.
 *
 * Pure functions on an immutable state, like ./state. Sorting is the client's: by votes (most
 * first, then the oldest first) or by time (newest first). Dismissed questions reach only hosts,
 * co-hosts and their asker; the list shows them to those only, apart from the others.
 */
import type { QaInfo, QaSnapshot, Question } from "../protocol/types";

export interface QaState {
  enabled: boolean;
  anonymous: boolean;
  questions: ReadonlyMap<string, Question>;
  /** Questions this person voted for. */
  voted: ReadonlySet<string>;
  /** Questions this person asked (anonymous ones carry no asker: the reply told us). */
  mine: ReadonlySet<string>;
}

export type QaSort = "votes" | "time";

/** Question text, as the server limits it. */
export const QUESTION_MAX_LENGTH = 500;

export function initialQa(): QaState {
  return { enabled: false, anonymous: false, questions: new Map(), voted: new Set(), mine: new Set() };
}

/** From a snapshot: the server's list replaces ours (what this person asked stays known). */
export function qaFromSnapshot(state: QaState, info: QaSnapshot | null | undefined, selfId: string | null): QaState {
  if (!info) return { ...initialQa(), mine: state.mine };
  const list = info.questions ?? [];
  const questions = new Map<string, Question>();
  for (const q of list) questions.set(q.id, q);
  const mine = new Set([...state.mine, ...(info.asked ?? [])].filter((id) => questions.has(id)));
  for (const q of list) if (selfId && q.asker?.id === selfId) mine.add(q.id);
  return {
    enabled: info.enabled ?? false,
    anonymous: info.anonymous ?? false,
    questions,
    voted: new Set(info.voted ?? []),
    mine,
  };
}

export function applyQaUpdated(state: QaState, event: QaInfo): QaState {
  if (state.enabled === event.enabled && state.anonymous === event.anonymous) return state;
  return { ...state, enabled: event.enabled, anonymous: event.anonymous };
}

/** `qa.question` (or a reply carrying a question): an upsert by id. */
export function applyQuestion(state: QaState, question: Question, selfId: string | null): QaState {
  const old = state.questions.get(question.id);
  if (old && sameQuestion(old, question)) return state;
  const questions = new Map(state.questions);
  questions.set(question.id, question);
  let mine = state.mine;
  if (selfId && question.asker?.id === selfId && !mine.has(question.id)) mine = new Set([...mine, question.id]);
  return { ...state, questions, mine };
}

/** `qa.removed`: a question this person may no longer see. */
export function removeQuestion(state: QaState, id: string): QaState {
  if (!state.questions.has(id)) return state;
  const questions = new Map(state.questions);
  questions.delete(id);
  return { ...state, questions };
}

function sameQuestion(a: Question, b: Question): boolean {
  return a.votes === b.votes && a.state === b.state && a.asker?.id === b.asker?.id && a.live === b.live && a.text === b.text
    && a.answer?.text === b.answer?.text && a.answer?.at === b.answer?.at;
}

/** One's own question, from the `qa.ask` reply (an anonymous one has no asker to tell). */
export function applyAsked(state: QaState, question: Question, selfId: string | null): QaState {
  const next = applyQuestion(state, question, selfId);
  if (next.mine.has(question.id)) return next;
  return { ...next, mine: new Set([...next.mine, question.id]) };
}

/** This person's vote as they cast it (the count follows with the server's next upsert). */
export function setVoted(state: QaState, question: string, up: boolean): QaState {
  if (state.voted.has(question) === up) return state;
  const voted = new Set(state.voted);
  if (up) voted.add(question);
  else voted.delete(question);
  return { ...state, voted };
}

/** Whether this person may vote for `q`: open, and not their own. */
export function mayVote(state: QaState, q: Question, selfId: string | null): boolean {
  if (stateOf(q) !== "open") return false;
  if (state.mine.has(q.id)) return false;
  return !(selfId && q.asker?.id === selfId);
}

/** A question's state and votes (absent fields have the protocol's defaults). */
export function stateOf(q: Question): "open" | "answered" | "dismissed" {
  return q.state ?? "open";
}

export function votesOf(q: Question): number {
  return q.votes ?? 0;
}

function time(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms;
}

/** Orders questions: by votes (most first, ties the oldest first) or by time (newest first). */
export function sortQuestions(questions: Iterable<Question>, sort: QaSort): Question[] {
  const list = [...questions];
  if (sort === "votes") {
    list.sort((a, b) => votesOf(b) - votesOf(a) || time(a.asked_at) - time(b.asked_at) || a.id.localeCompare(b.id));
  } else {
    list.sort((a, b) => time(b.asked_at) - time(a.asked_at) || b.id.localeCompare(a.id));
  }
  return list;
}

export interface QaSections {
  /** Being answered live now (first, whatever the order). */
  live: Question[];
  open: Question[];
  answered: Question[];
  /** For hosts (and a dismissed question's asker) only. */
  dismissed: Question[];
}

/** The list as the panel shows it, for a host (`moderator`) or anyone else. */
export function qaSections(state: QaState, sort: QaSort, moderator: boolean): QaSections {
  const out: QaSections = { live: [], open: [], answered: [], dismissed: [] };
  for (const q of sortQuestions(state.questions.values(), sort)) {
    const st = stateOf(q);
    if (st === "dismissed") {
      if (moderator || state.mine.has(q.id)) out.dismissed.push(q);
    } else if (q.live) {
      out.live.push(q);
    } else if (st === "answered") {
      out.answered.push(q);
    } else {
      out.open.push(q);
    }
  }
  return out;
}

/** Open questions (for the panel button's badge). */
export function openCount(state: QaState): number {
  let n = 0;
  for (const q of state.questions.values()) if (stateOf(q) === "open") n++;
  return n;
}
