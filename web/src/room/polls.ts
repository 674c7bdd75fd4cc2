/**
 * Polls as this client shows them: the polls it may see (hosts: drafts too), this person's
 * choices, which poll card is up, and the per-voter results a host asked for.
 *
 * Pure functions on an immutable state, like ./state. `poll.updated` carries the whole poll in
 * the view the recipient may see (totals null until the results are shared, for all but hosts);
 * the server coalesces totals while a poll is open. A card pops up when a poll opens and this
 * person has not voted; closing it is remembered for that poll.
 */
import type { Poll, PollView } from "../protocol/types";

export interface PollsState {
  /** By id, in the order they were first seen. */
  polls: ReadonlyMap<string, Poll>;
  /** This person's choices per poll (the server's, then what they chose). */
  choices: ReadonlyMap<string, readonly number[]>;
  /** The poll whose card is up, if any. */
  card: string | null;
  /** Polls whose card this person closed (it does not pop up again). */
  closedCards: ReadonlySet<string>;
}

export const POLL_MIN_OPTIONS = 2;
export const POLL_MAX_OPTIONS = 10;
export const POLL_QUESTION_MAX = 300;
export const POLL_OPTION_MAX = 100;

export function initialPolls(): PollsState {
  return { polls: new Map(), choices: new Map(), card: null, closedCards: new Set() };
}

/** From a snapshot: the server's polls replace ours; an open one not voted in pops its card up. */
export function pollsFromSnapshot(state: PollsState, polls: readonly PollView[] | null | undefined): PollsState {
  const map = new Map<string, Poll>();
  const choices = new Map<string, readonly number[]>();
  for (const p of polls ?? []) {
    map.set(p.id, p);
    if (p.my_choices && p.my_choices.length > 0) choices.set(p.id, p.my_choices);
  }
  let card = state.card && map.get(state.card)?.state === "open" ? state.card : null;
  if (!card) {
    const open = [...map.values()].find((p) => p.state === "open" && !choices.has(p.id) && !state.closedCards.has(p.id));
    card = open?.id ?? null;
  }
  return { ...state, polls: map, choices, card };
}

/**
 * `poll.updated` (or a reply carrying a poll): an upsert by id. A PollView (the `poll.vote`
 * reply) also says this person's choices.
 */
export function applyPoll(state: PollsState, poll: Poll | PollView): PollsState {
  const old = state.polls.get(poll.id);
  const polls = new Map(state.polls);
  const { my_choices: mine, ...record } = poll as PollView;
  polls.set(poll.id, record);
  let choices = state.choices;
  if (mine && mine.length > 0) {
    const updated = new Map(choices);
    updated.set(poll.id, mine);
    choices = updated;
  }
  let card = state.card;
  const opened = poll.state === "open" && old?.state !== "open";
  if (opened && !choices.has(poll.id) && !state.closedCards.has(poll.id)) card = poll.id;
  // Results just shared: everyone sees them in the card.
  if (poll.shared && poll.totals && old !== undefined && !old.shared) card = poll.id;
  // Results shared after it closed: the card shows them to those who had it up.
  if (card === poll.id && poll.state !== "open" && !(poll.shared && poll.totals)) card = null;
  return { ...state, polls, choices, card };
}

/** The poll is gone (deleted by a host). */
export function removePoll(state: PollsState, id: string): PollsState {
  if (!state.polls.has(id)) return state;
  const polls = new Map(state.polls);
  polls.delete(id);
  const choices = new Map(state.choices);
  choices.delete(id);
  return { ...state, polls, choices, card: state.card === id ? null : state.card };
}

/** This person's vote as the server accepted it. */
export function setChoices(state: PollsState, id: string, chosen: readonly number[]): PollsState {
  const choices = new Map(state.choices);
  choices.set(id, [...chosen].sort((a, b) => a - b));
  return { ...state, choices };
}

export function openCard(state: PollsState, id: string): PollsState {
  return state.card === id ? state : { ...state, card: id };
}

export function closeCard(state: PollsState): PollsState {
  if (!state.card) return state;
  return { ...state, card: null, closedCards: new Set([...state.closedCards, state.card]) };
}

/** Whether `chosen` is a valid vote in `poll` (single: exactly one; multiple: 1..n distinct). */
export function validChoices(poll: Poll, chosen: readonly number[]): boolean {
  if (chosen.length === 0) return false;
  if (!poll.multiple && chosen.length !== 1) return false;
  const seen = new Set<number>();
  for (const c of chosen) {
    if (!Number.isInteger(c) || c < 0 || c >= poll.options.length || seen.has(c)) return false;
    seen.add(c);
  }
  return true;
}

/** Toggles option `index` in a choice: single replaces, multiple adds or removes. */
export function toggleChoice(poll: Poll, chosen: readonly number[], index: number): number[] {
  if (!poll.multiple) return [index];
  return chosen.includes(index) ? chosen.filter((c) => c !== index) : [...chosen, index].sort((a, b) => a - b);
}

export interface OptionResult {
  option: string;
  count: number;
  /** Rounded percentages of the voters (a multiple-choice poll's may add up to more than 100). */
  percent: number;
}

/** The results to draw as bars (null when this person may not see them yet). */
export function resultsOf(poll: Poll): OptionResult[] | null {
  if (!poll.totals) return null;
  const totals = poll.totals;
  // Percentages of voters (each voter counts once, whatever they chose).
  const base = poll.multiple ? (poll.voters ?? 0) : totals.reduce((a, b) => a + b, 0);
  return poll.options.map((option, i) => {
    const count = totals[i] ?? 0;
    return { option, count, percent: base > 0 ? Math.round((count * 100) / base) : 0 };
  });
}

/** Polls in the panel's order: open ones first, then drafts, then closed; newest first in each. */
export function sortPolls(polls: Iterable<Poll>): Poll[] {
  const rank = { open: 0, draft: 1, closed: 2 } as const;
  return [...polls].sort((a, b) => rank[a.state] - rank[b.state] || b.created_at.localeCompare(a.created_at));
}

/** Cleans a host's draft: trimmed question and options, empty options dropped. */
export function cleanDraft(question: string, options: readonly string[]): { question: string; options: string[] } {
  return { question: question.trim(), options: options.map((o) => o.trim()).filter((o) => o.length > 0) };
}

/** Why a draft cannot be created (a catalogue key), or null when it can. */
export function draftProblem(question: string, options: readonly string[]): string | null {
  const clean = cleanDraft(question, options);
  if (!clean.question) return "polls.error.noQuestion";
  if (clean.question.length > POLL_QUESTION_MAX) return "polls.error.questionLong";
  if (clean.options.length < POLL_MIN_OPTIONS) return "polls.error.fewOptions";
  if (clean.options.length > POLL_MAX_OPTIONS) return "polls.error.manyOptions";
  if (clean.options.some((o) => o.length > POLL_OPTION_MAX)) return "polls.error.optionLong";
  if (new Set(clean.options.map((o) => o.toLowerCase())).size !== clean.options.length) return "polls.error.sameOptions";
  return null;
}
