/**
 * The audience interaction requests (bullet comments, Q&A, polls), behind a small port the Room
 * gives them: each request's reply is applied to the state at once (the server's event for the
 * same change may come before or after it; both are upserts), and failures come back to the
 * caller, which shows them where the person acted (the comment box, the Q&A form, a poll card).
 */
import { SignalingError } from "../protocol/errors";
import type { CommentsSettings, PollCreate, PollResults, QaSettings, ReplyData, RequestData, RequestType } from "../protocol/types";
import { applyBatch, applyCommentsUpdated, applyWords, type CommentsState } from "./comments";
import { applyPoll, closeCard, removePoll, setChoices, type PollsState } from "./polls";
import { applyAsked, applyQaUpdated, applyQuestion, setVoted, type QaState } from "./qa";

export interface InteractionPort {
  comments(): CommentsState;
  qa(): QaState;
  polls(): PollsState;
  selfId(): string | null;
  setComments(state: CommentsState): void;
  setQa(state: QaState): void;
  setPolls(state: PollsState): void;
  request<K extends RequestType>(type: K, data: RequestData<K>): Promise<ReplyData<K>>;
}

/** Why a comment was refused, for the comment box. */
export type CommentRefusal =
  | { kind: "rate_limited"; retryAfter: number }
  | { kind: "filtered" }
  | { kind: "disabled" }
  | { kind: "other"; error: unknown };

/** The seconds to wait from a `rate_limited` error (at least one). */
export function retryAfterOf(err: unknown): number | null {
  if (!(err instanceof SignalingError) || err.code !== "rate_limited") return null;
  const raw = Number(err.details.retry_after);
  return Number.isFinite(raw) && raw > 0 ? Math.max(1, Math.ceil(raw)) : 1;
}

export function commentRefusal(err: unknown): CommentRefusal {
  const wait = retryAfterOf(err);
  if (wait !== null) return { kind: "rate_limited", retryAfter: wait };
  if (err instanceof SignalingError && err.code === "comment_filtered") return { kind: "filtered" };
  if (err instanceof SignalingError && err.code === "comments_disabled") return { kind: "disabled" };
  return { kind: "other", error: err };
}

let clientIds = 0;

function clientMsgId(): string {
  return `c${Date.now().toString(36)}${(++clientIds).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export class CommentActions {
  constructor(private readonly port: InteractionPort) {}

  /** Sends a comment; null when sent, else why it was refused. */
  async send(text: string): Promise<CommentRefusal | null> {
    try {
      const reply = await this.port.request("comment.send", { text, client_msg_id: clientMsgId() });
      // One's own comment flies at once, whether or not the batch sampled it.
      this.port.setComments(applyBatch(this.port.comments(), { items: [reply.comment], received: 0, shown: 0 }, Date.now()));
      return null;
    } catch (err) {
      return commentRefusal(err);
    }
  }

  /** Host or co-host: hides a comment for everyone. */
  async hide(id: string): Promise<void> {
    await this.port.request("comment.hide", { id });
  }

  /** Host or co-host: changes (or, with `{}`, reads) the settings; the state follows the reply. */
  async settings(changes: CommentsSettings): Promise<void> {
    const reply = await this.port.request("comments.settings", changes);
    const updated = applyCommentsUpdated(this.port.comments(), reply);
    this.port.setComments(applyWords(updated, { words: reply.words }));
  }
}

export class QaActions {
  constructor(private readonly port: InteractionPort) {}

  async ask(text: string, anonymous: boolean): Promise<void> {
    const reply = await this.port.request("qa.ask", { text, ...(anonymous ? { anonymous: true } : {}) });
    this.port.setQa(applyAsked(this.port.qa(), reply.question, this.port.selfId()));
  }

  /** Votes (or takes the vote back); shown at once, undone when the server refuses. */
  async vote(question: string, up: boolean): Promise<void> {
    this.port.setQa(setVoted(this.port.qa(), question, up));
    try {
      await this.port.request("qa.vote", { question, up });
    } catch (err) {
      // invalid_state: the vote was already so (cast from another tab, say); keep it.
      if (!(err instanceof SignalingError && err.code === "invalid_state")) {
        this.port.setQa(setVoted(this.port.qa(), question, !up));
        throw err;
      }
    }
  }

  /** Answers in writing (`text`), or marks the question answered live (no text). */
  async answer(question: string, text?: string): Promise<void> {
    const reply = await this.port.request("qa.answer", text ? { question, text } : { question });
    this.apply(reply.question);
  }

  async live(question: string, live: boolean): Promise<void> {
    this.apply((await this.port.request("qa.live", { question, live })).question);
  }

  async dismiss(question: string): Promise<void> {
    this.apply((await this.port.request("qa.dismiss", { question })).question);
  }

  async reopen(question: string): Promise<void> {
    this.apply((await this.port.request("qa.reopen", { question })).question);
  }

  async settings(changes: QaSettings): Promise<void> {
    this.port.setQa(applyQaUpdated(this.port.qa(), await this.port.request("qa.settings", changes)));
  }

  private apply(question: ReplyData<"qa.answer">["question"]): void {
    this.port.setQa(applyQuestion(this.port.qa(), question, this.port.selfId()));
  }
}

export class PollActions {
  constructor(private readonly port: InteractionPort) {}

  /** Host or co-host: a new draft; resolves with its id. */
  async create(draft: PollCreate): Promise<string> {
    const reply = await this.port.request("poll.create", draft);
    this.port.setPolls(applyPoll(this.port.polls(), reply.poll));
    return reply.poll.id;
  }

  /** Opens a draft for everyone (its card does not pop up for the host who opened it). */
  async open(poll: string): Promise<void> {
    this.apply((await this.port.request("poll.open", { poll })).poll, true);
  }

  async close(poll: string): Promise<void> {
    this.apply((await this.port.request("poll.close", { poll })).poll);
  }

  async share(poll: string, shared: boolean): Promise<void> {
    this.apply((await this.port.request("poll.share", { poll, shared })).poll, true);
  }

  async delete(poll: string): Promise<void> {
    await this.port.request("poll.delete", { poll });
    this.port.setPolls(removePoll(this.port.polls(), poll));
  }

  /** Answers (or changes one's answer to) an open poll. */
  async vote(poll: string, choices: number[]): Promise<void> {
    const reply = await this.port.request("poll.vote", { poll, choices });
    const next = applyPoll(this.port.polls(), reply.poll);
    this.port.setPolls(setChoices(next, poll, reply.poll.my_choices.length > 0 ? reply.poll.my_choices : choices));
  }

  /** Host or co-host: who chose what in a named poll. */
  async results(poll: string): Promise<PollResults> {
    return this.port.request("poll.results", { poll });
  }

  /** Applies a poll from a reply; `quiet`: this person's own step, so no card pops up for it. */
  private apply(poll: ReplyData<"poll.open">["poll"], quiet = false): void {
    const next = applyPoll(this.port.polls(), poll);
    this.port.setPolls(quiet && next.card === poll.id ? closeCard(next) : next);
  }
}
